//! What the command prints: JSON on stdout with `--json` (and nothing else there),
//! readable text otherwise; live progress on stderr; logs to rotating files.

use std::io::Write;
use std::path::Path;

use serde_json::{json, Value};
use video2doc_core::api::Core;
use video2doc_core::workflow::CompleteWorkflow;
use video2doc_queue::{Event, FailureKind, JobId, State};

pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    /// One result: compact JSON with `--json`, indented otherwise.
    pub fn value(&self, v: &Value) {
        if self.json {
            println!("{v}");
        } else {
            println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
        }
    }
}

/// Logs: daily-rotated files in `dir` (info and up) plus warnings on stderr.
/// `VIDEO2DOC_LOG` overrides the filter.
pub fn init_logging(dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_env("VIDEO2DOC_LOG").unwrap_or_else(|_| "warn".into()));
    let (file, guard) = match std::fs::create_dir_all(dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("video2doc")
                .filename_suffix("log")
                .max_log_files(14)
                .build(dir)
                .ok();
            match appender {
                Some(a) => {
                    let (w, g) = tracing_appender::non_blocking(a);
                    (
                        Some(
                            fmt::layer()
                                .with_ansi(false)
                                .with_writer(w)
                                .with_filter(EnvFilter::new("info")),
                        ),
                        Some(g),
                    )
                }
                None => (None, None),
            }
        }
        Err(_) => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    guard
}

/// Shows progress until every job in `ids` has finished.
pub async fn follow(core: &Core, ids: &[JobId], tty: bool, quiet: bool) -> anyhow::Result<()> {
    let mut events = core.queue().subscribe();
    let mut left: Vec<JobId> = ids.to_vec();
    loop {
        left.retain(|id| {
            core.queue()
                .get(*id)
                .map(|j| !j.state.is_terminal())
                .unwrap_or(false)
        });
        if left.is_empty() {
            break;
        }
        let Ok(Some(e)) =
            tokio::time::timeout(std::time::Duration::from_secs(1), events.recv()).await
        else {
            continue;
        };
        if quiet {
            continue;
        }
        match e {
            Event::Progress { kind, progress, .. } => {
                let pct = (progress.fraction * 100.0).round();
                if tty {
                    eprint!("\r\x1b[2K{kind:>7} {pct:>3}% {}", progress.message);
                    let _ = std::io::stderr().flush();
                } else if progress.fraction > 0.0 {
                    eprintln!("{kind}: {pct}% {}", progress.message);
                }
            }
            Event::State(c) if c.to.is_terminal() => {
                if tty {
                    eprint!("\r\x1b[2K");
                }
                eprintln!("{} {}: {}", c.kind, c.id, c.to);
            }
            _ => {}
        }
    }
    Ok(())
}

/// One input's line of the `process` report.
pub fn workflow_report(core: &Core, input: &Path, w: &CompleteWorkflow) -> anyhow::Result<Value> {
    let q = core.queue();
    let export = q.get(w.export)?;
    let mut entry = json!({ "input": input, "status": export.state.as_str(), "error": Value::Null,
                            "group": w.group });
    if export.state == State::Succeeded {
        let o = q.result(w.export)?.unwrap_or(Value::Null);
        entry["outputs"] = o["files"].clone();
        entry["slides"] = o["slides"].clone();
        entry["segments"] = o["segments"].clone();
        entry["folder"] = o["folder"].clone();
    } else {
        // The error where the failure began, not "upstream failed".
        let root = [w.video, w.audio, w.image, w.summary, w.export]
            .iter()
            .filter_map(|id| q.get(*id).ok())
            .find(|j| {
                j.error
                    .as_ref()
                    .is_some_and(|e| e.kind != FailureKind::Upstream)
            });
        let msg = root
            .and_then(|j| j.error)
            .or(export.error)
            .map(|e| e.message)
            .unwrap_or_else(|| "the workflow did not finish".into());
        let status = if export.state == State::Cancelled {
            "cancelled"
        } else {
            "failed"
        };
        entry["status"] = json!(status);
        entry["error"] = json!(msg);
    }
    Ok(entry)
}

pub fn report_line(r: &Value) -> String {
    let input = r["input"].as_str().unwrap_or_default();
    match r["status"].as_str() {
        Some("succeeded") => format!(
            "{input}: {} slides, {} segments -> {}",
            r["slides"],
            r["segments"],
            r["folder"].as_str().unwrap_or_default()
        ),
        s => format!(
            "{input}: {}: {}",
            s.unwrap_or_default(),
            r["error"].as_str().unwrap_or_default()
        ),
    }
}
