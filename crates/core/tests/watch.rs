//! Watched folders with the real queue and pipeline: slow writes, bursts, restarts,
//! outputs inside the folder, a folder that goes away, and bad files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast::Receiver;
use tokio_util::sync::CancellationToken;
use video2doc_core::api::{Core, CoreDirs};
use video2doc_core::pipeline::WorkerCommand;
use video2doc_core::watch::{FolderWatcher, OutputPlace, WatchEvent, WatchTiming, WatchedFolder};
use video2doc_queue::State;

mod common;
use common::model;

async fn core(dir: &Path) -> Arc<Core> {
    let dirs = CoreDirs {
        data: dir.join("data"),
        config: dir.join("config"),
    };
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(
        dirs.config.join("settings.json"),
        serde_json::json!({ "model": model(), "formats": ["md", "json"], "language": "en", "threads": 2 }).to_string(),
    )
    .unwrap();
    let worker = WorkerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_video2doc-worker")),
        args: Vec::new(),
    };
    let core = Arc::new(Core::open(dirs, worker).unwrap());
    core.start().await.unwrap();
    core
}

fn timing() -> WatchTiming {
    WatchTiming {
        settle: Duration::from_millis(1200),
        rescan: Duration::from_secs(2),
        tick: Duration::from_millis(200),
    }
}

/// A short silent video showing `text` (distinct text, distinct content).
fn video(path: &Path, text: &str) {
    let ok = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
        ])
        .arg(format!(
            "color=c=white:s=320x180:d=2:r=5,drawtext=text='{text}':fontsize=30:x=10:y=10"
        ))
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4"])
        .arg(path)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn start(
    core: &Arc<Core>,
    folders: Vec<WatchedFolder>,
) -> (Arc<FolderWatcher>, Receiver<WatchEvent>, CancellationToken) {
    let w = Arc::new(FolderWatcher::new(core.clone(), folders, timing()));
    let rx = w.subscribe();
    let stop = CancellationToken::new();
    tokio::spawn(w.clone().run(stop.clone()));
    (w, rx, stop)
}

/// Events until `pred` has held `n` times, or panics after `secs`.
async fn until(
    rx: &mut Receiver<WatchEvent>,
    secs: u64,
    n: usize,
    pred: impl Fn(&WatchEvent) -> bool,
) -> Vec<WatchEvent> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    let mut hits = 0;
    while hits < n {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Ok(e)) => {
                if pred(&e) {
                    hits += 1;
                }
                seen.push(e);
            }
            _ => panic!("timed out waiting; saw {seen:?}"),
        }
    }
    seen
}

/// No event matching `pred` within `secs`.
async fn quiet(rx: &mut Receiver<WatchEvent>, secs: u64, pred: impl Fn(&WatchEvent) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while let Ok(Ok(e)) = tokio::time::timeout(
        deadline.saturating_duration_since(Instant::now()),
        rx.recv(),
    )
    .await
    {
        assert!(!pred(&e), "unexpected {e:?}");
    }
}

fn ingested(e: &WatchEvent) -> bool {
    matches!(e, WatchEvent::Ingested { .. })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slowly_written_file_is_taken_once_after_its_last_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let core = core(dir.path()).await;
    let done_dir = dir.path().join("done");
    let mut folder = WatchedFolder::new(inbox.clone(), OutputPlace::Folder(dir.path().join("out")));
    folder.after_success = video2doc_core::watch::AfterSuccess::MoveTo(done_dir.clone());
    let (_w, mut rx, stop) = start(&core, vec![folder]);
    let src = dir.path().join("src.mp4");
    video(&src, "Slow");
    let bytes = std::fs::read(&src).unwrap();
    let target = inbox.join("recording.mp4");
    let mut last_write = Instant::now();
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&target).unwrap();
        for chunk in bytes.chunks(bytes.len() / 5 + 1) {
            f.write_all(chunk).unwrap();
            f.flush().unwrap();
            last_write = Instant::now();
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    let seen = until(&mut rx, 30, 1, ingested).await;
    assert!(
        last_write.elapsed() >= Duration::from_millis(1000),
        "taken only after it settled"
    );
    let WatchEvent::Ingested { export, .. } = seen.last().unwrap().clone() else {
        unreachable!()
    };
    let done = core.wait(export).await.unwrap();
    assert_eq!(done.state, State::Succeeded, "{:?}", done.error);
    // Moved away once its documents were made, and not taken again.
    until(&mut rx, 10, 1, |e| {
        matches!(e, WatchEvent::SourceMoved { .. })
    })
    .await;
    assert!(done_dir.join("recording.mp4").is_file() && !target.exists());
    quiet(&mut rx, 3, ingested).await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_files_give_twenty_jobs_and_a_restart_takes_none_again() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    let staging = dir.path().join("staging");
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    for i in 0..20 {
        video(
            &staging.join(format!("clip-{i:02}.mp4")),
            &format!("Clip {i}"),
        );
    }
    let core = core(dir.path()).await;
    let folder = WatchedFolder::new(inbox.clone(), OutputPlace::Folder(dir.path().join("out")));
    let (w, mut rx, stop) = start(&core, vec![folder.clone()]);
    assert_eq!(w.preview(&folder).unwrap().len(), 0);
    for i in 0..20 {
        let name = format!("clip-{i:02}.mp4");
        std::fs::rename(staging.join(&name), inbox.join(&name)).unwrap();
    }
    let seen = until(&mut rx, 60, 20, ingested).await;
    let mut exports: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            WatchEvent::Ingested { export, .. } => Some(*export),
            _ => None,
        })
        .collect();
    exports.sort();
    exports.dedup();
    assert_eq!(exports.len(), 20, "twenty distinct jobs");
    quiet(&mut rx, 4, ingested).await;
    for e in &exports {
        assert_eq!(core.wait(*e).await.unwrap().state, State::Succeeded);
    }
    stop.cancel();

    // A new watcher (as after a restart) reads the record and takes nothing again,
    // not even a renamed file.
    std::fs::rename(inbox.join("clip-00.mp4"), inbox.join("renamed.mp4")).unwrap();
    let (w2, mut rx2, stop2) = start(&core, vec![folder.clone()]);
    quiet(&mut rx2, 5, ingested).await;
    assert_eq!(w2.status()[0].ingested, 20);
    // A changed file is new content: taken again.
    video(&staging.join("changed.mp4"), "Changed");
    std::fs::rename(staging.join("changed.mp4"), inbox.join("clip-01.mp4")).unwrap();
    until(&mut rx2, 30, 1, ingested).await;
    stop2.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_inside_the_folder_are_never_taken() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let core = core(dir.path()).await;
    let mut folder = WatchedFolder::new(inbox.clone(), OutputPlace::BesideSource);
    folder.recursive = true;
    // Even with extensions our outputs have.
    folder.extensions = vec!["mp4".into(), "jpg".into(), "md".into(), "json".into()];
    let (_w, mut rx, stop) = start(&core, vec![folder]);
    let staged = dir.path().join("talk.mp4");
    video(&staged, "Beside");
    std::fs::rename(&staged, inbox.join("talk.mp4")).unwrap();
    let seen = until(&mut rx, 30, 1, ingested).await;
    let WatchEvent::Ingested { export, .. } = seen.last().unwrap().clone() else {
        unreachable!()
    };
    assert_eq!(core.wait(export).await.unwrap().state, State::Succeeded);
    assert!(inbox.join("talk/talk.md").is_file());
    assert!(inbox.join("talk/slides/slide-001.jpg").is_file());
    quiet(&mut rx, 5, ingested).await;
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_folder_recovers_and_a_bad_file_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let core = core(dir.path()).await;
    let (w, mut rx, stop) = start(
        &core,
        vec![WatchedFolder::new(
            inbox.clone(),
            OutputPlace::Folder(dir.path().join("out")),
        )],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::fs::remove_dir_all(&inbox).unwrap();
    until(&mut rx, 20, 1, |e| {
        matches!(e, WatchEvent::FolderError { .. })
    })
    .await;
    assert!(w.status()[0].error.as_deref().unwrap().contains("inbox"));
    std::fs::create_dir_all(&inbox).unwrap();
    until(&mut rx, 20, 1, |e| {
        matches!(e, WatchEvent::FolderBack { .. })
    })
    .await;
    assert!(w.status()[0].error.is_none());

    // A text file named like a video: its job fails with a clear error; the watcher goes on.
    std::fs::write(inbox.join("notes.mp4"), "meeting notes, not a video").unwrap();
    let seen = until(&mut rx, 30, 1, ingested).await;
    let WatchEvent::Ingested { export, .. } = seen.last().unwrap().clone() else {
        unreachable!()
    };
    let failed = core.wait(export).await.unwrap();
    assert_eq!(failed.state, State::Failed);
    let group = core.group(failed.group.unwrap()).unwrap();
    let first = group.members.iter().find(|m| m.kind == "video").unwrap();
    let root = core.queue().get(first.id).unwrap();
    assert_eq!(root.state, State::Failed);
    assert!(
        root.error.unwrap().message.contains("notes.mp4"),
        "the video step names the file"
    );
    let staged = dir.path().join("ok.mp4");
    video(&staged, "Fine");
    std::fs::rename(&staged, inbox.join("ok.mp4")).unwrap();
    let seen = until(&mut rx, 30, 1, ingested).await;
    let WatchEvent::Ingested { export, .. } = seen.last().unwrap().clone() else {
        unreachable!()
    };
    assert_eq!(core.wait(export).await.unwrap().state, State::Succeeded);
    stop.cancel();
}
