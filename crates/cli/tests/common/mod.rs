//! Shared by the integration tests: the real Whisper test model and narrated videos
//! made with espeak-ng and ffmpeg.

#![allow(dead_code)] // each test crate uses what it needs

use std::path::{Path, PathBuf};
use std::process::Command;

/// The test model (`VIDEO2DOC_TEST_MODEL`, else the one scripts/fetch-test-model.sh makes).
pub fn model() -> PathBuf {
    let p = std::env::var_os("VIDEO2DOC_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/ggml-tiny.en-test.bin")
        });
    assert!(
        p.is_file(),
        "the test model {} is missing: run scripts/fetch-test-model.sh",
        p.display()
    );
    p
}

/// The narration of [`lecture`].
const SHORT_TEXT: &str = "The quick brown fox jumps over the lazy dog. Video to document.";

/// An 8 s narrated video with one slide ("Hello"), `dir/name`.
pub fn lecture(dir: &Path, name: &str) -> PathBuf {
    narrated_video(dir, name, SHORT_TEXT, "Hello", Some(8))
}

/// A video of `text` spoken by espeak-ng over one white slide showing `slide`: `seconds`
/// long (the speech padded with silence), or as long as the speech.
pub fn narrated_video(
    dir: &Path,
    name: &str,
    text: &str,
    slide: &str,
    seconds: Option<u32>,
) -> PathBuf {
    let wav = dir.join(format!("{name}.wav"));
    assert!(Command::new("espeak-ng")
        .args(["-v", "en-us", "-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .unwrap()
        .success());
    let out = dir.join(name);
    let duration = seconds.map(|s| format!("d={s}:")).unwrap_or_default();
    let rate = if seconds.is_some() { 10 } else { 5 };
    let mut ffmpeg = Command::new("ffmpeg");
    ffmpeg
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "color=c=white:s=640x360:{duration}r={rate},drawtext=text='{slide}':fontsize=40:x=40:y=40"
        ))
        .arg("-i")
        .arg(&wav);
    match seconds {
        Some(s) => ffmpeg.args(["-af", "apad", "-t", &s.to_string()]),
        None => ffmpeg.arg("-shortest"),
    };
    assert!(ffmpeg
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .unwrap()
        .success());
    out
}
