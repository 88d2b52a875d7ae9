//! `video2doc` on a shared Redis queue (a real redis-server on loopback): an
//! unreachable queue is a clear error at start; `workers` lists a worker running on
//! another data folder; a worker that cannot read an input through its path mapping
//! fails the job naming the path and its host; a complete workflow submitted from one
//! data folder is run by a worker on another (the test model, generated media).

#![cfg(feature = "redis")]

use video2doc_testkit::redis_server;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn video2doc(data: &Path, url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_video2doc"));
    c.arg("--data-dir")
        .arg(data)
        .args(["--queue", url, "--json"])
        .env_remove("VIDEO2DOC_QUEUE")
        .env_remove("VIDEO2DOC_CONFIG_DIR");
    c
}

fn json_of(c: &mut Command) -> Value {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "{:?}: {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn an_unreachable_queue_is_a_clear_error_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("redis://:pw@127.0.0.1:{port}/2");
    let o = video2doc(dir.path(), &url).arg("stats").output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!("redis://127.0.0.1:{port}/2")) && err.contains("unreachable"),
        "{err}"
    );
    assert!(!err.contains(":pw@"), "no password in messages: {err}");
}

#[test]
fn workers_on_other_machines_are_listed_and_report_unreadable_inputs_with_their_host() {
    let server = redis_server::RedisServer::start();
    let url = server.url();
    let root = tempfile::tempdir().unwrap();
    // The worker's machine mounts the share somewhere that does not hold the file.
    let worker_data = root.path().join("worker");
    let worker_config = root.path().join("worker-config");
    std::fs::create_dir_all(&worker_config).unwrap();
    let share = root.path().join("share");
    std::fs::create_dir_all(&share).unwrap();
    std::fs::write(
        worker_config.join("settings.json"),
        serde_json::json!({
            "path_map": [{ "from": share.to_string_lossy(), "to": "/nonexistent/mount" }]
        })
        .to_string(),
    )
    .unwrap();
    let worker = Running(
        video2doc(&worker_data, &url)
            .arg("--config-dir")
            .arg(&worker_config)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client_data = root.path().join("client");
    let pid = worker.0.id() as u64;
    until("the worker registered", || {
        let v = json_of(video2doc(&client_data, &url).arg("workers"));
        v["registered"]
            .as_array()
            .is_some_and(|w| w.iter().any(|w| w["pid"] == pid))
    });
    let v = json_of(video2doc(&client_data, &url).arg("workers"));
    let w = &v["registered"][0];
    assert!(w["host"].as_str().is_some_and(|h| !h.is_empty()), "{w}");
    assert!(
        w["queues"].is_object() && w["kinds"].as_array().unwrap().len() == 5,
        "{w}"
    );

    let input = share.join("talk.mp4");
    std::fs::write(&input, b"not really a video").unwrap();
    let out = root.path().join("docs");
    let submitted = json_of(
        video2doc(&client_data, &url)
            .args(["submit", "--workflow", "video", "--out"])
            .arg(&out)
            .arg(&input),
    );
    let id = submitted["jobs"][0]["id"]
        .as_u64()
        .or_else(|| submitted["jobs"][0].as_u64())
        .unwrap_or_else(|| panic!("a job id in {submitted}"));
    let mut status = Value::Null;
    until("the job failed on the worker", || {
        status = json_of(video2doc(&client_data, &url).args(["info", &id.to_string()]));
        status["state"] == "failed" || status["job"]["state"] == "failed"
    });
    let text = status.to_string();
    let host = w["host"].as_str().unwrap();
    assert!(
        text.contains("/nonexistent/mount/talk.mp4")
            && text.contains(&input.display().to_string())
            && text.contains(host),
        "{text}"
    );
    drop(worker);
}

#[test]
fn a_workflow_submitted_from_one_data_folder_runs_on_a_worker_with_another() {
    let server = redis_server::RedisServer::start();
    let url = server.url();
    let root = tempfile::tempdir().unwrap();
    let input = video2doc_testkit::lecture(root.path(), "shared lecture.mp4");
    let out = root.path().join("notes");
    let client = root.path().join("client");
    let submitted = json_of(
        video2doc(&client, &url)
            .arg("submit")
            .arg(&input)
            .arg("--out")
            .arg(&out)
            .arg("--model")
            .arg(video2doc_testkit::model())
            .args(["--formats", "txt,md"]),
    );
    let export = submitted["workflows"][0]["export"].as_u64().unwrap();
    // The worker has its own data folder (its own work folders) and serves jobs from
    // the shared folder only; it runs until idle.
    let worker = root.path().join("worker");
    std::fs::create_dir_all(worker.join("config")).unwrap();
    // Its models are its own: the job's model path is not loaded, a model of that name
    // in its models folder is.
    std::fs::create_dir_all(worker.join("models")).unwrap();
    let own = worker
        .join("models")
        .join(video2doc_testkit::model().file_name().unwrap());
    std::fs::hard_link(video2doc_testkit::model(), &own)
        .or_else(|_| std::fs::copy(video2doc_testkit::model(), &own).map(|_| ()))
        .unwrap();
    std::fs::write(
        worker.join("config/settings.json"),
        serde_json::json!({ "shared_roots": [root.path()] }).to_string(),
    )
    .unwrap();
    let o = video2doc(&worker, &url)
        .args(["run", "--until-idle"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let status = json_of(video2doc(&client, &url).args(["status", &export.to_string()]));
    assert_eq!(status["state"], "succeeded", "{status}");
    let txt = std::fs::read_dir(out.join("shared lecture"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "txt"))
        .expect("the transcript document");
    let text = std::fs::read_to_string(txt).unwrap().to_lowercase();
    assert!(text.contains("fox") || text.contains("dog"), "{text}");
    assert!(
        !root.path().join("client").join("work").exists(),
        "the client did no work"
    );
}
