//! Transcription workers started ahead of their audio (`transcribe::prewarm`): taken by
//! the next transcription with the same model, left alone by others, and the worker's
//! two-line protocol (what to load, then the request) with the real test model.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use video2doc_core::media::process::workers_waiting;
use video2doc_core::media::transcribe::{prewarm, transcribe, WorkerRequest};

mod common;
use common::model;

fn worker() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_video2doc-worker"))
}

/// The tests' sentence at espeak-ng's own speed.
fn speech_pcm(dir: &Path) -> PathBuf {
    let text = "The quick brown fox jumps over the lazy dog. Video to document.";
    common::speech_pcm(dir, text, "en-us", 175)
}

/// [`common::request`] without word timestamps.
fn request(pcm: &Path, model: PathBuf) -> WorkerRequest {
    let mut r = common::request(pcm, model);
    r.options.word_timestamps = false;
    r
}

fn text_of(req: &WorkerRequest) -> String {
    transcribe(
        &worker(),
        &[],
        req,
        &Arc::new(AtomicBool::new(false)),
        |_| {},
        |_| {},
    )
    .unwrap()
    .segments
    .iter()
    .map(|s| s.text.clone())
    .collect::<Vec<_>>()
    .join(" ")
}

/// One test, so that no other test in this process takes or adds a waiting worker.
#[test]
fn a_worker_started_ahead_is_taken_only_by_its_own_model() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speech_pcm(dir.path());
    let req = request(&pcm, model());
    let cold = text_of(&req);
    assert!(cold.to_lowercase().contains("fox"), "{cold}");
    assert_eq!(workers_waiting(), 0);

    // Started ahead: taken, with the same transcript.
    prewarm(&worker(), &[], &req.options);
    assert_eq!(workers_waiting(), 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(text_of(&req), cold);
    assert_eq!(workers_waiting(), 0, "the waiting worker was taken");

    // Started for another model: left waiting; the transcription starts its own.
    let other = dir.path().join("other.bin");
    std::fs::copy(model(), &other).unwrap();
    prewarm(&worker(), &[], &request(&pcm, other.clone()).options);
    assert_eq!(workers_waiting(), 1);
    assert_eq!(text_of(&req), cold);
    assert_eq!(
        workers_waiting(),
        1,
        "not taken by another model's transcription"
    );
    assert_eq!(text_of(&request(&pcm, other)), cold);
    assert_eq!(workers_waiting(), 0);

    // Started from a thread that ends while the worker waits (a job's thread): the
    // worker lives on and is taken.
    std::thread::spawn({
        let options = req.options.clone();
        move || {
            prewarm(&worker(), &[], &options);
            std::thread::sleep(Duration::from_millis(800));
        }
    })
    .join()
    .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(
        workers_waiting(),
        1,
        "alive after its starter's thread ended"
    );
    assert_eq!(text_of(&req), cold);
    assert_eq!(workers_waiting(), 0);

    // A missing model: nothing is started (the transcription says why, later).
    prewarm(
        &worker(),
        &[],
        &request(&pcm, dir.path().join("none.bin")).options,
    );
    assert_eq!(workers_waiting(), 0);
}

fn run_worker_lines(lines: &[String]) -> (std::process::ExitStatus, String, Duration) {
    let t = Instant::now();
    let mut child = Command::new(worker())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        t.elapsed(),
    )
}

/// The worker loads what its first line names, and the request's own model when that
/// differs (here the first one is broken: the request still succeeds); a worker whose
/// request never comes ends quietly when its input closes.
#[test]
fn the_worker_loads_the_requested_model_whatever_was_preloaded() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speech_pcm(dir.path());
    let broken = dir.path().join("broken.bin");
    std::fs::write(&broken, b"not a model").unwrap();
    let preload = |m: &Path| serde_json::json!({ "preload": m }).to_string();
    let req = serde_json::to_string(&request(&pcm, model())).unwrap();

    let (status, out, _) = run_worker_lines(&[preload(&broken), req.clone()]);
    assert!(status.success(), "{out}");
    assert!(out.contains("\"type\":\"done\""), "{out}");
    assert!(out.to_lowercase().contains("fox"), "{out}");

    // The preloaded model is the one asked for, but broken: the request fails naming it.
    let broken_req = serde_json::to_string(&request(&pcm, broken.clone())).unwrap();
    let (status, out, _) = run_worker_lines(&[preload(&broken), broken_req]);
    assert!(!status.success());
    assert!(
        out.contains("broken.bin") && out.contains("could not be loaded"),
        "{out}"
    );

    let (status, out, took) = run_worker_lines(&[preload(&model())]);
    assert!(status.success() && out.is_empty(), "{status} {out}");
    assert!(
        took < Duration::from_secs(30),
        "ended when its input closed"
    );
}
