//! SubRip (SRT) and WebVTT subtitles from the timed transcript, in readable cues
//! ([`super::cues`]).

use super::cues::{cues, SubtitleStyle};
use crate::transcribe::Segment;

fn stamp(ms: u64, sep: char) -> String {
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{f:03}")
}

pub fn srt(segments: &[Segment], style: &SubtitleStyle) -> String {
    let mut out = String::new();
    for (i, c) in cues(segments, style).into_iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(c.start_ms, ','),
            stamp(c.end_ms, ','),
            c.lines.join("\n")
        ));
    }
    out
}

pub fn vtt(segments: &[Segment], style: &SubtitleStyle) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for c in cues(segments, style) {
        // "-->" may not appear in a cue's text.
        let t = c.lines.join("\n").replace("-->", "→");
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(c.start_ms, '.'),
            stamp(c.end_ms, '.'),
            t
        ));
    }
    out
}
