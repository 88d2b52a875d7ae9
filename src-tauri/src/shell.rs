//! The shell's state: the one `Core` once its queue is open (see [`crate::connection`]),
//! the window's access to files ([`crate::files`]), and the watched folders' runner and
//! the HTTP API, restarted when the settings change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tauri::{AppHandle, Emitter, Manager, Runtime};
use tokio_util::sync::CancellationToken;
use video2doc_core::AppSettings;
use video2doc_core::ItemDetail;
use video2doc_core::WorkerCommand;
use video2doc_core::{Accepted, ImportReport, Rejected};
use video2doc_core::{Core, CoreDirs, CoreError};
use video2doc_core::{FolderWatcher, WatchEvent, WatchTiming};

use crate::connection::Link;
use crate::error::CommandError;
use crate::events::Notify;
use crate::files::{FileError, Files};

pub struct Shell {
    dirs: CoreDirs,
    worker: WorkerCommand,
    /// Set once the queue is open.
    core: OnceLock<Arc<Core>>,
    pub(crate) link: Link,
    files: Files,
    watching: Mutex<Option<CancellationToken>>,
    /// The local HTTP API while it runs: its port and how to stop it.
    http: tokio::sync::Mutex<Option<(u16, CancellationToken)>>,
}

impl Shell {
    /// The shell over `dirs`, its queue not open yet
    /// ([`crate::connection::open_in_background`] opens it).
    pub fn new(dirs: CoreDirs, worker: WorkerCommand) -> Shell {
        let shell = Shell {
            dirs,
            worker,
            core: OnceLock::new(),
            link: Link::default(),
            files: Files::default(),
            watching: Mutex::new(None),
            http: tokio::sync::Mutex::new(None),
        };
        shell.prepare_folders();
        shell
    }

    pub fn dirs(&self) -> &CoreDirs {
        &self.dirs
    }

    pub(crate) fn worker(&self) -> &WorkerCommand {
        &self.worker
    }

    /// Core, once its queue is open; else why not (code `unavailable`).
    pub fn core(&self) -> Result<&Arc<Core>, CommandError> {
        self.core
            .get()
            .ok_or_else(|| CommandError::unavailable(self.link.get().why_not_open()))
    }

    /// Core, if its queue is open.
    pub fn open_core(&self) -> Option<&Arc<Core>> {
        self.core.get()
    }

    /// The settings: Core's once open, else those on disk.
    pub fn settings(&self) -> Result<AppSettings, CoreError> {
        match self.core.get() {
            Some(core) => Ok(core.settings()),
            None => Ok(AppSettings::load(&self.dirs.config)?),
        }
    }

    pub fn output_dir(&self) -> PathBuf {
        self.settings().unwrap_or_default().output_dir_or_default()
    }

    /// Saves settings while the queue is not open (Core saves them once it is).
    pub fn save_settings_alone(&self, s: &AppSettings) -> Result<(), CoreError> {
        let problems = s.problems();
        if !problems.is_empty() {
            return Err(CoreError::InvalidSettings(problems));
        }
        Ok(s.save(&self.dirs.config)?)
    }

    /// Takes the opened Core and starts what needs it: the watched folders, the HTTP API
    /// and the events to the window.
    pub(crate) async fn install<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        core: Arc<Core>,
        notify: Option<Notify>,
    ) {
        if self.core.set(core.clone()).is_err() {
            return;
        }
        self.prepare_folders();
        self.restart_watching(app);
        if let Err(e) = self.restart_http().await {
            tracing::warn!("{e}");
        }
        tauri::async_runtime::spawn(crate::events::forward(app.clone(), core, notify));
    }

    /// Makes the app's folders and the output folder (the window shows them), and takes
    /// the roots of [`Files`] from the settings.
    fn prepare_folders(&self) {
        let settings = self.settings().unwrap_or_default();
        for d in [
            self.dirs.data.clone(),
            self.dirs.logs(),
            self.dirs.config.clone(),
            settings.output_dir_or_default(),
        ] {
            let _ = std::fs::create_dir_all(&d);
        }
        self.files.set_roots(&self.dirs, &settings);
    }

    /// The canonical `path` if the window may open it (see [`crate::files`]).
    pub fn openable(&self, path: &Path) -> Result<PathBuf, FileError> {
        self.files.openable(path)
    }

    /// The canonical `path` if the window may show it in the file manager.
    pub fn revealable(&self, path: &Path) -> Result<PathBuf, FileError> {
        self.files.revealable(path)
    }

    /// Lets the window open the files of a detail it is given, and load its thumbnails
    /// and preview (exact files, never their folders).
    pub fn shown<R: Runtime>(&self, app: &AppHandle<R>, detail: &ItemDetail) {
        for file in self.files.note_detail(detail) {
            if let Err(e) = app.asset_protocol_scope().allow_file(&file) {
                tracing::warn!(file = %file.display(), error = %e, "not allowed for previews");
            }
        }
    }

    /// Lets the window open a library document's files, show its folder, and load its
    /// slide pictures (exact files, never their folders); returns its recording, when
    /// it is a media file still there, for the editor to play.
    pub fn document_shown<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        entry: &video2doc_core::library::Entry,
        doc: &video2doc_core::document::Document,
    ) -> Option<std::path::PathBuf> {
        let (loadable, media) = self.files.note_document(entry, doc);
        for file in loadable {
            if let Err(e) = app.asset_protocol_scope().allow_file(&file) {
                tracing::warn!(file = %file.display(), error = %e, "not allowed to load");
            }
        }
        media
    }

    /// Lets the window open listed library documents' files and load their thumbnails.
    pub fn entries_shown<R: Runtime>(
        &self,
        app: &AppHandle<R>,
        entries: &[video2doc_core::library::Entry],
    ) {
        for file in entries.iter().flat_map(|e| self.files.note_entry(e)) {
            if let Err(e) = app.asset_protocol_scope().allow_file(&file) {
                tracing::warn!(file = %file.display(), error = %e, "not allowed to load");
            }
        }
    }

    /// Applies settings that need the shell: the roots of files, the watched folders and
    /// the HTTP API (the last two once the queue is open).
    pub async fn settings_changed<R: Runtime>(
        &self,
        app: &AppHandle<R>,
    ) -> Result<(), CommandError> {
        self.prepare_folders();
        self.restart_watching(app);
        self.restart_http().await
    }

    /// Starts, moves or stops the local HTTP API as the settings say.
    pub async fn restart_http(&self) -> Result<(), CommandError> {
        let Some(core) = self.core.get().cloned() else {
            return Ok(());
        };
        let want = core.settings().http_api;
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
        let listener = video2doc_server::bind(want.port).await.map_err(|e| {
            CommandError::bad_request(format!("the HTTP API cannot use port {}: {e}", want.port))
        })?;
        let stop = CancellationToken::new();
        let s = stop.clone();
        tauri::async_runtime::spawn(async move {
            let shutdown = async move { s.cancelled().await };
            if let Err(e) = video2doc_server::serve(core, listener, shutdown).await {
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
        let Some(core) = self.core.get().cloned() else {
            return;
        };
        let folders = core.settings().watch;
        if folders.is_empty() {
            return;
        }
        let watcher = Arc::new(FolderWatcher::new(
            core.clone(),
            folders,
            WatchTiming::default(),
        ));
        let stop = CancellationToken::new();
        let mut events = watcher.subscribe();
        let app = app.clone();
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
