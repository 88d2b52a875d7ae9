//! Shared by the integration tests: the real Whisper test model, speech made with
//! espeak-ng, and a transcription request as the tests ask it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use video2doc_core::process::extract_audio;
use video2doc_core::transcribe::{TranscribeOptions, WorkerRequest};

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

/// `text` spoken by espeak-ng (`voice`, `speed` words a minute) as `dir`/speech-raw.wav.
#[allow(dead_code)] // not every test crate speaks
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

/// As [`speech_wav`], decoded to 16 kHz mono f32 PCM (`dir`/speech.f32).
#[allow(dead_code)]
pub fn speech_pcm(dir: &Path, text: &str, voice: &str, speed: u32) -> PathBuf {
    let wav = speech_wav(dir, text, voice, speed);
    let pcm = dir.join("speech.f32");
    extract_audio(&wav, &pcm, &AtomicBool::new(false), |_| {}).unwrap();
    pcm
}

/// Transcribe all of `pcm` in English with `model`, 2 threads, word timestamps, the
/// windows padded (the app's defaults otherwise).
#[allow(dead_code)]
pub fn request(pcm: &Path, model: PathBuf) -> WorkerRequest {
    WorkerRequest {
        options: TranscribeOptions {
            model,
            language: Some("en".into()),
            translate: false,
            initial_prompt: None,
            word_timestamps: true,
            threads: 2,
            flash_attn: false,
            trim_short_audio: false,
            trim_final_window: false,
        },
        pcm: pcm.to_path_buf(),
        offset_samples: 0,
        len_samples: None,
    }
}
