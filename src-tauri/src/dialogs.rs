//! Native open dialogs (rfd). On Linux GTK belongs to the main thread, where the
//! window's event loop runs, so the dialogs are run there and their answer sent back.

use std::path::PathBuf;

use tauri::{AppHandle, Runtime};
use video2doc_core::MEDIA_EXTENSIONS;

use crate::error::CommandError;

async fn on_main<R: Runtime, T: Send + 'static>(
    app: &AppHandle<R>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, CommandError> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    app.run_on_main_thread(move || {
        let _ = tx.send(f());
    })?;
    rx.await
        .map_err(|_| CommandError::failed("the dialog closed without an answer"))
}

pub async fn pick_files<R: Runtime>(app: &AppHandle<R>) -> Result<Vec<PathBuf>, CommandError> {
    on_main(app, || {
        rfd::FileDialog::new()
            .set_title("Add videos")
            .add_filter("Video and audio", MEDIA_EXTENSIONS)
            .add_filter("All files", &["*"])
            .pick_files()
            .unwrap_or_default()
    })
    .await
}

pub async fn pick_folder<R: Runtime>(app: &AppHandle<R>) -> Result<Option<PathBuf>, CommandError> {
    on_main(app, || {
        rfd::FileDialog::new()
            .set_title("Choose a folder")
            .pick_folder()
    })
    .await
}

pub async fn pick_model_file<R: Runtime>(
    app: &AppHandle<R>,
) -> Result<Option<PathBuf>, CommandError> {
    on_main(app, || {
        rfd::FileDialog::new()
            .set_title("Import a model")
            .add_filter("Whisper or summary model", &["bin", "gguf"])
            .add_filter("ggml Whisper model", &["bin"])
            .add_filter("GGUF summary model", &["gguf"])
            .pick_file()
    })
    .await
}

/// A faster-whisper (CTranslate2) model folder, to be converted on import.
pub async fn pick_model_folder<R: Runtime>(
    app: &AppHandle<R>,
) -> Result<Option<PathBuf>, CommandError> {
    on_main(app, || {
        rfd::FileDialog::new()
            .set_title("Import a faster-whisper model folder")
            .pick_folder()
    })
    .await
}
