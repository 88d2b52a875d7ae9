//! What the tests and benches of every crate share (dev-only, never shipped): the real
//! Whisper and text test models that scripts/fetch-test-model.sh makes, speech spoken by
//! espeak-ng or recorded Mandarin syllables, narrated videos and slides made with ffmpeg
//! ([`slides`]), meetings of several voices ([`meetings`]), generated transcripts for summaries ([`transcripts`]), and a real `redis-server` ([`redis_server`]). A missing tool or model fails loudly, naming
//! the script that provides it: tests never skip silently.

pub mod meetings;
pub mod redis_server;
pub mod slides;
pub mod transcripts;

use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of the package whose test or bench is running: `CARGO_MANIFEST_DIR` as
/// cargo sets it when it runs the binary, not as it was when the binary was built. The
/// build cache is shared by checkouts in different places, and cargo keeps a test built
/// in another checkout when the sources are the same, so a path fixed at build time can
/// name a folder that is gone.
pub fn package_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")))
}

/// The workspace's root (the folder holding Cargo.lock), found from [`package_dir`].
pub fn workspace_root() -> PathBuf {
    let dir = package_dir();
    dir.ancestors()
        .find(|d| d.join("Cargo.lock").is_file())
        .unwrap_or_else(|| panic!("no Cargo.lock above {}", dir.display()))
        .to_path_buf()
}

/// A test model: `var` if set, else `~/.cache/video2doc/models/<file>`.
fn test_model(var: &str, file: &str, what: &str) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").expect("HOME is set"))
            .join(".cache/video2doc/models")
            .join(file)
    });
    assert!(
        p.is_file(),
        "the {what} {} is missing: run scripts/fetch-test-model.sh",
        p.display()
    );
    p
}

/// The speaker test models (scripts/fetch-test-model.sh puts them in
/// `~/.cache/video2doc/models/speakers`): (segmentation, voiceprint encoder).
pub fn speaker_models() -> (PathBuf, PathBuf) {
    let seg = test_model(
        "VIDEO2DOC_TEST_SEGMENTATION",
        "speakers/segmentation-3.0.onnx",
        "speaker segmentation model",
    );
    let emb = test_model(
        "VIDEO2DOC_TEST_VOICEPRINT",
        "speakers/embedder.int8.onnx",
        "voiceprint model",
    );
    (seg, emb)
}

/// The English test model (tiny.en; `VIDEO2DOC_TEST_MODEL` overrides it).
pub fn model() -> PathBuf {
    test_model(
        "VIDEO2DOC_TEST_MODEL",
        "ggml-tiny.en-test.bin",
        "test model",
    )
}

/// The multilingual test model (faster-whisper base, converted by our importer;
/// `VIDEO2DOC_TEST_MODEL_MULTI` overrides it).
pub fn multilingual_model() -> PathBuf {
    test_model(
        "VIDEO2DOC_TEST_MODEL_MULTI",
        "ggml-base-test.bin",
        "multilingual test model",
    )
}

/// Runs ffmpeg quietly with `args` (overwriting outputs); a failure fails the test with
/// ffmpeg's words.
pub fn ffmpeg(args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        o.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// `text` spoken by espeak-ng (`voice`, `speed` words a minute) as `dir`/speech-raw.wav.
pub fn speech_wav(dir: &Path, text: &str, voice: &str, speed: u32) -> PathBuf {
    let raw = dir.join("speech-raw.wav");
    let out = Command::new("espeak-ng")
        .args(["-v", voice, "-s", &speed.to_string(), "-w"])
        .arg(&raw)
        .arg(text)
        .output()
        .expect("espeak-ng runs");
    assert!(
        out.status.success(),
        "espeak-ng failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    raw
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
        .expect("espeak-ng runs")
        .success());
    let out = dir.join(name);
    let duration = seconds.map(|s| format!("d={s}:")).unwrap_or_default();
    let rate = if seconds.is_some() { 10 } else { 5 };
    let video = format!(
        "color=c=white:s=640x360:{duration}r={rate},drawtext=text='{slide}':fontsize=40:x=40:y=40"
    );
    let wav = wav.to_string_lossy().into_owned();
    let mut args = vec!["-f", "lavfi", "-i", &video, "-i", &wav];
    let seconds = seconds.map(|s| s.to_string());
    match &seconds {
        Some(s) => args.extend(["-af", "apad", "-t", s]),
        None => args.push("-shortest"),
    }
    let out_str = out.to_string_lossy().into_owned();
    args.extend(["-c:v", "libx264", "-pix_fmt", "yuv420p", &out_str]);
    ffmpeg(&args);
    out
}

/// Three Mandarin sentences, recorded syllables joined (scripts/mandarin-speech.sh):
/// 今天我们讨论机器学习和神经网络。北京的天气很好。人工智能正在改变世界。
pub const MANDARIN: &str = "ㄐㄧㄣ ㄊㄧㄢ ㄨㄛ3 ㄇㄣ2 ㄊㄠ3 ㄌㄨㄣ4 ㄐㄧ ㄑㄧ4 ㄒㄩㄝ2 ㄒㄧ2 ㄏㄜ2 ㄕㄣ2 ㄐㄧㄥ ㄨㄤ3 ㄌㄨㄛ4 | ㄅㄟ3 ㄐㄧㄥ ㄉㄜ1 ㄊㄧㄢ ㄑㄧ4 ㄏㄣ3 ㄏㄠ3 | ㄖㄣ2 ㄍㄨㄥ ㄓ4 ㄋㄥ2 ㄓㄥ4 ㄗㄞ4 ㄍㄞ3 ㄅㄧㄢ4 ㄕ4 ㄐㄧㄝ4";

/// Real Mandarin speech (`syllables` as scripts/mandarin-speech.sh takes them) as a
/// 16 kHz mono WAV at `out`.
pub fn mandarin_wav(out: &Path, syllables: &str) {
    let script = workspace_root().join("scripts/mandarin-speech.sh");
    let o = Command::new("bash")
        .arg(script)
        .arg(out)
        .arg(syllables)
        .output()
        .expect("bash runs");
    assert!(
        o.status.success(),
        "mandarin-speech.sh failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
