//! `video2doc process` as a user runs it: the real binary, the real queue in a temp
//! data folder, generated media and the test model.

use std::path::{Path, PathBuf};
use std::process::Command;

fn model() -> PathBuf {
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

fn lecture(dir: &Path) -> PathBuf {
    let wav = dir.join("n.wav");
    let ok = Command::new("espeak-ng")
        .args(["-v", "en-us", "-w"])
        .arg(&wav)
        .arg("The quick brown fox jumps over the lazy dog. Video to document.")
        .status()
        .unwrap();
    assert!(ok.success());
    let out = dir.join("讲座 demo.mp4");
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
        .arg("color=c=white:s=640x360:d=8:r=10,drawtext=text='Hello':fontsize=40:x=40:y=40")
        .arg("-i")
        .arg(&wav)
        .args([
            "-af", "apad", "-t", "8", "-c:v", "libx264", "-pix_fmt", "yuv420p",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    out
}

fn video2doc(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_video2doc"));
    c.arg("--data-dir").arg(data);
    c
}

#[test]
fn process_json_reports_documents_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let input = lecture(dir.path());
    let bad = dir.path().join("notes.mp4");
    std::fs::write(&bad, "meeting notes, not a video").unwrap();
    let out = video2doc(&dir.path().join("data"))
        .args(["--json", "process"])
        .arg(&input)
        .arg(&bad)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--model")
        .arg(model())
        .args(["--language", "en", "--formats", "md,srt,json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a job failed: exit 1");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is one JSON object ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let jobs = v["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["status"], "succeeded", "{v}");
    let md = jobs[0]["outputs"]["md"].as_str().unwrap();
    assert!(md.ends_with("讲座 demo/讲座 demo.md"), "{md}");
    assert!(Path::new(md).is_file());
    assert!(jobs[0]["outputs"].get("pdf").is_none());
    assert_eq!(jobs[0]["slides"], 1);
    assert!(jobs[0]["segments"].as_u64().unwrap() >= 1);
    assert_eq!(jobs[1]["status"], "failed");
    let err = jobs[1]["error"].as_str().unwrap();
    assert!(
        err.contains("notes.mp4") && err.contains("not a video"),
        "{err}"
    );
}

#[test]
fn usage_errors_exit_with_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = video2doc(dir.path())
        .args(["process", "x.mp4", "--out", "o", "--formats", "md,rtf"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("rtf"));
    let out = video2doc(dir.path()).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn models_import_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = video2doc(&data)
        .args(["--json", "models", "import"])
        .arg(model())
        .args(["--name", "tiny.en"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["path"]
        .as_str()
        .unwrap()
        .ends_with("models/ggml-tiny.en.bin"));
    let out = video2doc(&data)
        .args(["--json", "models", "list"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let models = v["models"].as_array().unwrap();
    assert!(models.len() >= 30);
    let tiny = models.iter().find(|m| m["name"] == "tiny.en").unwrap();
    assert_eq!(tiny["installed"], true);
    assert_eq!(models.iter().filter(|m| m["installed"] == true).count(), 1);
    // Processing by model name now finds it in the data folder.
    let bad = dir.path().join("notes.txt");
    std::fs::write(&bad, "text").unwrap();
    let out = video2doc(&data)
        .args(["models", "import"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a ggml"));
}
