//! Watched folders with the real queue and pipeline: slow writes, bursts, restarts,
//! outputs inside the folder, a folder that goes away, and bad files.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::broadcast::Receiver;
use tokio_util::sync::CancellationToken;
use video2doc_core::app::watch::{
    AfterSuccess, FolderWatcher, OutputPlace, WatchEvent, WatchTiming, WatchedFolder,
};
use video2doc_core::app::{Core, CoreDirs};
use video2doc_core::pipeline::WorkerCommand;
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
    video_of(path, text, 2);
}

fn video_of(path: &Path, text: &str, secs: u32) {
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
            "color=c=white:s=320x180:d={secs}:r=5,drawtext=text='{text}':fontsize=30:x=10:y=10"
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
    folder.after_success = video2doc_core::app::watch::AfterSuccess::MoveTo(done_dir.clone());
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

/// `video` written elsewhere and renamed into place (as a finished download arrives).
fn arrive(dir: &Path, to: &Path, text: &str, secs: u32) {
    let staged = dir.join(format!("staged-{text}.mp4"));
    video_of(&staged, text, secs);
    std::fs::rename(&staged, to).unwrap();
}

fn sha(p: &Path) -> String {
    video2doc_core::pipeline::content_hash(p).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_named_recordings_moved_to_an_archive_are_both_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (inbox, out, archive) = (
        dir.path().join("zoom"),
        dir.path().join("out"),
        dir.path().join("archive"),
    );
    for m in ["monday", "tuesday"] {
        std::fs::create_dir_all(inbox.join(m)).unwrap();
    }
    std::fs::create_dir_all(&archive).unwrap();
    // One already archived by hand, same name.
    video(&archive.join("zoom_0.mp4"), "Old");
    let old = sha(&archive.join("zoom_0.mp4"));
    let core = core(dir.path()).await;
    let mut folder = WatchedFolder::new(inbox.clone(), OutputPlace::Folder(out.clone()));
    folder.recursive = true;
    folder.after_success = AfterSuccess::MoveTo(archive.clone());
    let (_w, mut rx, stop) = start(&core, vec![folder]);
    let mut hashes = vec![old.clone()];
    for m in ["monday", "tuesday"] {
        let p = inbox.join(m).join("zoom_0.mp4");
        arrive(dir.path(), &p, m, 2);
        hashes.push(sha(&p));
    }
    until(&mut rx, 90, 2, |e| {
        matches!(e, WatchEvent::SourceMoved { .. })
    })
    .await;
    let mut archived: Vec<String> = std::fs::read_dir(&archive)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    archived.sort();
    assert_eq!(archived, ["zoom_0 (2).mp4", "zoom_0 (3).mp4", "zoom_0.mp4"]);
    let mut kept: Vec<String> = archived.iter().map(|n| sha(&archive.join(n))).collect();
    kept.sort();
    hashes.sort();
    assert_eq!(kept, hashes, "every recording is in the archive");
    assert_eq!(
        sha(&archive.join("zoom_0.mp4")),
        old,
        "the old one is untouched"
    );
    assert!(out.join("zoom_0").is_dir() && out.join("zoom_0 (2)").is_dir());
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_replaced_or_copied_after_it_was_taken_is_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let core = core(dir.path()).await;
    let mut folder = WatchedFolder::new(inbox.clone(), OutputPlace::Folder(dir.path().join("out")));
    folder.after_success = AfterSuccess::Delete;
    let (_w, mut rx, stop) = start(&core, vec![folder]);

    // A copy made while the first is processed: the processed file is deleted, not
    // the copy.
    arrive(dir.path(), &inbox.join("lecture.mp4"), "Lecture", 8);
    until(&mut rx, 30, 1, ingested).await;
    std::fs::copy(inbox.join("lecture.mp4"), inbox.join("backup.mp4")).unwrap();
    until(&mut rx, 90, 1, |e| {
        matches!(e, WatchEvent::SourceDeleted { .. })
    })
    .await;
    assert!(!inbox.join("lecture.mp4").exists());
    assert!(inbox.join("backup.mp4").is_file(), "the copy is kept");

    // A new take saved over the file while the first take is processed: kept. (The
    // documents step is held until the new take is there; the new take's own workflow
    // is cancelled, so that only the first take's end can act on the file.)
    core.queue().pause(Some("export")).await.unwrap();
    arrive(dir.path(), &inbox.join("take.mp4"), "Take one", 3);
    let seen = until(&mut rx, 30, 1, ingested).await;
    let Some(WatchEvent::Ingested { export: first, .. }) = seen.last().cloned() else {
        unreachable!()
    };
    let group = core.queue().get(first).unwrap().group.unwrap();
    let video = core.group(group).unwrap().members[0].id;
    core.wait(video).await.unwrap();
    arrive(dir.path(), &inbox.join("take.mp4"), "Take two", 2);
    let second = sha(&inbox.join("take.mp4"));
    let seen = until(&mut rx, 30, 1, ingested).await;
    let Some(WatchEvent::Ingested { export, .. }) = seen.last().cloned() else {
        unreachable!()
    };
    assert_ne!(
        export, first,
        "the new take is work of its own, not the first take's"
    );
    core.queue().cancel(export).await.unwrap();
    core.queue().resume(Some("export")).await.unwrap();
    let seen = until(&mut rx, 90, 1, |e| {
        matches!(e, WatchEvent::Skipped { reason, .. } if reason.contains("changed since it was processed"))
            || matches!(e, WatchEvent::SourceDeleted { .. })
    })
    .await;
    assert!(
        matches!(seen.last(), Some(WatchEvent::Skipped { .. })),
        "the new take was deleted: {seen:?}"
    );
    assert_eq!(sha(&inbox.join("take.mp4")), second);
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_dropped_into_the_folder_is_not_taken() {
    let dir = tempfile::tempdir().unwrap();
    let (inbox, private) = (dir.path().join("shared"), dir.path().join("private"));
    std::fs::create_dir_all(&inbox).unwrap();
    std::fs::create_dir_all(&private).unwrap();
    video(&private.join("board-meeting.mp4"), "Board");
    let core = core(dir.path()).await;
    let (_w, mut rx, stop) = start(
        &core,
        vec![WatchedFolder::new(inbox.clone(), OutputPlace::BesideSource)],
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    std::os::unix::fs::symlink(private.join("board-meeting.mp4"), inbox.join("talk.mp4")).unwrap();
    quiet(&mut rx, 6, ingested).await;
    assert_eq!(
        std::fs::read_dir(&inbox).unwrap().count(),
        1,
        "no documents beside the link"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_cannot_be_taken_is_reported_once_not_every_rescan() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let core = core(dir.path()).await;
    let mut folder = WatchedFolder::new(inbox.clone(), OutputPlace::Folder(dir.path().join("out")));
    folder.language = Some("english".into()); // not a language code
    let (_w, mut rx, stop) = start(&core, vec![folder]);
    arrive(dir.path(), &inbox.join("a.mp4"), "A", 2);
    let seen = until(&mut rx, 30, 1, |e| matches!(e, WatchEvent::Skipped { .. })).await;
    let Some(WatchEvent::Skipped { reason, .. }) = seen.last() else {
        unreachable!()
    };
    assert!(
        reason.contains("english") && reason.contains("language"),
        "{reason}"
    );
    // Rescans every 2 s: not taken (nor reported) again while it is unchanged...
    quiet(&mut rx, 7, |e| matches!(e, WatchEvent::Skipped { .. })).await;
    // ...but again once it changes.
    arrive(dir.path(), &inbox.join("a.mp4"), "A again", 2);
    until(&mut rx, 30, 1, |e| matches!(e, WatchEvent::Skipped { .. })).await;
    stop.cancel();
}
