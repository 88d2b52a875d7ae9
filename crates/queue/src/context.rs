//! What a job handler sees: the [`Handler`] trait, the [`JobContext`] of one attempt
//! (payload, dependency results, progress, cancellation, child processes, work folder)
//! and the [`JobError`] it returns.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::events::{Event, EventBus};
use crate::job::{JobId, Progress};
use crate::store::Store;
use crate::transition;

/// The future a handler returns.
pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Value, JobError>> + Send>>;

/// Runs jobs of one kind. Any `Fn(JobContext) -> impl Future<Output = Result<Value, JobError>>`
/// is a handler.
pub trait Handler: Send + Sync + 'static {
    fn run(&self, ctx: JobContext) -> HandlerFuture;
}

impl<F, Fut> Handler for F
where
    F: Fn(JobContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, JobError>> + Send + 'static,
{
    fn run(&self, ctx: JobContext) -> HandlerFuture {
        Box::pin(self(ctx))
    }
}

/// A job attempt's error: a message in plain words, optional technical detail, and
/// whether trying again may help (bad input: no; a busy resource: yes).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JobError {
    pub message: String,
    pub detail: Option<String>,
    pub retryable: bool,
}

impl JobError {
    /// An error that another attempt would not fix.
    pub fn fatal(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            detail: None,
            retryable: false,
        }
    }

    /// An error that another attempt may fix.
    pub fn retryable(message: impl Into<String>) -> JobError {
        JobError {
            message: message.into(),
            detail: None,
            retryable: true,
        }
    }

    /// Keeps the chain of `source` as technical detail.
    pub fn with_source(mut self, source: &(dyn std::error::Error + 'static)) -> JobError {
        let mut chain = vec![source.to_string()];
        let mut s = source.source();
        while let Some(e) = s {
            chain.push(e.to_string());
            s = e.source();
        }
        self.detail = Some(chain.join(": "));
        self
    }
}

/// How often progress is persisted and broadcast.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProgressPolicy {
    pub persist_every: Duration,
    pub emit_every: Duration,
}

pub(crate) struct ProgressState {
    last_emit: Option<Instant>,
    last_persist: Option<Instant>,
}

/// Shared between a running attempt and the runtime.
pub(crate) struct Attempt {
    pub token: CancellationToken,
    pub children: Mutex<Vec<u32>>,
    pub progress: Mutex<ProgressState>,
    pub latest: Mutex<Progress>,
}

impl Attempt {
    pub fn new() -> Attempt {
        Attempt {
            token: CancellationToken::new(),
            children: Mutex::new(Vec::new()),
            progress: Mutex::new(ProgressState {
                last_emit: None,
                last_persist: None,
            }),
            latest: Mutex::new(Progress::default()),
        }
    }

    /// Kills every child process the attempt registered.
    pub fn kill_children(&self) {
        let pids: Vec<u32> =
            std::mem::take(&mut *self.children.lock().unwrap_or_else(|p| p.into_inner()));
        for pid in pids {
            kill_process(pid);
        }
    }
}

#[cfg(unix)]
fn kill_process(pid: u32) {
    // SAFETY: kill(2) with a pid the job registered; a pid that has already exited
    // gives ESRCH, which is ignored.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

#[cfg(windows)]
fn kill_process(pid: u32) {
    let _ = std::process::Command::new("taskkill")
        .args(["/PID", &pid.to_string(), "/T", "/F"])
        .status();
}

/// One attempt of one job, as its handler sees it.
pub struct JobContext {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    pub payload: Value,
    /// Results of the jobs this one depends on.
    pub deps: BTreeMap<JobId, Value>,
    pub(crate) lease: u64,
    pub(crate) work_dir: Option<PathBuf>,
    pub(crate) attempt_state: Arc<Attempt>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) bus: Arc<EventBus>,
    pub(crate) policy: ProgressPolicy,
    pub(crate) clock: crate::clock::Clock,
}

impl JobContext {
    /// Fires when the job is cancelled, times out, or the queue shuts down.
    pub fn token(&self) -> &CancellationToken {
        &self.attempt_state.token
    }

    pub fn is_cancelled(&self) -> bool {
        self.attempt_state.token.is_cancelled()
    }

    /// The folder for this job's large payloads, results and intermediate files
    /// (created on first use; deleted with the job by retention).
    pub fn work_dir(&self) -> std::io::Result<PathBuf> {
        let dir = self
            .work_dir
            .clone()
            .unwrap_or_else(|| std::env::temp_dir().join(format!("video2doc-job-{}", self.id)));
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Registers a child process: it is killed when the job is cancelled or times out.
    pub fn register_child(&self, pid: u32) {
        self.attempt_state
            .children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(pid);
        if self.is_cancelled() {
            self.attempt_state.kill_children();
        }
    }

    /// Forgets a child process that has exited.
    pub fn unregister_child(&self, pid: u32) {
        self.attempt_state
            .children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|p| *p != pid);
    }

    /// Adds `note` to the job's history (how it ran: a fallback taken, say), in one
    /// transaction; a note that cannot be stored is logged.
    pub fn note(&self, note: &str) {
        let now = self.clock.now();
        let r = crate::store::transact(self.store.as_ref(), |t| {
            transition::note(t, self.id, self.lease, now, note)
        });
        match r {
            Ok(()) => tracing::info!(job = %self.id, note, "noted in the job's history"),
            Err(e) => tracing::warn!(job = %self.id, note, error = %e, "note not stored"),
        }
    }

    /// Reports progress: broadcast at most every `emit_every`, persisted at most every
    /// `persist_every`. Callable from async code and from blocking threads.
    pub fn progress(&self, fraction: f32, stage: &str, message: &str) {
        let p = Progress {
            fraction: fraction.clamp(0.0, 1.0),
            stage: stage.to_string(),
            message: message.to_string(),
        };
        *self
            .attempt_state
            .latest
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = p.clone();
        let now = Instant::now();
        let (emit, persist) = {
            let mut st = self
                .attempt_state
                .progress
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            let due = |last: Option<Instant>, every| last.is_none_or(|l| now - l >= every);
            let emit = due(st.last_emit, self.policy.emit_every);
            let persist = due(st.last_persist, self.policy.persist_every);
            if emit {
                st.last_emit = Some(now);
            }
            if persist {
                st.last_persist = Some(now);
            }
            (emit, persist)
        };
        if persist {
            let r = crate::store::transact(self.store.as_ref(), |t| {
                transition::progress(t, self.id, self.lease, &p)
            });
            if let Err(e) = r {
                tracing::debug!(job = %self.id, error = %e, "progress not persisted");
            }
        }
        if emit {
            self.bus.publish(Event::Progress {
                id: self.id,
                kind: self.kind.clone(),
                queue: self.queue.clone(),
                progress: p,
                host: None,
            });
        }
    }
}
