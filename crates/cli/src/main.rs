//! `video2doc`: headless Video2Doc. Glue only: arguments in, one call into
//! [`video2doc_core::Core`], results out. `--json` puts machine-readable output
//! (and nothing else) on stdout. Exit codes: 0 success, 1 a job failed, 2 usage or
//! setup error. The commands mirror the old REST service one for one; `serve` runs
//! the same calls as a local HTTP API.

mod output;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use video2doc_core::ErrorClass;
use video2doc_core::Format;
use video2doc_core::WorkerCommand;
use video2doc_core::{Core, CoreDirs, ProcessOptions};
use video2doc_core::{DeviceSetting, GroupId, JobId, Priority, SpeakerCount};

use output::Out;
use video2doc_server as http;

#[derive(Parser)]
#[command(name = "video2doc", version, about = "Turn videos into documents")]
struct Cli {
    /// Where the queue, work folders, models and logs live (default: the OS data folder).
    #[arg(long, global = true, env = "VIDEO2DOC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Where settings.json lives (default: the OS config folder; with --data-dir, its
    /// config/ subfolder).
    #[arg(long, global = true, env = "VIDEO2DOC_CONFIG_DIR")]
    config_dir: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long, global = true)]
    json: bool,
    /// A shared queue on Redis instead of the embedded one, for workers on several
    /// machines: redis://[:password@]host:port/db (rediss:// for TLS). Default: the
    /// `queue_url` setting.
    #[arg(long, global = true, env = "VIDEO2DOC_QUEUE", value_name = "URL")]
    queue: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct JobOptions {
    /// Output folder: documents go to OUT/<name>/<name>.<ext>.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Comma-separated: md,html,docx,pdf,srt,vtt,txt,json.
    #[arg(long)]
    formats: Option<String>,
    /// A ggml model file, or a model name (see `models list`).
    #[arg(long, env = "VIDEO2DOC_MODEL")]
    model: Option<String>,
    /// Spoken language (en, zh, ...); detected when not given.
    #[arg(long)]
    language: Option<String>,
    /// Translate the speech to English instead of transcribing it.
    #[arg(long)]
    translate: bool,
    /// Words the transcription should expect (names, terms), as a prompt.
    #[arg(long)]
    prompt: Option<String>,
    /// low, normal, high or critical.
    #[arg(long, default_value = "normal")]
    priority: String,
    /// Tell speakers apart: auto (labels when more than one voice is heard), off, or
    /// the number of speakers. Default: the `speakers` setting (auto).
    #[arg(long, value_name = "auto|off|N")]
    speakers: Option<SpeakerCount>,
    /// Where to recognise speech: auto (a GPU with room for the model, else the CPU),
    /// cpu, or gpu (even a software one). Default: the `device` setting (auto).
    #[arg(long, value_name = "auto|cpu|gpu")]
    device: Option<DeviceSetting>,
}

impl JobOptions {
    fn to_options(&self) -> anyhow::Result<ProcessOptions> {
        let formats = match &self.formats {
            Some(f) => Some(
                f.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|s| s.parse::<Format>())
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let priority: Priority = self
            .priority
            .parse()
            .map_err(|e| anyhow::anyhow!("{e}: use low, normal, high or critical"))?;
        Ok(ProcessOptions {
            out_dir: self.out.clone(),
            formats,
            model: self.model.clone(),
            language: self.language.clone(),
            translate: self.translate,
            prompt: self.prompt.clone(),
            priority: Some(priority),
            wait_for_model: false,
            speakers: self.speakers,
            device: self.device,
        })
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the complete workflow for each file and wait for the documents.
    Process {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        opts: JobOptions,
    },
    /// Queue work and return its ids (`run` or `serve` does it).
    Submit {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// complete, parallel, or one task: video, audio, image, summary, export.
        #[arg(long, default_value = "complete")]
        workflow: String,
        #[command(flatten)]
        opts: JobOptions,
    },
    /// Run the workers until stopped (Ctrl+C), or until no work is left.
    Run {
        #[arg(long)]
        until_idle: bool,
    },
    /// A job's state and progress.
    Status {
        id: JobId,
    },
    /// A job's full record and result.
    Info {
        id: JobId,
    },
    /// A workflow's status.
    Group {
        id: GroupId,
    },
    Cancel {
        id: JobId,
    },
    Retry {
        id: JobId,
    },
    /// Pause a queue (video, audio, image, summary, export) or all.
    Pause {
        queue: String,
    },
    Resume {
        queue: String,
    },
    /// Counts, durations, throughput and failure rate.
    Stats,
    /// Each queue's slots and what runs in them here, and every worker registered on
    /// the queue (host, pid, version, queues, heartbeat): on a shared queue, every machine's.
    Workers,
    /// Running and waiting jobs.
    Active,
    /// Whether everything needed works: store, disk, ffmpeg, model.
    Health,
    /// Show the settings, or change one: `settings set language zh`,
    /// `settings set concurrency.audio 1`, `settings set formats '["md","pdf"]'`.
    Settings {
        #[command(subcommand)]
        action: Option<SettingsAction>,
    },
    /// Whisper models: list the catalogue, download one, or import a file or folder.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Watch folders and turn every new video into documents, until stopped.
    /// With --json, one JSON event per line.
    Watch {
        #[arg(required = true)]
        folders: Vec<PathBuf>,
        /// Include subfolders.
        #[arg(long)]
        recursive: bool,
        /// Comma-separated extensions (default: common video and audio types).
        #[arg(long)]
        ext: Option<String>,
        /// Write documents beside each source instead of into --out.
        #[arg(long)]
        beside: bool,
        /// Move each source here once its documents are made.
        #[arg(long, conflicts_with = "delete_source")]
        move_to: Option<PathBuf>,
        /// Delete each source once its documents are made.
        #[arg(long)]
        delete_source: bool,
        /// Seconds a file must stay unchanged before it is taken.
        #[arg(long, default_value_t = 5)]
        settle_secs: u64,
        /// List what would be taken now, and stop.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        opts: JobOptions,
    },
    /// The local HTTP API (127.0.0.1 only, bearer token) with the workers running.
    Serve {
        #[arg(long, default_value_t = 8765)]
        port: u16,
    },
    /// Speakers of documents already made: name one (every format is written again),
    /// and the voices remembered to name people in later recordings.
    Speakers {
        #[command(subcommand)]
        action: SpeakersAction,
    },
    /// Render every format from a document's JSON (made by Video2Doc, edited by hand or
    /// by a script), checked as the pipeline's own: `export talk/talk.json --out docs`.
    /// The documents join the library.
    Export {
        document: PathBuf,
        /// Output folder: documents go to OUT/<name>/<name>.<ext>.
        #[arg(long)]
        out: PathBuf,
        /// Comma-separated: md,html,docx,pdf,srt,vtt,txt,json (default: the settings').
        #[arg(long)]
        formats: Option<String>,
    },
    /// Write the chapters and the summary of a document again (its JSON, made by
    /// Video2Doc, edited by hand or by a script), then every format:
    /// `summarize talk/talk.json --out docs --template meeting`. The documents join the
    /// library.
    Summarize {
        document: PathBuf,
        /// Output folder: documents go to OUT/<name>/<name>.<ext>.
        #[arg(long)]
        out: PathBuf,
        /// lecture, meeting, abstract or auto (default: the settings').
        #[arg(long)]
        template: Option<String>,
        /// local, endpoint, builtin or auto (default: the settings').
        #[arg(long)]
        method: Option<String>,
        /// The language of the notes, e.g. zh or en (default: the settings', else the
        /// recording's).
        #[arg(long)]
        language: Option<String>,
        /// Comma-separated: md,html,docx,pdf,srt,vtt,txt,json (default: the settings').
        #[arg(long)]
        formats: Option<String>,
    },
    /// Search every document made (transcripts, slide text, summaries, titles,
    /// speakers), English and Chinese: words must all occur; "quoted words" are a phrase.
    Search {
        query: String,
        /// At most this many hits.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The documents made on this machine.
    Library {
        #[command(subcommand)]
        action: LibraryAction,
    },
    /// The transcription worker (started by Video2Doc itself).
    #[command(hide = true)]
    Worker,
}

#[derive(Subcommand)]
enum LibraryAction {
    /// Every document, newest first.
    List,
    /// Bring the library and its search index up to date with the documents on disk
    /// (edited, moved away, or the index lost).
    Sync,
    /// Remove a document (its JSON, folder or id) from the library; with --files, also
    /// delete the files Video2Doc wrote for it.
    Delete {
        document: String,
        #[arg(long)]
        files: bool,
    },
}

#[derive(Subcommand)]
enum SpeakersAction {
    /// Name speaker ID of the document DOC (its .json file): `speakers rename
    /// out/meeting/meeting.json 2 "Li Wei"`.
    Rename {
        document: PathBuf,
        id: u32,
        name: String,
        /// Remember this voice, to name the same person in later recordings.
        #[arg(long)]
        remember: bool,
    },
    /// The remembered voices.
    Voices,
    /// Forget a remembered voice.
    Forget { name: String },
}

#[derive(Subcommand)]
enum SettingsAction {
    /// Set KEY (dotted for nested ones) to VALUE (JSON, or a plain string).
    Set { key: String, value: String },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// The standard models, and which are installed.
    List,
    /// Download a model of the catalogue (resumes an interrupted download).
    Download { name: String },
    /// Import a ggml file, or convert a faster-whisper (CTranslate2) model folder; a GGUF
    /// file is a summary model (a local language model); with
    /// --text, a text model folder (a PP-OCR `*det*.onnx` and `*rec*.onnx`); with
    /// --speakers, a speaker model folder (a `*segment*.onnx` and a voiceprint `.onnx`).
    Import {
        path: PathBuf,
        /// The folder holds a text model (slide text) rather than a Whisper model.
        #[arg(long, conflicts_with = "speakers")]
        text: bool,
        /// The folder holds speaker models (who spoke when) rather than a Whisper model.
        #[arg(long)]
        speakers: bool,
        /// The name to install it as (default: from the file or folder name).
        #[arg(long)]
        name: Option<String>,
        /// For a faster-whisper folder: store the weights as f16 or q8_0 (smaller, faster).
        #[arg(long, default_value = "f16")]
        weights: String,
    },
}

fn dirs(cli: &Cli) -> CoreDirs {
    CoreDirs::resolve(cli.data_dir.clone(), cli.config_dir.clone())
}

fn main() -> ExitCode {
    // Piped into `head`: end quietly like other command-line tools, not with a panic.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    if matches!(cli.command, Command::Worker) {
        return ExitCode::from(video2doc_core::worker_main() as u8);
    }
    let dirs = dirs(&cli);
    let _log = video2doc_core::logging::init(&dirs.logs());
    video2doc_core::logging::log_panics();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match rt.block_on(run(cli, dirs)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("video2doc: {}", said(&e));
            ExitCode::from(2)
        }
    }
}

/// An error and its causes on one line, each cause once (the contract's own walker).
fn said(e: &anyhow::Error) -> String {
    video2doc_core::error_class::said(e.as_ref())
}

fn worker() -> anyhow::Result<WorkerCommand> {
    Ok(WorkerCommand {
        program: std::env::current_exe()?,
        args: vec!["worker".into()],
    })
}

async fn run(cli: Cli, dirs: CoreDirs) -> anyhow::Result<ExitCode> {
    let out = Out::new(cli.json);
    if let Command::Models { action } = &cli.command {
        let settings = video2doc_core::AppSettings::load(&dirs.config)?;
        let library = video2doc_core::models::library::ModelLibrary::new(dirs.models());
        library.set_source(settings.model_source_or_default());
        if let Some(c) = &settings.model_catalogue {
            library.set_extra(video2doc_core::models::catalogue::read_catalogue(c)?);
        }
        return models(&out, &dirs.models(), &library.entries(), action);
    }
    // The library needs no queue: these work while the window (or a worker) runs.
    if matches!(
        cli.command,
        Command::Export { .. }
            | Command::Summarize { .. }
            | Command::Search { .. }
            | Command::Library { .. }
    ) {
        return library(&cli, &dirs, &out);
    }
    let core = std::sync::Arc::new(Core::open_with_queue(
        dirs,
        worker()?,
        cli.queue.as_deref(),
    )?);
    let code = command(&cli, &core, &out).await;
    if let Ok(core) = std::sync::Arc::try_unwrap(core) {
        core.close().await;
    }
    code
}

async fn command(cli: &Cli, core: &std::sync::Arc<Core>, out: &Out) -> anyhow::Result<ExitCode> {
    match &cli.command {
        Command::Process { files, opts } => process(core, out, files, &opts.to_options()?).await,
        Command::Submit {
            files,
            workflow,
            opts,
        } => {
            let o = opts.to_options()?;
            let v = match workflow.as_str() {
                "complete" => {
                    let mut flows = Vec::new();
                    for f in files {
                        flows.push(serde_json::to_value(core.submit_complete(f, &o).await?)?);
                    }
                    json!({ "workflows": flows })
                }
                "parallel" => {
                    let (group, jobs) = core.submit_parallel(files, &o).await?;
                    json!({ "group": group, "jobs": jobs })
                }
                kind => {
                    let kind = video2doc_core::kind_named(kind)?;
                    let mut jobs = Vec::new();
                    for f in files {
                        jobs.push(core.submit_task(kind, f, &o).await?);
                    }
                    json!({ "jobs": jobs })
                }
            };
            out.value(&v);
            Ok(ExitCode::SUCCESS)
        }
        Command::Run { until_idle } => {
            core.start().await?;
            if *until_idle {
                wait_idle(core).await?;
            } else {
                tokio::signal::ctrl_c().await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { id } => {
            out.value(&serde_json::to_value(core.status(*id)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Info { id } => {
            out.value(&serde_json::to_value(core.info(*id)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Group { id } => {
            out.value(&serde_json::to_value(core.group(*id)?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Cancel { id } => {
            out.value(&serde_json::to_value(core.cancel(*id).await?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Retry { id } => {
            out.value(&serde_json::to_value(core.retry(*id).await?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Pause { queue } => {
            core.pause(video2doc_core::queue_named(queue)?).await?;
            out.value(&json!({ "queue": queue, "paused": true }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Resume { queue } => {
            core.resume(video2doc_core::queue_named(queue)?).await?;
            out.value(&json!({ "queue": queue, "paused": false }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Stats => {
            out.value(&serde_json::to_value(core.stats()?)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Workers => {
            out.value(&json!({
                "workers": core.workers(),
                "registered": core.registered_workers()?,
            }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Active => {
            out.value(&json!({ "jobs": core.active(1000)? }));
            Ok(ExitCode::SUCCESS)
        }
        Command::Settings { action } => {
            let mut v = serde_json::to_value(core.settings())?;
            if let Some(SettingsAction::Set { key, value }) = action {
                let new: Value = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
                let mut slot = &mut v;
                for part in key.split('.') {
                    if !slot.is_object() {
                        *slot = json!({});
                    }
                    slot = slot
                        .as_object_mut()
                        .expect("made an object above")
                        .entry(part.to_string())
                        .or_insert(Value::Null);
                }
                *slot = new;
                let s: video2doc_core::AppSettings = serde_json::from_value(v.clone())
                    .map_err(|e| anyhow::anyhow!("{key} = {value} is not a valid setting: {e}"))?;
                // A key the settings do not have would be dropped without a word.
                let kept = serde_json::to_value(&s)?;
                if key
                    .split('.')
                    .try_fold(&kept, |v, part| v.get(part))
                    .is_none()
                {
                    anyhow::bail!("there is no setting {key}; `video2doc settings` shows them all");
                }
                core.set_settings(s)?;
                v = serde_json::to_value(core.settings())?;
            }
            out.value(&v);
            Ok(ExitCode::SUCCESS)
        }
        Command::Health => {
            let h = core.health();
            out.value(&serde_json::to_value(&h)?);
            Ok(if h.ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Command::Watch {
            folders,
            recursive,
            ext,
            beside,
            move_to,
            delete_source,
            settle_secs,
            dry_run,
            opts,
        } => {
            use video2doc_core::{
                AfterSuccess, FolderWatcher, OutputPlace, WatchTiming, WatchedFolder,
            };
            let o = opts.to_options()?;
            let output = match (beside, &o.out_dir) {
                (true, _) => OutputPlace::BesideSource,
                (false, Some(d)) => OutputPlace::Folder(std::path::absolute(d)?),
                (false, None) => match core.settings().output_dir {
                    Some(d) => OutputPlace::Folder(d),
                    None => anyhow::bail!(
                        "give --out DIR or --beside (or set an output folder in the settings)"
                    ),
                },
            };
            let mut configs = Vec::new();
            for f in folders {
                let mut w = WatchedFolder::new(std::path::absolute(f)?, output.clone());
                w.recursive = *recursive;
                w.extensions = ext
                    .as_deref()
                    .map(|e| {
                        e.split(',')
                            .map(|x| x.trim().trim_start_matches('.').to_ascii_lowercase())
                            .filter(|x| !x.is_empty())
                            .collect()
                    })
                    .unwrap_or_default();
                w.formats = o.formats.clone();
                w.model = o.model.clone();
                w.language = o.language.clone();
                w.priority = o.priority.unwrap_or_default();
                w.after_success = match (move_to, delete_source) {
                    (Some(d), _) => AfterSuccess::MoveTo(std::path::absolute(d)?),
                    (None, true) => AfterSuccess::Delete,
                    _ => AfterSuccess::Keep,
                };
                configs.push(w);
            }
            let timing = WatchTiming {
                settle: std::time::Duration::from_secs(*settle_secs),
                ..WatchTiming::default()
            };
            let watcher =
                std::sync::Arc::new(FolderWatcher::new(core.clone(), configs.clone(), timing));
            if *dry_run {
                let mut all = Vec::new();
                for c in &configs {
                    let files = watcher
                        .preview(c)
                        .map_err(|e| anyhow::anyhow!("{} cannot be read: {e}", c.path.display()))?;
                    all.push(json!({ "folder": c.path, "would_take": files }));
                }
                out.value(&json!({ "folders": all }));
                return Ok(ExitCode::SUCCESS);
            }
            core.start().await?;
            let mut events = watcher.subscribe();
            let stop = tokio_util::sync::CancellationToken::new();
            let task = tokio::spawn(watcher.clone().run(stop.clone()));
            if !out.json {
                for c in &configs {
                    eprintln!("watching {} (Ctrl+C to stop)", c.path.display());
                }
            }
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    e = events.recv() => match e {
                        Ok(e) => {
                            if out.json {
                                println!("{}", serde_json::to_string(&e)?);
                            } else {
                                eprintln!("{}", serde_json::to_string(&e)?);
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                        Err(_) => break,
                    },
                }
            }
            stop.cancel();
            let _ = task.await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { port } => {
            core.start().await?;
            let listener = http::bind(*port).await?;
            // The token exists before the address is printed: a script may read it at once.
            http::token(&core.dirs().data)?;
            out.value(&http::describe(core, &listener)?);
            http::serve(core.clone(), listener, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Speakers { action } => {
            match action {
                SpeakersAction::Rename {
                    document,
                    id,
                    name,
                    remember,
                } => {
                    let files = core.rename_speaker(document, *id, name, *remember)?;
                    out.value(&json!({ "written": files, "remembered": remember }));
                }
                SpeakersAction::Voices => {
                    out.value(&json!({ "voices": core.remembered_voices()? }));
                }
                SpeakersAction::Forget { name } => {
                    if !core.forget_voice(name)? {
                        anyhow::bail!("no voice is remembered as {name:?}");
                    }
                    out.value(&json!({ "forgotten": name }));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Models { .. }
        | Command::Worker
        | Command::Export { .. }
        | Command::Summarize { .. }
        | Command::Search { .. }
        | Command::Library { .. } => unreachable!("handled earlier"),
    }
}

/// The formats a `--formats` list names, else the settings'.
fn formats_or(
    list: &Option<String>,
    settings: &video2doc_core::AppSettings,
) -> anyhow::Result<Vec<Format>> {
    Ok(match list {
        Some(f) => f
            .split(',')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.parse::<Format>())
            .collect::<Result<Vec<_>, _>>()?,
        None => settings.formats.clone(),
    })
}

/// `export`, `summarize`, `search` and `library`: the library of this data folder, with
/// no queue.
fn library(cli: &Cli, dirs: &CoreDirs, out: &Out) -> anyhow::Result<ExitCode> {
    let settings = video2doc_core::AppSettings::load(&dirs.config)?;
    let library = video2doc_core::library::Library::new(&dirs.library());
    match &cli.command {
        Command::Summarize {
            document,
            out: root,
            template,
            method,
            language,
            formats,
        } => {
            use video2doc_core::document::summary::{self, Material, Method, Template};
            let mut opts = settings.summary.options();
            if let Some(t) = template {
                opts.template = Template::parse(t).ok_or_else(|| {
                    anyhow::anyhow!(
                        "there is no template {t:?}: use lecture, meeting, abstract or auto"
                    )
                })?;
            }
            if let Some(m) = method {
                opts.method = Method::parse(m).ok_or_else(|| {
                    anyhow::anyhow!(
                        "there is no method {m:?}: use local, endpoint, builtin or auto"
                    )
                })?;
            }
            if let Some(l) = language.as_ref().filter(|l| !l.trim().is_empty()) {
                opts.language = Some(l.trim().to_string());
            }
            opts.local = settings.summary.local_model(&dirs.models());
            let formats = formats_or(formats, &settings)?;
            let root = std::path::absolute(root)?;
            let mut doc = video2doc_core::document::check::read(document)?;
            let m = Material {
                segments: &doc.segments,
                sections: &doc.sections,
                duration_ms: doc.duration_ms,
                speakers: &doc.speakers,
            };
            let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            let talk = !out.json() && std::io::stderr().is_terminal();
            let notes = summary::write(
                &m,
                &opts,
                settings.summary_endpoint.as_ref(),
                doc.language.as_deref(),
                &cancel,
                &mut |step| {
                    if talk {
                        eprint!("\r\x1b[Ksummarising: {}", step.what);
                    }
                },
            )?;
            if talk {
                eprintln!();
            }
            doc.summary = notes.summary;
            doc.chapters = notes.chapters;
            let summary = json!({
                "method": doc.summary.method,
                "model": doc.summary.model,
                "template": doc.summary.template,
                "language": doc.summary.language,
                "note": doc.summary.note,
            });
            let chapters = doc.chapters.len();
            if let Some(n) = &doc.summary.note {
                eprintln!("note: {n}");
            }
            let (entry, files) =
                library.export_read(doc, document, &root, &formats, &settings.subtitles)?;
            if out.json() {
                out.value(&json!({
                    "id": entry.id,
                    "folder": entry.folder,
                    "written": files,
                    "summary": summary,
                    "chapters": chapters,
                }));
            } else {
                for f in files {
                    println!("{}", f.display());
                }
            }
        }
        Command::Export {
            document,
            out: root,
            formats,
        } => {
            let formats = formats_or(formats, &settings)?;
            let root = std::path::absolute(root)?;
            let (entry, files) =
                library.export_file(document, &root, &formats, &settings.subtitles)?;
            if out.json() {
                out.value(&json!({ "id": entry.id, "folder": entry.folder, "written": files }));
            } else {
                for f in files {
                    println!("{}", f.display());
                }
            }
        }
        Command::Search { query, limit } => {
            library.sync()?;
            let hits = library.search(query, *limit)?;
            if out.json() {
                out.value(&json!({ "hits": hits }));
            } else {
                for h in &hits {
                    let at = video2doc_core::document::clock(h.start_ms);
                    let slide = h.slide.map(|n| format!(", slide {n}")).unwrap_or_default();
                    println!(
                        "{} ({at}{slide}): {}",
                        h.title,
                        h.snippet.replace('\n', " ")
                    );
                }
                if hits.is_empty() {
                    eprintln!("nothing found for {query:?}");
                }
            }
        }
        Command::Library { action } => match action {
            LibraryAction::List => {
                let documents = library.list()?;
                if out.json() {
                    out.value(&json!({ "documents": documents }));
                } else {
                    for d in documents {
                        let gone = if d.missing { " (missing)" } else { "" };
                        println!(
                            "{}  {}  {}  {}{gone}",
                            d.id,
                            d.created,
                            video2doc_core::document::clock(d.duration_ms),
                            d.title
                        );
                    }
                }
            }
            LibraryAction::Sync => out.value(&serde_json::to_value(library.sync()?)?),
            LibraryAction::Delete { document, files } => {
                let entry = library.find(document)?;
                library.delete(&entry.id, *files)?;
                out.value(&json!({ "deleted": entry.id, "files": files }));
            }
        },
        _ => unreachable!("only library commands come here"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Until no job is running, waiting or blocked. Listings read the store outside a
/// transaction and can catch a job between two index entries, so idleness must hold
/// twice, a moment apart, with no worker slot busy.
async fn wait_idle(core: &Core) -> anyhow::Result<()> {
    let mut events = core.queue().subscribe();
    let idle = |core: &Core| -> anyhow::Result<bool> {
        Ok(core.active(1)?.is_empty() && core.workers().iter().all(|w| w.running.is_empty()))
    };
    loop {
        if idle(core)? {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            if idle(core)? {
                return Ok(());
            }
        }
        let _ = tokio::time::timeout(std::time::Duration::from_millis(500), events.recv()).await;
    }
}

async fn process(
    core: &Core,
    out: &Out,
    files: &[PathBuf],
    o: &ProcessOptions,
) -> anyhow::Result<ExitCode> {
    // Submitted before the workers start, so that the check for an interrupted run of
    // the same file reads a store nothing else is changing; that earlier work resumes as
    // soon as the workers start.
    let mut flows = Vec::new();
    let mut report = Vec::new();
    for f in files {
        match core.submit_complete(f, o).await {
            Ok(w) => flows.push((f.clone(), w)),
            Err(e) if e.class() != ErrorClass::Failed => report.push(json!({
                "input": f, "status": "failed", "error": e.to_string(),
            })),
            Err(e) => return Err(e.into()),
        }
    }
    core.start().await?;
    let tty = std::io::stderr().is_terminal() && !out.json;
    output::follow(core, &flows, tty, out.json).await?;
    for (input, w) in &flows {
        report.push(output::workflow_report(core, input, w)?);
    }
    let failed = report.iter().any(|r| r["status"] != "succeeded");
    if out.json {
        println!("{}", json!({ "jobs": report }));
    } else {
        for r in &report {
            println!("{}", output::report_line(r));
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn models(
    out: &Out,
    dir: &Path,
    entries: &[video2doc_core::models::catalogue::CatalogueEntry],
    action: &ModelsAction,
) -> anyhow::Result<ExitCode> {
    use video2doc_core::models::catalogue;
    use video2doc_core::models::download::Event;
    use video2doc_core::models::text;
    match action {
        ModelsAction::List => {
            let list: Vec<Value> = entries
                .iter()
                .map(|e| {
                    let path = dir.join(e.file_name());
                    json!({
                        "name": e.name, "size_mib": e.size_mib, "multilingual": e.multilingual,
                        "installed": path.is_file(), "path": path,
                    })
                })
                .collect();
            let text_dir = text::text_dir(dir);
            let installed_text = text::installed(&text_dir);
            let text_list: Vec<Value> = text::text_catalogue()
                .iter()
                .map(|e| {
                    let paths = e.paths(&text_dir);
                    json!({
                        "name": e.name, "size_mib": e.size_bytes() >> 20, "reads": e.reads,
                        "installed": installed_text.as_ref() == Some(&paths),
                        "path": text_dir,
                    })
                })
                .collect();
            use video2doc_core::models::speaker;
            let speaker_dir = speaker::speaker_dir(dir);
            let installed_speakers = speaker::installed(&speaker_dir);
            let speaker_list: Vec<Value> = speaker::speaker_catalogue()
                .iter()
                .map(|e| {
                    json!({
                        "name": e.name, "size_mib": e.size_bytes() >> 20,
                        "installed": installed_speakers.as_ref() == Some(&e.paths(&speaker_dir)),
                        "path": speaker_dir,
                    })
                })
                .collect();
            use video2doc_core::models::llm;
            let llm_dir = llm::summary_dir(dir);
            let present = llm::installed(&llm_dir);
            let mut summary_list: Vec<Value> = llm::summary_catalogue()
                .iter()
                .map(|e| {
                    let path = llm_dir.join(&e.file.file_name);
                    json!({
                        "name": e.name, "size_mib": e.file.bytes >> 20, "about": e.about,
                        "installed": present.contains(&path), "path": path,
                    })
                })
                .collect();
            for p in present.iter().filter(|p| {
                llm::summary_catalogue()
                    .iter()
                    .all(|e| llm_dir.join(&e.file.file_name) != **p)
            }) {
                summary_list.push(json!({
                    "name": p.file_name().map(|n| n.to_string_lossy().into_owned()),
                    "size_mib": std::fs::metadata(p).map(|m| m.len() >> 20).unwrap_or(0),
                    "about": "imported", "installed": true, "path": p,
                }));
            }
            if out.json {
                println!(
                    "{}",
                    json!({
                        "models": list, "text_models": text_list,
                        "speaker_models": speaker_list, "summary_models": summary_list,
                    })
                );
            } else {
                for m in list {
                    println!(
                        "{:<22} {:>6} MiB  {}{}",
                        m["name"].as_str().unwrap_or_default(),
                        m["size_mib"],
                        if m["multilingual"] == true {
                            "multilingual"
                        } else {
                            "English only"
                        },
                        if m["installed"] == true {
                            "  (installed)"
                        } else {
                            ""
                        }
                    );
                }
                for m in text_list {
                    println!(
                        "{:<22} {:>6} MiB  slide text, {}{}",
                        m["name"].as_str().unwrap_or_default(),
                        m["size_mib"],
                        m["reads"].as_str().unwrap_or_default(),
                        if m["installed"] == true {
                            "  (installed)"
                        } else {
                            ""
                        }
                    );
                }
                for m in summary_list {
                    println!(
                        "{:<22} {:>6} MiB  summaries, {}{}",
                        m["name"].as_str().unwrap_or_default(),
                        m["size_mib"],
                        m["about"].as_str().unwrap_or_default(),
                        if m["installed"] == true {
                            "  (installed)"
                        } else {
                            ""
                        }
                    );
                }
                for m in speaker_list {
                    println!(
                        "{:<22} {:>6} MiB  speakers{}",
                        m["name"].as_str().unwrap_or_default(),
                        m["size_mib"],
                        if m["installed"] == true {
                            "  (installed)"
                        } else {
                            ""
                        }
                    );
                }
            }
        }
        ModelsAction::Download { name }
            if video2doc_core::models::speaker::find_speaker_model(name).is_some() =>
        {
            use video2doc_core::models::speaker;
            let entry = speaker::find_speaker_model(name).expect("checked");
            let http = video2doc_core::net::Http::from_environment();
            let json = out.json;
            let paths = speaker::download_speaker_model(
                &http,
                &entry,
                &speaker::speaker_dir(dir),
                &std::sync::atomic::AtomicBool::new(false),
                |event| {
                    if let Event::Retrying { reason, .. } = event {
                        if !json {
                            eprintln!("{name}: {reason}; resuming")
                        }
                    }
                },
            )?;
            out.value(
                &json!({ "segmentation": paths.segmentation, "voiceprint": paths.voiceprint }),
            );
        }
        ModelsAction::Download { name }
            if video2doc_core::models::llm::find_summary_model(name).is_some() =>
        {
            use video2doc_core::models::llm;
            let entry = llm::find_summary_model(name).expect("checked");
            let http = video2doc_core::net::Http::from_environment();
            let path = llm::download_summary_model(
                &http,
                &entry,
                &llm::summary_dir(dir),
                &std::sync::atomic::AtomicBool::new(false),
                download_talk(name, out.json, 16 << 20),
            )?;
            out.value(&json!({ "kind": "summary", "path": path }));
        }
        ModelsAction::Download { name } if text::find_text_model(name).is_some() => {
            let entry = text::find_text_model(name).expect("checked");
            let http = video2doc_core::net::Http::from_environment();
            let paths = text::download_text_model(
                &http,
                &entry,
                &text::text_dir(dir),
                &std::sync::atomic::AtomicBool::new(false),
                download_talk(name, out.json, 4 << 20),
            )?;
            out.value(&json!({ "detection": paths.det, "recognition": paths.rec }));
        }
        ModelsAction::Download { name } => {
            let entry = catalogue::find_in(entries, name)
                .ok_or_else(|| catalogue::ModelError::Unknown(name.clone()))?;
            let mut last = 0u64;
            let json = out.json;
            let http = video2doc_core::net::Http::from_environment();
            let path = catalogue::download(
                &http,
                &entry,
                dir,
                &std::sync::atomic::AtomicBool::new(false),
                |event| match event {
                    _ if json => {}
                    Event::Progress { done, total } if done >= last + (8 << 20) => {
                        last = done;
                        match total {
                            Some(t) => eprintln!("{name}: {} of {} MiB", done >> 20, t >> 20),
                            None => eprintln!("{name}: {} MiB", done >> 20),
                        }
                    }
                    Event::Progress { .. } => {}
                    Event::WaitingForOther => {
                        eprintln!("{name}: another window or command is downloading it; waiting")
                    }
                    Event::Retrying { reason, .. } => eprintln!("{name}: {reason}; resuming"),
                    Event::Verifying => eprintln!("{name}: checking the file"),
                },
            )?;
            out.value(&json!({ "path": path }));
        }
        ModelsAction::Import {
            path, text: true, ..
        } => {
            let paths = text::import_text_model(path, &text::text_dir(dir))?;
            out.value(&json!({ "detection": paths.det, "recognition": paths.rec }));
        }
        ModelsAction::Import {
            path,
            speakers: true,
            ..
        } => {
            use video2doc_core::models::speaker;
            let paths = speaker::import_speaker_model(path, &speaker::speaker_dir(dir))?;
            out.value(
                &json!({ "segmentation": paths.segmentation, "voiceprint": paths.voiceprint }),
            );
        }
        // A GGUF file: a summary model (Whisper models are ggml files).
        ModelsAction::Import { path, .. } if is_gguf(path) => {
            use video2doc_core::models::llm;
            let info = llm::gguf_info(path)?;
            let dest = llm::import_summary_model(path, &llm::summary_dir(dir))?;
            out.value(&json!({
                "kind": "summary", "path": dest, "architecture": info.architecture,
                "name": info.name, "context": info.context,
            }));
        }
        ModelsAction::Import {
            path,
            name,
            weights,
            ..
        } => {
            let weights: video2doc_core::models::WeightType =
                weights.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().trim_start_matches("ggml-").to_string())
                .unwrap_or_else(|| "imported".into());
            let name = name.clone().unwrap_or(stem);
            let dest = if path.is_dir() {
                let target = dir.join(format!("ggml-{name}.bin"));
                video2doc_core::models::convert_ct2_dir_as(path, &target, weights)?.path
            } else {
                catalogue::import_ggml(path, dir, &name)?
            };
            out.value(&json!({ "path": dest }));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a model download says on stderr (nothing with `--json`): its progress every
/// `every` bytes, and each resume after a dropped connection.
fn download_talk(
    name: &str,
    json: bool,
    every: u64,
) -> impl FnMut(video2doc_core::models::download::Event) + '_ {
    use video2doc_core::models::download::Event;
    let mut last = 0u64;
    move |event| match event {
        Event::Progress { done, total } if !json && done >= last + every => {
            last = done;
            eprintln!("{name}: {} of {} MiB", done >> 20, total.unwrap_or(0) >> 20);
        }
        Event::Retrying { reason, .. } if !json => eprintln!("{name}: {reason}; resuming"),
        _ => {}
    }
}

/// Whether `path` is a GGUF file (by its first four bytes).
fn is_gguf(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"GGUF"
}

/// Completes at Ctrl+C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("a SIGTERM handler installs");
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
