//! Shared by the integration tests: the real Whisper test model, speech made with
//! espeak-ng, and a transcription request as the tests ask it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use video2doc_core::media::process::extract_audio;
use video2doc_core::media::transcribe::{TranscribeOptions, WorkerRequest};

/// The test model (`VIDEO2DOC_TEST_MODEL`, else the one scripts/fetch-test-model.sh makes).
#[allow(dead_code)] // not every test crate uses the English model
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
            context: None,
            context_language: None,
            chinese_script: Default::default(),
            vad: true,
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

/// The multilingual test model (faster-whisper base, converted by
/// scripts/fetch-test-model.sh; `VIDEO2DOC_TEST_MODEL_MULTI` overrides it).
#[allow(dead_code)]
pub fn multilingual_model() -> PathBuf {
    let p = std::env::var_os("VIDEO2DOC_TEST_MODEL_MULTI")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/ggml-base-test.bin")
        });
    assert!(
        p.is_file(),
        "the multilingual test model {} is missing: run scripts/fetch-test-model.sh",
        p.display()
    );
    p
}

/// Three Mandarin sentences, recorded syllables joined (scripts/mandarin-speech.sh):
/// 今天我们讨论机器学习和神经网络。北京的天气很好。人工智能正在改变世界。
#[allow(dead_code)]
pub const MANDARIN: &str = "ㄐㄧㄣ ㄊㄧㄢ ㄨㄛ3 ㄇㄣ2 ㄊㄠ3 ㄌㄨㄣ4 ㄐㄧ ㄑㄧ4 ㄒㄩㄝ2 ㄒㄧ2 ㄏㄜ2 ㄕㄣ2 ㄐㄧㄥ ㄨㄤ3 ㄌㄨㄛ4 | ㄅㄟ3 ㄐㄧㄥ ㄉㄜ1 ㄊㄧㄢ ㄑㄧ4 ㄏㄣ3 ㄏㄠ3 | ㄖㄣ2 ㄍㄨㄥ ㄓ4 ㄋㄥ2 ㄓㄥ4 ㄗㄞ4 ㄍㄞ3 ㄅㄧㄢ4 ㄕ4 ㄐㄧㄝ4";

/// Real Mandarin speech (`syllables` as scripts/mandarin-speech.sh takes them) as a
/// 16 kHz mono WAV at `out`.
#[allow(dead_code)]
pub fn mandarin_wav(out: &Path, syllables: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mandarin-speech.sh");
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

/// The worker program of this build, as the pipeline starts it.
#[allow(dead_code)]
pub fn worker_command() -> video2doc_core::pipeline::WorkerCommand {
    video2doc_core::pipeline::WorkerCommand {
        // option_env: this file is also compiled into other packages' tests, which
        // have no such binary (and do not call this).
        program: match option_env!("CARGO_BIN_EXE_video2doc-worker") {
            Some(p) => PathBuf::from(p),
            None => panic!("only video2doc-core's tests have its worker binary"),
        },
        args: Vec::new(),
    }
}

/// A progress sink that shows nothing.
#[allow(dead_code)]
pub struct Quiet;

impl video2doc_core::pipeline::Progress for Quiet {
    fn stage(&self, _: &str, _: f32, _: &str) {}
}

/// Runs ffmpeg quietly with `args` (overwriting outputs); a failure fails the test with
/// ffmpeg's words.
#[allow(dead_code)]
pub fn ffmpeg(args: &[&str]) {
    let o = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}
