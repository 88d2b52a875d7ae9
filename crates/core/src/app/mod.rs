//! The one plain-Rust API of Video2Doc: [`Core`]. The CLI, the local HTTP API and the
//! desktop shell all call it the same way; none of them holds logic of its own. It
//! owns the queue (one per data folder), the settings, and the workflow handlers.

pub mod intake;
pub mod items;
pub mod library;
pub mod logging;
pub mod settings;
pub mod speakers;
pub mod watch;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use video2doc_queue::{
    GroupId, GroupStatus, Health, JobId, JobRecord, JobSummary, Priority, Progress, Queue,
    QueueConfig, QueueError, Rejection, State, Stats, WorkerInfo, WorkerRecord,
};

use crate::app::settings::{AppSettings, SettingsError};
use crate::document::export::Format;
use crate::error_class::ErrorClass;
use crate::library::{Library, LibraryError};
use crate::pipeline::{StageOptions, WorkerCommand};
use crate::workflow::{self, CompleteWorkflow, WorkflowInput};

/// Where Video2Doc keeps things.
#[derive(Debug, Clone, PartialEq)]
pub struct CoreDirs {
    /// The queue, work folders, models and logs.
    pub data: PathBuf,
    /// settings.json
    pub config: PathBuf,
}

impl CoreDirs {
    /// The folders given, else the user's: data in the OS data folder, settings in the OS
    /// config folder (with only a data folder given, settings go in its `config`).
    pub fn resolve(data: Option<PathBuf>, config: Option<PathBuf>) -> CoreDirs {
        let project = directories::ProjectDirs::from("app", "Video2Doc", "Video2Doc");
        let config = config.unwrap_or_else(|| match &data {
            Some(d) => d.join("config"),
            None => project
                .as_ref()
                .map(|d| d.config_dir().to_path_buf())
                .unwrap_or_else(|| PathBuf::from(".video2doc/config")),
        });
        let data = data.unwrap_or_else(|| {
            project
                .as_ref()
                .map(|d| d.data_dir().to_path_buf())
                .unwrap_or_else(|| PathBuf::from(".video2doc"))
        });
        CoreDirs { data, config }
    }

    pub fn models(&self) -> PathBuf {
        self.data.join("models")
    }
    pub fn work(&self) -> PathBuf {
        self.data.join("work")
    }
    pub fn logs(&self) -> PathBuf {
        self.data.join("logs")
    }
    /// The remembered voices (see [`crate::media::speakers::book`]).
    pub fn voices(&self) -> PathBuf {
        self.data.join("voices.json")
    }
    /// Every document made, and their search index (see [`crate::library`]).
    pub fn library(&self) -> PathBuf {
        self.data.join("library")
    }
}

/// Why a request could not be done.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("{0} does not exist")]
    NoSuchFile(PathBuf),
    #[error("unknown task kind {0:?}: use video, audio, image, summary or export")]
    UnknownKind(String),
    #[error("no output folder: give one, or set one in the settings")]
    NoOutput,
    #[error(transparent)]
    CannotTranscribe(crate::media::transcribe::TranscribeError),
    #[error("{0:?} is not an item: items are g<number> (a workflow) or j<number> (a task)")]
    BadKey(String),
    #[error("{0} has no failed or cancelled step to retry")]
    NothingToRetry(String),
    #[error("{path}: {reason}")]
    Unsupported { path: PathBuf, reason: String },
    #[error(transparent)]
    Model(#[from] crate::media::models::catalogue::ModelError),
    #[error("the settings were not saved: {}", .0.join("; "))]
    InvalidSettings(Vec<String>),
    #[error("{}", .0.join("; "))]
    InvalidOptions(Vec<String>),
    #[error("the queue {0} is on Redis, but this build of Video2Doc has no Redis support (build it with the feature redis)")]
    NoRedisSupport(String),
    #[error(transparent)]
    Document(#[from] crate::document::export::ExportError),
    #[error(transparent)]
    Voices(#[from] crate::media::speakers::book::BookError),
    #[error("{0}")]
    NoVoice(String),
    #[error(transparent)]
    Library(#[from] crate::library::LibraryError),
}

impl CoreError {
    /// What this failure means to whoever asked: the one rule every face maps.
    pub fn class(&self) -> ErrorClass {
        match self {
            CoreError::Queue(QueueError::Rejected(
                Rejection::NotFound(_) | Rejection::GroupNotFound(_),
            )) => ErrorClass::NotFound,
            CoreError::NoSuchFile(_)
            | CoreError::UnknownKind(_)
            | CoreError::NoOutput
            | CoreError::CannotTranscribe(_)
            | CoreError::BadKey(_)
            | CoreError::NothingToRetry(_)
            | CoreError::Unsupported { .. }
            | CoreError::InvalidSettings(_)
            | CoreError::InvalidOptions(_)
            | CoreError::Model(_)
            | CoreError::Document(_)
            | CoreError::NoVoice(_)
            | CoreError::Queue(QueueError::Rejected(_)) => ErrorClass::BadRequest,
            CoreError::Library(
                LibraryError::NoDocument { .. } | LibraryError::NoVersion { .. },
            ) => ErrorClass::NotFound,
            CoreError::Library(
                LibraryError::Check(_)
                | LibraryError::Edit(_)
                | LibraryError::Missing { .. }
                | LibraryError::Export(_),
            ) => ErrorClass::BadRequest,
            CoreError::Library(_)
            | CoreError::Queue(_)
            | CoreError::Settings(_)
            | CoreError::NoRedisSupport(_)
            | CoreError::Voices(_) => ErrorClass::Failed,
        }
    }

    /// What lies below this error, each cause once (see [`crate::error_class::causes`]).
    pub fn detail(&self) -> Option<String> {
        crate::error_class::causes(self)
    }
}

/// The shared queue on Redis; job files stay in this machine's data folder.
#[cfg(feature = "redis")]
fn open_shared(
    url: &str,
    ca_file: Option<&Path>,
    dirs: &CoreDirs,
    config: QueueConfig,
) -> Result<Queue, CoreError> {
    use std::sync::Arc;
    use video2doc_queue::{RedisConfig, RedisStore, Store};
    if let Some(warning) = unencrypted_remote(url) {
        tracing::warn!("{warning}");
    }
    // At start an unreachable server is reported after a short wait; once running,
    // lost connections are retried for longer.
    let store = RedisStore::open(RedisConfig {
        ca_file: ca_file.map(Path::to_path_buf),
        ..RedisConfig::new(url)
            .open_within(std::time::Duration::from_secs(3))
            .retry_for(std::time::Duration::from_secs(30))
    })
    .map_err(QueueError::from)?;
    let store: Arc<dyn Store> = Arc::new(store);
    Ok(Queue::with_store(
        store,
        Some(dirs.data.join("files")),
        config,
    )?)
}

/// For a `redis://` URL (no TLS) to another machine: a warning that jobs and the
/// password cross the network in clear. `None` for `rediss://` and this machine.
pub fn unencrypted_remote(url: &str) -> Option<String> {
    let rest = url.strip_prefix("redis://")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host_port.split(':').next().unwrap_or("")
    };
    let loopback = host.is_empty()
        || host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    (!loopback).then(|| {
        format!(
            "the shared queue at {host_port} is reached without encryption (redis://): jobs \
             and the password cross the network in clear; use rediss:// (TLS) beyond this \
             machine"
        )
    })
}

#[cfg(not(feature = "redis"))]
fn open_shared(
    url: &str,
    _ca_file: Option<&Path>,
    _dirs: &CoreDirs,
    _config: QueueConfig,
) -> Result<Queue, CoreError> {
    Err(CoreError::NoRedisSupport(url.to_string()))
}

/// Per-request choices; unset ones come from the settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessOptions {
    #[serde(default)]
    pub out_dir: Option<PathBuf>,
    #[serde(default)]
    pub formats: Option<Vec<Format>>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Translate the speech to English instead of transcribing it.
    #[serde(default)]
    pub translate: bool,
    /// Words the transcription should expect (names, terms).
    #[serde(default)]
    pub prompt: Option<String>,
    /// With no model installed yet, accept the file and let its transcription wait
    /// until a model is (the window and watched folders), instead of refusing it with
    /// the command that installs one (the CLI and the HTTP API).
    #[serde(default)]
    pub wait_for_model: bool,
    /// How many speakers to tell apart (`auto`, `off` or a number); the setting's when
    /// not given.
    #[serde(default)]
    pub speakers: Option<crate::media::speakers::SpeakerCount>,
    /// Where to recognise speech (`auto`, `cpu`, `gpu`); the setting's when `None`.
    #[serde(default)]
    pub device: Option<crate::media::device::DeviceSetting>,
}

/// A job's status, as the old service's `/status` answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    pub state: State,
    pub priority: Priority,
    pub attempts: u32,
    pub progress: Progress,
    pub error: Option<String>,
    pub created_at: u64,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
}

/// A job's full record and result, as `/info` answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub job: JobRecord,
    pub result: Option<serde_json::Value>,
}

/// Whether the app can work: the queue's health plus the tools and the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppHealth {
    pub ok: bool,
    pub queue: Health,
    pub ffmpeg: Option<String>,
    pub ffprobe: Option<String>,
    pub model: PathBuf,
    pub model_present: bool,
    /// Why transcription cannot run on this processor, if it cannot.
    pub cpu_problem: Option<String>,
    /// The ffmpeg program used (bundled beside the app, else from PATH).
    pub ffmpeg_path: Option<PathBuf>,
    /// The GPU workers installed, the devices they found and what went wrong asking.
    pub gpu: crate::media::device::Survey,
    /// Where a transcription with the current settings runs: `cpu`, or the GPU's
    /// label (`vulkan: <device>`); with why not on a GPU when that may surprise.
    pub device: String,
    pub device_note: Option<String>,
}

/// The job kinds, each on its own queue.
pub use crate::workflow::Kind;

/// The kind a face was given by name (`video`, `audio`...).
pub fn kind_named(name: &str) -> Result<Kind, CoreError> {
    name.parse()
        .map_err(|_| CoreError::UnknownKind(name.into()))
}

/// The queue a face was given by name: one kind's, or every queue for `all`.
pub fn queue_named(name: &str) -> Result<Option<Kind>, CoreError> {
    match name {
        "all" => Ok(None),
        name => kind_named(name).map(Some),
    }
}

/// Slots per queue sized to the machine: transcription uses every core by itself, the
/// other steps are lighter.
fn default_concurrency(kind: Kind) -> usize {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    match kind {
        Kind::Audio => 1,
        Kind::Video | Kind::Image => (cpus / 2).max(1),
        Kind::Summary | Kind::Export => cpus.max(2),
    }
}

/// Where the model library downloads from, and which models it offers, by the settings.
fn configure_models(lib: &crate::media::models::library::ModelLibrary, s: &AppSettings) {
    lib.set_source(s.model_source_or_default());
    let extra = match &s.model_catalogue {
        None => Vec::new(),
        Some(path) => crate::media::models::catalogue::read_catalogue(path).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "the model catalogue is not used");
            Vec::new()
        }),
    };
    lib.set_extra(extra);
}

/// See [`Core::release_if_model_ready`].
async fn release_if_model_ready(
    queue: &Queue,
    current_model: &RwLock<PathBuf>,
    maybe_waiting: &std::sync::atomic::AtomicBool,
) -> Result<usize, CoreError> {
    use std::sync::atomic::Ordering;
    // Checked every second: the flag first, the file only when something may wait.
    if !maybe_waiting.load(Ordering::SeqCst) {
        return Ok(0);
    }
    let model = current_model
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if !model.is_file() || !maybe_waiting.swap(false, Ordering::SeqCst) {
        return Ok(0);
    }
    match queue.release(workflow::MODEL_HOLD).await {
        Ok(n) => Ok(n),
        Err(e) => {
            maybe_waiting.store(true, Ordering::SeqCst);
            Err(e.into())
        }
    }
}

/// The Video2Doc API over one data folder.
pub struct Core {
    queue: Queue,
    /// Every document made here (shared with the export handler).
    library: Arc<Library>,
    dirs: CoreDirs,
    settings: RwLock<AppSettings>,
    /// What the workflow handlers read of the settings when a job runs (the summary
    /// endpoint, the folders served to a shared queue), kept in step with them.
    serving: Arc<RwLock<workflow::Serving>>,
    models: crate::media::models::library::ModelLibrary,
    /// The model the settings name, as a path; jobs whose own model is not on this
    /// machine use it (see [`workflow::register`]).
    current_model: Arc<RwLock<PathBuf>>,
    /// Set when transcriptions may be held for a model; the model watch then releases
    /// them once the model is there.
    maybe_waiting: Arc<std::sync::atomic::AtomicBool>,
}

impl Core {
    /// Opens the data folder (its queue is locked to this process: a second process
    /// gets an error naming this one), loads the settings and registers the workflow
    /// handlers. Call [`Core::start`] to run jobs.
    pub fn open(dirs: CoreDirs, worker: WorkerCommand) -> Result<Core, CoreError> {
        Core::open_with_queue(dirs, worker, None)
    }

    /// As [`Core::open`], with the queue at `queue_url` (`redis://host:port/db`) when
    /// given, else as the settings say (`queue_url`), else the embedded one in the data
    /// folder. A shared queue that cannot be reached is an error naming it.
    pub fn open_with_queue(
        dirs: CoreDirs,
        worker: WorkerCommand,
        queue_url: Option<&str>,
    ) -> Result<Core, CoreError> {
        let settings = AppSettings::load(&dirs.config)?;
        // Private to this user, repaired at every start: the queue, the work folders
        // (audio, transcripts), logs, the settings (keys, passwords).
        crate::private::private_dir(&dirs.data).map_err(|source| QueueError::Io {
            path: dirs.data.clone(),
            source,
        })?;
        if dirs.config.is_dir() {
            let settings_file = AppSettings::path(&dirs.config);
            for (path, made) in [
                (&dirs.config, crate::private::private_dir(&dirs.config)),
                (
                    &settings_file,
                    crate::private::repair_private_file(&settings_file),
                ),
            ] {
                if let Err(e) = made {
                    tracing::warn!(path = %path.display(), error = %e, "could not make private");
                }
            }
        }
        let config = QueueConfig {
            // Until cleared: a century, which the purge's arithmetic saturates safely.
            retention: settings
                .retention()
                .unwrap_or(std::time::Duration::from_secs(100 * 365 * 86_400)),
            ..QueueConfig::default()
        };
        let url = queue_url
            .map(str::to_string)
            .or_else(|| settings.queue_url.clone())
            .filter(|u| !u.trim().is_empty());
        let queue = match url {
            None => Queue::open(&dirs.data, config)?,
            Some(url) => open_shared(&url, settings.queue_ca_file.as_deref(), &dirs, config)?,
        };
        let current_model = Arc::new(RwLock::new(settings.model_path(&dirs.models())));
        let library = Arc::new(Library::new(&dirs.library()));
        let serving = Arc::new(RwLock::new(settings.serving()));
        workflow::register(
            &queue,
            workflow::Folders {
                work: dirs.work(),
                models: dirs.models(),
                voices: dirs.voices(),
                library: library.clone(),
            },
            worker,
            settings.path_map.clone(),
            current_model.clone(),
            serving.clone(),
        );
        Ok(Core {
            queue,
            library,
            current_model,
            // Jobs may have been held when the app last stopped.
            maybe_waiting: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            models: {
                let lib = crate::media::models::library::ModelLibrary::new(dirs.models());
                configure_models(&lib, &settings);
                lib
            },
            dirs,
            settings: RwLock::new(settings),
            serving,
        })
    }

    /// Starts the workers (on the current tokio runtime), with per-queue concurrency
    /// from the settings or sized to the machine.
    pub async fn start(&self) -> Result<(), CoreError> {
        let s = self.settings();
        self.apply_concurrency(&s).await?;
        self.queue.start()?;
        // Work folders follow the retention of finished jobs (none swept when they are
        // kept until cleared).
        let root = self.dirs.work();
        if let Some(keep) = s.retention() {
            tokio::spawn(async move {
                loop {
                    let r = root.clone();
                    let n =
                        tokio::task::spawn_blocking(move || crate::pipeline::sweep_work(&r, keep))
                            .await
                            .unwrap_or(0);
                    if n > 0 {
                        tracing::info!(folders = n, "deleted work folders past their retention");
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
                }
            });
        }
        // Transcriptions held for a model start once it is installed, whoever installed
        // it (this window, or `video2doc models download` in a terminal).
        let (queue, current, waiting) = (
            self.queue.clone(),
            self.current_model.clone(),
            self.maybe_waiting.clone(),
        );
        tokio::spawn(async move {
            loop {
                match release_if_model_ready(&queue, &current, &waiting).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(jobs = n, "a model is installed; held transcriptions start")
                    }
                    Err(e) => tracing::warn!(error = %e, "could not start the held transcriptions"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        });
        Ok(())
    }

    /// Stops the workers; running jobs are put back and resume at the next start.
    pub async fn close(&self) {
        self.queue.shutdown().await
    }

    pub fn queue(&self) -> &Queue {
        &self.queue
    }

    pub fn dirs(&self) -> &CoreDirs {
        &self.dirs
    }

    pub fn settings(&self) -> AppSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the settings and saves them, refusing settings with problems.
    pub fn set_settings(&self, s: AppSettings) -> Result<(), CoreError> {
        let problems = s.problems();
        if !problems.is_empty() {
            return Err(CoreError::InvalidSettings(problems));
        }
        s.save(&self.dirs.config)?;
        configure_models(&self.models, &s);
        *self
            .current_model
            .write()
            .unwrap_or_else(|p| p.into_inner()) = s.model_path(&self.dirs.models());
        *self.serving.write().unwrap_or_else(|p| p.into_inner()) = s.serving();
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = s;
        Ok(())
    }

    /// Saves new settings and applies what can change while running (queue slots).
    pub async fn apply_settings(&self, s: AppSettings) -> Result<(), CoreError> {
        self.set_settings(s.clone())?;
        self.apply_concurrency(&s).await
    }

    /// Slots per queue from the settings, or sized to the machine.
    async fn apply_concurrency(&self, s: &AppSettings) -> Result<(), CoreError> {
        for kind in Kind::ALL {
            let n = s
                .concurrency
                .get(kind.name())
                .copied()
                .unwrap_or_else(|| default_concurrency(kind));
            self.queue.set_concurrency(kind.name(), n).await?;
        }
        Ok(())
    }

    /// The installed models and their downloads.
    pub fn models(&self) -> &crate::media::models::library::ModelLibrary {
        &self.models
    }

    fn pipeline_settings(&self, o: &ProcessOptions) -> StageOptions {
        let s = self.settings();
        let mut app = s.clone();
        if let Some(m) = &o.model {
            app.model = m.clone();
        }
        let mut p = StageOptions::new(app.model_path(&self.dirs.models()));
        p.formats = o.formats.clone().unwrap_or(s.formats);
        p.transcribe.language = o.language.clone().or(s.language);
        p.transcribe.translate = o.translate;
        p.transcribe.initial_prompt = o.prompt.clone();
        p.transcribe.threads = s.threads;
        // Not in the job: the machine that runs the summary uses its own endpoint and key
        // (a job is stored, shown by /info, and on a shared queue read by every worker).
        p.summary_endpoint = None;
        p.summary = s.summary.options();
        p.subtitles = s.subtitles;
        p.slide_sensitivity = s.slide_sensitivity;
        p.transcribe.chinese_script = s.chinese_script;
        p.speakers = o.speakers.unwrap_or(s.speakers);
        p.device = o.device.unwrap_or(s.device);
        if p.speakers != crate::media::speakers::SpeakerCount::Off {
            p.speaker_models = crate::media::models::speaker::installed(
                &crate::media::models::speaker::speaker_dir(&self.dirs.models()),
            );
        }
        // The machine that runs the slides job reads them with its own text model.
        if s.slide_text {
            p.ocr = crate::media::models::text::installed(&crate::media::models::text::text_dir(
                &self.dirs.models(),
            ));
        }
        p
    }

    fn workflow_input(&self, input: &Path, o: &ProcessOptions) -> Result<WorkflowInput, CoreError> {
        let input =
            std::path::absolute(input).map_err(|_| CoreError::NoSuchFile(input.to_path_buf()))?;
        if !input.exists() {
            return Err(CoreError::NoSuchFile(input));
        }
        let out = o
            .out_dir
            .clone()
            .or_else(|| self.settings().output_dir)
            .ok_or(CoreError::NoOutput)?;
        let out_dir = std::path::absolute(&out).map_err(|_| CoreError::NoSuchFile(out.clone()))?;
        let settings = self.pipeline_settings(o);
        let problems = settings.transcribe.problems();
        if !problems.is_empty() {
            return Err(CoreError::InvalidOptions(problems));
        }
        Ok(WorkflowInput {
            input,
            out_dir,
            settings,
        })
    }

    /// Work that transcribes fails at once, before any work, when the processor cannot
    /// run it, or when the model is missing and the caller does not want to wait for
    /// one. `Ok(false)`: the model is missing and the transcription is to wait for it.
    fn need_model(&self, w: &WorkflowInput, wait: bool) -> Result<bool, CoreError> {
        if let Some(problem) = crate::media::transcribe::cpu_problem() {
            return Err(CoreError::CannotTranscribe(
                crate::media::transcribe::TranscribeError::Cpu(problem),
            ));
        }
        let model = &w.settings.transcribe.model;
        if model.is_file() {
            return Ok(true);
        }
        if wait {
            self.maybe_waiting
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(false);
        }
        Err(CoreError::CannotTranscribe(
            crate::media::transcribe::TranscribeError::ModelMissing {
                path: model.clone(),
            },
        ))
    }

    /// Starts the transcriptions held for a model once the model the settings name is
    /// installed (downloaded in the window, or by `video2doc models download` in another
    /// process). Returns how many started.
    pub async fn release_if_model_ready(&self) -> Result<usize, CoreError> {
        release_if_model_ready(&self.queue, &self.current_model, &self.maybe_waiting).await
    }

    /// The complete workflow for one file: video, then transcription and slides side by
    /// side, then summary and export, as one group.
    pub async fn submit_complete(
        &self,
        input: &Path,
        o: &ProcessOptions,
    ) -> Result<CompleteWorkflow, CoreError> {
        let w = self.workflow_input(input, o)?;
        let ready = self.need_model(&w, o.wait_for_model)?;
        // The same file with the same settings, interrupted earlier: resume that run.
        if let Some(existing) = self.unfinished_complete(&w)? {
            tracing::info!(input = %w.input.display(), group = %existing.group, "resuming an unfinished workflow");
            return Ok(existing);
        }
        Ok(
            workflow::enqueue_complete(&self.queue, w, o.priority.unwrap_or_default(), !ready)
                .await?,
        )
    }

    /// The unfinished complete workflow for this input and settings, if any.
    fn unfinished_complete(
        &self,
        w: &WorkflowInput,
    ) -> Result<Option<CompleteWorkflow>, CoreError> {
        let want = serde_json::to_value(w).expect("inputs serialize");
        for state in [State::Blocked, State::Pending, State::Running] {
            for j in self.queue.list(Some(state), Some("export"), usize::MAX)? {
                let job = self.queue.get(j.id)?;
                let same =
                    matches!(&job.payload, video2doc_queue::Payload::Inline(v) if *v == want);
                let Some(group) = job.group.filter(|_| same) else {
                    continue;
                };
                let members = self.queue.group(group)?.members;
                if let [video, audio, image, summary, export] = members.as_slice() {
                    // Begun on other content at this path (a new take saved over the
                    // file meanwhile): not the same work, so not resumed.
                    if !self.same_content_as_begun(video.id, &w.input) {
                        continue;
                    }
                    return Ok(Some(CompleteWorkflow {
                        group,
                        video: video.id,
                        audio: audio.id,
                        image: image.id,
                        summary: summary.id,
                        export: export.id,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// Whether the file at `input` is the content a workflow's first step worked on (or
    /// that step has not worked on any yet).
    fn same_content_as_begun(&self, video: JobId, input: &Path) -> bool {
        let begun = self
            .queue
            .result(video)
            .ok()
            .flatten()
            .and_then(|r| r.get("work")?.as_str().map(PathBuf::from));
        let Some(work) = begun else {
            return true;
        };
        let folder = work
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        crate::pipeline::content_hash(input)
            .is_ok_and(|h| h.starts_with(&folder) && !folder.is_empty())
    }

    /// The parallel workflow: transcription and slide analysis of several files, all
    /// side by side, as one group (no documents).
    pub async fn submit_parallel(
        &self,
        inputs: &[PathBuf],
        o: &ProcessOptions,
    ) -> Result<(GroupId, Vec<JobId>), CoreError> {
        let ws = inputs
            .iter()
            .map(|i| self.workflow_input(i, o))
            .collect::<Result<Vec<_>, _>>()?;
        // Parallel work has no documents to wait for: a missing model is refused.
        for w in &ws {
            self.need_model(w, false)?;
        }
        Ok(workflow::enqueue_parallel(&self.queue, ws, o.priority.unwrap_or_default()).await?)
    }

    /// One task of one kind on its own (it does the earlier steps it needs itself).
    pub async fn submit_task(
        &self,
        kind: Kind,
        input: &Path,
        o: &ProcessOptions,
    ) -> Result<JobId, CoreError> {
        let w = self.workflow_input(input, o)?;
        // A single task is not held: a missing model is refused.
        if !matches!(kind, Kind::Video | Kind::Image) {
            self.need_model(&w, false)?;
        }
        Ok(workflow::enqueue_task(&self.queue, kind, w, o.priority.unwrap_or_default()).await?)
    }

    pub fn status(&self, id: JobId) -> Result<JobStatus, CoreError> {
        let j = self.queue.get(id)?;
        let progress = self
            .queue
            .progress(id)
            .unwrap_or_else(|| j.progress.clone());
        Ok(JobStatus {
            id: j.id,
            kind: j.kind,
            queue: j.queue,
            state: j.state,
            priority: j.priority,
            attempts: j.attempts,
            progress,
            error: j.error.map(|e| e.message),
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
        })
    }

    pub fn info(&self, id: JobId) -> Result<JobInfo, CoreError> {
        let job = self.queue.get(id)?;
        let result = self.queue.result(id)?;
        Ok(JobInfo { job, result })
    }

    pub fn group(&self, id: GroupId) -> Result<GroupStatus, CoreError> {
        Ok(self.queue.group(id)?)
    }

    pub async fn cancel(&self, id: JobId) -> Result<JobStatus, CoreError> {
        self.queue.cancel(id).await?;
        self.status(id)
    }

    pub async fn retry(&self, id: JobId) -> Result<JobStatus, CoreError> {
        self.queue.retry(id).await?;
        self.status(id)
    }

    /// Pauses one kind's queue, or every queue with `None`.
    pub async fn pause(&self, queue: Option<Kind>) -> Result<(), CoreError> {
        Ok(self.queue.pause(queue.map(Kind::name)).await?)
    }

    pub async fn resume(&self, queue: Option<Kind>) -> Result<(), CoreError> {
        Ok(self.queue.resume(queue.map(Kind::name)).await?)
    }

    pub fn stats(&self) -> Result<Stats, CoreError> {
        Ok(self.queue.stats()?)
    }

    pub fn workers(&self) -> Vec<WorkerInfo> {
        self.queue.workers()
    }

    /// Every worker registered on the queue's store with a current heartbeat (on a
    /// shared queue: those of every machine).
    pub fn registered_workers(&self) -> Result<Vec<WorkerRecord>, CoreError> {
        Ok(self.queue.registered_workers()?)
    }

    /// Running and waiting jobs, newest first.
    pub fn active(&self, limit: usize) -> Result<Vec<JobSummary>, CoreError> {
        let mut out = self.queue.list(Some(State::Running), None, limit)?;
        out.extend(self.queue.list(Some(State::Pending), None, limit)?);
        out.extend(self.queue.list(Some(State::Blocked), None, limit)?);
        out.truncate(limit);
        Ok(out)
    }

    /// Jobs, newest first, optionally of one state.
    pub fn jobs(&self, state: Option<State>, limit: usize) -> Result<Vec<JobSummary>, CoreError> {
        Ok(self.queue.list(state, None, limit)?)
    }

    pub fn health(&self) -> AppHealth {
        let queue = self.queue.health();
        let version = |tool: &str| crate::media::process::tool_version(tool);
        let model = self.settings().model_path(&self.dirs.models());
        let ffmpeg = version("ffmpeg");
        let ffprobe = version("ffprobe");
        let model_present = model.is_file();
        let cpu_problem = crate::media::transcribe::cpu_problem();
        let gpu = crate::media::device::survey();
        let placed = crate::media::device::place_on(self.settings().device, &model, &gpu);
        let device_note = match &placed {
            crate::media::device::Placement::Cpu { note } => note.clone(),
            crate::media::device::Placement::Gpu(_) => None,
        };
        AppHealth {
            ok: queue.ok && ffmpeg.is_some() && ffprobe.is_some() && cpu_problem.is_none(),
            queue,
            ffmpeg,
            ffprobe,
            model,
            model_present,
            cpu_problem,
            ffmpeg_path: crate::media::process::tool_location("ffmpeg"),
            device: placed.label(),
            device_note,
            gpu,
        }
    }

    /// Waits until a job has finished.
    pub async fn wait(&self, id: JobId) -> Result<JobRecord, CoreError> {
        Ok(self.queue.wait(id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::unencrypted_remote;

    #[test]
    fn plain_redis_to_another_machine_is_warned_about_without_the_password() {
        let w = unencrypted_remote("redis://:s3cret@queue.lab:6379/0").unwrap();
        assert!(
            w.contains("queue.lab:6379") && w.contains("rediss://"),
            "{w}"
        );
        assert!(!w.contains("s3cret"), "{w}");
        assert!(unencrypted_remote("redis://10.0.0.7/0").is_some());
        for quiet in [
            "rediss://queue.lab:6380/0",
            "redis://127.0.0.1:6379/0",
            "redis://localhost/0",
            "redis://:pw@[::1]:6379",
            "redis://127.0.0.2:7000",
        ] {
            assert!(unencrypted_remote(quiet).is_none(), "{quiet}");
        }
    }

    #[test]
    fn every_face_reads_one_class_per_error() {
        use super::CoreError;
        use crate::error_class::ErrorClass::*;
        use video2doc_queue::{JobId, QueueError, Rejection};
        let cases = [
            (
                CoreError::Queue(QueueError::Rejected(Rejection::NotFound(JobId(7)))),
                NotFound,
            ),
            (CoreError::NoSuchFile("/x.mp4".into()), BadRequest),
            (CoreError::UnknownKind("gpu".into()), BadRequest),
            (CoreError::InvalidOptions(vec!["no".into()]), BadRequest),
            (CoreError::NoOutput, BadRequest),
            (CoreError::NoRedisSupport("redis://h".into()), Failed),
        ];
        for (e, class) in cases {
            assert_eq!(e.class(), class, "{e}");
        }
    }
}
