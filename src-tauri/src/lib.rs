//! Video2Doc's desktop shell: a Tauri window over `video2doc_core::Core`. It owns
//! only shell concerns: the window, the commands (thin calls into Core), events to the
//! window, native dialogs, single-instance hand-over of files, notifications, opening
//! the job queue without keeping the window from opening, and which files the window may
//! open or load. The only crate that knows Tauri and IPC types.

pub mod commands;
pub mod connection;
pub mod dialogs;
pub mod error;
pub mod events;
pub mod files;
pub mod media_server;
pub mod shell;

use std::path::PathBuf;
use std::sync::Arc;

use tauri::{Emitter, Manager, Runtime};
use video2doc_core::WorkerCommand;
use video2doc_core::{CoreDirs, ProcessOptions};
use video2doc_core::{ImportReport, Rejected};

pub use shell::Shell;

/// How this binary was built (shown in the About box).
pub mod build_info {
    pub const TARGET: &str = env!("VIDEO2DOC_TARGET");
    pub const PROFILE: &str = env!("VIDEO2DOC_PROFILE");
}

/// Adds the commands to a builder (the real one, or tauri's mock in tests); the caller
/// manages the [`Shell`] they use.
pub fn with_commands<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder.invoke_handler(tauri::generate_handler![
        commands::app_info,
        commands::list_items,
        commands::item_detail,
        commands::import_paths,
        commands::pick_files,
        commands::pick_folder,
        commands::pick_model_file,
        commands::pick_model_folder,
        commands::cancel_item,
        commands::retry_item,
        commands::set_priority,
        commands::pause_queue,
        commands::resume_queue,
        commands::clear_finished,
        commands::dashboard,
        commands::get_settings,
        commands::save_settings,
        commands::list_models,
        commands::recommended_model,
        commands::download_model,
        commands::cancel_download,
        commands::import_model,
        commands::open_path,
        commands::reveal_path,
        commands::queue_connection,
        commands::reconnect_queue,
        commands::rename_speaker,
        commands::remembered_voices,
        commands::forget_voice,
        commands::summary_templates,
        commands::library_documents,
        commands::search_library,
        commands::open_document,
        commands::edit_document,
        commands::save_draft,
        commands::discard_draft,
        commands::restore_version,
        commands::export_again,
        commands::replace_everywhere,
        commands::delete_document,
    ])
}

/// The files among command-line arguments (a launch with files, or a second launch).
fn files_in(args: &[String], cwd: &std::path::Path) -> Vec<PathBuf> {
    args.iter()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .map(|a| cwd.join(a))
        .filter(|p| p.exists())
        .collect()
}

/// Imports files handed over on the command line and tells the window (once the first
/// attempt to open the queue has ended; if it is not open, the files are refused with the
/// reason).
fn hand_over<R: Runtime>(app: &tauri::AppHandle<R>, files: Vec<PathBuf>) {
    if files.is_empty() {
        return;
    }
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        shell.link.settled().await;
        let o = ProcessOptions {
            out_dir: Some(shell.output_dir()),
            ..ProcessOptions::default()
        };
        let imported = match shell.core() {
            Ok(core) => core
                .import_paths(&files, &o)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.message),
        };
        let report = imported.unwrap_or_else(|reason| ImportReport {
            accepted: Vec::new(),
            rejected: files
                .iter()
                .map(|f| Rejected {
                    path: f.clone(),
                    reason: reason.clone(),
                })
                .collect(),
        });
        let _ = app.emit("items-imported", report);
    });
}

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A message box for failures that leave no window to show them in.
fn fatal(message: &str) {
    tracing::error!("{message}");
    eprintln!("video2doc-desktop: {message}");
    if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some() {
        let _ = rfd::MessageDialog::new()
            .set_level(rfd::MessageLevel::Error)
            .set_title("Video2Doc cannot start")
            .set_description(message)
            .show();
    }
}

/// Tells the window of panics (after they are logged), so that an internal error is never
/// silent; the technical detail is in the log.
fn tell_window_of_panics<R: Runtime>(app: tauri::AppHandle<R>) {
    let logged = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        logged(info);
        let detail = video2doc_core::logging::panic_message(info);
        let _ = app.emit(
            "app-error",
            error::CommandError {
                code: "failed",
                message: "Video2Doc hit an internal error; what it was doing stopped. \
                          The log (About > Logs) has the details."
                    .into(),
                detail: Some(detail),
            },
        );
    }));
}

/// Starts the shell over `dirs`: manages its [`Shell`] and opens the job queue in the
/// background ([`connection::open_in_background`]), which then starts the workers, the
/// watched folders, the HTTP API and the events to the window. The window opens whatever
/// happens to the queue. `run` calls it from `setup`; the tests call it on the mock
/// runtime (which has no event loop for `setup`).
pub fn start<R: Runtime>(
    app: &tauri::AppHandle<R>,
    dirs: CoreDirs,
    worker: WorkerCommand,
    notify: Option<events::Notify>,
) {
    app.manage(Shell::new(dirs, worker));
    connection::open_in_background(app.clone(), notify);
}

/// Runs the app; returns the process's exit code.
pub fn run() -> i32 {
    let dirs = CoreDirs::resolve(
        env_dir("VIDEO2DOC_DATA_DIR"),
        env_dir("VIDEO2DOC_CONFIG_DIR"),
    );
    let _log = video2doc_core::logging::init(&dirs.logs());
    video2doc_core::logging::log_panics();
    let worker = match std::env::current_exe() {
        Ok(program) => WorkerCommand {
            program,
            args: vec!["worker".into()],
        },
        Err(e) => {
            fatal(&format!("cannot find its own program file: {e}"));
            return 1;
        }
    };
    let builder = tauri::Builder::default()
        // First: a second launch hands its files to the running app and ends here,
        // before it would touch the data folder the first one holds.
        .plugin(tauri_plugin_single_instance::init(|app, args, cwd| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
            hand_over(app, files_in(&args, std::path::Path::new(&cwd)));
        }))
        .plugin(tauri_plugin_notification::init());
    let app = with_commands(builder)
        .manage(files::Launcher::system())
        .manage(media_server::MediaServer::default())
        .setup(move |app| {
            let handle = app.handle().clone();
            tell_window_of_panics(handle.clone());
            let notify: events::Notify = Arc::new(move |title: &str, body: &str| {
                use tauri_plugin_notification::NotificationExt;
                if let Err(e) = handle
                    .notification()
                    .builder()
                    .title(title)
                    .body(body)
                    .show()
                {
                    tracing::warn!(error = %e, "notification not shown");
                }
            });
            start(app.handle(), dirs.clone(), worker.clone(), Some(notify));
            let cwd = std::env::current_dir().unwrap_or_default();
            let args: Vec<String> = std::env::args().collect();
            hand_over(app.handle(), files_in(&args, &cwd));
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(a) => a,
        Err(e) => {
            fatal(&format!("the window could not be created: {e}"));
            return 1;
        }
    };
    app.run(move |app, event| {
        if let tauri::RunEvent::Exit = event {
            // Running jobs are put back in line (not counted as crashes) and resume at
            // the next start.
            if let Some(core) = app
                .try_state::<Shell>()
                .and_then(|s| s.open_core().cloned())
            {
                tauri::async_runtime::block_on(core.close());
            }
        }
    });
    0
}
