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
use tauri::Manager;
use tauri::{Listener, WebviewWindow};
use video2doc_core::app::CoreDirs;
use video2doc_core::pipeline::WorkerCommand;
use video2doc_desktop::files::{Launch, Launcher};
use video2doc_desktop::with_commands;

use video2doc_testkit::model;

use video2doc_testkit::redis_server;

type Window = WebviewWindow<tauri::test::MockRuntime>;

struct App {
    app: tauri::App<tauri::test::MockRuntime>,
    window: Window,
    dir: tempfile::TempDir,
    events: Arc<Mutex<Vec<Value>>>,
    /// What open_path and reveal_path handed to the system (nothing is started).
    launched: Arc<Mutex<Vec<(Launch, PathBuf)>>>,
    /// The `queue-connection` events, in order.
    connections: Arc<Mutex<Vec<Value>>>,
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

/// The app over a fresh folder, with the settings `settings(folder)` on disk at start,
/// started as `run` starts it.
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
    let launched = Arc::new(Mutex::new(Vec::new()));
    let l = launched.clone();
    let app = with_commands(mock_builder())
        .manage(Launcher::new(move |how, path| {
            l.lock().unwrap().push((how, path.to_path_buf()));
            Ok(())
        }))
        .build(tauri::generate_context!())
        .unwrap();
    let events = Arc::new(Mutex::new(Vec::new()));
    let e = events.clone();
    app.listen_any("items-changed", move |ev| {
        e.lock()
            .unwrap()
            .push(serde_json::from_str(ev.payload()).unwrap());
    });
    let connections = Arc::new(Mutex::new(Vec::new()));
    let c = connections.clone();
    app.listen_any("queue-connection", move |ev| {
        c.lock()
            .unwrap()
            .push(serde_json::from_str(ev.payload()).unwrap());
    });
    // The mock runtime has no event loop to run `setup`; start what it would.
    video2doc_desktop::start(app.handle(), dirs, worker, None);
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    let a = App {
        app,
        window,
        dir,
        events,
        launched,
        connections,
    };
    // The first attempt to open the queue ends, whatever its outcome.
    a.connection_until(|c| c["state"] != "opening");
    a
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

    /// Polls the queue's connection until it passes `done` (up to 60 s).
    fn connection_until(&self, done: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + Duration::from_secs(60);
        loop {
            let c = self.ok("queue_connection", json!({}));
            if done(&c) {
                return c;
            }
            assert!(Instant::now() < end, "the connection stayed {c}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until the last `queue-connection` event told the window `c` (up to 5 s).
    fn told_connection(&self, c: &Value) {
        let end = Instant::now() + Duration::from_secs(5);
        while self.connections.lock().unwrap().last() != Some(c) {
            assert!(
                Instant::now() < end,
                "the window was told {:?}, not {c}",
                self.connections.lock().unwrap().last()
            );
            std::thread::sleep(Duration::from_millis(20));
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
        // Once the slides are done too: until then the image step may still start (it
        // runs beside the held transcription), and the item does not wait while it runs.
        let row = self.wait_until(&key, |r| {
            assert!(r["error"].is_null(), "{r}");
            let slides_done = r["stages"].as_array().is_some_and(|s| {
                s.iter()
                    .any(|s| s["kind"] == "image" && s["state"] == "succeeded")
            });
            r["waiting_for"] == "a speech model" && slides_done
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
    let script = video2doc_testkit::package_dir().join("scripts/sample-video.sh");
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
    // Each document, its folder and the slides open; the window may show the preview
    // and the thumbnails, and nothing else of those folders.
    for o in outputs {
        a.ok("open_path", json!({ "path": o["path"] }));
    }
    a.ok("reveal_path", json!({ "path": outputs[0]["path"] }));
    a.ok("reveal_path", json!({ "path": d["output_dir"] }));
    let slide = &d["slides"][0];
    a.ok("open_path", json!({ "path": slide["image"] }));
    let launched = a.launched.lock().unwrap().clone();
    assert_eq!(launched.len(), outputs.len() + 3, "{launched:?}");
    assert!(launched[..outputs.len()]
        .iter()
        .all(|(how, p)| *how == Launch::Open && p.is_file()));
    let scope = a.app.asset_protocol_scope();
    assert!(scope.is_allowed(html), "the preview is not shown");
    let thumb = slide["thumbnail"].as_str().unwrap();
    assert!(scope.is_allowed(thumb), "the thumbnail is not shown");
    let folder = Path::new(d["output_dir"].as_str().unwrap());
    std::fs::write(folder.join("other.md"), "not listed").unwrap();
    assert!(!scope.is_allowed(folder.join("other.md")));
    let work = Path::new(thumb).parent().unwrap().parent().unwrap();
    assert!(!scope.is_allowed(work.join("slides.json")));

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
    s["retention_days"] = json!(3651);
    s["formats"] = json!([]);
    let e = a.err("save_settings", json!({ "settings": s }));
    assert_eq!(e["code"], "bad_request");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("at least one output format") && msg.contains("1 and 3650 days"),
        "{msg}"
    );
    // 0 keeps finished items until they are cleared, as the window offers.
    s["retention_days"] = json!(0);
    s["formats"] = json!(["md"]);
    s["ui_language"] = json!("zh-CN");
    s["concurrency"] = json!({ "export": 3 });
    let saved = a.ok("save_settings", json!({ "settings": s }));
    assert_eq!(saved["retention_days"], 0);
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
        let sha256 = video2doc_core::media::models::download::Checksum::Sha256(String::new())
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

// Issue 17, M1: open_path and reveal_path take only documents the app wrote. Escaping
// with `..`, a symlink out of the output folder, programs, .desktop files and app bundles
// are refused, and nothing refused reaches the system.
#[test]
fn open_and_reveal_take_only_documents_of_the_app() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let a = app();
    let info = a.ok("app_info", json!({}));
    let data = PathBuf::from(info["data_dir"].as_str().unwrap());
    let folder = a.dir.path().join("documents/lecture");
    std::fs::create_dir_all(&folder).unwrap();
    let doc = folder.join("lecture.md");
    std::fs::write(&doc, "# Lecture\n").unwrap();

    let up = "../".repeat(data.components().count() + 2);
    let escape = data.join(format!("{up}usr/bin/env"));
    assert!(escape.exists(), "{}", escape.display());
    symlink("/etc/passwd", folder.join("passwd.md")).unwrap();
    symlink("/etc/passwd", folder.join("passwd")).unwrap();
    let program = |name: &str, text: &str| {
        let p = folder.join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let refused = [
        escape.clone(),
        data.join("../documents/lecture/../../../../../../etc/passwd"),
        folder.join("passwd.md"),
        folder.join("passwd"),
        program("tool", "#!/bin/sh\necho hi\n"),
        program("run.sh", "#!/bin/sh\necho hi\n"),
        program("notes.txt", "#!/bin/sh\necho hi\n"),
        program("app.desktop", "[Desktop Entry]\nExec=/usr/bin/env\n"),
        {
            let bundle = folder.join("Calculator.app");
            std::fs::create_dir_all(bundle.join("Contents")).unwrap();
            bundle
        },
        a.dir.path().join("config/settings.json"),
    ];
    for path in &refused {
        for cmd in ["open_path", "reveal_path"] {
            let e = a.err(cmd, json!({ "path": path }));
            assert_eq!(e["code"], "bad_request", "{cmd} {}: {e}", path.display());
        }
    }
    assert_eq!(
        *a.launched.lock().unwrap(),
        [],
        "a refused path was launched"
    );

    // A document of the output folder opens; its folder and the app's folders are shown.
    a.ok("open_path", json!({ "path": doc }));
    a.ok("reveal_path", json!({ "path": folder }));
    for key in ["data_dir", "config_dir", "logs_dir", "output_dir"] {
        a.ok("reveal_path", json!({ "path": info[key] }));
    }
    let launched = a.launched.lock().unwrap().clone();
    assert_eq!(launched[0], (Launch::Open, doc.canonicalize().unwrap()));
    assert_eq!(
        launched[1],
        (Launch::Reveal, folder.canonicalize().unwrap())
    );
    assert_eq!(launched.len(), 6);
}

// Issue 17, M1: job data never widens what the window may load or open. A job whose out_dir
// is `/` adds nothing, and the settings folder (secrets) is not loadable either.
#[test]
fn a_job_writing_to_the_root_widens_nothing() {
    let a = app();
    // Not a dot folder: `**` in a scope never matches those.
    let elsewhere = tempfile::Builder::new()
        .prefix("elsewhere")
        .tempdir_in("/tmp")
        .unwrap();
    let secret = elsewhere.path().join("notes.md");
    std::fs::write(&secret, "# not the app's\n").unwrap();
    let input = a.dir.path().join("tmp.mp4");
    std::fs::write(&input, b"not a video").unwrap();
    a.ok("pause_queue", json!({ "queue": null }));
    let report = a.ok(
        "import_paths",
        json!({ "paths": [input], "options": { "out_dir": "/" } }),
    );
    let key = report["accepted"][0]["key"].as_str().unwrap().to_string();
    let d = a.ok("item_detail", json!({ "key": key }));
    // The job's folder holds the file (`/`, or `/tmp` where the folder is named by the input).
    assert!(
        secret.starts_with(d["output_dir"].as_str().unwrap()),
        "{}",
        d["output_dir"]
    );

    let scope = a.app.asset_protocol_scope();
    for p in [
        secret.as_path(),
        Path::new("/tmp"),
        Path::new("/etc/hostname"),
        &a.dir.path().join("config/settings.json"),
        &a.dir.path().join("data/api-token"),
    ] {
        assert!(!scope.is_allowed(p), "{} may be loaded", p.display());
    }
    for (cmd, path) in [
        ("open_path", secret.as_path()),
        ("reveal_path", secret.as_path()),
        ("reveal_path", Path::new("/tmp")),
    ] {
        let e = a.err(cmd, json!({ "path": path }));
        assert_eq!(e["code"], "bad_request", "{cmd} {}: {e}", path.display());
    }
    assert_eq!(*a.launched.lock().unwrap(), []);
}

// Issue 17, M4: a shared queue that is down at start does not keep the window from
// opening. The window works (settings, app info), says what is wrong, naming the server,
// and connects by itself once the server is up.
#[test]
fn the_window_opens_while_the_shared_queue_is_down_and_connects_once_it_is_up() {
    let mut redis = redis_server::RedisServer::start();
    redis.kill();
    let url = redis.url();
    let port = redis.port;
    let a = app_with(|dir| {
        json!({
            "model": model(),
            "output_dir": dir.join("documents"),
            "formats": ["md"],
            "queue_url": url,
        })
    });
    // The problem is told in plain words, naming the server and the cause.
    let c = a.ok("queue_connection", json!({}));
    assert_eq!(c["state"], "unavailable", "{c}");
    assert_eq!(c["shared"], url.as_str());
    assert_eq!(c["retrying"], true);
    assert!(c["cause"].as_str().unwrap().contains("refused"), "{c}");
    let problem = c["problem"].as_str().unwrap();
    assert!(
        problem.starts_with(&format!("the shared queue at {url} cannot be reached: ")),
        "{problem}"
    );
    a.told_connection(&c);
    // The window works: its information, settings and files; what needs the queue says why.
    a.ok("app_info", json!({}));
    assert_eq!(a.ok("get_settings", json!({}))["queue_url"], url.as_str());
    a.save(json!({ "notify": false }));
    let e = a.err("open_path", json!({ "path": "/etc/passwd" }));
    assert_eq!(e["code"], "bad_request");
    for (cmd, args) in [
        ("list_items", json!({})),
        ("dashboard", json!({})),
        ("import_paths", json!({ "paths": [a.dir.path()] })),
    ] {
        let e = a.err(cmd, args);
        assert_eq!(e["code"], "unavailable", "{cmd}: {e}");
        assert_eq!(e["message"], problem, "{cmd}");
        assert!(e["message"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{port}")));
    }

    // Once the server is up, the window connects by itself (and is told); the attempt the
    // save above started has given up by then (it waits 3 s at most).
    std::thread::sleep(Duration::from_secs(4));
    redis.restart_after(Duration::ZERO);
    let c = a.connection_until(|c| c["state"] == "open");
    assert_eq!(c["shared"], url.as_str());
    a.told_connection(&c);
    assert_eq!(a.ok("list_items", json!({})), json!([]));
    let d = a.ok("dashboard", json!({}));
    assert_eq!(d["machines"].as_array().unwrap().len(), 1, "{d}");
    // The settings saved meanwhile are those in use.
    assert_eq!(a.ok("get_settings", json!({}))["notify"], false);
}

// Issue 17, M4: the shared queue can be cleared in the settings while it is down, and the
// window then uses the queue on this computer at once, without a restart.
#[test]
fn clearing_an_unreachable_queue_in_the_settings_uses_the_local_one_at_once() {
    let mut redis = redis_server::RedisServer::start();
    redis.kill();
    let url = redis.url();
    let a = app_with(|dir| {
        json!({
            "output_dir": dir.join("documents"),
            "formats": ["md"],
            "queue_url": url,
        })
    });
    assert_eq!(a.ok("queue_connection", json!({}))["state"], "unavailable");
    let saved = a.save(json!({ "queue_url": null }));
    assert!(saved["queue_url"].is_null(), "{saved}");
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(a.dir.path().join("config/settings.json")).unwrap())
            .unwrap();
    assert!(on_disk["queue_url"].is_null(), "{on_disk}");
    let started = Instant::now();
    let c = a.connection_until(|c| c["state"] == "open");
    assert!(c["shared"].is_null(), "{c}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "not at once: {:?}",
        started.elapsed()
    );
    assert_eq!(a.ok("list_items", json!({})), json!([]));
}

// Issue 17, M4: a queue URL that does not parse is not tried again and again; the window
// says so and waits for the settings.
#[test]
fn a_queue_url_that_does_not_parse_is_told_and_waits_for_the_settings() {
    let a = app_with(|dir| {
        json!({
            "output_dir": dir.join("documents"),
            "formats": ["md"],
            "queue_url": "redis://:secret@",
        })
    });
    let c = a.ok("queue_connection", json!({}));
    assert_eq!(c["state"], "unavailable", "{c}");
    assert_eq!(c["retrying"], false, "{c}");
    assert!(
        !c.to_string().contains("secret"),
        "the password is shown: {c}"
    );
    assert!(
        c["problem"].as_str().unwrap().contains("cannot be used"),
        "{c}"
    );
    a.ok("reconnect_queue", json!({}));
    a.save(json!({ "queue_url": "" }));
    a.connection_until(|c| c["state"] == "open");
}
