//! `video2doc serve` as a script would use it: every endpoint over real HTTP, auth,
//! bad bodies, and the event stream delivering progress of a real workflow.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use video2doc_testkit::{lecture, model};

struct Server {
    child: Child,
    url: String,
    token: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(data: &Path) -> Server {
    serve_with(data, json!({}))
}

/// `serve` with more settings than the test model.
fn serve_with(data: &Path, more: Value) -> Server {
    let mut settings = json!({ "model": model(), "threads": 2 });
    for (k, v) in more.as_object().unwrap() {
        settings[k] = v.clone();
    }
    std::fs::create_dir_all(data.join("config")).unwrap();
    std::fs::write(data.join("config/settings.json"), settings.to_string()).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_video2doc"))
        .arg("--data-dir")
        .arg(data)
        .args(["--json", "serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).expect("serve prints its address as JSON");
    let token = std::fs::read_to_string(data.join("api-token")).unwrap();
    Server {
        child,
        url: info["url"].as_str().unwrap().to_string(),
        token,
    }
}

fn call(
    s: &Server,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", s.url));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let r = match body {
        Some(b) => agent.run(
            req.header("Content-Type", "application/json")
                .body(b.to_string())
                .unwrap(),
        ),
        None => agent.run(req.body(()).unwrap()),
    };
    match r {
        Ok(mut resp) => (
            resp.status().as_u16(),
            resp.body_mut().read_json().unwrap_or(Value::Null),
        ),
        Err(e) => panic!("{method} {path}: {e}"),
    }
}

fn ok(s: &Server, method: &str, path: &str, body: Option<Value>) -> Value {
    let (code, v) = call(s, method, path, body, Some(&s.token));
    assert!((200..300).contains(&code), "{method} {path}: {code} {v}");
    v
}

#[test]
fn the_api_serves_every_endpoint_with_auth_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let s = serve(&data);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("api-token"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the token file is the user's alone");
    }

    // The OpenAPI document is public and lists the endpoints.
    let (code, spec) = call(&s, "GET", "/api/openapi.json", None, None);
    assert_eq!(code, 200);
    assert!(spec["paths"]["/api/queue/workflows/complete"].is_object());

    // Auth.
    let (code, e) = call(&s, "GET", "/api/queue/health", None, None);
    assert_eq!(code, 401);
    assert_eq!(e["error"]["code"], "unauthorized");
    assert_eq!(
        call(&s, "GET", "/api/queue/health", None, Some("nope")).0,
        401
    );
    let health = ok(&s, "GET", "/api/queue/health", None);
    assert_eq!(health["queue"]["store_writable"], true);
    assert!(health["ffmpeg"].as_str().unwrap().contains("ffmpeg"));

    // Bad bodies.
    let input = lecture(dir.path(), "talk.mp4");
    let out = dir.path().join("out");
    let bad = [
        json!({ "input": input, "output_dir": out, "colour": "blue" }),
        json!({ "input": dir.path().join("missing.mp4"), "output_dir": out }),
        json!({ "input": "relative.mp4", "output_dir": out }),
        json!({ "input": input, "output_dir": out, "priority": "urgent" }),
        json!({ "input": input, "output_dir": out, "formats": ["rtf"] }),
        json!({ "video_file_path": input, "output_dir": out, "extract_audio": false }),
        // Whisper cannot take these (a NUL used to panic the worker, three times).
        json!({ "input": input, "output_dir": out, "language": "e\u{0}n" }),
        json!({ "input": input, "output_dir": out, "language": "English please" }),
        json!({ "input": input, "output_dir": out, "prompt": "lecture\u{0}notes" }),
        json!({ "input": input, "output_dir": out, "speakers": "two" }),
        json!({ "input": input, "output_dir": out, "speakers": "0" }),
    ];
    for b in bad {
        let (code, e) = call(
            &s,
            "POST",
            "/api/queue/tasks/video",
            Some(b.clone()),
            Some(&s.token),
        );
        assert_eq!(code, 422, "{b} -> {code} {e}");
        assert!(
            e["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{e}"
        );
    }
    let (code, _) = call(
        &s,
        "POST",
        "/api/queue/tasks/frobnicate",
        Some(json!({ "input": input, "output_dir": out })),
        Some(&s.token),
    );
    assert_eq!(code, 422);
    assert_eq!(
        call(
            &s,
            "GET",
            "/api/queue/tasks/999999/status",
            None,
            Some(&s.token)
        )
        .0,
        404
    );
    assert_eq!(
        call(
            &s,
            "GET",
            "/api/queue/tasks/abc/status",
            None,
            Some(&s.token)
        )
        .0,
        400
    );
    assert_eq!(
        call(&s, "GET", "/api/queue/nowhere", None, Some(&s.token)).0,
        404
    );

    // The event stream, then a complete workflow (old field names accepted).
    let events_url = format!("{}/api/queue/events", s.url);
    let token = s.token.clone();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let resp = ureq::get(&events_url)
            .header("Authorization", &format!("Bearer {token}"))
            .call()
            .unwrap();
        for line in BufReader::new(resp.into_body().into_reader()).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let created = ok(
        &s,
        "POST",
        "/api/queue/workflows/complete",
        Some(json!({
            "video_file_path": input, "output_dir": out, "formats": ["md", "srt"], "language": "en",
            "extract_audio": true, "extract_frames": true, "speakers": "off"
        })),
    );
    let export = created["tasks"]["export"].as_u64().unwrap();
    let group = created["group_id"].as_u64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(180);
    let (mut progress, mut done) = (false, false);
    let mut event = String::new();
    while !(progress && done) {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("events keep coming");
        if let Some(e) = line.strip_prefix("event: ") {
            event = e.to_string();
        } else if let Some(d) = line.strip_prefix("data: ") {
            let v: Value = serde_json::from_str(d).unwrap();
            if event == "progress" {
                progress = true;
            }
            if event == "state" && v["id"] == export && v["to"] == "succeeded" {
                done = true;
            }
            assert!(v["to"] != "failed", "a job failed: {v}");
        }
    }
    let st = ok(
        &s,
        "GET",
        &format!("/api/queue/tasks/{export}/status"),
        None,
    );
    assert_eq!(st["state"], "succeeded");
    let info = ok(&s, "GET", &format!("/api/queue/tasks/{export}/info"), None);
    let md = info["result"]["files"]["md"].as_str().unwrap();
    assert!(Path::new(md).is_file());
    let g = ok(
        &s,
        "GET",
        &format!("/api/queue/groups/{group}/status"),
        None,
    );
    assert_eq!(g["state"], "succeeded");
    assert_eq!(g["total"], 5);

    // The document joined the library (its formats hold no JSON: the library keeps
    // its own copy), found by what was said, at its moment.
    let docs = ok(&s, "GET", "/api/library/documents", None);
    assert_eq!(docs["documents"].as_array().unwrap().len(), 1, "{docs}");
    assert_eq!(docs["documents"][0]["title"], "talk");
    let found = ok(&s, "GET", "/api/library/search?q=%22lazy%20dog%22", None);
    let hit = found["hits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["passage"] == "speech")
        .unwrap_or_else(|| panic!("no speech hit: {found}"));
    assert_eq!(hit["title"], "talk", "{found}");
    assert!(
        hit["start_ms"].as_u64().unwrap() < 8_000
            && hit["snippet"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .contains("lazy dog"),
        "{found}"
    );
    assert_eq!(
        call(&s, "GET", "/api/library/search?q=", None, Some(&s.token)).0,
        400
    );
    // The command line searches the same library while the server holds the queue.
    let o = Command::new(env!("CARGO_BIN_EXE_video2doc"))
        .arg("--data-dir")
        .arg(&data)
        .args(["--json", "search", "quick brown"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["hits"][0]["title"], "talk", "{v}");

    // Control: pause, a task waits; resume; cancel; retry.
    ok(&s, "POST", "/api/queue/queues/video/pause", None);
    let t = ok(
        &s,
        "POST",
        "/api/queue/tasks/video",
        Some(json!({ "input": input, "output_dir": out })),
    );
    let id = t["task_id"].as_u64().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        ok(&s, "GET", &format!("/api/queue/tasks/{id}/status"), None)["state"],
        "pending"
    );
    let active = ok(&s, "GET", "/api/queue/tasks/active", None);
    assert!(active["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["id"] == id));
    let w = ok(&s, "GET", "/api/queue/workers", None);
    assert!(w["workers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["queue"] == "video" && w["paused"] == true));
    // The serving process is the one registered worker of its embedded queue.
    let registered = w["registered"].as_array().unwrap();
    assert_eq!(registered.len(), 1, "{w}");
    assert_eq!(registered[0]["pid"], s.child.id());
    assert_eq!(
        ok(&s, "POST", &format!("/api/queue/tasks/{id}/cancel"), None)["state"],
        "cancelled"
    );
    assert_eq!(
        call(
            &s,
            "POST",
            "/api/queue/queues/bogus/pause",
            None,
            Some(&s.token)
        )
        .0,
        422
    );
    ok(&s, "POST", "/api/queue/queues/video/resume", None);
    ok(&s, "POST", &format!("/api/queue/tasks/{id}/retry"), None);
    let deadline = Instant::now() + Duration::from_secs(60);
    while ok(&s, "GET", &format!("/api/queue/tasks/{id}/status"), None)["state"] != "succeeded" {
        assert!(Instant::now() < deadline, "the retried task finishes");
        std::thread::sleep(Duration::from_millis(200));
    }
    let stats = ok(&s, "GET", "/api/queue/statistics", None);
    assert!(
        stats["totals"]["succeeded"].as_u64().unwrap() >= 6,
        "{stats}"
    );

    // Parallel workflow over two files.
    let p = ok(
        &s,
        "POST",
        "/api/queue/workflows/parallel",
        Some(json!({ "inputs": [input, input], "output_dir": out })),
    );
    assert_eq!(p["task_ids"].as_array().unwrap().len(), 6);

    // A second process on the same data folder is refused, naming the first.
    let o = Command::new(env!("CARGO_BIN_EXE_video2doc"))
        .arg("--data-dir")
        .arg(&data)
        .arg("stats")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&s.child.id().to_string()),
        "names the holder: {err}"
    );
}

#[cfg(unix)]
#[test]
fn a_token_others_could_read_is_replaced_and_no_secret_is_served() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    // A token left readable by others (a restored backup, an older build).
    let leaked = "ab".repeat(32);
    std::fs::write(data.join("api-token"), &leaked).unwrap();
    std::fs::set_permissions(
        data.join("api-token"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let secret = "sk-test-never-in-a-job-7f3a";
    let s = serve_with(
        &data,
        json!({ "summary_endpoint": {
            "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": secret
        }}),
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_ne!(s.token.trim(), leaked, "a new token");
    assert_eq!(mode(&data.join("api-token")), 0o600);
    assert_eq!(mode(&data), 0o700, "the data folder is private");
    assert_eq!(mode(&data.join("config/settings.json")), 0o600);
    let (code, _) = call(&s, "GET", "/api/queue/statistics", None, Some(&leaked));
    assert_eq!(code, 401, "the leaked token no longer works");

    // A job's record, as /info serves it, holds no key.
    let input = video2doc_testkit::lecture(dir.path(), "talk.mp4");
    let out = dir.path().join("out");
    let v = ok(
        &s,
        "POST",
        "/api/queue/workflows/complete",
        Some(json!({ "input": input, "output_dir": out })),
    );
    let body = v.to_string();
    let ids: Vec<u64> = ["video", "audio", "image", "summary", "export"]
        .iter()
        .filter_map(|k| v["tasks"][k].as_u64())
        .collect();
    assert_eq!(ids.len(), 5, "{body}");
    for id in ids {
        let info = ok(&s, "GET", &format!("/api/queue/tasks/{id}/info"), None);
        assert!(!info.to_string().contains(secret), "{info}");
    }
}
