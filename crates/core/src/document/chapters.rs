//! Chapters: the parts of a recording a reader finds their way by, each with a title and
//! a time range. Slides make them where there are slides: a slide whose title differs
//! from the one before starts a chapter, and a slide shown only briefly joins its
//! neighbour. Without slides, changes of topic in the speech make them: the words of
//! the three minutes before and after each point are compared (lexical cohesion, after
//! Hearst's TextTiling), and the deepest dips of that likeness, at least three minutes
//! apart, become chapter starts, moved to the nearest pause.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::document::summary::terms;
use crate::document::{is_cjk, Section};
use crate::media::transcribe::Segment;

/// A chapter of the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Chapter {
    pub title: String,
    pub start_ms: u64,
    pub end_ms: u64,
    /// What the chapter says, in a few sentences.
    #[serde(default)]
    pub summary: String,
    /// Its key points, when the method gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<String>,
}

/// Where a chapter lies, before it is titled and summarised.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub start_ms: u64,
    pub end_ms: u64,
    /// The title written on its first slide, if its slides were read.
    pub slide_title: Option<String>,
    /// Its sections (slides), as indices into the document's sections.
    pub sections: std::ops::Range<usize>,
}

/// A slide shown less than this joins the chapter before it (or after it, when first),
/// unless it has a title of its own.
const BRIEF_SLIDE_MS: u64 = 20_000;
/// The words compared are cut into blocks this long...
const BLOCK_MS: u64 = 20_000;
/// ...and this many blocks on each side of a point are compared (three minutes).
const WINDOW_BLOCKS: usize = 9;
/// Chapters found in speech are at least this long.
const MIN_SPEECH_CHAPTER_MS: u64 = 3 * 60_000;
/// The least dip that is a change of topic (see [`topic_starts`]).
const LEAST_DIP: f32 = 0.4;

/// The chapters of a document: from its slides when it has slides, else from its
/// speech. A recording with neither has none.
pub fn spans(sections: &[Section], segments: &[Segment], duration_ms: u64) -> Vec<Span> {
    if sections.iter().any(|s| s.image.is_some()) {
        return from_slides(sections);
    }
    if segments.is_empty() {
        return Vec::new();
    }
    let end = duration_ms.max(segments.last().map_or(0, |s| s.end_ms));
    let starts = topic_starts(segments, end);
    let bounds: Vec<u64> = std::iter::once(0)
        .chain(starts)
        .chain(std::iter::once(end))
        .collect();
    let all = 0..sections.len();
    bounds
        .windows(2)
        .map(|w| Span {
            start_ms: w[0],
            end_ms: w[1],
            slide_title: None,
            sections: all.clone(),
        })
        .collect()
}

/// A title as compared: lowercased, without a "(cont.)", "(2/3)" or "continued" tail.
fn title_key(title: &str) -> String {
    let mut t = title.trim().to_lowercase();
    loop {
        let before = t.clone();
        for tail in [
            "(cont.)",
            "(cont)",
            "cont.",
            "continued",
            "(continued)",
            "（续）",
        ] {
            if let Some(s) = t.strip_suffix(tail) {
                t = s.trim_end().to_string();
            }
        }
        if t.ends_with(')') {
            if let Some(open) = t.rfind('(') {
                let inner = &t[open + 1..t.len() - 1];
                if !inner.is_empty() && inner.chars().all(|c| c.is_ascii_digit() || c == '/') {
                    t = t[..open].trim_end().to_string();
                }
            }
        }
        let t2 = t.trim_end_matches([':', '-', '–', ' ']).to_string();
        t = t2;
        if t == before {
            return t;
        }
    }
}

fn from_slides(sections: &[Section]) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    for (i, s) in sections.iter().enumerate() {
        let title = s.title.as_deref().map(str::trim).filter(|t| !t.is_empty());
        let key = title.map(title_key);
        let same_title = match (out.last(), &key) {
            (Some(last), Some(k)) => last.slide_title.as_deref().map(title_key).as_ref() == Some(k),
            _ => false,
        };
        let brief = s.end_ms.saturating_sub(s.start_ms) < BRIEF_SLIDE_MS && title.is_none();
        match out.last_mut() {
            Some(last) if same_title || brief => {
                last.end_ms = s.end_ms;
                last.sections.end = i + 1;
            }
            _ => out.push(Span {
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                slide_title: title.map(str::to_string),
                sections: i..i + 1,
            }),
        }
    }
    // A brief untitled first slide joins the chapter after it.
    if out.len() > 1 {
        let first = &out[0];
        let first_brief = first.slide_title.is_none()
            && first.end_ms.saturating_sub(first.start_ms) < BRIEF_SLIDE_MS;
        if first_brief {
            let first = out.remove(0);
            out[0].start_ms = first.start_ms;
            out[0].sections.start = first.sections.start;
        }
    }
    out
}

/// The times at which a new topic starts in `segments` (never 0), in order.
pub fn topic_starts(segments: &[Segment], duration_ms: u64) -> Vec<u64> {
    if duration_ms < 2 * MIN_SPEECH_CHAPTER_MS {
        return Vec::new();
    }
    let n = duration_ms.div_ceil(BLOCK_MS) as usize;
    let mut blocks: Vec<HashMap<String, f32>> = vec![HashMap::new(); n];
    for seg in segments {
        let mid = (seg.start_ms + seg.end_ms) / 2;
        let b = ((mid / BLOCK_MS) as usize).min(n - 1);
        for t in terms(&seg.text) {
            *blocks[b].entry(t).or_default() += 1.0;
        }
    }
    // Words said everywhere tell no topic from another: weigh by rarity across blocks.
    let mut df: HashMap<&str, f32> = HashMap::new();
    for b in &blocks {
        for t in b.keys() {
            *df.entry(t.as_str()).or_default() += 1.0;
        }
    }
    let said = blocks.iter().filter(|b| !b.is_empty()).count().max(1) as f32;
    let idf: HashMap<&str, f32> = df
        .iter()
        .map(|(t, d)| (*t, (said / d).ln().max(0.0) + 0.1))
        .collect();
    let weighed: Vec<HashMap<&str, f32>> = blocks
        .iter()
        .map(|b| {
            b.iter()
                .map(|(t, c)| (t.as_str(), c * idf[t.as_str()]))
                .collect()
        })
        .collect();
    // The likeness across each gap g (between block g-1 and block g).
    let mut sims = vec![0.0f32; n];
    for (g, sim) in sims.iter_mut().enumerate().skip(1) {
        let left = sum(&weighed[g.saturating_sub(WINDOW_BLOCKS)..g]);
        let right = sum(&weighed[g..(g + WINDOW_BLOCKS).min(n)]);
        *sim = cosine(&left, &right);
    }
    // Smoothed over three gaps.
    let smooth: Vec<f32> = (0..n)
        .map(|g| {
            if g == 0 {
                return 0.0;
            }
            let (lo, hi) = (g.saturating_sub(1).max(1), (g + 1).min(n - 1));
            sims[lo..=hi].iter().sum::<f32>() / (hi - lo + 1) as f32
        })
        .collect();
    // The depth of each dip: how far the likeness climbs again on either side, as a
    // share of the level it climbs to (0: no dip; 1: the likeness falls to nothing), so
    // that speech of many words and speech of few are judged alike.
    let depth = |g: usize| -> f32 {
        let s = smooth[g];
        let mut l = g;
        while l > 1 && smooth[l - 1] >= smooth[l] {
            l -= 1;
        }
        let mut r = g;
        while r + 1 < n && smooth[r + 1] >= smooth[r] {
            r += 1;
        }
        let around = smooth[l] + smooth[r];
        if around <= 0.0 {
            return 0.0;
        }
        ((smooth[l] - s) + (smooth[r] - s)) / around
    };
    let min_blocks = (MIN_SPEECH_CHAPTER_MS / BLOCK_MS) as usize;
    let gaps: Vec<(usize, f32)> = (min_blocks..n.saturating_sub(min_blocks))
        .filter(|&g| smooth[g] <= smooth[g - 1] && smooth[g] <= smooth[g + 1])
        .map(|g| (g, depth(g)))
        .collect();
    if gaps.is_empty() {
        return Vec::new();
    }
    // A dip counts when the likeness falls to under 60 % of its level around it, and,
    // in a recording with dips enough to tell, when it stands out from the wander of
    // the speech: its median dip plus six median deviations (a measure that many real
    // topic changes do not move).
    let mut cut = LEAST_DIP;
    if gaps.len() >= 8 {
        let mut depths: Vec<f32> = gaps.iter().map(|(_, d)| *d).collect();
        depths.sort_by(f32::total_cmp);
        let median = depths[depths.len() / 2];
        let mut deviations: Vec<f32> = depths.iter().map(|d| (d - median).abs()).collect();
        deviations.sort_by(f32::total_cmp);
        let mad = deviations[deviations.len() / 2];
        cut = cut.max(median + 6.0 * mad);
    }
    let mut deep: Vec<(usize, f32)> = gaps.into_iter().filter(|(_, d)| *d >= cut).collect();
    deep.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = Vec::new();
    for (g, _) in deep {
        if chosen.iter().all(|&c| c.abs_diff(g) >= min_blocks) {
            chosen.push(g);
        }
    }
    chosen.sort_unstable();
    chosen
        .into_iter()
        .map(|g| at_pause(segments, g as u64 * BLOCK_MS))
        .collect()
}

/// The start of the segment after the longest pause within half a block of `t`, else
/// the start of the first segment from `t` on.
fn at_pause(segments: &[Segment], t: u64) -> u64 {
    let reach = BLOCK_MS / 2 + BLOCK_MS / 4;
    let best = segments
        .windows(2)
        .filter(|w| w[1].start_ms.abs_diff(t) <= reach)
        .max_by_key(|w| {
            (
                w[1].start_ms.saturating_sub(w[0].end_ms),
                u64::MAX - w[1].start_ms.abs_diff(t),
            )
        })
        .map(|w| w[1].start_ms);
    best.or_else(|| segments.iter().map(|s| s.start_ms).find(|&s| s >= t))
        .unwrap_or(t)
}

fn sum<'a>(blocks: &[HashMap<&'a str, f32>]) -> HashMap<&'a str, f32> {
    let mut out: HashMap<&str, f32> = HashMap::new();
    for b in blocks {
        for (t, w) in b {
            *out.entry(t).or_default() += w;
        }
    }
    out
}

fn cosine(a: &HashMap<&str, f32>, b: &HashMap<&str, f32>) -> f32 {
    let dot: f32 = a.iter().filter_map(|(t, x)| b.get(t).map(|y| x * y)).sum();
    let na: f32 = a.values().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.values().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// What was said within `span`: the segments whose middle falls in it.
pub fn said_in<'a>(segments: &'a [Segment], span: &Span) -> impl Iterator<Item = &'a Segment> {
    let (start, end) = (span.start_ms, span.end_ms);
    segments.iter().filter(move |s| {
        let mid = (s.start_ms + s.end_ms) / 2;
        mid >= start && (mid < end || end == start)
    })
}

/// A title from the words that set each chapter apart from the others (the most
/// frequent in it, weighed by how few other chapters use them): "Photosynthesis,
/// chlorophyll, light".
pub fn keyword_titles(texts: &[String]) -> Vec<String> {
    // Each term's count, and where it is first said (ties go to the earlier word: a
    // speaker names a topic before they go on about it).
    let bags: Vec<HashMap<String, (f32, usize)>> = texts
        .iter()
        .map(|t| {
            let mut m: HashMap<String, (f32, usize)> = HashMap::new();
            for (i, w) in terms(t).into_iter().enumerate() {
                m.entry(w).or_insert((0.0, i)).0 += 1.0;
            }
            m
        })
        .collect();
    let n = bags.len() as f32;
    bags.iter()
        .map(|bag| {
            let mut scored: Vec<(&String, f32, usize)> = bag
                .iter()
                .filter(|(w, _)| w.chars().count() > 2 || w.chars().all(is_cjk))
                .map(|(w, (c, first))| {
                    let df = bags.iter().filter(|b| b.contains_key(w)).count() as f32;
                    (w, c * ((n + 1.0) / df).ln(), *first)
                })
                .collect();
            scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
            let words: Vec<&str> = scored.iter().take(3).map(|(w, ..)| w.as_str()).collect();
            if words.is_empty() {
                return String::new();
            }
            let cjk = words.iter().all(|w| w.chars().all(is_cjk));
            let joined = words.join(if cjk { "、" } else { ", " });
            let mut chars = joined.chars();
            match chars.next() {
                Some(c) => c.to_uppercase().chain(chars).collect(),
                None => joined,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(start_s: u64, text: &str) -> Segment {
        Segment {
            start_ms: start_s * 1000,
            end_ms: start_s * 1000 + 8_000,
            text: text.into(),
            words: Vec::new(),
            language: None,
            speaker: None,
        }
    }

    fn slide(index: usize, start_s: u64, end_s: u64, title: Option<&str>) -> Section {
        Section {
            index,
            start_ms: start_s * 1000,
            end_ms: end_s * 1000,
            image: Some(format!("slide-{index}.jpg").into()),
            thumbnail: None,
            title: title.map(str::to_string),
            slide_text: None,
            text: String::new(),
        }
    }

    #[test]
    fn slides_with_one_title_make_one_chapter_and_brief_slides_join() {
        let sections = vec![
            slide(1, 0, 5, None),
            slide(2, 5, 120, Some("Photosynthesis")),
            slide(3, 120, 240, Some("Photosynthesis (cont.)")),
            slide(4, 240, 250, None),
            slide(5, 250, 400, Some("The Calvin cycle")),
            slide(6, 400, 520, Some("Summary")),
        ];
        let spans = spans(&sections, &[], 520_000);
        let got: Vec<(u64, u64, Option<&str>, std::ops::Range<usize>)> = spans
            .iter()
            .map(|s| {
                (
                    s.start_ms / 1000,
                    s.end_ms / 1000,
                    s.slide_title.as_deref(),
                    s.sections.clone(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (0, 250, Some("Photosynthesis"), 0..4),
                (250, 400, Some("The Calvin cycle"), 4..5),
                (400, 520, Some("Summary"), 5..6),
            ]
        );
    }

    #[test]
    fn titles_compare_without_their_continuation_marks() {
        assert_eq!(title_key("Results (2/3)"), "results");
        assert_eq!(title_key("Results, continued"), "results,");
        assert_eq!(title_key("Results (cont.)"), title_key("RESULTS"));
        assert_ne!(title_key("Results 2019"), title_key("Results"));
    }

    #[test]
    fn a_short_recording_is_one_chapter() {
        let segs = vec![seg(0, "Hello and welcome."), seg(10, "Today: plants.")];
        let s = spans(&[], &segs, 20_000);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].start_ms, s[0].end_ms), (0, 20_000));
        assert!(spans(&[], &[], 20_000).is_empty());
    }

    #[test]
    fn keyword_titles_pick_what_sets_a_chapter_apart() {
        let t = keyword_titles(&[
            "Photosynthesis uses light. Photosynthesis makes sugar. Light matters.".into(),
            "The budget grows. The budget needs approval. Approval comes Friday.".into(),
        ]);
        assert!(t[0].starts_with("Photosynthesis"), "{t:?}");
        assert!(t[1].starts_with("Budget"), "{t:?}");
        let zh = keyword_titles(&["光合作用需要光。光合作用产生糖。".into()]);
        assert!(zh[0].contains("光合"), "{zh:?}");
    }
}
