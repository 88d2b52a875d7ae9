//! The shell's state: the one `Core`, the folders the window may show and open, and the
//! watched folders' runner, restarted when the settings change.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio_util::sync::CancellationToken;
use video2doc_core::api::Core;
use video2doc_core::intake::{Accepted, ImportReport, Rejected};
use video2doc_core::watch::{FolderWatcher, WatchEvent, WatchTiming};

use crate::error::CommandError;

pub struct Shell {
    pub core: Arc<Core>,
    /// Output folders shown in this session (they may be opened and previewed).
    shown: Mutex<BTreeSet<PathBuf>>,
    watching: Mutex<Option<CancellationToken>>,
    /// The local HTTP API while it runs: its port and how to stop it.
    http: tokio::sync::Mutex<Option<(u16, CancellationToken)>>,
}

impl Shell {
    pub fn new(core: Arc<Core>) -> Shell {
        Shell {
            core,
            shown: Mutex::new(BTreeSet::new()),
            watching: Mutex::new(None),
            http: tokio::sync::Mutex::new(None),
        }
    }

    pub fn output_dir(&self) -> PathBuf {
        self.core.settings().output_dir_or_default()
    }

    /// Lets the window load files of `dir` (asset protocol) and open them.
    pub fn allow_folder<R: Runtime>(&self, app: &AppHandle<R>, dir: &Path) {
        let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        if shown.insert(dir.to_path_buf()) {
            if let Err(e) = app.asset_protocol_scope().allow_directory(dir, true) {
                tracing::warn!(dir = %dir.display(), error = %e, "folder not allowed for previews");
            }
        }
    }

    /// The folders the window's files come from: work, logs, settings, the output folder
    /// and every output folder shown.
    pub fn allow_defaults<R: Runtime>(&self, app: &AppHandle<R>) {
        let dirs = self.core.dirs().clone();
        for d in [
            dirs.work(),
            dirs.logs(),
            dirs.config.clone(),
            self.output_dir(),
        ] {
            let _ = std::fs::create_dir_all(&d);
            self.allow_folder(app, &d);
        }
    }

    /// `path` if the window may open or reveal it: inside the data, config or output
    /// folders, or an output folder it was shown.
    pub fn openable(&self, path: &Path) -> Result<PathBuf, CommandError> {
        let path = std::path::absolute(path)
            .map_err(|e| CommandError::bad_request(format!("{}: {e}", path.display())))?;
        if !path.exists() {
            return Err(CommandError {
                code: "not_found",
                message: format!("{} does not exist (moved or deleted?)", path.display()),
                detail: None,
            });
        }
        let dirs = self.core.dirs();
        let shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
        let allowed = [&dirs.data, &dirs.config, &self.output_dir()]
            .into_iter()
            .chain(shown.iter())
            .any(|root| path.starts_with(root));
        if allowed {
            Ok(path)
        } else {
            Err(CommandError::bad_request(format!(
                "{} is not a Video2Doc document or folder",
                path.display()
            )))
        }
    }

    /// Applies settings that need the shell: the watched folders and the HTTP API.
    pub async fn settings_changed<R: Runtime>(
        &self,
        app: &AppHandle<R>,
    ) -> Result<(), CommandError> {
        self.allow_defaults(app);
        self.restart_watching(app);
        self.restart_http().await
    }

    /// Starts, moves or stops the local HTTP API as the settings say.
    pub async fn restart_http(&self) -> Result<(), CommandError> {
        let want = self.core.settings().http_api;
        let mut http = self.http.lock().await;
        if let Some((port, stop)) = http.as_ref() {
            if want.enabled && *port == want.port {
                return Ok(());
            }
            stop.cancel();
            *http = None;
        }
        if !want.enabled {
            return Ok(());
        }
        let listener = video2doc_cli::http::bind(want.port).await.map_err(|e| {
            CommandError::bad_request(format!("the HTTP API cannot use port {}: {e}", want.port))
        })?;
        let stop = CancellationToken::new();
        let s = stop.clone();
        let core = self.core.clone();
        tauri::async_runtime::spawn(async move {
            let shutdown = async move { s.cancelled().await };
            if let Err(e) = video2doc_cli::http::serve(core, listener, shutdown).await {
                tracing::warn!(error = %e, "the HTTP API stopped");
            }
        });
        tracing::info!(port = want.port, "HTTP API on 127.0.0.1");
        *http = Some((want.port, stop));
        Ok(())
    }

    /// (Re)starts watching the folders of the settings.
    pub fn restart_watching<R: Runtime>(&self, app: &AppHandle<R>) {
        let mut watching = self.watching.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(stop) = watching.take() {
            stop.cancel();
        }
        let folders = self.core.settings().watch;
        if folders.is_empty() {
            return;
        }
        let watcher = Arc::new(FolderWatcher::new(
            self.core.clone(),
            folders,
            WatchTiming::default(),
        ));
        let stop = CancellationToken::new();
        let mut events = watcher.subscribe();
        let app = app.clone();
        let core = self.core.clone();
        let s = stop.clone();
        tauri::async_runtime::spawn(async move {
            loop {
                tokio::select! {
                    _ = s.cancelled() => break,
                    e = events.recv() => match e {
                        Ok(e) => {
                            if let Some(report) = report_of(&core, e) {
                                let _ = app.emit("items-imported", report);
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    },
                }
            }
        });
        tauri::async_runtime::spawn(watcher.run(stop.clone()));
        *watching = Some(stop);
    }
}

/// What the window is told of a watched folder's event.
fn report_of(core: &Core, e: WatchEvent) -> Option<ImportReport> {
    let mut r = ImportReport::default();
    match e {
        WatchEvent::Ingested { path, export } => r.accepted.push(Accepted {
            key: core.item_of(export).ok()?.to_string(),
            path,
        }),
        WatchEvent::Skipped { path, reason } => r.rejected.push(Rejected { path, reason }),
        WatchEvent::FolderError { path, message } => r.rejected.push(Rejected {
            path,
            reason: message,
        }),
        _ => return None,
    }
    Some(r)
}
