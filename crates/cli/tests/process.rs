//! `video2doc process` as a user runs it: the real binary, the real queue in a temp
//! data folder, generated media and the test model.

use std::path::Path;
use std::process::Command;

use video2doc_testkit::{lecture, model, narrated_video};

fn video2doc(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_video2doc"));
    c.arg("--data-dir").arg(data);
    c
}

#[test]
fn process_json_reports_documents_and_failures() {
    let dir = tempfile::tempdir().unwrap();
    let input = lecture(dir.path(), "讲座 demo.mp4");
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
        .args(["--language", "en"])
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
    // Every format by default, each where the JSON says.
    let outputs = jobs[0]["outputs"].as_object().unwrap();
    assert_eq!(outputs.len(), 8, "{outputs:?}");
    for (fmt, path) in outputs {
        let p = Path::new(path.as_str().unwrap());
        assert!(
            p.is_file() && p.extension().unwrap() == fmt.as_str(),
            "{fmt}: {p:?}"
        );
    }
    let json_doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(outputs["json"].as_str().unwrap()).unwrap()).unwrap();
    assert_eq!(
        json_doc["segments"].as_array().unwrap().len() as u64,
        jobs[0]["segments"].as_u64().unwrap()
    );
    assert_eq!(
        json_doc["sections"].as_array().unwrap().len() as u64,
        jobs[0]["slides"].as_u64().unwrap()
    );
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

#[test]
fn a_killed_process_resumes_without_redoing_or_duplicating() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Longer, so that transcription takes a while.
    let input = narrated_video(
        dir.path(),
        "long lecture.mp4",
        &"Photosynthesis turns light into chemical energy. ".repeat(12),
        "Energy",
        None,
    );
    let args = |c: &mut Command| {
        c.arg("process")
            .arg(&input)
            .arg("--out")
            .arg(dir.path().join("out"))
            .arg("--model")
            .arg(model())
            .args(["--language", "en", "--formats", "md"]);
    };
    let mut first = video2doc(&data);
    args(&mut first);
    let mut child = first
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = Vec::new();
    for line in stderr.lines() {
        let line = line.unwrap();
        seen.push(line.clone());
        if line.starts_with("audio:") && line.contains("transcrib") {
            break;
        }
    }
    assert!(
        seen.last().is_some_and(|l| l.contains("transcrib")),
        "{seen:?}"
    );
    child.kill().unwrap(); // SIGKILL, mid-transcription
    child.wait().unwrap();

    let mut again = video2doc(&data);
    args(&mut again);
    let out = again.arg("--json").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["jobs"][0]["status"], "succeeded", "{v}");
    let group = v["jobs"][0]["group"].as_u64().unwrap();

    let json = |args: &[&str]| -> serde_json::Value {
        let o = video2doc(&data).arg("--json").args(args).output().unwrap();
        assert!(
            o.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).unwrap()
    };
    let stats = json(&["stats"]);
    let total: u64 = stats["totals"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 5, "one workflow, five jobs, none twice: {stats}");
    assert_eq!(stats["totals"]["succeeded"], 5);
    let g = json(&["group", &group.to_string()]);
    let members = g["members"].as_array().unwrap();
    let video = members.iter().find(|m| m["kind"] == "video").unwrap()["id"]
        .as_u64()
        .unwrap();
    let audio = members.iter().find(|m| m["kind"] == "audio").unwrap()["id"]
        .as_u64()
        .unwrap();
    let video = json(&["info", &video.to_string()]);
    assert_eq!(
        video["job"]["attempts"], 1,
        "the finished video step was not redone"
    );
    let audio = json(&["info", &audio.to_string()]);
    assert_eq!(
        audio["job"]["attempts"], 2,
        "the interrupted transcription ran again: {audio}"
    );
    assert_eq!(audio["job"]["state"], "succeeded");
}

#[test]
fn submit_then_run_until_idle() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let input = lecture(dir.path(), "讲座 demo.mp4");
    let o = video2doc(&data)
        .args(["--json", "submit"])
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--model")
        .arg(model())
        .args(["--formats", "txt", "--priority", "high"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let export = v["workflows"][0]["export"].as_u64().unwrap();
    let status = |id: u64| -> serde_json::Value {
        let o = video2doc(&data)
            .args(["--json", "status", &id.to_string()])
            .output()
            .unwrap();
        serde_json::from_slice(&o.stdout).unwrap()
    };
    assert_eq!(status(export)["state"], "blocked");
    assert_eq!(status(export)["priority"], "high");
    let o = video2doc(&data)
        .args(["run", "--until-idle"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(status(export)["state"], "succeeded");
    let o = video2doc(&data)
        .args(["--json", "status", "424242"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("424242"));
}

#[test]
fn watch_dry_run_lists_what_it_would_take() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(inbox.join("sub")).unwrap();
    std::fs::write(inbox.join("a.mp4"), b"x").unwrap();
    std::fs::write(inbox.join("notes.txt"), b"x").unwrap();
    std::fs::write(inbox.join("sub/b.mkv"), b"x").unwrap();
    let o = video2doc(&dir.path().join("data"))
        .args(["--json", "watch", "--dry-run", "--recursive", "--out"])
        .arg(dir.path().join("out"))
        .arg(&inbox)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let files: Vec<String> = v["folders"][0]["would_take"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(files[0].ends_with("a.mp4") && files[1].ends_with("sub/b.mkv"));
    let o = video2doc(&dir.path().join("data"))
        .args(["watch", "--dry-run", "--out", "o"])
        .arg(dir.path().join("missing"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing"));
}

#[test]
fn settings_are_shown_changed_and_validated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let run = |args: &[&str]| video2doc(&data).arg("--json").args(args).output().unwrap();
    let o = run(&["settings", "set", "language", "zh"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = run(&["settings", "set", "concurrency.audio", "1"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&run(&["settings"]).stdout).unwrap();
    assert_eq!(v["language"], "zh");
    assert_eq!(v["concurrency"]["audio"], 1);
    assert!(data.join("config/settings.json").is_file());
    let o = run(&["settings", "set", "retention_days", "soon"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("retention_days"));
    // A key the settings do not have is refused, not dropped without a word.
    let o = run(&["settings", "set", "transcribe.trim_final_window", "true"]);
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("no setting transcribe.trim_final_window"),
        "{err}"
    );
}

#[test]
fn with_no_model_installed_the_exact_command_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = lecture(dir.path(), "talk.mp4");
    let o = video2doc(&dir.path().join("data"))
        .arg("process")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--model", "base.en"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let said = |o: &std::process::Output| {
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
    };
    let err = said(&o);
    assert!(
        err.contains("the Whisper model base.en is not installed yet")
            && err.contains("`video2doc models download base.en` (142 MB)"),
        "{err}"
    );
    // A file that is no catalogue model is to be imported, not downloaded.
    let o = video2doc(&dir.path().join("data"))
        .arg("process")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--model")
        .arg(dir.path().join("my-model.bin"))
        .output()
        .unwrap();
    let err = said(&o);
    assert!(
        err.contains("my-model.bin is missing") && err.contains("video2doc models import"),
        "{err}"
    );
}
