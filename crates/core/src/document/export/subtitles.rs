//! SubRip (SRT) and WebVTT subtitles from the timed transcript, in readable cues
//! ([`super::cues`]); when the transcript is labelled by speaker, each cue names its
//! speaker (SRT: "Name: " before the text; WebVTT: a `<v Name>` voice span).

use super::cues::{cues, SubtitleStyle};
use crate::document::Document;

fn stamp(ms: u64, sep: char) -> String {
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{f:03}")
}

/// A cue's lines, without empty ones (a blank line ends a cue) or control characters.
fn cue_text(lines: &[String]) -> String {
    lines
        .iter()
        .map(|l| l.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|l| !l.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// A name as a cue may hold it: one line, no control characters.
fn one_line(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).collect()
}

pub fn srt(doc: &Document, style: &SubtitleStyle) -> String {
    let mut out = String::new();
    for (i, c) in cues(&doc.segments, style).into_iter().enumerate() {
        let who = doc
            .speaker_name(c.speaker)
            .map(|w| format!("{}: ", one_line(w)))
            .unwrap_or_default();
        out.push_str(&format!(
            "{}\n{} --> {}\n{who}{}\n\n",
            i + 1,
            stamp(c.start_ms, ','),
            stamp(c.end_ms, ','),
            cue_text(&c.lines)
        ));
    }
    out
}

/// `&`, `<` and `>` as WebVTT text must have them.
fn vtt_escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn vtt(doc: &Document, style: &SubtitleStyle) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in cues(&doc.segments, style) {
        // "-->" may not appear in a cue's text; `<` and `&` start tags and entities.
        let t = vtt_escape(&cue_text(&c.lines)).replace("--&gt;", "→");
        let who = doc
            .speaker_name(c.speaker)
            .map(|w| format!("<v {}>", vtt_escape(&one_line(w)).replace("--&gt;", "→")))
            .unwrap_or_default();
        out.push_str(&format!(
            "{} --> {}\n{who}{}\n\n",
            stamp(c.start_ms, '.'),
            stamp(c.end_ms, '.'),
            t
        ));
    }
    out
}
