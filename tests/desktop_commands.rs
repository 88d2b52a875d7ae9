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
    let dir = tempfile::tempdir().unwrap();
    let dirs = CoreDirs {
        data: dir.path().join("data"),
        config: dir.path().join("config"),
    };
    std::fs::create_dir_all(&dirs.config).unwrap();
    std::fs::write(
        dirs.config.join("settings.json"),
        json!({
            "model": model(),
            "output_dir": dir.path().join("documents"),
            "formats": ["md", "html", "txt"],
        })
        .to_string(),
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
        let end = Instant::now() + Duration::from_secs(300);
        loop {
            let row = self.ok("item_detail", json!({ "key": key }))["row"].clone();
            if states.contains(&row["state"].as_str().unwrap()) {
                return row;
            }
            assert!(Instant::now() < end, "{key} stayed {}", row["state"]);
            std::thread::sleep(Duration::from_millis(200));
        }
    }
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
    let text: String = d["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["text"].as_str().unwrap().to_lowercase())
        .collect();
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
