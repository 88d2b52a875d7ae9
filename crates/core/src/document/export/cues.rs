//! Readable subtitle cues from the timed transcript: at most two lines of a set width
//! (a CJK character is as wide as two Latin ones, so ~42 Latin or ~21 Chinese
//! characters a line), each cue shown 1 to 7 s, cut at sentence ends, at pauses, and at
//! commas when a cue is getting long, never in a word. Whisper's segments are often a
//! paragraph long; a cue is what a person can read while it shows.

use serde::{Deserialize, Serialize};

use crate::document::is_cjk;
use crate::media::transcribe::Segment;

/// How subtitles are laid out (the `subtitles` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubtitleStyle {
    /// Columns a line may take: a Latin character is one, a CJK character two.
    pub line_width: usize,
    /// Lines a cue may have.
    pub max_lines: usize,
    /// The shortest time a cue shows (extended into the silence after it).
    pub min_ms: u64,
    /// The longest time a cue shows.
    pub max_ms: u64,
}

impl Default for SubtitleStyle {
    fn default() -> Self {
        SubtitleStyle {
            line_width: 42,
            max_lines: 2,
            min_ms: 1_000,
            max_ms: 7_000,
        }
    }
}

impl SubtitleStyle {
    /// What is wrong with it, in plain words.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(16..=80).contains(&self.line_width) {
            p.push(format!(
                "subtitle lines of {} characters are not readable: use 16 to 80",
                self.line_width
            ));
        }
        if !(1..=3).contains(&self.max_lines) {
            p.push("subtitles have 1 to 3 lines".into());
        }
        if self.min_ms < 500 || self.max_ms < self.min_ms + 500 || self.max_ms > 20_000 {
            p.push("a subtitle shows at least 0.5 s, at most 20 s, the longest 0.5 s or more above the shortest".into());
        }
        p
    }
}

/// One cue: when, and its lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub start_ms: u64,
    pub end_ms: u64,
    pub lines: Vec<String>,
    /// Who speaks it (a cue never holds two speakers' words).
    pub speaker: Option<u32>,
}

/// A word (or CJK character) with its time.
#[derive(Debug, Clone)]
struct Unit {
    start_ms: u64,
    end_ms: u64,
    /// With its leading space, if it had one.
    text: String,
    speaker: Option<u32>,
}

fn width(s: &str) -> usize {
    s.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum()
}

fn ends_sentence(t: &str) -> bool {
    t.trim_end()
        .ends_with(['.', '?', '!', '。', '？', '！', '…'])
}

fn ends_clause(t: &str) -> bool {
    t.trim_end()
        .ends_with([',', ';', ':', '，', '、', '；', '：'])
}

/// A segment's words: whisper's tokens joined into words (a token that does not start
/// with a space continues the word before it; each CJK character is a word), or, for
/// a segment without word times, its text split so and timed by length.
fn units(seg: &Segment) -> Vec<Unit> {
    let mut out: Vec<Unit> = Vec::new();
    let pieces: Vec<(u64, u64, String)> = if seg.words.is_empty() {
        let text = seg.text.trim();
        let mut parts: Vec<String> = Vec::new();
        for c in text.chars() {
            let starts_word = c == ' '
                || is_cjk(c)
                || parts
                    .last()
                    .is_none_or(|p| p.chars().last().is_some_and(is_cjk));
            match parts.last_mut() {
                Some(p) if !starts_word => p.push(c),
                _ => parts.push(c.to_string()),
            }
        }
        let total: usize = parts.iter().map(|p| width(p).max(1)).sum::<usize>().max(1);
        let span = seg.end_ms.saturating_sub(seg.start_ms);
        let mut at = 0usize;
        parts
            .into_iter()
            .map(|p| {
                let a = seg.start_ms + span * at as u64 / total as u64;
                at += width(&p).max(1);
                let b = seg.start_ms + span * at as u64 / total as u64;
                (a, b, p)
            })
            .collect()
    } else {
        seg.words
            .iter()
            .map(|w| (w.start_ms, w.end_ms, w.text.clone()))
            .collect()
    };
    for (a, b, t) in pieces {
        if t.trim().is_empty() {
            continue;
        }
        let first = t.chars().next().unwrap_or(' ');
        let punctuation = t.trim().chars().all(|c| !c.is_alphanumeric());
        let continues = match out.last() {
            None => false,
            Some(prev) => {
                let prev_cjk = prev.text.chars().last().is_some_and(is_cjk);
                punctuation || (first != ' ' && !is_cjk(first) && !prev_cjk)
            }
        };
        match out.last_mut() {
            Some(prev) if continues => {
                prev.text.push_str(&t);
                prev.end_ms = prev.end_ms.max(b);
            }
            _ => out.push(Unit {
                start_ms: a,
                end_ms: b.max(a),
                text: t,
                speaker: seg.speaker,
            }),
        }
    }
    out
}

/// Joins units into text: a space between words, none between CJK characters.
fn joined(units: &[Unit]) -> String {
    let mut s = String::new();
    for u in units {
        let t = u.text.trim();
        let cjk = s.chars().last().is_some_and(is_cjk) || t.chars().next().is_some_and(is_cjk);
        if !s.is_empty() && !cjk {
            s.push(' ');
        }
        s.push_str(t);
    }
    s
}

/// Splits a cue's units into at most `max_lines` lines of `line_width`, as even as
/// they can be, breaking after punctuation where it keeps them even.
fn lines(units: &[Unit], style: &SubtitleStyle) -> Vec<String> {
    let text = joined(units);
    if width(&text) <= style.line_width || style.max_lines < 2 || units.len() < 2 {
        return vec![text];
    }
    // Two lines (three only if two cannot hold it): the break closest to the middle,
    // preferring one after punctuation.
    let total = width(&text);
    let mut best: Option<(usize, i64)> = None;
    for i in 1..units.len() {
        let (a, b) = (joined(&units[..i]), joined(&units[i..]));
        let (wa, wb) = (width(&a), width(&b));
        if wa > style.line_width {
            break;
        }
        if wb > style.line_width * (style.max_lines - 1) {
            continue;
        }
        let mut cost = (wa as i64 - (total / 2) as i64).abs();
        if ends_sentence(&a) || ends_clause(&a) {
            cost -= 8;
        }
        if best.is_none_or(|(_, c)| cost < c) {
            best = Some((i, cost));
        }
    }
    match best {
        Some((i, _)) => {
            let mut out = vec![joined(&units[..i])];
            out.extend(lines(
                &units[i..],
                &SubtitleStyle {
                    max_lines: style.max_lines - 1,
                    ..*style
                },
            ));
            out
        }
        None => vec![text],
    }
}

/// Where to end a cue that must end: the unit, in the second half of `cur`, after
/// which a sentence or clause ends or the pause to the next word is longest.
fn best_cut(cur: &[Unit]) -> usize {
    let last = cur.len() - 1;
    (cur.len() / 2..=last)
        .max_by_key(|&i| {
            let gap = cur
                .get(i + 1)
                .map(|n| n.start_ms.saturating_sub(cur[i].end_ms))
                .unwrap_or(0);
            let mark = if ends_sentence(&cur[i].text) {
                2_000
            } else if ends_clause(&cur[i].text) {
                1_000
            } else {
                0
            };
            // Ties go to the later cut (fuller cues).
            (gap + mark, i)
        })
        .unwrap_or(last)
}

/// The cues of a transcript. Cues never overlap, never last under `min_ms` unless the
/// next one starts sooner, and never over `max_ms`.
pub fn cues(segments: &[Segment], style: &SubtitleStyle) -> Vec<Cue> {
    let all: Vec<Unit> = segments.iter().flat_map(units).collect();
    let capacity = style.line_width * style.max_lines.max(1);
    let mut groups: Vec<Vec<Unit>> = Vec::new();
    let mut cur: Vec<Unit> = Vec::new();
    for u in all {
        if let Some(last) = cur.last() {
            let first = &cur[0];
            let mut with = cur.clone();
            with.push(u.clone());
            let too_wide =
                width(&joined(&with)) > capacity || lines(&with, style).len() > style.max_lines;
            let too_long = u.end_ms.saturating_sub(first.start_ms) > style.max_ms;
            let pause = u.start_ms.saturating_sub(last.end_ms) >= 700 || u.speaker != last.speaker;
            let sentence = ends_sentence(&last.text);
            let long_enough = width(&joined(&cur)) * 2 >= capacity;
            let clause = ends_clause(&last.text) && long_enough;
            if pause || sentence || clause {
                groups.push(std::mem::take(&mut cur));
            } else if too_wide || too_long {
                // Forced: cut where a reader would, in the second half of what is
                // held: after punctuation, else at the longest pause between words.
                let k = best_cut(&cur);
                let rest = cur.split_off(k + 1);
                groups.push(std::mem::replace(&mut cur, rest));
            }
        }
        cur.push(u);
    }
    if !cur.is_empty() {
        groups.push(cur);
    }
    let mut out: Vec<Cue> = Vec::with_capacity(groups.len());
    for (i, g) in groups.iter().enumerate() {
        let prev_end = out.last().map(|c: &Cue| c.end_ms).unwrap_or(0);
        let start = g[0].start_ms.max(prev_end);
        let next_start = groups.get(i + 1).map(|n| n[0].start_ms).unwrap_or(u64::MAX);
        let spoken_end = g.last().map(|u| u.end_ms).unwrap_or(start);
        // At least min_ms where the silence after allows, at most max_ms.
        let end = spoken_end
            .max(start + style.min_ms)
            .min(next_start.max(spoken_end))
            .min(start + style.max_ms)
            .max(start + 1);
        out.push(Cue {
            start_ms: start,
            end_ms: end,
            lines: lines(g, style),
            speaker: g[0].speaker,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::transcribe::Word;

    fn timed(text: &str, start_ms: u64, ms_per_word: u64) -> Segment {
        let mut at = start_ms;
        let words: Vec<Word> = text
            .split(' ')
            .map(|w| {
                let word = Word {
                    start_ms: at,
                    end_ms: at + ms_per_word,
                    text: format!(" {w}"),
                    p: 0.9,
                    at_ms: None,
                };
                at += ms_per_word;
                word
            })
            .collect();
        Segment {
            start_ms,
            end_ms: at,
            text: text.into(),
            words,
            language: None,
            speaker: None,
        }
    }

    fn check(cues: &[Cue], style: &SubtitleStyle) {
        for (i, c) in cues.iter().enumerate() {
            assert!(c.lines.len() <= style.max_lines, "{c:?}");
            for l in &c.lines {
                assert!(width(l) <= style.line_width, "{l:?} is too wide");
            }
            let d = c.end_ms - c.start_ms;
            assert!(d <= style.max_ms, "{c:?} lasts {d} ms");
            if let Some(next) = cues.get(i + 1) {
                assert!(c.end_ms <= next.start_ms, "{c:?} overlaps {next:?}");
                assert!(
                    d >= style.min_ms || c.end_ms == next.start_ms,
                    "{c:?} is too short"
                );
            }
        }
    }

    #[test]
    fn a_paragraph_becomes_short_cues_cut_at_sentences() {
        let text = "Photosynthesis is the process by which green plants and some other organisms use sunlight to synthesize foods from carbon dioxide and water. It generally involves the green pigment chlorophyll, and it generates oxygen as a byproduct. Today we will look at the light reactions first, then at the Calvin cycle, and finally at why leaves change colour in autumn.";
        let seg = timed(text, 5_000, 330);
        let style = SubtitleStyle::default();
        let cues = cues(&[seg], &style);
        check(&cues, &style);
        assert!(cues.len() >= 5, "{cues:#?}");
        let all: Vec<String> = cues.iter().map(|c| c.lines.join(" ")).collect();
        assert_eq!(all.join(" "), text, "no word lost or doubled");
        assert!(
            all.iter().any(|c| c.ends_with("as a byproduct.")),
            "a sentence ends a cue: {all:#?}"
        );
    }

    #[test]
    fn chinese_cues_hold_about_twenty_characters_a_line() {
        let text = "光合作用是植物利用光能把二氧化碳和水转化为有机物并释放氧气的过程。它主要发生在叶绿体中，需要叶绿素的参与。今天我们先讨论光反应，然后讨论卡尔文循环，最后解释为什么秋天树叶会变色。";
        let seg = Segment {
            start_ms: 0,
            end_ms: 30_000,
            text: text.into(),
            words: Vec::new(),
            language: Some("zh".into()),
            speaker: None,
        };
        let style = SubtitleStyle::default();
        let cues = cues(&[seg], &style);
        check(&cues, &style);
        for c in &cues {
            for l in &c.lines {
                assert!(l.chars().count() <= 21, "{l}");
                assert!(
                    !l.contains(' '),
                    "no spaces between Chinese characters: {l}"
                );
            }
        }
        let all: String = cues.iter().map(|c| c.lines.concat()).collect();
        assert_eq!(all, text);
    }

    #[test]
    fn a_pause_ends_a_cue_and_a_short_cue_reaches_into_the_silence() {
        let style = SubtitleStyle::default();
        let cues = cues(
            &[
                timed("Good morning", 0, 300),
                timed("Let us begin", 10_000, 300),
            ],
            &style,
        );
        check(&cues, &style);
        assert_eq!(cues.len(), 2);
        assert_eq!((cues[0].start_ms, cues[0].end_ms), (0, 1_000));
        assert_eq!(cues[1].start_ms, 10_000);
    }

    #[test]
    fn words_split_into_tokens_stay_whole() {
        let seg = Segment {
            start_ms: 0,
            end_ms: 2_000,
            text: "Chlorophyll absorbs light.".into(),
            words: vec![
                Word {
                    start_ms: 0,
                    end_ms: 400,
                    text: " Chlor".into(),
                    p: 0.9,
                    at_ms: None,
                },
                Word {
                    start_ms: 400,
                    end_ms: 800,
                    text: "ophyll".into(),
                    p: 0.9,
                    at_ms: None,
                },
                Word {
                    start_ms: 800,
                    end_ms: 1_400,
                    text: " absorbs".into(),
                    p: 0.9,
                    at_ms: None,
                },
                Word {
                    start_ms: 1_400,
                    end_ms: 1_900,
                    text: " light".into(),
                    p: 0.9,
                    at_ms: None,
                },
                Word {
                    start_ms: 1_900,
                    end_ms: 2_000,
                    text: ".".into(),
                    p: 0.9,
                    at_ms: None,
                },
            ],
            language: None,
            speaker: None,
        };
        let c = cues(&[seg], &SubtitleStyle::default());
        assert_eq!(c[0].lines, vec!["Chlorophyll absorbs light."]);
    }
}
