//! The whole pipeline on generated lectures with the real test model: documents for a
//! narrated slide video, a silent video and an audio file; clear failures for bad
//! inputs; finished stages reused on a second run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use video2doc_core::document::export::Format;
use video2doc_core::pipeline::{process, PipelineError, StageOptions, WorkerCommand};

mod common;
use common::model;

fn worker() -> WorkerCommand {
    WorkerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_video2doc-worker")),
        args: Vec::new(),
    }
}

fn settings() -> StageOptions {
    let mut s = StageOptions::new(model());
    s.formats = Format::ALL.to_vec();
    s.transcribe.language = Some("en".into());
    s.transcribe.threads = 2;
    s
}

fn ok(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// Two slides (8 s each) narrated by espeak; `audio` false gives a silent video.
fn lecture(dir: &Path, name: &str, audio: bool) -> PathBuf {
    let wav = dir.join("narration.wav");
    ok(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg(
            "The quick brown fox jumps over the lazy dog. Video to document. \
         Photosynthesis turns sunlight into sugar.",
        ));
    let out = dir.join(name);
    let text = |t: &str, when: &str| {
        format!("drawtext=text='{t}':fontsize=40:fontcolor=black:x=40:y=60:enable='{when}'")
    };
    let video = format!(
        "color=c=white:s=640x360:d=16:r=10,{},{}",
        text("The quick brown fox", "lt(t,8)"),
        text("Photosynthesis", "gte(t,8)")
    );
    let mut cmd = Command::new("ffmpeg");
    cmd.args([
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        &video,
    ]);
    if audio {
        cmd.arg("-i").arg(&wav).args(["-af", "apad", "-t", "16"]);
    }
    cmd.args(["-c:v", "libx264", "-pix_fmt", "yuv420p"])
        .arg(&out);
    ok(&mut cmd);
    out
}

struct Log(Mutex<Vec<String>>);

impl video2doc_core::pipeline::StageProgress for Log {
    fn stage(&self, stage: &str, _f: f32, message: &str) {
        self.0.lock().unwrap().push(format!("{stage}: {message}"));
    }
}

fn run(
    input: &Path,
    out: &Path,
    work: &Path,
) -> Result<video2doc_core::pipeline::Outputs, PipelineError> {
    let log = Log(Mutex::new(Vec::new()));
    process(
        input,
        out,
        work,
        &settings(),
        &worker(),
        &Arc::new(AtomicBool::new(false)),
        &log,
    )
}

#[test]
fn a_narrated_lecture_becomes_documents_and_a_rerun_reuses_stages() {
    let dir = tempfile::tempdir().unwrap();
    let input = lecture(dir.path(), "第一课 lecture #1.mp4", true);
    let (out, work) = (dir.path().join("out"), dir.path().join("work"));
    let t0 = Instant::now();
    let o = run(&input, &out, &work).unwrap();
    let first = t0.elapsed();
    assert_eq!(o.slides, 2, "{o:?}");
    assert!(o.segments >= 1);
    assert_eq!(o.folder, out.join("第一课 lecture _1"));
    for f in Format::ALL {
        let p = &o.files[&f];
        assert!(
            p.is_file() && std::fs::metadata(p).unwrap().len() > 0,
            "{p:?}"
        );
        assert_eq!(
            p.file_stem().unwrap().to_string_lossy(),
            "第一课 lecture _1"
        );
    }
    assert!(o.folder.join("slides/slide-001.jpg").is_file());
    assert!(o.folder.join("slides/slide-002-thumb.jpg").is_file());
    let md = std::fs::read_to_string(&o.files[&Format::Md])
        .unwrap()
        .to_lowercase();
    assert!(md.contains("lazy dog") || md.contains("brown fox"), "{md}");
    assert!(md.contains("slides/slide-002.jpg"));
    let full = image::image_dimensions(o.folder.join("slides/slide-001.jpg")).unwrap();
    assert_eq!(full, (640, 360), "keyframes at full resolution");

    // The decoded audio is gone once transcribed; the transcript stays.
    let work_dirs: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(work_dirs.len(), 1);
    assert!(!work_dirs[0].join("audio.f32").exists());
    assert!(work_dirs[0].join("transcript.json").is_file());

    // Same file, same settings: every stage is reused (the audio is not decoded again).
    let t1 = Instant::now();
    let again = run(&input, &out, &work).unwrap();
    assert_eq!(again.slides, o.slides);
    assert_eq!(again.segments, o.segments);
    assert!(t1.elapsed() < first, "the rerun reused finished stages");
    assert!(!work_dirs[0].join("audio.f32").exists());
}

#[test]
fn silent_video_and_audio_only_inputs_give_documents() {
    let dir = tempfile::tempdir().unwrap();
    let (out, work) = (dir.path().join("out"), dir.path().join("work"));
    let silent = lecture(dir.path(), "silent.mp4", false);
    let o = run(&silent, &out, &work).unwrap();
    assert_eq!((o.slides, o.segments), (2, 0));
    let audio = dir.path().join("talk.m4a");
    ok(Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(dir.path().join("narration.wav"))
        .arg(&audio));
    let o = run(&audio, &out, &work).unwrap();
    assert_eq!(o.slides, 0);
    assert!(o.segments >= 1);
    let srt = std::fs::read_to_string(&o.files[&Format::Srt]).unwrap();
    assert!(srt.contains(" --> "));
}

#[test]
fn bad_inputs_fail_with_a_message_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (out, work) = (dir.path().join("out"), dir.path().join("work"));
    let empty = dir.path().join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    let text = dir.path().join("notes.mp4");
    std::fs::write(&text, "not a video\n").unwrap();
    let random = dir.path().join("noise.mov");
    std::fs::write(
        &random,
        (0..100_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 7) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    for (p, word) in [
        (&empty, "empty"),
        (&text, "not a video"),
        (&random, "not a video"),
    ] {
        let e = run(p, &out, &work).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&p.file_name().unwrap().to_string_lossy().into_owned()),
            "{msg}"
        );
        assert!(msg.contains(word), "{msg}");
    }
    // A missing model fails before any work, saying how to get one.
    let input = lecture(dir.path(), "ok.mp4", true);
    let mut s = settings();
    s.transcribe.model = dir.path().join("ggml-base.bin");
    let log = Log(Mutex::new(Vec::new()));
    let e = process(
        &input,
        &out,
        &work,
        &s,
        &worker(),
        &Arc::new(AtomicBool::new(false)),
        &log,
    )
    .unwrap_err();
    assert!(
        e.to_string().contains("ggml-base.bin") && e.to_string().contains("download"),
        "{e}"
    );
    assert!(log.0.lock().unwrap().is_empty(), "no stage ran");
}

#[test]
fn two_inputs_with_one_name_keep_their_own_documents() {
    let dir = tempfile::tempdir().unwrap();
    let (out, work) = (dir.path().join("out"), dir.path().join("work"));
    let (mon, tue) = (dir.path().join("mon"), dir.path().join("tue"));
    std::fs::create_dir_all(&mon).unwrap();
    std::fs::create_dir_all(&tue).unwrap();
    // Zoom names every recording zoom_0.mp4: one narrated, one silent.
    let spoken = lecture(&mon, "zoom_0.mp4", true);
    let silent = lecture(&tue, "zoom_0.mp4", false);
    let a = run(&spoken, &out, &work).unwrap();
    // A slide left from a longer, earlier run of the same input.
    std::fs::write(a.folder.join("slides/slide-009.jpg"), b"old").unwrap();
    let b = run(&silent, &out, &work).unwrap();
    assert_eq!(a.folder, out.join("zoom_0"));
    assert_eq!(b.folder, out.join("zoom_0 (2)"));
    let md = |o: &video2doc_core::pipeline::Outputs| {
        std::fs::read_to_string(&o.files[&Format::Md])
            .unwrap()
            .to_lowercase()
    };
    assert!(md(&a).contains("brown fox") || md(&a).contains("lazy dog"));
    let source = |o: &video2doc_core::pipeline::Outputs| {
        let j: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&o.files[&Format::Json]).unwrap()).unwrap();
        j["source"].as_str().unwrap().to_string()
    };
    assert_eq!(source(&a), spoken.display().to_string());
    assert_eq!(source(&b), silent.display().to_string());
    assert_eq!(b.segments, 0);
    // The first again: its own folder, without the stale slide.
    let again = run(&spoken, &out, &work).unwrap();
    assert_eq!(again.folder, a.folder);
    assert!(!a.folder.join("slides/slide-009.jpg").exists());
    assert!(a.folder.join("slides/slide-002.jpg").is_file());
    assert!(b.folder.join("slides/slide-002.jpg").is_file());
}

#[test]
fn two_jobs_on_one_file_at_once_take_turns_and_agree() {
    let dir = tempfile::tempdir().unwrap();
    let input = lecture(dir.path(), "twice.mp4", true);
    let root = dir.path().join("work");
    let (work, info) = video2doc_core::pipeline::open_work(&root, &input).unwrap();
    let run = |log: Arc<Log>| {
        let (input, work, info) = (input.clone(), work.clone(), info.clone());
        std::thread::spawn(move || {
            let cancel = Arc::new(AtomicBool::new(false));
            let pcm = video2doc_core::pipeline::audio_stage(&input, &info, &work, &cancel, &*log)
                .unwrap();
            video2doc_core::pipeline::transcript_stage(
                pcm.as_deref(),
                &work,
                &settings(),
                &worker(),
                &cancel,
                &*log,
            )
            .unwrap()
        })
    };
    let logs = [
        Arc::new(Log(Mutex::new(Vec::new()))),
        Arc::new(Log(Mutex::new(Vec::new()))),
    ];
    let (a, b) = (run(logs[0].clone()), run(logs[1].clone()));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(a, b, "the same transcript");
    let text = a
        .segments
        .iter()
        .map(|s| s.text.to_lowercase())
        .collect::<String>();
    assert!(text.contains("fox") || text.contains("dog"), "{text}");
    // The audio was decoded once: one job waited and took the other's.
    let decoded = logs
        .iter()
        .filter(|l| l.0.lock().unwrap().iter().any(|m| m.starts_with("audio:")))
        .count();
    assert_eq!(
        decoded, 1,
        "both jobs decoded the audio into one file at once"
    );
}
