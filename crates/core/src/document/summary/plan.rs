//! Hierarchical notes: any length of recording fits any model's context. Each chapter
//! is written up on its own (a chapter too long for one request is cut at sentences into
//! parts, each written up, and the parts' notes written up as the chapter's); then the
//! whole is written from the chapters' notes (in rounds, when even those do not fit).
//! Every request is measured in the model's own tokens before it is sent, so none asks
//! for more than the model's context.

use std::sync::atomic::{AtomicBool, Ordering};

use super::shape::{read_reply, ReadError, Shape};
use super::template::{language_name, ChapterNotes, Template};
use crate::document::chapters::{self, Chapter, Span};
use crate::document::{join_text, Section, Speaker, Summary};
use crate::media::transcribe::Segment;

/// One request to a model.
#[derive(Debug, Clone)]
pub struct Ask {
    pub system: String,
    pub user: String,
    pub shape: Shape,
    pub max_tokens: usize,
}

/// A language model that writes notes: the local model's worker or an endpoint.
pub trait Writer {
    /// The model's name, as the document gives it.
    fn model(&self) -> String;
    /// The tokens one request may hold, prompt and reply together.
    fn context(&self) -> usize;
    /// The tokens of each text.
    fn count(&mut self, texts: &[&str]) -> Result<Vec<usize>, WriteError>;
    /// The reply to `ask`; `tokens` hears how many tokens are written so far.
    fn write(&mut self, ask: &Ask, tokens: &mut dyn FnMut(usize)) -> Result<String, WriteError>;
}

/// Why notes could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("a request of {prompt_tokens} tokens does not fit the model's context of {context}")]
    TooLong {
        prompt_tokens: usize,
        context: usize,
    },
    #[error("the model's context ({context} tokens) is too small to write notes: it needs at least {needed}")]
    ContextTooSmall { context: usize, needed: usize },
    #[error(transparent)]
    Reply(#[from] ReadError),
    #[error("{0}")]
    Model(String),
    #[error(transparent)]
    Endpoint(#[from] super::endpoint::EndpointError),
    #[error("cancelled")]
    Cancelled,
}

/// What the notes are written from.
#[derive(Debug, Clone, Copy)]
pub struct Material<'a> {
    pub segments: &'a [Segment],
    /// The document's sections: slides (their titles and text) when it has slides.
    pub sections: &'a [Section],
    pub duration_ms: u64,
    pub speakers: &'a [Speaker],
}

/// How the notes are written.
#[derive(Debug, Clone)]
pub struct Brief {
    /// Resolved (never `Auto`).
    pub template: Template,
    /// The template's instructions.
    pub instructions: String,
    /// The language code the notes are written in.
    pub language: String,
}

/// Where the writing is: step `done` of about `total`, on `what` ("chapter 2 of 7").
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub done: f32,
    pub total: usize,
    pub what: String,
}

/// Tokens a chapter's notes may take, and the whole's.
const CHAPTER_REPLY: usize = 450;
const WHOLE_REPLY: usize = 550;
/// Room for the chat template's own tokens around the messages.
const TEMPLATE_ROOM: usize = 64;
/// The least transcript a request should carry.
const LEAST_TEXT: usize = 200;

/// The chapters of `m` and the summary of the whole, written by `writer`.
pub fn write_notes(
    writer: &mut dyn Writer,
    m: &Material,
    brief: &Brief,
    cancel: &AtomicBool,
    progress: &mut dyn FnMut(Step),
) -> Result<(Vec<Chapter>, Summary), WriteError> {
    let spans = chapters::spans(m.sections, m.segments, m.duration_ms);
    let texts: Vec<String> = spans.iter().map(|s| chapter_text(m, s)).collect();
    let n = spans.len();
    let mut planner = Planner {
        writer,
        brief,
        cancel,
        done: 0.0,
        total: n + 1,
        progress,
    };
    let mut notes = Vec::with_capacity(n);
    for (i, (span, text)) in spans.iter().zip(&texts).enumerate() {
        let what = format!("chapter {} of {n}", i + 1);
        let context = span
            .slide_title
            .as_ref()
            .map(|t| format!("Its slide is titled \"{t}\".\n"))
            .unwrap_or_default();
        notes.push(planner.chapter(text, &context, &what)?);
    }
    let whole = planner.whole(&notes)?;
    let mut out_chapters = Vec::with_capacity(n);
    for (span, note) in spans.iter().zip(&notes) {
        out_chapters.push(Chapter {
            title: span
                .slide_title
                .clone()
                .filter(|t| !t.trim().is_empty())
                .unwrap_or_else(|| note.title.clone()),
            start_ms: span.start_ms,
            end_ms: span.end_ms,
            summary: note.summary.clone(),
            points: note.points.clone(),
        });
    }
    let mut summary = Summary {
        points: whole.points.clone(),
        overview: Some(whole.summary.clone()).filter(|s| !s.is_empty()),
        template: Some(brief.template),
        language: Some(brief.language.clone()),
        ..Summary::default()
    };
    // The lists are the chapters' own, without repeats.
    let joined = ChapterNotes::join(notes);
    summary.terms = joined.terms;
    summary.decisions = joined.decisions;
    summary.action_items = joined.action_items;
    summary.questions = joined.questions;
    if brief.template == Template::Abstract {
        summary.points.clear();
    }
    Ok((out_chapters, summary))
}

/// What was said in a chapter, with who said it when speakers were told apart, and its
/// slides' text.
pub fn chapter_text(m: &Material, span: &Span) -> String {
    let mut out = String::new();
    for s in &m.sections[span.sections.clone()] {
        if s.image.is_none() {
            continue;
        }
        let title = s.title.as_deref().unwrap_or("").trim();
        let body = s.slide_text.as_deref().unwrap_or("").trim();
        if !title.is_empty() || !body.is_empty() {
            out.push_str(&format!(
                "[Slide: {title}{}{}]\n",
                if body.is_empty() { "" } else { " | " },
                body.replace('\n', " / ")
            ));
        }
    }
    let said: Vec<&Segment> = chapters::said_in(m.segments, span).collect();
    let labelled = m.speakers.len() > 1;
    if !labelled {
        out.push_str(&join_text(said.into_iter()));
        return out;
    }
    let name = |id: Option<u32>| {
        id.and_then(|id| m.speakers.iter().find(|s| s.id == id))
            .map(|s| s.name.clone())
            .unwrap_or_else(|| "Someone".into())
    };
    let mut turn: Vec<&Segment> = Vec::new();
    let flush = |turn: &mut Vec<&Segment>, out: &mut String| {
        if let Some(first) = turn.first() {
            out.push_str(&format!(
                "{}: {}\n",
                name(first.speaker),
                join_text(turn.iter().copied())
            ));
        }
        turn.clear();
    };
    for seg in said {
        if turn.first().is_some_and(|t| t.speaker != seg.speaker) {
            flush(&mut turn, &mut out);
        }
        turn.push(seg);
    }
    flush(&mut turn, &mut out);
    out
}

struct Planner<'a> {
    writer: &'a mut dyn Writer,
    brief: &'a Brief,
    cancel: &'a AtomicBool,
    done: f32,
    total: usize,
    progress: &'a mut dyn FnMut(Step),
}

impl Planner<'_> {
    fn system(&self, shape: &Shape) -> String {
        format!(
            "{}\n\nWrite in {}. Reply with JSON only, in this form: {}",
            self.brief.instructions,
            language_name(&self.brief.language),
            shape.skeleton()
        )
    }

    /// Asks `user_head` + `text`, with `shape`; a request found too long is retried on
    /// halves of `text` by the caller.
    fn ask(
        &mut self,
        user_head: &str,
        text: &str,
        shape: &Shape,
        max_tokens: usize,
        what: &str,
    ) -> Result<serde_json::Value, WriteError> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(WriteError::Cancelled);
        }
        let ask = Ask {
            system: self.system(shape),
            user: format!("{user_head}\n{text}"),
            shape: shape.clone(),
            max_tokens,
        };
        let (done, total) = (self.done, self.total);
        let what = what.to_string();
        let progress = &mut *self.progress;
        let reply = self.writer.write(&ask, &mut |tokens| {
            progress(Step {
                done: done + (tokens as f32 / max_tokens as f32).min(1.0),
                total,
                what: what.clone(),
            })
        })?;
        let mut v = read_reply(&reply)?;
        scrub(&mut v, user_head);
        Ok(v)
    }

    /// Tokens left for text in a request with this head and shape.
    fn room(&mut self, user_head: &str, shape: &Shape, reply: usize) -> Result<usize, WriteError> {
        let system = self.system(shape);
        let counts = self.writer.count(&[&system, user_head])?;
        let fixed = counts.iter().sum::<usize>() + reply + TEMPLATE_ROOM;
        let context = self.writer.context();
        if context < fixed + LEAST_TEXT {
            return Err(WriteError::ContextTooSmall {
                context,
                needed: fixed + LEAST_TEXT,
            });
        }
        Ok(context - fixed)
    }

    /// `text` cut at sentences into parts of at most `room` tokens.
    fn cut(&mut self, text: &str, room: usize) -> Result<Vec<String>, WriteError> {
        let whole = self.writer.count(&[text])?[0];
        if whole <= room {
            return Ok(vec![text.to_string()]);
        }
        let sentences: Vec<String> = text
            .lines()
            .flat_map(|l| {
                super::sentences(l)
                    .into_iter()
                    .chain(std::iter::once("\n".to_string()))
            })
            .collect();
        let refs: Vec<&str> = sentences.iter().map(String::as_str).collect();
        let counts = self.writer.count(&refs)?;
        let mut parts: Vec<String> = Vec::new();
        let (mut cur, mut cur_n) = (String::new(), 0usize);
        for (s, n) in sentences.iter().zip(counts) {
            // One extra token per sentence for the space that joins it.
            let n = n + 1;
            if cur_n + n > room && !cur.trim().is_empty() {
                parts.push(std::mem::take(&mut cur));
                cur_n = 0;
            }
            if n > room {
                // A "sentence" longer than the room (text without stops): cut by length.
                let chars: Vec<char> = s.chars().collect();
                let per = (chars.len() * room / n).max(1);
                for piece in chars.chunks(per) {
                    parts.push(piece.iter().collect());
                }
                continue;
            }
            if s == "\n" {
                cur.push('\n');
            } else {
                if !cur.is_empty() && !cur.ends_with('\n') {
                    cur.push(' ');
                }
                cur.push_str(s);
            }
            cur_n += n;
        }
        if !cur.trim().is_empty() {
            parts.push(cur);
        }
        Ok(parts)
    }

    /// A chapter's notes: from its text at once, or from its parts' notes.
    fn chapter(
        &mut self,
        text: &str,
        context: &str,
        what: &str,
    ) -> Result<ChapterNotes, WriteError> {
        let shape = self.brief.template.chapter_shape();
        let head = format!("{context}Write the notes of this part of the transcript:");
        let room = self.room(&head, &shape, CHAPTER_REPLY)?;
        let parts = self.cut(text, room)?;
        let notes = if parts.len() == 1 {
            self.chapter_once(&head, &parts[0], &shape, what)?
        } else {
            self.total += parts.len();
            let mut part_notes = Vec::new();
            for (j, part) in parts.iter().enumerate() {
                let what = format!("{what}, part {} of {}", j + 1, parts.len());
                let head = format!(
                    "{context}This is part {} of {} of one chapter. Write the notes of this part of the transcript:",
                    j + 1,
                    parts.len()
                );
                part_notes.push(self.chapter_once(&head, part, &shape, &what)?);
                self.done += 1.0;
            }
            let head = format!("{context}These are notes of the parts of one chapter, in order. Write the notes of the whole chapter:");
            self.combine(part_notes, &head, &shape, what)?
        };
        self.done += 1.0;
        Ok(notes)
    }

    /// One request for a chapter's notes; a request the model finds too long is split.
    fn chapter_once(
        &mut self,
        head: &str,
        text: &str,
        shape: &Shape,
        what: &str,
    ) -> Result<ChapterNotes, WriteError> {
        match self.ask(head, text, shape, CHAPTER_REPLY, what) {
            Ok(v) => Ok(ChapterNotes::from_reply(&v)),
            Err(WriteError::TooLong { .. }) if text.chars().count() > 400 => {
                let mid = split_point(text);
                let a = self.chapter_once(head, &text[..mid], shape, what)?;
                let b = self.chapter_once(head, &text[mid..], shape, what)?;
                Ok(ChapterNotes::join(vec![a, b]))
            }
            Err(e) => Err(e),
        }
    }

    /// Notes of several parts written up as one, in rounds while they do not fit.
    fn combine(
        &mut self,
        mut notes: Vec<ChapterNotes>,
        head: &str,
        shape: &Shape,
        what: &str,
    ) -> Result<ChapterNotes, WriteError> {
        let room = self.room(head, shape, CHAPTER_REPLY)?;
        loop {
            let groups = self.group(&notes, room)?;
            if groups.len() == 1 {
                let text = groups[0].join("\n");
                let v = self.ask(head, &text, shape, CHAPTER_REPLY, what)?;
                let mut out = ChapterNotes::from_reply(&v);
                // The lists are the parts' own: a rewrite may drop some.
                let joined = ChapterNotes::join(notes);
                out.terms = joined.terms;
                out.decisions = joined.decisions;
                out.action_items = joined.action_items;
                out.questions = joined.questions;
                if out.title.is_empty() {
                    out.title = joined.title;
                }
                return Ok(out);
            }
            let mut next = Vec::new();
            for g in groups {
                let v = self.ask(head, &g.join("\n"), shape, CHAPTER_REPLY, what)?;
                next.push(ChapterNotes::from_reply(&v));
            }
            notes = next;
        }
    }

    /// Notes as texts, in groups that each fit `room` tokens.
    fn group(
        &mut self,
        notes: &[ChapterNotes],
        room: usize,
    ) -> Result<Vec<Vec<String>>, WriteError> {
        let texts: Vec<String> = notes.iter().map(ChapterNotes::as_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let counts = self.writer.count(&refs)?;
        let mut groups: Vec<Vec<String>> = Vec::new();
        let mut used = 0;
        for (t, n) in texts.into_iter().zip(counts) {
            let n = n + 2;
            match groups.last_mut() {
                Some(g) if used + n <= room => g.push(t),
                _ => {
                    groups.push(vec![t]);
                    used = 0;
                }
            }
            used += n;
        }
        // Two groups that could not be joined make progress only if each holds two.
        if groups.len() > 1 && groups.iter().all(|g| g.len() == 1) {
            let t = groups.concat();
            return Ok(t.chunks(2).map(|c| c.to_vec()).collect());
        }
        Ok(groups)
    }

    /// The whole's notes from the chapters'.
    fn whole(&mut self, notes: &[ChapterNotes]) -> Result<ChapterNotes, WriteError> {
        let shape = self.brief.template.whole_shape();
        let what = "the whole".to_string();
        let head = "These are the notes of each chapter of a recording, in order. Write the notes of the whole recording:";
        let room = self.room(head, &shape, WHOLE_REPLY)?;
        let mut current: Vec<ChapterNotes> = notes.to_vec();
        loop {
            let groups = self.group(&current, room)?;
            let mut next = Vec::new();
            for g in &groups {
                let v = self.ask(head, &g.join("\n"), &shape, WHOLE_REPLY, &what)?;
                next.push(ChapterNotes {
                    summary: super::shape::text(&v, "abstract"),
                    points: super::shape::texts(&v, "points"),
                    ..ChapterNotes::default()
                });
            }
            if next.len() == 1 {
                self.done = self.total as f32;
                (self.progress)(Step {
                    done: self.done,
                    total: self.total,
                    what,
                });
                return Ok(next.pop().expect("one"));
            }
            current = next;
        }
    }
}

/// Empties the strings of a reply that are not notes: the request's own words given
/// back, or the prompt's skeleton copied (`<a key point>`), as small models do.
fn scrub(v: &mut serde_json::Value, head: &str) {
    match v {
        serde_json::Value::String(s) => {
            let t = s.trim();
            let echoed = t.chars().count() >= 12 && head.contains(t);
            let skeleton = t.starts_with('<') && t.ends_with('>');
            if echoed || skeleton {
                s.clear();
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|i| scrub(i, head)),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(|f| scrub(f, head)),
        _ => {}
    }
}

/// A byte index near the middle of `text` at a sentence's end (or a char boundary).
fn split_point(text: &str) -> usize {
    let mid = text.len() / 2;
    let after = text[mid..]
        .char_indices()
        .find(|(_, c)| matches!(c, '.' | '!' | '?' | '。' | '！' | '？' | '\n'))
        .map(|(i, c)| mid + i + c.len_utf8());
    match after {
        Some(i) if i < text.len() => i,
        _ => (mid..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_skeletons_given_back_are_not_notes() {
        let mut v = serde_json::json!({
            "abstract": "Write the notes of the whole recording:",
            "points": ["<a key point>", "Light is energy"],
        });
        scrub(
            &mut v,
            "These are the notes of each chapter. Write the notes of the whole recording:",
        );
        assert_eq!(v["abstract"], "");
        assert_eq!(v["points"], serde_json::json!(["", "Light is energy"]));
    }

    #[test]
    fn splits_fall_at_sentence_ends_on_char_boundaries() {
        let t = "一二三四五。六七八九十。甲乙丙丁戊。";
        let i = split_point(t);
        assert!(t.is_char_boundary(i));
        assert!(t[..i].ends_with('。'), "{}", &t[..i]);
        let plain = "abcdefghij";
        assert_eq!(split_point(plain), 5);
    }
}
