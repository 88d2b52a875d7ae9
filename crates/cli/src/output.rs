//! What the command prints: JSON on stdout with `--json` (and nothing else there),
//! readable text otherwise; live progress on stderr.

use std::path::Path;

use serde_json::{json, Value};
use video2doc_core::CompleteWorkflow;
use video2doc_core::Core;
use video2doc_core::{Event, FailureKind, JobId, State};

pub struct Out {
    pub json: bool,
}

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    /// Whether `--json` was given.
    pub fn json(&self) -> bool {
        self.json
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

/// Shows progress until every workflow has finished: a bar per input on a terminal,
/// plain lines otherwise, nothing with `quiet`.
pub async fn follow(
    core: &Core,
    flows: &[(std::path::PathBuf, CompleteWorkflow)],
    tty: bool,
    quiet: bool,
) -> anyhow::Result<()> {
    use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
    let mut events = core.queue().subscribe();
    let multi = MultiProgress::new();
    let style = ProgressStyle::with_template("{prefix:.bold} [{bar:30.cyan/blue}] {pos:>3}% {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    // Per workflow: its bar, its five jobs, and each job's share done.
    let mut bars: Vec<(ProgressBar, [JobId; 5], [f32; 5])> = flows
        .iter()
        .map(|(input, w)| {
            let bar = if tty && !quiet {
                multi.add(ProgressBar::new(100))
            } else {
                ProgressBar::hidden()
            };
            bar.set_style(style.clone());
            bar.set_prefix(
                input
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            (
                bar,
                [w.video, w.audio, w.image, w.summary, w.export],
                [0.0; 5],
            )
        })
        .collect();
    let done = |core: &Core, id: JobId| {
        core.queue()
            .get(id)
            .map(|j| j.state.is_terminal())
            .unwrap_or(true)
    };
    loop {
        for (bar, ids, share) in bars.iter_mut() {
            for (i, id) in ids.iter().enumerate() {
                if done(core, *id) {
                    share[i] = 1.0;
                }
            }
            bar.set_position((share.iter().sum::<f32>() / 5.0 * 100.0) as u64);
        }
        if bars.iter().all(|(_, ids, _)| done(core, ids[4])) {
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
            Event::Progress {
                id, kind, progress, ..
            } => {
                for (bar, ids, share) in bars.iter_mut() {
                    if let Some(i) = ids.iter().position(|j| *j == id) {
                        share[i] = share[i].max(progress.fraction.min(0.99));
                        bar.set_message(format!("{kind}: {}", progress.message));
                    }
                }
                if !tty && progress.fraction > 0.0 {
                    let pct = (progress.fraction * 100.0).round();
                    eprintln!("{kind}: {pct}% {}", progress.message);
                }
            }
            Event::State(c) if c.to.is_terminal() && !tty => {
                eprintln!("{} {}: {}", c.kind, c.id, c.to);
            }
            _ => {}
        }
    }
    for (bar, _, _) in &bars {
        bar.finish_and_clear();
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
        // Where the speech was recognised: "cpu", or "vulkan: <device>" and the like.
        let audio = q.result(w.audio)?.unwrap_or(Value::Null);
        entry["device"] = audio["device"].clone();
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
