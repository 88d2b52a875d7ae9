//! SubRip (SRT) and WebVTT subtitles from the timed transcript, in readable cues
//! ([`super::cues`]).

use super::cues::{cues, SubtitleStyle};
use crate::media::transcribe::Segment;

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

pub fn srt(segments: &[Segment], style: &SubtitleStyle) -> String {
    let mut out = String::new();
    for (i, c) in cues(segments, style).into_iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(c.start_ms, ','),
            stamp(c.end_ms, ','),
            cue_text(&c.lines)
        ));
    }
    out
}

pub fn vtt(segments: &[Segment], style: &SubtitleStyle) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in cues(segments, style) {
        // "-->" may not appear in a cue's text; `<` and `&` start tags and entities.
        let t = cue_text(&c.lines)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace("--&gt;", "→");
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(c.start_ms, '.'),
            stamp(c.end_ms, '.'),
            t
        ));
    }
    out
}
