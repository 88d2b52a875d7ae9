//! The one document model every exporter renders: title and metadata, the summary and
//! chapters, sections (a slide with the transcript spoken while it was shown), the full
//! timed transcript, and the speakers it names.

pub mod chapters;
pub mod check;
pub mod edit;
pub mod export;
pub mod summary;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::media::speakers::Speaker;
use crate::media::transcribe::Segment;
pub use chapters::Chapter;
pub use summary::{ActionItem, Template, Term};

/// The version of the JSON export's layout (`schema/document.schema.json`).
pub const DOCUMENT_SCHEMA: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub schema: u32,
    pub title: String,
    pub source: PathBuf,
    pub duration_ms: u64,
    pub language: Option<String>,
    /// RFC 3339 time the document was made.
    pub created: String,
    pub model: Option<String>,
    pub summary: Summary,
    /// The chapters a reader finds their way by (slides, or topics of the speech), each
    /// with its own summary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chapters: Vec<Chapter>,
    pub sections: Vec<Section>,
    pub segments: Vec<Segment>,
    /// The speakers the segments name (`segments[].speaker`), when speakers were told
    /// apart; one speaker found is listed, but the transcript is not labelled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<Speaker>,
}

/// What one speaker said in turn within a section (no speaker: the section is not
/// divided by speaker).
#[derive(Debug, Clone, PartialEq)]
pub struct Paragraph<'a> {
    pub speaker: Option<&'a str>,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The key points, in the order they were said.
    pub points: Vec<String>,
    /// What wrote it: "local" (the local model), "endpoint", or "built-in" (extractive).
    pub method: String,
    /// Said in the document when the preferred method was not available.
    pub note: Option<String>,
    /// The model that wrote it, for "local" and "endpoint".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The kind of notes: lecture, meeting or abstract.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<Template>,
    /// The language it is written in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// A paragraph on the whole recording.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overview: Option<String>,
    /// Terms and their definitions (lecture notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub terms: Vec<Term>,
    /// What was decided (meeting notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<String>,
    /// Tasks someone will do, with owner and due date when said (meeting notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub action_items: Vec<ActionItem>,
    /// What was raised and not settled (meeting notes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub questions: Vec<String>,
}

/// A piece of the notes, as every format renders it.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Said about the notes themselves (why the built-in summary was used).
    Note(String),
    Heading(String),
    Paragraph(String),
    Bullets(Vec<String>),
}

impl Summary {
    /// Whether there is anything to show.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
            && self.overview.is_none()
            && self.terms.is_empty()
            && self.decisions.is_empty()
            && self.action_items.is_empty()
            && self.questions.is_empty()
    }
}

impl Document {
    /// What goes under the "Summary" heading: the note, the overview, the key points,
    /// and the template's lists, each under its own heading.
    pub fn summary_blocks(&self) -> Vec<Block> {
        let s = &self.summary;
        if s.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(n) = &s.note {
            out.push(Block::Note(n.clone()));
        }
        if let Some(o) = s.overview.as_ref().filter(|o| !o.trim().is_empty()) {
            out.push(Block::Paragraph(o.clone()));
        }
        let lists = [
            ("Key points", s.points.clone()),
            (
                "Terms",
                s.terms
                    .iter()
                    .map(|t| match t.definition.trim() {
                        "" => t.term.clone(),
                        d => format!("{}: {d}", t.term),
                    })
                    .collect(),
            ),
            ("Decisions", s.decisions.clone()),
            (
                "Action items",
                s.action_items
                    .iter()
                    .map(|a| {
                        let mut who = Vec::new();
                        if let Some(o) = &a.owner {
                            who.push(format!("owner: {o}"));
                        }
                        if let Some(d) = &a.due {
                            who.push(format!("due: {d}"));
                        }
                        match who.is_empty() {
                            true => a.task.clone(),
                            false => format!("{} ({})", a.task, who.join(", ")),
                        }
                    })
                    .collect(),
            ),
            ("Open questions", s.questions.clone()),
        ];
        let headed =
            lists.iter().filter(|(_, l)| !l.is_empty()).count() > 1 || s.overview.is_some();
        for (title, items) in lists {
            if items.is_empty() {
                continue;
            }
            if headed {
                out.push(Block::Heading(title.into()));
            }
            out.push(Block::Bullets(items));
        }
        out
    }

    /// What goes under the "Chapters" heading: each chapter's time and title, its
    /// summary and its points. None for a recording of one chapter: its summary says it.
    pub fn chapter_blocks(&self) -> Vec<Block> {
        let mut out = Vec::new();
        if self.chapters.len() < 2 {
            return out;
        }
        for c in &self.chapters {
            out.push(Block::Heading(format!(
                "{}–{} {}",
                clock(c.start_ms),
                clock(c.end_ms),
                c.title
            )));
            if !c.summary.trim().is_empty() {
                out.push(Block::Paragraph(c.summary.clone()));
            }
            if !c.points.is_empty() {
                out.push(Block::Bullets(c.points.clone()));
            }
        }
        out
    }
}

/// A slide (or scene) and what was said while it was on screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub index: usize,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The slide's full-resolution image, if the video had frames.
    pub image: Option<PathBuf>,
    pub thumbnail: Option<PathBuf>,
    /// The slide's title as written on it (its largest text at the top, else its first
    /// line), when its text was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The rest of the slide's text, one line per line, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slide_text: Option<String>,
    /// What was said.
    pub text: String,
}

impl Section {
    /// The section's heading: the slide's title, else "Slide 3" (or "Part 1" for a
    /// recording without pictures).
    pub fn heading(&self) -> String {
        match &self.title {
            Some(t) if !t.trim().is_empty() => t.trim().to_string(),
            _ if self.image.is_some() => format!("Slide {}", self.index),
            _ => format!("Part {}", self.index),
        }
    }
}

/// A slide as the document places it: when it was shown, its images (in the document's
/// folder) and what is written on it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShownSlide {
    pub start_ms: u64,
    pub end_ms: u64,
    pub image: Option<PathBuf>,
    pub thumbnail: Option<PathBuf>,
    pub title: Option<String>,
    pub slide_text: Option<String>,
}

impl Document {
    /// Whether the transcript is labelled by speaker: two or more were heard.
    pub fn labelled(&self) -> bool {
        self.speakers.len() > 1
    }

    /// The name of speaker `id`, when the transcript is labelled.
    pub fn speaker_name(&self, id: Option<u32>) -> Option<&str> {
        if !self.labelled() {
            return None;
        }
        let id = id?;
        self.speakers
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.name.as_str())
    }

    /// What was said while `section` was shown, a paragraph for each turn of speech
    /// (one paragraph, the section's text, when the transcript is not labelled).
    pub fn paragraphs(&self, section: &Section) -> Vec<Paragraph<'_>> {
        if !self.labelled() {
            return match section.text.is_empty() {
                true => Vec::new(),
                false => vec![Paragraph {
                    speaker: None,
                    text: section.text.clone(),
                }],
            };
        }
        let mine = self.segments.iter().filter(|seg| {
            let mid = (seg.start_ms + seg.end_ms) / 2;
            let at = self
                .sections
                .iter()
                .rposition(|s| s.start_ms <= mid)
                .unwrap_or(0);
            self.sections.get(at).map(|s| s.index) == Some(section.index)
        });
        let mut turns: Vec<(Option<u32>, Vec<&Segment>)> = Vec::new();
        for seg in mine {
            match turns.last_mut() {
                Some((who, segs)) if *who == seg.speaker => segs.push(seg),
                _ => turns.push((seg.speaker, vec![seg])),
            }
        }
        turns
            .into_iter()
            .map(|(who, segs)| Paragraph {
                speaker: self.speaker_name(who),
                text: join_text(segs.into_iter()),
            })
            .filter(|p| !p.text.is_empty())
            .collect()
    }

    /// Names speaker `id` (the name trimmed; empty gives back "Speaker N").
    pub fn rename_speaker(&mut self, id: u32, name: &str) -> Result<(), DocumentError> {
        let s = self
            .speakers
            .iter_mut()
            .find(|s| s.id == id)
            .ok_or(DocumentError::NoSpeaker { id })?;
        let name: String = name.trim().chars().filter(|c| !c.is_control()).collect();
        s.name = if name.is_empty() {
            format!("Speaker {id}")
        } else {
            name
        };
        Ok(())
    }
}

/// What cannot be done to a document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("the document has no speaker {id}")]
    NoSpeaker { id: u32 },
    #[error("the document has no segment {segment} (it has {count})")]
    NoSegment { segment: usize, count: usize },
    #[error("segment {segment} cannot be split at word {word}: split between two of its words")]
    NoSplit { segment: usize, word: usize },
}

/// `h:mm:ss` or `m:ss`.
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    let (h, m, s) = (s / 3600, s / 60 % 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

impl Document {
    /// Sections from slides and segments: each segment goes to the slide on screen at
    /// its middle; without slides, one section holds everything.
    pub fn sections_from(
        slides: &[ShownSlide],
        segments: &[Segment],
        duration_ms: u64,
    ) -> Vec<Section> {
        if slides.is_empty() {
            if segments.is_empty() {
                return Vec::new();
            }
            return vec![Section {
                index: 1,
                start_ms: 0,
                end_ms: duration_ms,
                image: None,
                thumbnail: None,
                title: None,
                slide_text: None,
                text: join_text(segments.iter()),
            }];
        }
        let mut out: Vec<Section> = slides
            .iter()
            .enumerate()
            .map(|(i, s)| Section {
                index: i + 1,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                image: s.image.clone(),
                thumbnail: s.thumbnail.clone(),
                title: s.title.clone(),
                slide_text: s.slide_text.clone().filter(|t| !t.trim().is_empty()),
                text: String::new(),
            })
            .collect();
        let mut texts: Vec<Vec<&Segment>> = vec![Vec::new(); out.len()];
        for seg in segments {
            let mid = (seg.start_ms + seg.end_ms) / 2;
            let i = out.iter().rposition(|s| s.start_ms <= mid).unwrap_or(0);
            texts[i].push(seg);
        }
        for (s, t) in out.iter_mut().zip(texts) {
            s.text = join_text(t.into_iter());
        }
        out
    }
}

/// Joins segment texts; CJK text is joined without spaces.
pub fn join_text<'a>(segments: impl Iterator<Item = &'a Segment>) -> String {
    let mut out = String::new();
    for s in segments {
        let t = s.text.trim();
        if t.is_empty() {
            continue;
        }
        let cjk_join =
            out.chars().last().is_some_and(is_cjk) || t.chars().next().is_some_and(is_cjk);
        if !out.is_empty() && !cjk_join {
            out.push(' ');
        }
        out.push_str(t);
    }
    out
}

/// Chinese, Japanese and Korean characters and their punctuation.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3000..=0x303F | 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF |
        0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FA1F)
}

/// `secs` since 1970 (UTC) as RFC 3339.
pub fn rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}
