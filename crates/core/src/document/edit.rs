//! Edits a person makes to a document in the editor (or a script through the API): a
//! segment's text, splitting and merging segments, naming speakers, who said a segment,
//! the title, find and replace. Each keeps the document whole: word times follow the
//! text, sections are rebuilt from the segments, times stay in order.

use serde::{Deserialize, Serialize};

use super::{join_text, Document, DocumentError};
use crate::media::transcribe::{Segment, Word};

/// One edit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "edit", rename_all = "snake_case")]
pub enum Edit {
    /// Segment `segment` now reads `text`.
    Text {
        segment: usize,
        text: String,
    },
    /// Segment `segment` becomes two, the second starting at its word `word`.
    Split {
        segment: usize,
        word: usize,
    },
    /// Segment `segment` and the one after it become one.
    Merge {
        segment: usize,
    },
    /// Speaker `id` is named `name`.
    RenameSpeaker {
        id: u32,
        name: String,
    },
    /// Segment `segment` was said by speaker `speaker` (none: unlabelled).
    Speaker {
        segment: usize,
        speaker: Option<u32>,
    },
    Title {
        title: String,
    },
    /// Every `find` in the transcript, the slide titles and the summary becomes
    /// `replace` (whole words only with `whole_word`; letter case ignored unless
    /// `match_case`).
    Replace {
        find: String,
        replace: String,
        #[serde(default)]
        match_case: bool,
        #[serde(default)]
        whole_word: bool,
    },
}

impl Document {
    /// Applies `edit`; returns how many places changed (a replace may change none).
    pub fn apply(&mut self, edit: &Edit) -> Result<usize, DocumentError> {
        let n = self.segments.len();
        let no_segment = |segment: usize| DocumentError::NoSegment { segment, count: n };
        let changed = match edit {
            Edit::Text { segment, text } => {
                let seg = self
                    .segments
                    .get_mut(*segment)
                    .ok_or(no_segment(*segment))?;
                set_text(seg, text);
                1
            }
            Edit::Split { segment, word } => {
                let seg = self.segments.get(*segment).ok_or(no_segment(*segment))?;
                if *word == 0 || *word >= seg.words.len() {
                    return Err(DocumentError::NoSplit {
                        segment: *segment,
                        word: *word,
                    });
                }
                let mut first = seg.clone();
                let mut second = seg.clone();
                second.words = first.words.split_off(*word);
                first.end_ms = first.words.last().map_or(first.end_ms, |w| w.end_ms);
                second.start_ms = second.words[0].start_ms.max(first.end_ms);
                first.text = words_text(&first.words);
                second.text = words_text(&second.words);
                self.segments.splice(*segment..=*segment, [first, second]);
                1
            }
            Edit::Merge { segment } => {
                if *segment + 1 >= n {
                    return Err(no_segment(*segment + 1));
                }
                let next = self.segments.remove(*segment + 1);
                let seg = &mut self.segments[*segment];
                seg.end_ms = seg.end_ms.max(next.end_ms);
                seg.text = join_text([&*seg, &next].into_iter());
                seg.words.extend(next.words);
                1
            }
            Edit::RenameSpeaker { id, name } => {
                self.rename_speaker(*id, name)?;
                1
            }
            Edit::Speaker { segment, speaker } => {
                if let Some(id) = speaker {
                    if !self.speakers.iter().any(|s| s.id == *id) {
                        return Err(DocumentError::NoSpeaker { id: *id });
                    }
                }
                self.segments
                    .get_mut(*segment)
                    .ok_or(no_segment(*segment))?
                    .speaker = *speaker;
                1
            }
            Edit::Title { title } => {
                self.title = title.trim().to_string();
                1
            }
            Edit::Replace {
                find,
                replace,
                match_case,
                whole_word,
            } => {
                let rule = Replacing {
                    find,
                    replace,
                    match_case: *match_case,
                    whole_word: *whole_word,
                };
                let mut count = 0;
                for seg in &mut self.segments {
                    let (text, k) = rule.apply(&seg.text);
                    if k > 0 {
                        set_text(seg, &text);
                        count += k;
                    }
                }
                for s in &mut self.sections {
                    for t in [&mut s.title, &mut s.slide_text].into_iter().flatten() {
                        let (text, k) = rule.apply(t);
                        *t = text;
                        count += k;
                    }
                }
                for p in &mut self.summary.points {
                    let (text, k) = rule.apply(p);
                    *p = text;
                    count += k;
                }
                count
            }
        };
        self.refresh_sections();
        Ok(changed)
    }

    /// Makes each segment's words agree with its text where an edit outside the editor
    /// (a script, a hand) changed only the text: the subtitles are cut from the words.
    /// Returns how many segments were changed.
    pub fn align_words(&mut self) -> usize {
        let squash = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut n = 0;
        for seg in &mut self.segments {
            if seg.words.is_empty() {
                continue;
            }
            let said: String = seg.words.iter().map(|w| w.text.as_str()).collect();
            if squash(&said) != squash(&seg.text) {
                let text = seg.text.clone();
                set_text(seg, &text);
                n += 1;
            }
        }
        n
    }

    /// Each section's text again from the segments said while it was shown.
    pub fn refresh_sections(&mut self) {
        let mut texts: Vec<Vec<&Segment>> = vec![Vec::new(); self.sections.len()];
        for seg in &self.segments {
            let mid = (seg.start_ms + seg.end_ms) / 2;
            let i = self
                .sections
                .iter()
                .rposition(|s| s.start_ms <= mid)
                .unwrap_or(0);
            if let Some(t) = texts.get_mut(i) {
                t.push(seg);
            }
        }
        let texts: Vec<String> = texts
            .into_iter()
            .map(|t| join_text(t.into_iter()))
            .collect();
        for (s, t) in self.sections.iter_mut().zip(texts) {
            s.text = t;
        }
    }
}

/// The words of `text` as the transcript writes them: a Chinese character each, else
/// runs between spaces.
fn split_words(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if super::is_cjk(c) {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur.clear();
            if let (true, Some(last)) = (c.is_ascii_punctuation() || is_cjk_mark(c), out.last_mut())
            {
                last.push(c);
            } else {
                out.push(c.to_string());
            }
        } else if c.is_whitespace() {
            if !cur.trim().is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            cur = " ".into();
        } else {
            cur.push(c);
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn is_cjk_mark(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF0F | 0xFF1A..=0xFF20)
}

fn words_text(words: &[Word]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<String>()
        .trim()
        .to_string()
}

/// Sets a segment's text; its words follow: the same number of words keep their times,
/// otherwise the new words share the segment's time by their length.
fn set_text(seg: &mut Segment, text: &str) {
    let text = text.trim();
    seg.text = text.to_string();
    let new = split_words(text);
    if seg.words.is_empty() && new.len() <= 1 {
        return;
    }
    if new.len() == seg.words.len() {
        for (w, t) in seg.words.iter_mut().zip(new) {
            w.text = t;
        }
        return;
    }
    let total: usize = new.iter().map(|w| w.trim().chars().count().max(1)).sum();
    let span = seg.end_ms.saturating_sub(seg.start_ms);
    let mut at = 0usize;
    seg.words = new
        .into_iter()
        .map(|t| {
            let len = t.trim().chars().count().max(1);
            let start = seg.start_ms + (span as usize * at / total.max(1)) as u64;
            at += len;
            let end = seg.start_ms + (span as usize * at / total.max(1)) as u64;
            Word {
                start_ms: start,
                end_ms: end,
                text: t,
                p: 1.0,
                at_ms: None,
            }
        })
        .collect();
}

struct Replacing<'a> {
    find: &'a str,
    replace: &'a str,
    match_case: bool,
    whole_word: bool,
}

impl Replacing<'_> {
    /// `text` with every match replaced, and how many there were.
    fn apply(&self, text: &str) -> (String, usize) {
        if self.find.is_empty() {
            return (text.to_string(), 0);
        }
        let fold = |s: &str| match self.match_case {
            true => s.to_string(),
            false => s.to_lowercase(),
        };
        let (hay, needle) = (fold(text), fold(self.find));
        // Lowercasing may change lengths (rarely): then match exactly.
        let (hay, needle) = match hay.len() == text.len() {
            true => (hay, needle),
            false => (text.to_string(), self.find.to_string()),
        };
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() && !super::is_cjk(c));
        let mut out = String::with_capacity(text.len());
        let (mut from, mut count) = (0, 0);
        let mut search = 0;
        while let Some(i) = hay[search..].find(&needle).map(|i| i + search) {
            let end = i + needle.len();
            let bounded = !self.whole_word
                || (!word(text[..i].chars().last()) && !word(text[end..].chars().next()));
            if bounded {
                out.push_str(&text[from..i]);
                out.push_str(self.replace);
                from = end;
                count += 1;
            }
            search = end;
        }
        out.push_str(&text[from..]);
        (out, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::{Section, Summary, DOCUMENT_SCHEMA};

    fn word(start_ms: u64, end_ms: u64, text: &str) -> Word {
        Word {
            start_ms,
            end_ms,
            text: text.into(),
            p: 0.9,
            at_ms: None,
        }
    }

    fn doc() -> Document {
        let seg = |s, e, text: &str, words| Segment {
            start_ms: s,
            end_ms: e,
            text: text.into(),
            words,
            language: None,
            speaker: None,
        };
        Document {
            schema: DOCUMENT_SCHEMA,
            title: "t".into(),
            source: "/a.mp4".into(),
            duration_ms: 10_000,
            language: Some("en".into()),
            created: "2026-01-01T00:00:00Z".into(),
            model: None,
            summary: Summary {
                points: vec!["We met Jon.".into()],
                method: "built-in".into(),
                note: None,
                ..Summary::default()
            },
            chapters: Vec::new(),
            sections: vec![
                Section {
                    index: 1,
                    start_ms: 0,
                    end_ms: 5000,
                    image: None,
                    thumbnail: None,
                    title: Some("Jon's plan".into()),
                    slide_text: None,
                    text: String::new(),
                },
                Section {
                    index: 2,
                    start_ms: 5000,
                    end_ms: 10_000,
                    image: None,
                    thumbnail: None,
                    title: None,
                    slide_text: None,
                    text: String::new(),
                },
            ],
            segments: vec![
                seg(
                    0,
                    2000,
                    "Hello Jon there.",
                    vec![
                        word(0, 500, " Hello"),
                        word(500, 1000, " Jon"),
                        word(1000, 2000, " there."),
                    ],
                ),
                seg(
                    6000,
                    8000,
                    "Jonathan left.",
                    vec![word(6000, 7000, " Jonathan"), word(7000, 8000, " left.")],
                ),
            ],
            speakers: Vec::new(),
        }
    }

    #[test]
    fn a_corrected_word_keeps_the_times_of_its_words() {
        let mut d = doc();
        d.apply(&Edit::Text {
            segment: 0,
            text: "Hello John there.".into(),
        })
        .unwrap();
        let w = &d.segments[0].words;
        assert_eq!(
            (w[1].text.as_str(), w[1].start_ms, w[1].end_ms),
            (" John", 500, 1000)
        );
        assert_eq!(d.sections[0].text, "Hello John there.");
    }

    #[test]
    fn more_words_share_the_segment_time_in_order() {
        let mut d = doc();
        d.apply(&Edit::Text {
            segment: 0,
            text: "Hello to you over there.".into(),
        })
        .unwrap();
        let w = &d.segments[0].words;
        assert_eq!(w.len(), 5);
        assert_eq!(w[0].start_ms, 0);
        assert_eq!(w[4].end_ms, 2000);
        assert!(w.windows(2).all(|p| p[0].end_ms <= p[1].start_ms));
    }

    #[test]
    fn split_and_merge_are_inverse_in_text_and_time() {
        let mut d = doc();
        d.apply(&Edit::Split {
            segment: 0,
            word: 1,
        })
        .unwrap();
        assert_eq!(d.segments.len(), 3);
        assert_eq!(
            (d.segments[0].text.as_str(), d.segments[0].end_ms),
            ("Hello", 500)
        );
        assert_eq!(
            (d.segments[1].text.as_str(), d.segments[1].start_ms),
            ("Jon there.", 500)
        );
        d.apply(&Edit::Merge { segment: 0 }).unwrap();
        assert_eq!(d.segments[0].text, "Hello Jon there.");
        assert_eq!((d.segments[0].start_ms, d.segments[0].end_ms), (0, 2000));
        assert!(matches!(
            d.apply(&Edit::Split {
                segment: 0,
                word: 0
            }),
            Err(DocumentError::NoSplit { .. })
        ));
        assert!(matches!(
            d.apply(&Edit::Merge { segment: 1 }),
            Err(DocumentError::NoSegment { .. })
        ));
    }

    #[test]
    fn replace_whole_words_everywhere_ignoring_case() {
        let mut d = doc();
        let n = d
            .apply(&Edit::Replace {
                find: "jon".into(),
                replace: "John".into(),
                match_case: false,
                whole_word: true,
            })
            .unwrap();
        // "Jon" in the speech, the slide title ("Jon's") and the summary; not "Jonathan".
        assert_eq!(n, 3);
        assert_eq!(d.segments[0].text, "Hello John there.");
        assert_eq!(d.segments[1].text, "Jonathan left.");
        assert_eq!(d.sections[0].title.as_deref(), Some("John's plan"));
        assert_eq!(d.summary.points[0], "We met John.");
    }

    #[test]
    fn chinese_text_is_replaced_inside_a_sentence() {
        let mut d = doc();
        d.apply(&Edit::Text {
            segment: 1,
            text: "我们讨论机器学习。".into(),
        })
        .unwrap();
        let n = d
            .apply(&Edit::Replace {
                find: "机器学习".into(),
                replace: "深度学习".into(),
                match_case: false,
                whole_word: true,
            })
            .unwrap();
        assert_eq!(n, 1);
        assert_eq!(d.segments[1].text, "我们讨论深度学习。");
    }
}
