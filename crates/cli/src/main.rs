//! `video2doc`: headless Video2Doc. Glue only: arguments in, one call into
//! video2doc-core, results out. `--json` puts machine-readable output (and nothing
//! else) on stdout. Exit codes: 0 success, 1 a job failed, 2 usage or setup error.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use video2doc_core::export::Format;
use video2doc_core::pipeline::{Settings, WorkerCommand};
use video2doc_core::workflow::{self, WorkflowInput};
use video2doc_queue::{Event, FailureKind, Priority, Queue, QueueConfig, State};

#[derive(Parser)]
#[command(name = "video2doc", version, about = "Turn videos into documents")]
struct Cli {
    /// Where the queue, work folders and logs live (default: the OS data folder).
    #[arg(long, global = true, env = "VIDEO2DOC_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Machine-readable output on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the complete workflow for each file and wait for the documents.
    Process {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output folder: documents go to OUT/<name>/<name>.<ext>.
        #[arg(long)]
        out: PathBuf,
        /// Comma-separated: md,html,docx,pdf,srt,vtt,txt,json.
        #[arg(long, default_value = "md,html,docx,pdf,srt,vtt,txt,json")]
        formats: String,
        /// A ggml model file, or a model name in the data folder's models/.
        #[arg(long, env = "VIDEO2DOC_MODEL")]
        model: Option<String>,
        /// Spoken language (en, zh, ...); detected when not given.
        #[arg(long)]
        language: Option<String>,
        #[arg(long, default_value = "normal")]
        priority: String,
    },
    /// Whisper models: list the catalogue, download one, or import a file or folder.
    Models {
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// The transcription worker (started by Video2Doc itself).
    #[command(hide = true)]
    Worker,
}

#[derive(Subcommand)]
enum ModelsAction {
    /// The standard models, and which are installed.
    List,
    /// Download a model of the catalogue (resumes an interrupted download).
    Download { name: String },
    /// Import a ggml file, or convert a faster-whisper (CTranslate2) model folder.
    Import {
        path: PathBuf,
        /// The name to install it as (default: from the file or folder name).
        #[arg(long)]
        name: Option<String>,
    },
}

fn data_dir(cli: &Cli) -> PathBuf {
    cli.data_dir.clone().unwrap_or_else(|| {
        directories::ProjectDirs::from("app", "Video2Doc", "Video2Doc")
            .map(|d| d.data_dir().to_path_buf())
            .unwrap_or_else(|| PathBuf::from(".video2doc"))
    })
}

fn model_path(data: &Path, model: Option<&str>) -> PathBuf {
    let m = model.unwrap_or("base");
    let p = PathBuf::from(m);
    if p.is_file() || m.contains(std::path::MAIN_SEPARATOR) || m.ends_with(".bin") {
        return p;
    }
    data.join("models").join(format!("ggml-{m}.bin"))
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
        return ExitCode::from(video2doc_core::transcribe::worker_main() as u8);
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("VIDEO2DOC_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let rt = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match rt.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("video2doc: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let data = data_dir(&cli);
    match &cli.command {
        Command::Worker => unreachable!("handled before the runtime starts"),
        Command::Process {
            files,
            out,
            formats,
            model,
            language,
            priority,
        } => {
            let formats = formats
                .split(',')
                .filter(|s| !s.trim().is_empty())
                .map(|s| s.parse::<Format>())
                .collect::<Result<Vec<_>, _>>()?;
            let priority: Priority = priority
                .parse()
                .map_err(|e| anyhow::anyhow!("{e}: use low, normal, high or critical"))?;
            let mut settings = Settings::new(model_path(&data, model.as_deref()));
            settings.formats = formats;
            settings.transcribe.language = language.clone();
            process(&cli, &data, files, out, settings, priority).await
        }
        Command::Models { action } => models(&cli, &data.join("models"), action),
    }
}

fn models(cli: &Cli, dir: &Path, action: &ModelsAction) -> anyhow::Result<ExitCode> {
    use video2doc_core::models::catalogue;
    match action {
        ModelsAction::List => {
            let list: Vec<Value> = catalogue::catalogue()
                .into_iter()
                .map(|e| {
                    let path = dir.join(e.file_name());
                    json!({
                        "name": e.name, "size_mib": e.size_mib, "multilingual": e.multilingual,
                        "installed": path.is_file(), "path": path,
                    })
                })
                .collect();
            if cli.json {
                println!("{}", json!({ "models": list }));
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
            }
        }
        ModelsAction::Download { name } => {
            let entry = catalogue::find(name)
                .ok_or_else(|| catalogue::ModelError::Unknown(name.clone()))?;
            let mut last = 0u64;
            let path = catalogue::download(
                &entry,
                dir,
                &std::sync::atomic::AtomicBool::new(false),
                |done, total| {
                    if !cli.json && done >= last + (8 << 20) {
                        last = done;
                        match total {
                            Some(t) => eprintln!("{name}: {} of {} MiB", done >> 20, t >> 20),
                            None => eprintln!("{name}: {} MiB", done >> 20),
                        }
                    }
                },
            )?;
            report_path(cli, &path);
        }
        ModelsAction::Import { path, name } => {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().trim_start_matches("ggml-").to_string())
                .unwrap_or_else(|| "imported".into());
            let name = name.clone().unwrap_or(stem);
            let dest = if path.is_dir() {
                let out = dir.join(format!("ggml-{name}.bin"));
                video2doc_core::models::convert_ct2_dir(path, &out)?.path
            } else {
                catalogue::import_ggml(path, dir, &name)?
            };
            report_path(cli, &dest);
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn report_path(cli: &Cli, path: &Path) {
    if cli.json {
        println!("{}", json!({ "path": path }));
    } else {
        println!("{}", path.display());
    }
}

async fn process(
    cli: &Cli,
    data: &Path,
    files: &[PathBuf],
    out: &Path,
    settings: Settings,
    priority: Priority,
) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(data)?;
    let queue = Queue::open(data, QueueConfig::default())?;
    let worker = WorkerCommand {
        program: std::env::current_exe()?,
        args: vec!["worker".into()],
    };
    workflow::register(&queue, data.join("work"), worker);
    let mut events = queue.subscribe();
    queue.start()?;
    let out = std::path::absolute(out)?;
    let mut flows = Vec::new();
    for f in files {
        let input = std::path::absolute(f)?;
        let w = workflow::enqueue_complete(
            &queue,
            WorkflowInput {
                input: input.clone(),
                out_dir: out.clone(),
                settings: settings.clone(),
            },
            priority,
        )
        .await?;
        flows.push((input, w));
    }
    let tty = std::io::stderr().is_terminal() && !cli.json;
    let exports: Vec<_> = flows.iter().map(|(_, w)| w.export).collect();
    let mut left = exports.clone();
    while !left.is_empty() {
        // Finished before we looked?
        left.retain(|id| {
            queue
                .get(*id)
                .map(|j| !j.state.is_terminal())
                .unwrap_or(false)
        });
        if left.is_empty() {
            break;
        }
        let Some(e) = events.recv().await else { break };
        match e {
            Event::Progress { kind, progress, .. } if !cli.json => {
                let pct = (progress.fraction * 100.0).round();
                if tty {
                    eprint!("\r\x1b[2K{kind:>7} {pct:>3}% {}", progress.message);
                    let _ = std::io::stderr().flush();
                } else if progress.stage != "transcribe" || progress.fraction > 0.0 {
                    eprintln!("{kind}: {pct}% {}", progress.message);
                }
            }
            Event::State(c) if !cli.json && c.to.is_terminal() => {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("{} {}: {}", c.kind, c.id, c.to);
            }
            _ => {}
        }
    }
    let mut report = Vec::new();
    let mut failed = false;
    for (input, w) in &flows {
        let export = queue.get(w.export)?;
        let mut entry =
            json!({ "input": input, "status": export.state.as_str(), "error": Value::Null });
        if export.state == State::Succeeded {
            let o = queue.result(w.export)?.unwrap_or(Value::Null);
            let outputs: BTreeMap<String, Value> = o["files"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            entry["outputs"] = json!(outputs);
            entry["slides"] = o["slides"].clone();
            entry["segments"] = o["segments"].clone();
            entry["folder"] = o["folder"].clone();
        } else {
            failed = true;
            // The error where the failure began, not "upstream failed".
            let root = [w.video, w.audio, w.image, w.summary, w.export]
                .iter()
                .filter_map(|id| queue.get(*id).ok())
                .find(|j| {
                    j.error
                        .as_ref()
                        .is_some_and(|e| e.kind != FailureKind::Upstream)
                })
                .or(Some(export));
            let msg = root
                .and_then(|j| j.error)
                .map(|e| e.message)
                .unwrap_or_else(|| "the workflow did not finish".into());
            entry["status"] = json!(if queue.get(w.export)?.state == State::Cancelled {
                "cancelled"
            } else {
                "failed"
            });
            entry["error"] = json!(msg);
        }
        report.push(entry);
    }
    queue.close().await;
    if cli.json {
        println!("{}", json!({ "jobs": report }));
    } else {
        for r in &report {
            match r["status"].as_str() {
                Some("succeeded") => println!(
                    "{}: {} slides, {} segments -> {}",
                    r["input"].as_str().unwrap_or_default(),
                    r["slides"],
                    r["segments"],
                    r["folder"].as_str().unwrap_or_default()
                ),
                _ => println!(
                    "{}: {}: {}",
                    r["input"].as_str().unwrap_or_default(),
                    r["status"].as_str().unwrap_or_default(),
                    r["error"].as_str().unwrap_or_default()
                ),
            }
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
