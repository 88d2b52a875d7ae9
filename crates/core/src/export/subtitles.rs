//! SubRip (SRT) and WebVTT subtitles from the timed transcript.

use crate::transcribe::Segment;

fn stamp(ms: u64, sep: char) -> String {
    let (h, m, s, f) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{sep}{f:03}")
}

/// Cues never overlap and never have zero length (players reject both).
fn cues(segments: &[Segment]) -> Vec<(u64, u64, &str)> {
    let mut out: Vec<(u64, u64, &str)> = Vec::new();
    for s in segments {
        let text = s.text.trim();
        if text.is_empty() {
            continue;
        }
        let start = out.last().map(|c| c.1).unwrap_or(0).max(s.start_ms);
        let end = s.end_ms.max(start + 1);
        out.push((start, end, text));
    }
    out
}

pub fn srt(segments: &[Segment]) -> String {
    let mut out = String::new();
    for (i, (a, b, t)) in cues(segments).into_iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            stamp(a, ','),
            stamp(b, ','),
            t
        ));
    }
    out
}

pub fn vtt(segments: &[Segment]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for (a, b, t) in cues(segments) {
        // "-->" may not appear in a cue's text.
        let t = t.replace("-->", "→");
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            stamp(a, '.'),
            stamp(b, '.'),
            t
        ));
    }
    out
}
