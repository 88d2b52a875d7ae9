//! Shared by core's integration tests: the fixtures of every crate (the testkit, re-
//! exported) and what only core's tests ask: speech as PCM, a transcription request,
//! the worker of this build.

#![allow(dead_code, unused_imports)] // each test crate uses what it needs

use std::path::{Path, PathBuf};
use std::process::Command;

use std::sync::atomic::AtomicBool;
use video2doc_core::document::export::Format;

use video2doc_core::media::process::extract_audio;
use video2doc_core::media::transcribe::{TranscribeOptions, WorkerRequest};
pub use video2doc_testkit::{
    ffmpeg, mandarin_wav, model, multilingual_model, speech_wav, MANDARIN,
};

/// As [`speech_wav`], decoded to 16 kHz mono f32 PCM (`dir`/speech.f32).
pub fn speech_pcm(dir: &Path, text: &str, voice: &str, speed: u32) -> PathBuf {
    let wav = speech_wav(dir, text, voice, speed);
    let pcm = dir.join("speech.f32");
    extract_audio(&wav, &pcm, &AtomicBool::new(false), |_| {}).unwrap();
    pcm
}

/// Transcribe all of `pcm` in English with `model`, 2 threads, word timestamps, the
/// windows padded (the app's defaults otherwise).
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
        slide_words: None,
        slide_patience: None,
    }
}

/// The worker program of this build, as the pipeline starts it.
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
pub struct Quiet;

impl video2doc_core::pipeline::StageProgress for Quiet {
    fn stage(&self, _: &str, _: f32, _: &str) {}
}

/// The text a format shows: the file itself, DOCX's document XML, PDF's text
/// (pdftotext).
pub fn text_of(format: Format, path: &Path) -> String {
    match format {
        Format::Docx => {
            let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
            let mut xml = String::new();
            std::io::Read::read_to_string(&mut zip.by_name("word/document.xml").unwrap(), &mut xml)
                .unwrap();
            xml
        }
        Format::Pdf => {
            let o = Command::new("pdftotext")
                .arg(path)
                .arg("-")
                .output()
                .unwrap();
            assert!(o.status.success());
            String::from_utf8(o.stdout).unwrap()
        }
        _ => String::from_utf8(std::fs::read(path).unwrap()).unwrap(),
    }
}

/// The JSON export's schema (`schema/document.schema.json`), compiled.
pub fn document_validator() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/schema/document.schema.json"
    )))
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Where a JSON document breaks the schema, in words (empty: it is valid).
pub fn schema_errors(json: &serde_json::Value) -> Vec<String> {
    document_validator()
        .iter_errors(json)
        .map(|e| e.to_string())
        .collect()
}
