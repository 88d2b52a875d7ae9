//! Probe, audio extraction and transcription on media the tests generate with ffmpeg
//! and espeak-ng, with the real test model (scripts/fetch-test-model.sh).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use video2doc_core::media::probe::{probe, ProbeError};
use video2doc_core::media::process::{extract_audio, ProcessError};
use video2doc_core::media::transcribe::{transcribe, TranscribeError, Transcript, SAMPLE_RATE};

mod common;
use common::{model, request};

const SPEECH: &str = "The quick brown fox jumps over the lazy dog. Video to document.";

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("tool runs");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ffmpeg(args: &[&str]) {
    run(Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args));
}

fn speech_wav(dir: &Path, text: &str) -> PathBuf {
    common::speech_wav(dir, text, "en-us", 150)
}

/// A video with slides and narration (or without audio).
fn lecture(dir: &Path, name: &str, with_audio: bool) -> PathBuf {
    let out = dir.join(name);
    let speech = speech_wav(dir, SPEECH);
    let mut args: Vec<String> = vec![
        "-f".into(),
        "lavfi".into(),
        "-i".into(),
        "color=c=white:s=320x240:d=5,drawtext=text='Slide 1':fontsize=30:x=20:y=20".into(),
    ];
    if with_audio {
        args.extend(["-i".into(), speech.to_string_lossy().into_owned()]);
        args.extend(["-shortest".into()]);
    }
    args.extend([
        "-c:v".into(),
        "libx264".into(),
        "-pix_fmt".into(),
        "yuv420p".into(),
        out.to_string_lossy().into_owned(),
    ]);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    ffmpeg(&a);
    out
}

fn worker() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_video2doc-worker"))
}

#[test]
fn probe_reads_a_lecture() {
    let dir = tempfile::tempdir().unwrap();
    let v = lecture(dir.path(), "lecture.mp4", true);
    let info = probe(&v).unwrap();
    assert!(info.duration_s > 3.0 && info.duration_s < 6.0, "{info:?}");
    let video = info.video.unwrap();
    assert_eq!((video.width, video.height), (320, 240));
    assert_eq!(video.codec, "h264");
    assert!(info.audio.is_some());
}

#[test]
fn probe_accepts_video_without_audio_and_audio_without_video() {
    let dir = tempfile::tempdir().unwrap();
    let silent = lecture(dir.path(), "silent.mp4", false);
    let info = probe(&silent).unwrap();
    assert!(info.video.is_some() && info.audio.is_none());
    let wav = speech_wav(dir.path(), "hello");
    let info = probe(&wav).unwrap();
    assert!(info.video.is_none() && info.audio.is_some());
}

/// A file probed again in the same process is answered from what was read, unless it
/// changed: then it is read again (a replaced file, a file broken since).
#[test]
fn probe_reads_a_file_again_only_when_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("talk.wav");
    std::fs::copy(speech_wav(dir.path(), "hello"), &path).unwrap();
    let first = probe(&path).unwrap();
    assert_eq!(probe(&path).unwrap(), first);
    // Replaced by a video: read again.
    std::fs::copy(lecture(dir.path(), "v.mp4", true), &path).unwrap();
    let second = probe(&path).unwrap();
    assert!(
        second.video.is_some(),
        "the new content is seen: {second:?}"
    );
    // Broken since: the error, not the remembered answer.
    std::fs::write(&path, b"not media any more").unwrap();
    let e = probe(&path).unwrap_err().to_string();
    assert!(e.contains("talk.wav"), "{e}");
}

#[test]
fn probe_explains_bad_inputs_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let empty = d.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let e = probe(&empty).unwrap_err();
    assert!(matches!(e, ProbeError::Empty { .. }));
    assert!(e.to_string().contains("empty.mp4") && e.to_string().contains("empty"));

    let random = d.join("random.mkv");
    let bytes: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let e = probe(&random).unwrap_err();
    assert!(matches!(e, ProbeError::NotMedia { .. }), "{e}");
    assert!(e.to_string().contains("random.mkv"), "{e}");

    let text = d.join("notes.mp4");
    std::fs::write(&text, "These are my meeting notes, not a video.\n").unwrap();
    let e = probe(&text).unwrap_err();
    assert!(matches!(e, ProbeError::NotMedia { .. }), "{e}");
    assert!(e.to_string().contains("notes.mp4") && e.to_string().contains("not a video"));

    let missing = d.join("gone.mp4");
    assert!(matches!(
        probe(&missing).unwrap_err(),
        ProbeError::Missing { .. }
    ));

    // A truncated mp4 (the moov atom at the end is cut off).
    let full = lecture(d, "whole.mp4", true);
    let bytes = std::fs::read(&full).unwrap();
    let cut = d.join("truncated.mp4");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = probe(&cut).unwrap_err();
    assert!(e.to_string().contains("truncated.mp4"), "{e}");
}

#[test]
fn chinese_file_names_with_spaces_work() {
    let dir = tempfile::tempdir().unwrap();
    let v = lecture(dir.path(), "第一课 讲座 #1.mp4", true);
    let info = probe(&v).unwrap();
    assert!(info.audio.is_some());
    let pcm = dir.path().join("音频 1.f32");
    extract_audio(&v, &pcm, &AtomicBool::new(false), |_| {}).unwrap();
    assert!(std::fs::metadata(&pcm).unwrap().len() > 0);
}

#[test]
fn audio_is_extracted_as_16k_mono_f32() {
    let dir = tempfile::tempdir().unwrap();
    let v = lecture(dir.path(), "lecture.mp4", true);
    let info = probe(&v).unwrap();
    let pcm = dir.path().join("audio.f32");
    let mut last = 0.0;
    extract_audio(&v, &pcm, &AtomicBool::new(false), |s| last = s).unwrap();
    let samples = std::fs::metadata(&pcm).unwrap().len() / 4;
    let seconds = samples as f64 / SAMPLE_RATE as f64;
    assert!(
        (seconds - info.duration_s).abs() < 0.5,
        "{seconds} s of audio for {} s of media",
        info.duration_s
    );
    assert!(last > 0.0);
    // No audio stream: a clear error naming the file.
    let silent = lecture(dir.path(), "silent.mp4", false);
    let e = extract_audio(&silent, &pcm, &AtomicBool::new(false), |_| {}).unwrap_err();
    assert!(matches!(e, ProcessError::Ffmpeg { .. }));
    assert!(e.to_string().contains("silent.mp4"), "{e}");
}

fn speech_pcm(dir: &Path, repeat: usize) -> PathBuf {
    common::speech_pcm(dir, &vec![SPEECH; repeat].join(" "), "en-us", 150)
}

/// The twenty "Please write down the word ..." sentences (about 50 s) as PCM.
fn words_pcm(dir: &Path) -> PathBuf {
    let text = WORDS
        .iter()
        .map(|w| format!("Please write down the word {w}."))
        .collect::<Vec<_>>()
        .join(" ");
    common::speech_pcm(dir, &text, "en", 140)
}

/// A transcript's text, lowercase, its segments joined by spaces.
fn lowercase_text(t: &Transcript) -> String {
    t.segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn transcription_finds_the_spoken_keywords() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speech_pcm(dir.path(), 1);
    let mut streamed = 0;
    let mut progress = Vec::new();
    let t = transcribe(
        &worker(),
        &[],
        &request(&pcm, model()),
        &Arc::new(AtomicBool::new(false)),
        |_| streamed += 1,
        |p| progress.push(p),
    )
    .unwrap();
    let text = lowercase_text(&t);
    let keywords = ["quick", "brown", "fox", "lazy", "dog", "document"];
    let found = keywords.iter().filter(|k| text.contains(*k)).count();
    // Synthetic espeak speech and the tiny model: most keywords, never exact text.
    assert!(found >= 4, "found {found} of {keywords:?} in {text:?}");
    assert_eq!(streamed, t.segments.len());
    assert!(t.segments.iter().all(|s| s.end_ms >= s.start_ms));
    assert!(
        t.segments.iter().any(|s| !s.words.is_empty()),
        "word timestamps"
    );
    assert!(t.segments.last().unwrap().end_ms <= 7_000);
    assert_eq!(t.language.as_deref(), Some("en"));
}

#[test]
fn a_missing_model_fails_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = dir.path().join("none.f32");
    std::fs::write(&pcm, [0u8; 64]).unwrap();
    let e = transcribe(
        &worker(),
        &[],
        &request(&pcm, dir.path().join("ggml-small.bin")),
        &Arc::new(AtomicBool::new(false)),
        |_| {},
        |_| {},
    )
    .unwrap_err();
    assert!(matches!(e, TranscribeError::ModelMissing { .. }));
    assert!(e.to_string().contains("ggml-small.bin") && e.to_string().contains("download"));
}

#[test]
fn a_corrupt_model_fails_the_stage_and_the_parent_lives() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speech_pcm(dir.path(), 1);
    // The first megabytes of a real model: a valid header, then nothing.
    let bytes = std::fs::read(model()).unwrap();
    let broken = dir.path().join("ggml-broken.bin");
    std::fs::write(&broken, &bytes[..3 << 20]).unwrap();
    let e = transcribe(
        &worker(),
        &[],
        &request(&pcm, broken),
        &Arc::new(AtomicBool::new(false)),
        |_| {},
        |_| {},
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, TranscribeError::Failed { .. }), "{msg}");
    assert!(msg.contains("model") || msg.contains("crashed"), "{msg}");
}

#[test]
fn cancel_kills_the_worker_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = speech_pcm(dir.path(), 12);
    let cancel = Arc::new(AtomicBool::new(false));
    let c = cancel.clone();
    let req = request(&pcm, model());
    let t0 = Instant::now();
    let h = std::thread::spawn(move || transcribe(&worker(), &[], &req, &c, |_| {}, |_| {}));
    std::thread::sleep(Duration::from_millis(800));
    cancel.store(true, Ordering::SeqCst);
    let cancelled_at = Instant::now();
    let r = h.join().unwrap();
    assert!(
        matches!(r, Err(TranscribeError::Process(ProcessError::Cancelled))),
        "{r:?} after {:?}",
        t0.elapsed()
    );
    assert!(cancelled_at.elapsed() < Duration::from_secs(1));
}

const WORDS: [&str; 20] = [
    "apple", "banana", "cherry", "dolphin", "elephant", "falcon", "giraffe", "harbor", "island",
    "jungle", "kitten", "lemon", "mountain", "notebook", "ocean", "pencil", "river", "sunset",
    "tiger", "window",
];

#[test]
fn chunked_transcription_stitches_seams_and_resumes_from_checkpoints() {
    use video2doc_core::media::chunks::{ChunkPlan, ChunkedRun};
    let dir = tempfile::tempdir().unwrap();
    // Twenty sentences of about 2.5 s; chunks of 15 s put seams inside sentences.
    let pcm = words_pcm(dir.path());
    let seconds = std::fs::metadata(&pcm).unwrap().len() / 4 / SAMPLE_RATE as u64;
    assert!(seconds >= 30, "{seconds} s of speech");
    let options = request(&pcm, model()).options;
    let checkpoints = dir.path().join("chunks");
    let w = worker();
    let run = ChunkedRun {
        pcm: &pcm,
        checkpoints: &checkpoints,
        plan: ChunkPlan {
            chunk_s: 25,
            overlap_s: 5,
        },
        options: &options,
        worker: &w,
        worker_args: &[],
        gpu: None,
        slide_words: None,
        slide_patience: None,
    };
    let t = run
        .run(&Arc::new(AtomicBool::new(false)), |_| {}, |_| {})
        .unwrap();
    let text = lowercase_text(&t);
    // Each sentence once: none lost and none doubled where chunks overlap.
    let sentences = text.matches("write down").count();
    assert!(
        (19..=20).contains(&sentences),
        "{sentences} of 20 sentences in {text:?}"
    );
    let found = WORDS.iter().filter(|w| text.contains(*w)).count();
    assert!(found >= 6, "found {found} of the words in {text:?}");
    let mut starts: Vec<u64> = t.segments.iter().map(|s| s.start_ms).collect();
    let sorted = {
        let mut s = starts.clone();
        s.sort();
        s
    };
    assert_eq!(starts, sorted, "segments in time order");
    let n_chunks = std::fs::read_dir(&checkpoints).unwrap().count();
    assert!(n_chunks >= 2, "{n_chunks} checkpoints");

    // Resume: with every checkpoint present, a run with a broken worker still succeeds.
    let bogus = PathBuf::from("/nonexistent/worker");
    let resumed = ChunkedRun {
        worker: &bogus,
        ..run
    }
    .run(&Arc::new(AtomicBool::new(false)), |_| {}, |_| {})
    .unwrap();
    assert_eq!(resumed.segments, t.segments);
    starts.clear();
}

/// With `trim_final_window`, the final, shorter window of audio longer than 30 s is
/// decoded once, after the windows before it, to the end of the audio, with nearly the
/// same words found as when it is padded to a full window.
#[test]
fn final_short_window_is_decoded_once_with_a_sized_context() {
    let dir = tempfile::tempdir().unwrap();
    let pcm = words_pcm(dir.path());
    let secs = std::fs::metadata(&pcm).unwrap().len() as f64 / 4.0 / 16_000.0;
    assert!(secs > 45.0, "{secs} s of speech: more than one window");
    let run = |trim: bool| {
        let mut req = request(&pcm, model());
        req.options.trim_final_window = trim;
        req.options.word_timestamps = false;
        transcribe(
            &worker(),
            &[],
            &req,
            &Arc::new(AtomicBool::new(false)),
            |_| {},
            |_| {},
        )
        .unwrap()
    };
    let words_of = |t: &Transcript| {
        let text = lowercase_text(t);
        let found: Vec<&str> = WORDS.iter().copied().filter(|w| text.contains(w)).collect();
        (text.matches("write down").count(), found)
    };
    let trimmed = run(true);
    let padded = run(false);
    let (sentences, found) = words_of(&trimmed);
    assert!(
        (19..=20).contains(&sentences),
        "{sentences} of 20 sentences in {:?}",
        trimmed.segments
    );
    let (padded_sentences, padded_found) = words_of(&padded);
    assert!((19..=20).contains(&padded_sentences));
    let shared = found.iter().filter(|w| padded_found.contains(w)).count();
    assert!(
        shared + 2 >= padded_found.len(),
        "nearly the same words as with a padded final window: {found:?} vs {padded_found:?}"
    );
    let starts: Vec<u64> = trimmed.segments.iter().map(|s| s.start_ms).collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "in time order: {starts:?}"
    );
    let last = trimmed.segments.last().unwrap();
    assert!(
        (secs * 1000.0 - 3000.0..=secs * 1000.0 + 1000.0).contains(&(last.end_ms as f64))
            && last.text.to_lowercase().contains("word"),
        "the final window is decoded, to the end of the audio: {last:?}"
    );
}
