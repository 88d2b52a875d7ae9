//! The window's commands: each parses its arguments, calls one `Core` method (work that
//! blocks runs on the blocking pool) and maps the error. Nothing here decides anything
//! about videos or jobs. Until the job queue is open, the commands that need it fail with
//! code `unavailable` and the reason; the settings, the app's folders and files, and the
//! queue's connection work from the start.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Runtime, State};
use video2doc_core::app::library::{Edited, Editing, ReplacedIn};
use video2doc_core::document::edit::Edit;
use video2doc_core::document::Document;
use video2doc_core::library::{Entry, Hit};
use video2doc_core::models::catalogue::{self, Languages};
use video2doc_core::models::library::ModelRow;
use video2doc_core::AppSettings;
use video2doc_core::ImportReport;
use video2doc_core::RememberedVoice;
use video2doc_core::{Core, ProcessOptions};
use video2doc_core::{ItemDetail, ItemFilter, ItemKey, ItemRow};
use video2doc_core::{Priority, State as JobState, Stats, WorkerInfo};

use crate::connection::QueueConnection;
use crate::dialogs;
use crate::error::CommandError;
use crate::files::{Launch, Launcher};
use crate::media_server::MediaServer;
use crate::shell::Shell;

type Result<T> = std::result::Result<T, CommandError>;

/// Runs blocking core work off the async threads.
async fn blocking<T: Send + 'static>(
    core: &Arc<Core>,
    f: impl FnOnce(&Core) -> std::result::Result<T, video2doc_core::CoreError> + Send + 'static,
) -> Result<T> {
    let core = core.clone();
    Ok(tauri::async_runtime::spawn_blocking(move || f(&core)).await??)
}

fn key(k: &str) -> Result<ItemKey> {
    Ok(k.parse::<ItemKey>()?)
}

#[derive(Serialize)]
pub struct AppInfo {
    version: &'static str,
    commit: Option<&'static str>,
    target: &'static str,
    profile: &'static str,
    data_dir: PathBuf,
    config_dir: PathBuf,
    logs_dir: PathBuf,
    output_dir: PathBuf,
    locale: String,
    extensions: Vec<&'static str>,
}

#[tauri::command]
pub fn app_info(shell: State<'_, Shell>) -> AppInfo {
    let dirs = shell.dirs();
    AppInfo {
        version: env!("CARGO_PKG_VERSION"),
        commit: option_env!("VIDEO2DOC_COMMIT"),
        target: crate::build_info::TARGET,
        profile: crate::build_info::PROFILE,
        data_dir: dirs.data.clone(),
        config_dir: dirs.config.clone(),
        logs_dir: dirs.logs(),
        output_dir: shell.output_dir(),
        locale: sys_locale::get_locale().unwrap_or_else(|| "en".into()),
        extensions: video2doc_core::MEDIA_EXTENSIONS.to_vec(),
    }
}

#[tauri::command]
pub async fn list_items(
    shell: State<'_, Shell>,
    state: Option<JobState>,
    queue: Option<String>,
    limit: Option<usize>,
) -> Result<Vec<ItemRow>> {
    let filter = ItemFilter {
        state,
        queue,
        limit,
    };
    blocking(shell.core()?, move |c| c.items(&filter)).await
}

#[tauri::command]
pub async fn item_detail<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    key: String,
) -> Result<ItemDetail> {
    let k = self::key(&key)?;
    let detail = blocking(shell.core()?, move |c| c.item_detail(k)).await?;
    // Its documents and slides may now be opened, its thumbnails and preview shown.
    shell.shown(&app, &detail);
    Ok(detail)
}

#[tauri::command]
pub async fn import_paths(
    shell: State<'_, Shell>,
    paths: Vec<PathBuf>,
    options: Option<ProcessOptions>,
) -> Result<ImportReport> {
    if paths.is_empty() {
        return Err(CommandError::bad_request("nothing to import"));
    }
    let mut o = options.unwrap_or_default();
    if o.out_dir.is_none() {
        o.out_dir = Some(shell.output_dir());
    }
    Ok(shell.core()?.import_paths(&paths, &o).await?)
}

#[tauri::command]
pub async fn pick_files<R: Runtime>(app: AppHandle<R>) -> Result<Vec<PathBuf>> {
    dialogs::pick_files(&app).await
}

#[tauri::command]
pub async fn pick_folder<R: Runtime>(app: AppHandle<R>) -> Result<Option<PathBuf>> {
    dialogs::pick_folder(&app).await
}

#[tauri::command]
pub async fn pick_model_file<R: Runtime>(app: AppHandle<R>) -> Result<Option<PathBuf>> {
    dialogs::pick_model_file(&app).await
}

#[tauri::command]
pub async fn pick_model_folder<R: Runtime>(app: AppHandle<R>) -> Result<Option<PathBuf>> {
    dialogs::pick_model_folder(&app).await
}

#[tauri::command]
pub async fn cancel_item(shell: State<'_, Shell>, key: String) -> Result<ItemRow> {
    Ok(shell.core()?.cancel_item(self::key(&key)?).await?)
}

#[tauri::command]
pub async fn retry_item(shell: State<'_, Shell>, key: String) -> Result<ItemRow> {
    Ok(shell.core()?.retry_item(self::key(&key)?).await?)
}

#[tauri::command]
pub async fn set_priority(
    shell: State<'_, Shell>,
    key: String,
    priority: Priority,
) -> Result<ItemRow> {
    Ok(shell
        .core()?
        .set_item_priority(self::key(&key)?, priority)
        .await?)
}

#[tauri::command]
pub async fn pause_queue(
    shell: State<'_, Shell>,
    queue: Option<String>,
) -> Result<Vec<WorkerInfo>> {
    let core = shell.core()?;
    core.pause(
        queue
            .as_deref()
            .map(video2doc_core::kind_named)
            .transpose()?,
    )
    .await?;
    Ok(core.workers())
}

#[tauri::command]
pub async fn resume_queue(
    shell: State<'_, Shell>,
    queue: Option<String>,
) -> Result<Vec<WorkerInfo>> {
    let core = shell.core()?;
    core.resume(
        queue
            .as_deref()
            .map(video2doc_core::kind_named)
            .transpose()?,
    )
    .await?;
    Ok(core.workers())
}

#[tauri::command]
pub async fn clear_finished(shell: State<'_, Shell>) -> Result<usize> {
    blocking(shell.core()?, |c| c.clear_finished()).await
}

#[derive(Serialize)]
pub struct Dashboard {
    stats: Stats,
    workers: Vec<WorkerInfo>,
    health: video2doc_core::AppHealth,
    /// Every worker process on this queue (several machines on a shared queue).
    machines: Vec<video2doc_core::WorkerRecord>,
}

#[tauri::command]
pub async fn dashboard(shell: State<'_, Shell>) -> Result<Dashboard> {
    blocking(shell.core()?, |c| {
        Ok(Dashboard {
            stats: c.stats()?,
            workers: c.workers(),
            health: c.health(),
            machines: c.registered_workers()?,
        })
    })
    .await
}

#[tauri::command]
pub fn get_settings(shell: State<'_, Shell>) -> Result<AppSettings> {
    Ok(shell.settings()?)
}

/// Saves the settings and applies them. While the queue is not open they are saved
/// alone, and the next attempt to open it (at once) uses them.
#[tauri::command]
pub async fn save_settings<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    settings: AppSettings,
) -> Result<AppSettings> {
    {
        let _busy = shell.link.busy.lock().await;
        match shell.open_core() {
            Some(core) => core.apply_settings(settings).await?,
            None => shell.save_settings_alone(&settings)?,
        }
    }
    shell.settings_changed(&app).await?;
    shell.link.kick();
    Ok(shell.settings()?)
}

/// Whether the job queue is open, and if not, why.
#[tauri::command]
pub fn queue_connection(shell: State<'_, Shell>) -> QueueConnection {
    shell.link.get()
}

/// Tries to open the job queue now (when it is not open).
#[tauri::command]
pub fn reconnect_queue(shell: State<'_, Shell>) -> QueueConnection {
    shell.link.kick();
    shell.link.get()
}

#[tauri::command]
pub async fn list_models(shell: State<'_, Shell>) -> Result<Vec<ModelRow>> {
    blocking(shell.core()?, |c| Ok(c.models().list())).await
}

/// The model the first-run guide offers for the languages a person will transcribe.
#[tauri::command]
pub async fn recommended_model(shell: State<'_, Shell>, languages: Languages) -> Result<ModelRow> {
    let name = catalogue::recommended(languages);
    let row = blocking(shell.core()?, move |c| Ok(c.models().row(name))).await?;
    row.ok_or_else(|| CommandError::failed(format!("the model {name} is not in the catalogue")))
}

#[derive(Clone, Serialize)]
struct ModelProgress<'a> {
    name: &'a str,
    done: u64,
    total: u64,
}

#[tauri::command]
pub async fn download_model<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    name: String,
) -> Result<ModelRow> {
    blocking(shell.core()?, move |c| {
        let mut last = std::time::Instant::now() - std::time::Duration::from_secs(1);
        Ok(c.models().download(&name, |done, total| {
            // A few updates a second are plenty for a progress bar.
            if last.elapsed().as_millis() >= 200 || done == total {
                last = std::time::Instant::now();
                let _ = app.emit(
                    "model-progress",
                    ModelProgress {
                        name: &name,
                        done,
                        total,
                    },
                );
            }
        })?)
    })
    .await
}

#[tauri::command]
pub fn cancel_download(shell: State<'_, Shell>, name: String) -> Result<()> {
    if shell.core()?.models().cancel(&name) {
        Ok(())
    } else {
        Err(CommandError::bad_request(format!(
            "{name} is not downloading"
        )))
    }
}

#[tauri::command]
pub async fn import_model(shell: State<'_, Shell>, path: PathBuf) -> Result<ModelRow> {
    blocking(shell.core()?, move |c| Ok(c.models().import(&path)?)).await
}

/// Names speaker `id` of a document the window was shown (its JSON file) and writes
/// every format of it again; with `remember`, keeps the voice to name the person in
/// later recordings.
#[tauri::command]
pub async fn rename_speaker(
    shell: State<'_, Shell>,
    document: PathBuf,
    id: u32,
    name: String,
    remember: bool,
) -> Result<Vec<PathBuf>> {
    let document = shell.openable(&document)?;
    blocking(shell.core()?, move |c| {
        c.rename_speaker(&document, id, &name, remember)
    })
    .await
}

/// The voices remembered on this machine (names, never prints).
#[tauri::command]
pub async fn remembered_voices(shell: State<'_, Shell>) -> Result<Vec<RememberedVoice>> {
    blocking(shell.core()?, |c| c.remembered_voices()).await
}

/// Forgets a remembered voice; false when none had that name.
#[tauri::command]
pub async fn forget_voice(shell: State<'_, Shell>, name: String) -> Result<bool> {
    blocking(shell.core()?, move |c| c.forget_voice(&name)).await
}

/// A summary template as Settings offers it: its name and the instructions it gives
/// the model when the person has written none.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SummaryTemplate {
    pub name: &'static str,
    pub default_prompt: &'static str,
}

/// The summary templates (lecture, meeting, abstract) and their default instructions.
#[tauri::command]
pub fn summary_templates() -> Vec<SummaryTemplate> {
    video2doc_core::document::summary::Template::ALL
        .iter()
        .map(|t| SummaryTemplate {
            name: t.name(),
            default_prompt: t.default_prompt(),
        })
        .collect()
}

/// Every document made, newest first (their thumbnails may then be loaded).
#[tauri::command]
pub async fn library_documents<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
) -> Result<Vec<Entry>> {
    let docs = blocking(shell.core()?, |c| c.documents()).await?;
    shell.entries_shown(&app, &docs);
    Ok(docs)
}

/// The passages matching `query` across every document.
#[tauri::command]
pub async fn search_library(
    shell: State<'_, Shell>,
    query: String,
    limit: Option<usize>,
) -> Result<Vec<Hit>> {
    let limit = limit.unwrap_or(100).clamp(1, 1000);
    blocking(shell.core()?, move |c| c.search(&query, limit)).await
}

/// A document as the editor opens it, with where to play its recording from.
#[derive(Serialize)]
pub struct EditorOpen {
    #[serde(flatten)]
    editing: Editing,
    /// The recording, served on loopback (None: it is not where it was).
    media_url: Option<String>,
}

/// Opens a document in the editor: its draft or its last export, its versions; its
/// slide pictures may then be loaded, and its recording is served to play.
#[tauri::command]
pub async fn open_document<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    media: State<'_, MediaServer>,
    id: String,
) -> Result<EditorOpen> {
    let editing = blocking(shell.core()?, move |c| c.open_document(&id)).await?;
    let playable = shell.document_shown(&app, &editing.entry, &editing.document);
    let media_url = match playable {
        Some(file) => match media.url(&file).await {
            Ok(url) => Some(url),
            Err(e) => {
                tracing::warn!(error = %e, "the recording cannot be served");
                None
            }
        },
        None => None,
    };
    Ok(EditorOpen { editing, media_url })
}

/// One edit, saved (durably) before this returns.
#[tauri::command]
pub async fn edit_document(shell: State<'_, Shell>, id: String, edit: Edit) -> Result<Edited> {
    blocking(shell.core()?, move |c| c.edit_document(&id, &edit)).await
}

/// Saves a whole state of the document as its draft (undo, redo).
#[tauri::command]
pub async fn save_draft(shell: State<'_, Shell>, id: String, document: Document) -> Result<()> {
    blocking(shell.core()?, move |c| c.save_draft(&id, &document)).await
}

/// Drops the draft: the last export stands.
#[tauri::command]
pub async fn discard_draft(shell: State<'_, Shell>, id: String) -> Result<()> {
    blocking(shell.core()?, move |c| c.discard_draft(&id)).await
}

/// Makes a kept version the draft.
#[tauri::command]
pub async fn restore_version(shell: State<'_, Shell>, id: String, number: u32) -> Result<Document> {
    blocking(shell.core()?, move |c| c.restore_version(&id, number)).await
}

/// Writes every format of the document again from its edits.
#[tauri::command]
pub async fn export_again(shell: State<'_, Shell>, id: String) -> Result<Vec<PathBuf>> {
    blocking(shell.core()?, move |c| c.export_again(&id)).await
}

/// A replace in every document (each one's draft).
#[tauri::command]
pub async fn replace_everywhere(shell: State<'_, Shell>, edit: Edit) -> Result<Vec<ReplacedIn>> {
    blocking(shell.core()?, move |c| c.replace_everywhere(&edit)).await
}

/// Removes a document from the library; with `files`, deletes what Video2Doc wrote.
#[tauri::command]
pub async fn delete_document(shell: State<'_, Shell>, id: String, files: bool) -> Result<()> {
    blocking(shell.core()?, move |c| c.delete_document(&id, files)).await
}

#[tauri::command]
pub fn open_path(
    shell: State<'_, Shell>,
    launcher: State<'_, Launcher>,
    path: PathBuf,
) -> Result<()> {
    let path = shell.openable(&path)?;
    launcher
        .launch(Launch::Open, &path)
        .map_err(|e| CommandError::failed(format!("{} could not be opened: {e}", path.display())))
}

#[tauri::command]
pub fn reveal_path(
    shell: State<'_, Shell>,
    launcher: State<'_, Launcher>,
    path: PathBuf,
) -> Result<()> {
    let path = shell.revealable(&path)?;
    launcher
        .launch(Launch::Reveal, &path)
        .map_err(|e| CommandError::failed(format!("{} could not be shown: {e}", path.display())))
}
