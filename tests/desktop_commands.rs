//! The desktop shell's commands through Tauri's mock runtime (no display): each command
//! reached by IPC as the window calls it, over a real Core (sled files, ffmpeg, the
//! whisper test model), with the window's capabilities applied.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Listener, WebviewWindow};
use video2doc_core::api::{Core, CoreDirs};
use video2doc_core::pipeline::WorkerCommand;
use video2doc_desktop::{with_commands, Shell};

#[path = "../crates/core/tests/common/mod.rs"]
mod common;
use common::model;

type Window = WebviewWindow<tauri::test::MockRuntime>;

struct App {
    _app: tauri::App<tauri::test::MockRuntime>,
    window: Window,
    dir: tempfile::TempDir,
    events: Arc<Mutex<Vec<Value>>>,
}

fn app() -> App {
    app_with(|dir| {
        json!({
            "model": model(),
            "output_dir": dir.join("documents"),
            "formats": ["md", "html", "txt"],
        })
    })
}

/// The app over a fresh folder, with the settings `settings(folder)` on disk at start.
fn app_with(settings: impl FnOnce(&Path) -> Value) -> App {
    let dir = tempfile::tempdir().unwrap();
    let dirs = CoreDirs {
        data: dir.path().join("data"),
        config: dir.path().join("config"),
    };
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(
        dirs.config.join("settings.json"),
        settings(dir.path()).to_string(),
    )
    .unwrap();
    let worker = WorkerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_video2doc-desktop")),
        args: vec!["worker".into()],
    };
    let core = Arc::new(Core::open(dirs, worker).unwrap());
    // The mock runtime has no event loop to run `setup`; start what it would.
    tauri::async_runtime::block_on(core.start()).unwrap();
    let app = with_commands(mock_builder())
        .manage(Shell::new(core.clone()))
        .build(tauri::generate_context!())
        .unwrap();
    tauri::async_runtime::spawn(video2doc_desktop::events::forward(
        app.handle().clone(),
        core,
        None,
    ));
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    app.listen_any("items-changed", move |ev| {
        e.lock()
            .unwrap()
            .push(serde_json::from_str(ev.payload()).unwrap());
    });
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    App {
        _app: app,
        window,
        dir,
        events,
    }
}

impl App {
    /// Calls a command as the window does; Ok(result) or Err(CommandError as JSON).
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        self.call_from("tauri://localhost", cmd, args)
    }

    /// Calls a command as a page at `url` would.
    fn call_from(&self, url: &str, cmd: &str, args: Value) -> Result<Value, Value> {
        get_ipc_response(
            &self.window,
            InvokeRequest {
                cmd: cmd.into(),
                callback: CallbackFn(0),
                error: CallbackFn(1),
                url: url.parse().unwrap(),
                body: InvokeBody::Json(args),
                headers: Default::default(),
                invoke_key: INVOKE_KEY.to_string(),
            },
        )
        .map(|b| b.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} succeeded but should not: {v}"),
            Err(e) => e,
        }
    }

    /// Polls an item until its state is one of `states`.
    fn wait(&self, key: &str, states: &[&str]) -> Value {
        self.wait_until(key, |row| states.contains(&row["state"].as_str().unwrap()))
    }

    /// Polls an item until its row passes `done`.
    fn wait_until(&self, key: &str, done: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(300);
        loop {
            let row = self.ok("item_detail", json!({ "key": key }))["row"].clone();
            if done(&row) {
                return row;
            }
            assert!(Instant::now() < end, "{key} stayed {row}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Imports `video` and returns its item's key once the item waits for a model (its
    /// video step done, its transcription held), checking that it keeps waiting.
    fn import_waiting(&self, video: &Path) -> String {
        let report = self.ok("import_paths", json!({ "paths": [video] }));
        assert_eq!(report["rejected"], json!([]), "{report}");
        let key = report["accepted"][0]["key"].as_str().unwrap().to_string();
        let row = self.wait_until(&key, |r| {
            assert!(r["error"].is_null(), "{r}");
            r["waiting_for"] == "a speech model"
        });
        let audio = row["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "audio")
            .unwrap();
        assert_eq!(audio["waiting_for"], "a speech model", "{row}");
        // Held, not failed or retried: it stays so.
        std::thread::sleep(Duration::from_millis(1500));
        let again = self.ok("item_detail", json!({ "key": key }))["row"].clone();
        assert_eq!(again["waiting_for"], "a speech model", "{again}");
        assert!(again["error"].is_null(), "{again}");
        assert_eq!(again["state"], row["state"], "{again}");
        key
    }

    /// The settings with `change` applied, saved through the command.
    fn save(&self, change: Value) -> Value {
        let mut s = self.ok("get_settings", json!({}));
        for (k, v) in change.as_object().unwrap() {
            s[k] = v.clone();
        }
        self.ok("save_settings", json!({ "settings": s }))
    }

    /// Whether some `items-changed` event showed `key` waiting for a model.
    fn was_told_waiting(&self, key: &str) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .flat_map(|e| e["items"].as_array().unwrap().clone())
            .any(|r| r["key"] == key && r["waiting_for"] == "a speech model")
    }
}

/// Serves `file` over HTTP on the loopback (every request gets the whole file) and
/// returns its address.
fn serve_file(file: PathBuf) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/{}",
        listener.local_addr().unwrap(),
        file.file_name().unwrap().to_string_lossy()
    );
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let file = file.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let mut conn = conn;
                let len = std::fs::metadata(&file).unwrap().len();
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = std::io::copy(&mut std::fs::File::open(&file).unwrap(), &mut conn);
            });
        }
    });
    url
}

/// An item detail's transcript, lowercase, as one string.
fn transcript_text(detail: &Value) -> String {
    detail["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_lowercase())
        .collect()
}

fn lecture(dir: &Path) -> PathBuf {
    let out = dir.join("lecture.mp4");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sample-video.sh");
    let st = Command::new(script).arg(&out).status().unwrap();
    assert!(st.success());
    out
}

#[test]
fn a_video_goes_from_import_to_documents_through_the_commands() {
    let a = app();
    // Only the app's own pages may call its commands.
    let e = a
        .call_from("https://example.com", "app_info", json!({}))
        .unwrap_err();
    assert!(e.as_str().unwrap().contains("not allowed"), "{e}");
    let info = a.ok("app_info", json!({}));
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    assert!(info["extensions"]
        .as_array()
        .unwrap()
        .contains(&json!("mp4")));

    let video = lecture(a.dir.path());
    let report = a.ok("import_paths", json!({ "paths": [video] }));
    assert_eq!(report["rejected"], json!([]), "{report}");
    let key = report["accepted"][0]["key"].as_str().unwrap().to_string();
    assert!(key.starts_with('g'));

    let rows = a.ok("list_items", json!({}));
    assert_eq!(rows[0]["key"], key.as_str());
    assert_eq!(rows[0]["title"], "lecture.mp4");
    assert_eq!(rows[0]["stages"].as_array().unwrap().len(), 5);

    let row = a.wait(&key, &["succeeded", "failed"]);
    assert_eq!(row["state"], "succeeded", "{row}");
    let d = a.ok("item_detail", json!({ "key": key }));
    let outputs = d["outputs"].as_array().unwrap();
    assert_eq!(outputs.len(), 3, "{d}");
    assert!(outputs.iter().all(|o| o["bytes"].as_u64().unwrap() > 0));
    let text = transcript_text(&d);
    assert!(
        text.contains("photosynthesis") || text.contains("oxygen"),
        "{text}"
    );
    assert!(!d["slides"].as_array().unwrap().is_empty());
    assert!(d["timeline"].as_array().unwrap().len() >= 15);
    let html = d["preview_html"].as_str().unwrap();
    assert!(Path::new(html).is_file());

    // The window was told as the item moved, and saw it finish (within a few of the
    // quarter-second ticks).
    let states_seen = || -> Vec<String> {
        a.events
            .lock()
            .unwrap()
            .iter()
            .flat_map(|e| e["items"].as_array().unwrap().clone())
            .filter(|r| r["key"] == key.as_str())
            .map(|r| r["state"].as_str().unwrap().to_string())
            .collect()
    };
    let end = Instant::now() + Duration::from_secs(5);
    while states_seen().last().map(String::as_str) != Some("succeeded") && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(50));
    }
    let states = states_seen();
    assert!(states.iter().any(|s| s == "running"), "{states:?}");
    assert_eq!(
        states.last().map(String::as_str),
        Some("succeeded"),
        "{states:?}"
    );

    // Its documents may be opened; other files may not.
    let e = a.err("open_path", json!({ "path": "/etc/passwd" }));
    assert_eq!(e["code"], "bad_request");
    assert!(e["message"]
        .as_str()
        .unwrap()
        .contains("not a Video2Doc document"));
    let e = a.err(
        "reveal_path",
        json!({ "path": a.dir.path().join("documents/nothing-here.md") }),
    );
    assert_eq!(e["code"], "not_found");

    // Clear finished removes the row.
    assert!(a.ok("clear_finished", json!({})).as_u64().unwrap() >= 5);
    assert_eq!(a.ok("list_items", json!({})), json!([]));
}

#[test]
fn bad_input_is_named_and_fails_alone() {
    let a = app();
    let dir = a.dir.path();
    std::fs::write(dir.join("notes.pdf"), b"%PDF").unwrap();
    std::fs::write(dir.join("fake.mp4"), b"just text").unwrap();
    let report = a.ok(
        "import_paths",
        json!({ "paths": [dir.join("notes.pdf"), dir.join("fake.mp4"), dir.join("gone.mp4")] }),
    );
    let rejected = report["rejected"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{report}");
    assert!(rejected[0]["reason"]
        .as_str()
        .unwrap()
        .contains("not video or audio"));
    assert_eq!(rejected[1]["reason"], "it does not exist");
    let key = report["accepted"][0]["key"].as_str().unwrap();
    let row = a.wait(key, &["failed", "succeeded"]);
    assert_eq!(row["state"], "failed");
    assert!(row["error"].as_str().unwrap().contains("fake.mp4"), "{row}");
    let e = a.err("import_paths", json!({ "paths": [] }));
    assert_eq!(e["code"], "bad_request");

    for (key, code) in [
        ("x1", "bad_request"),
        ("g999", "not_found"),
        ("j999", "not_found"),
    ] {
        let e = a.err("cancel_item", json!({ "key": key }));
        assert_eq!(e["code"], code, "{key}: {e}");
    }
    let e = a.err("retry_item", json!({ "key": "g999" }));
    assert_eq!(e["code"], "not_found");
    // A failed item is retried; it fails again the same way, alone.
    a.ok("retry_item", json!({ "key": key }));
    assert_eq!(a.wait(key, &["failed"])["state"], "failed");
}

#[test]
fn settings_queues_and_models_through_the_commands() {
    let a = app();
    let mut s = a.ok("get_settings", json!({}));
    s["retention_days"] = json!(0);
    s["formats"] = json!([]);
    let e = a.err("save_settings", json!({ "settings": s }));
    assert_eq!(e["code"], "bad_request");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("at least one output format") && msg.contains("1 and 3650 days"),
        "{msg}"
    );
    s["retention_days"] = json!(30);
    s["formats"] = json!(["md"]);
    s["ui_language"] = json!("zh-CN");
    s["concurrency"] = json!({ "export": 3 });
    let saved = a.ok("save_settings", json!({ "settings": s }));
    assert_eq!(saved["retention_days"], 30);
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(a.dir.path().join("config/settings.json")).unwrap())
            .unwrap();
    assert_eq!(on_disk["ui_language"], "zh-CN");
    // Queue slots apply at once.
    let d = a.ok("dashboard", json!({}));
    let export = d["workers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["queue"] == "export")
        .unwrap();
    assert_eq!(export["concurrency"], 3);
    assert_eq!(d["health"]["model_present"], true);
    // This app is a worker of its own queue, named by its host.
    let machines = d["machines"].as_array().unwrap();
    assert_eq!(machines.len(), 1, "{machines:?}");
    assert_eq!(machines[0]["pid"], std::process::id());

    let w = a.ok("pause_queue", json!({ "queue": "audio" }));
    let paused: Vec<&str> = w
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["paused"] == true)
        .map(|w| w["queue"].as_str().unwrap())
        .collect();
    assert_eq!(paused, ["audio"]);
    let w = a.ok("pause_queue", json!({ "queue": null }));
    assert!(w.as_array().unwrap().iter().all(|w| w["paused"] == true));
    let w = a.ok("resume_queue", json!({ "queue": null }));
    assert_eq!(
        w.as_array()
            .unwrap()
            .iter()
            .filter(|w| w["paused"] == true)
            .count(),
        1,
        "audio stays paused on its own: {w}"
    );
    let e = a.err("pause_queue", json!({ "queue": "gpu" }));
    assert_eq!(e["code"], "bad_request");

    // The local HTTP API follows its setting.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/api/openapi.json");
    let mut s = a.ok("get_settings", json!({}));
    s["http_api"] = json!({ "enabled": true, "port": port });
    a.ok("save_settings", json!({ "settings": s.clone() }));
    let spec: Value = ureq::get(&url)
        .call()
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    assert!(spec["paths"]["/api/queue/workflows/complete"].is_object());
    let status = ureq::get(&format!("http://127.0.0.1:{port}/api/queue/health"))
        .call()
        .unwrap_err();
    assert!(matches!(status, ureq::Error::StatusCode(401)), "{status}");
    s["http_api"]["enabled"] = json!(false);
    a.ok("save_settings", json!({ "settings": s }));
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        ureq::get(&url).call().is_err(),
        "still serving after being turned off"
    );

    let models = a.ok("list_models", json!({}));
    assert!(models
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == "tiny.en" && m["present"] == false));
    let e = a.err("cancel_download", json!({ "name": "tiny.en" }));
    assert_eq!(e["code"], "bad_request");
    let bogus = a.dir.path().join("ggml-bogus.bin");
    std::fs::write(&bogus, b"not a model").unwrap();
    let e = a.err("import_model", json!({ "path": bogus }));
    assert!(
        e["message"].as_str().unwrap().contains("ggml-bogus.bin"),
        "{e}"
    );
    let row = a.ok("import_model", json!({ "path": model() }));
    assert_eq!(row["present"], true);
    assert!(a
        .ok("list_models", json!({}))
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["name"] == row["name"]));
}

// Issue 15, point 3: the first-run guide. With no model, a dropped video waits for one
// (not a failure); the guide recommends a model by language, downloads it (here from
// the organisation's catalogue, served on the loopback) and names it in the settings;
// the waiting video then runs to documents by itself.
#[test]
fn a_video_dropped_before_any_model_waits_then_runs_once_the_guide_downloads_one() {
    let a = app_with(|dir| {
        let model = model();
        let sha256 = video2doc_core::models::download::Checksum::Sha256(String::new())
            .of_file(&model)
            .unwrap();
        let catalogue = dir.join("models.json");
        std::fs::write(
            &catalogue,
            json!([{
                "name": "base.en",
                "size_mib": std::fs::metadata(&model).unwrap().len() >> 20,
                "url": serve_file(model),
                "checksum": { "sha256": sha256 },
                "multilingual": false,
            }])
            .to_string(),
        )
        .unwrap();
        // No model named: the default one, not installed.
        json!({
            "output_dir": dir.join("documents"),
            "formats": ["md", "txt"],
            "model_catalogue": catalogue,
        })
    });
    assert_eq!(
        a.ok("dashboard", json!({}))["health"]["model_present"],
        false
    );
    assert!(a
        .ok("list_models", json!({}))
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["present"] == false));

    // The recommendation by language (English from the organisation's catalogue).
    let english = a.ok("recommended_model", json!({ "languages": "english_only" }));
    assert_eq!(english["name"], "base.en");
    assert_eq!(english["present"], false);
    assert_eq!(english["multilingual"], false);
    assert_eq!(
        english["size_bytes"].as_u64().unwrap() >> 20,
        std::fs::metadata(model()).unwrap().len() >> 20
    );
    for languages in ["chinese", "several"] {
        let row = a.ok("recommended_model", json!({ "languages": languages }));
        assert_eq!(row["name"], "small-q5_1", "{languages}");
        assert_eq!(row["multilingual"], true);
    }
    assert!(a
        .call("recommended_model", json!({ "languages": "klingon" }))
        .is_err());

    let key = a.import_waiting(&lecture(a.dir.path()));

    // The guide: the choice is saved, then the model downloaded.
    let saved = a.save(json!({ "model": "base.en", "language": "en" }));
    assert_eq!(saved["model"], "base.en");
    let row = a.ok("download_model", json!({ "name": "base.en" }));
    assert_eq!(row["present"], true, "{row}");
    assert_eq!(
        a.ok("dashboard", json!({}))["health"]["model_present"],
        true
    );

    let row = a.wait(&key, &["succeeded", "failed"]);
    assert_eq!(row["state"], "succeeded", "{row}");
    assert!(row.get("waiting_for").is_none(), "{row}");
    let d = a.ok("item_detail", json!({ "key": key }));
    assert_eq!(d["outputs"].as_array().unwrap().len(), 2, "{d}");
    let text = transcript_text(&d);
    assert!(
        text.contains("photosynthesis") || text.contains("oxygen"),
        "{text}"
    );
    assert!(
        a.was_told_waiting(&key),
        "the window was not told it waited"
    );
}

// The guide's other route: a model file imported, then chosen in the settings.
#[test]
fn a_waiting_video_runs_on_an_imported_model_once_the_settings_name_it() {
    let a = app_with(|dir| {
        json!({
            "output_dir": dir.join("documents"),
            "formats": ["md"],
        })
    });
    let key = a.import_waiting(&lecture(a.dir.path()));
    let row = a.ok("import_model", json!({ "path": model() }));
    assert_eq!(row["name"], "tiny.en-test");
    // Installed, but not the model the settings name: the video still waits.
    std::thread::sleep(Duration::from_millis(2000));
    let still = a.ok("item_detail", json!({ "key": key }))["row"].clone();
    assert_eq!(still["waiting_for"], "a speech model", "{still}");
    a.save(json!({ "model": "tiny.en-test", "language": "en" }));
    let row = a.wait(&key, &["succeeded", "failed"]);
    assert_eq!(row["state"], "succeeded", "{row}");
}
