//! The job model: identifiers, priorities, states, the description of a new job, the
//! stored record of a job with its history, and what the state machine answers when it
//! refuses an operation ([`Rejection`]). Plain data, no I/O: every other module may use
//! it, and it uses none of them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Milliseconds since the Unix epoch, the unit of every timestamp the queue stores.
pub type Millis = u64;

/// Current wall-clock time in milliseconds since the Unix epoch.
pub fn now_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The identifier of a job: unique and increasing within one store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for JobId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(JobId)
    }
}

/// The identifier of a group of jobs (a workflow).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupId(pub u64);

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for GroupId {
    type Err = std::num::ParseIntError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim().parse().map(GroupId)
    }
}

/// How urgent a job is. Higher priorities are claimed first; FIFO inside one priority.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low = 0,
    #[default]
    Normal = 1,
    High = 2,
    Critical = 3,
}

impl Priority {
    pub const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A priority name that is not one of low, normal, high, critical.
#[derive(Debug, thiserror::Error)]
#[error("unknown priority {0:?}: expected low, normal, high or critical")]
pub struct UnknownPriority(pub String);

impl FromStr for Priority {
    type Err = UnknownPriority;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Priority::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownPriority(s.to_string()))
    }
}

/// Where a job is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for the jobs it depends on.
    Blocked = 0,
    /// Ready to run, or waiting for its run-at time (see [`JobRecord::waiting_until`]).
    Pending = 1,
    /// Claimed by a worker slot under a lease.
    Running = 2,
    Succeeded = 3,
    Failed = 4,
    Cancelled = 5,
    /// Given up on: it was running at two crashes in a row.
    Dead = 6,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Blocked,
        State::Pending,
        State::Running,
        State::Succeeded,
        State::Failed,
        State::Cancelled,
        State::Dead,
    ];

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            State::Succeeded | State::Failed | State::Cancelled | State::Dead
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            State::Blocked => "blocked",
            State::Pending => "pending",
            State::Running => "running",
            State::Succeeded => "succeeded",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
            State::Dead => "dead",
        }
    }

    pub fn from_u8(v: u8) -> Option<State> {
        State::ALL.get(v as usize).copied()
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job's payload or result: small values inline in the record, large ones in a file
/// under the store's files folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", tag = "in", content = "value")]
pub enum Payload {
    Inline(Value),
    File(PathBuf),
}

/// Exponential backoff with full jitter between automatic retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backoff {
    pub base_ms: u64,
    pub max_ms: u64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base_ms: 1_000,
            max_ms: 5 * 60_000,
        }
    }
}

impl Backoff {
    /// The delay before retry number `retry` (1 for the first retry), given a jitter
    /// draw in [0, 1): half the exponential step fixed, half jittered, capped at max.
    pub fn delay_ms(&self, retry: u32, jitter: f64) -> u64 {
        let exp = self
            .base_ms
            .saturating_mul(1u64 << retry.saturating_sub(1).min(30));
        let capped = exp.min(self.max_ms);
        let half = capped / 2;
        half + ((capped - half) as f64 * jitter.clamp(0.0, 1.0)) as u64
    }
}

/// A dependency of a job being enqueued: an existing job, or an earlier job of the same batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dep {
    Job(JobId),
    Batch(usize),
}

/// The description of a job to enqueue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    /// Which handler runs it.
    pub kind: String,
    /// The named queue it waits in (concurrency and pause are per queue).
    pub queue: String,
    pub payload: Value,
    pub priority: Priority,
    /// Automatic retries after retryable failures (so at most `max_retries + 1` attempts).
    pub max_retries: u32,
    pub backoff: Backoff,
    /// Run time limit per attempt; `None` means no limit.
    pub timeout_ms: Option<u64>,
    /// Not before this time.
    pub run_at: Option<Millis>,
    pub deps: Vec<Dep>,
    /// Enqueueing a job whose key matches a live job returns that job instead.
    pub dedup_key: Option<String>,
    /// Held until the app releases this name ([`crate::Queue::release`]): a job that
    /// needs something not there yet (a model being downloaded) waits, not fails.
    #[serde(default)]
    pub hold: Option<String>,
}

impl NewJob {
    pub fn new(kind: impl Into<String>, queue: impl Into<String>, payload: Value) -> Self {
        NewJob {
            kind: kind.into(),
            queue: queue.into(),
            payload,
            priority: Priority::Normal,
            max_retries: 0,
            backoff: Backoff::default(),
            timeout_ms: None,
            run_at: None,
            deps: Vec::new(),
            dedup_key: None,
            hold: None,
        }
    }

    pub fn priority(mut self, p: Priority) -> Self {
        self.priority = p;
        self
    }

    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.backoff = Backoff {
            base_ms: base.as_millis() as u64,
            max_ms: max.as_millis() as u64,
        };
        self
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout_ms = Some(t.as_millis() as u64);
        self
    }

    pub fn run_at(mut self, at: Millis) -> Self {
        self.run_at = Some(at);
        self
    }

    pub fn depends_on(mut self, dep: Dep) -> Self {
        self.deps.push(dep);
        self
    }

    pub fn dedup_key(mut self, key: impl Into<String>) -> Self {
        self.dedup_key = Some(key.into());
        self
    }

    /// Held, once its dependencies are done, until `name` is released.
    pub fn held_until(mut self, name: impl Into<String>) -> Self {
        self.hold = Some(name.into());
        self
    }
}

/// The `waiting_until` of a held job: it waits for a release, not for a time.
pub const HELD: Millis = Millis::MAX;

/// The last progress a job reported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// 0.0 ..= 1.0
    pub fraction: f32,
    pub stage: String,
    pub message: String,
}

/// Why a job failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The handler returned an error.
    Error,
    /// The attempt exceeded its time limit.
    Timeout,
    /// A job it depends on failed or was cancelled.
    Upstream,
    /// It was running when the process stopped, twice in a row.
    Crashed,
    /// No handler is registered for its kind.
    NoHandler,
}

/// The error a failed (or dead) job ended with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    pub kind: FailureKind,
    pub message: String,
    /// Technical detail (source chain), shown on request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub retryable: bool,
    /// For `Upstream`: the job whose failure this is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<JobId>,
}

/// One line of a job's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at: Millis,
    pub state: State,
    pub note: String,
}

/// The stored record of a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    pub priority: Priority,
    pub payload: Payload,
    pub state: State,
    /// Attempts started so far (never decreases).
    pub attempts: u32,
    pub max_retries: u32,
    /// Retries already used by automatic retry (manual retry resets it).
    pub retries_used: u32,
    pub backoff: Backoff,
    pub timeout_ms: Option<u64>,
    pub created_at: Millis,
    /// When a pending job became ready: the FIFO order inside one priority.
    pub ready_at: Millis,
    /// A pending job that may not start before this time (run-at or retry backoff).
    pub waiting_until: Option<Millis>,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    pub deps: Vec<JobId>,
    pub dependents: Vec<JobId>,
    /// Dependencies that have not succeeded yet.
    pub deps_remaining: u32,
    pub dedup_key: Option<String>,
    pub group: Option<GroupId>,
    /// The lease of the running attempt; a result carrying another lease is rejected.
    pub lease: Option<u64>,
    /// When the running attempt's lease runs out unless its worker renews it. On a
    /// shared store a job running past this is taken back (its worker is presumed dead);
    /// `None` for a running job: no deadline was set, so it counts as run out.
    #[serde(default)]
    pub lease_until: Option<Millis>,
    /// Consecutive times it was found running after the process stopped.
    pub crashes: u32,
    pub cancel_requested: bool,
    pub progress: Progress,
    pub result: Option<Payload>,
    pub error: Option<Failure>,
    pub history: Vec<HistoryEntry>,
    /// What a held job waits for (see [`NewJob::held_until`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hold: Option<String>,
}

impl JobRecord {
    /// The name it is held for, while it is.
    pub fn held_for(&self) -> Option<&str> {
        self.hold
            .as_deref()
            .filter(|_| matches!(self.state, State::Pending | State::Blocked))
    }

    pub(crate) fn push_history(&mut self, at: Millis, note: impl Into<String>) {
        self.history.push(HistoryEntry {
            at,
            state: self.state,
            note: note.into(),
        });
    }

    /// Run time of the last attempt, for finished jobs.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.finished_at?.saturating_sub(self.started_at?))
    }
}

/// A group of jobs (a workflow) and its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupRecord {
    pub id: GroupId,
    pub name: String,
    pub created_at: Millis,
    pub members: Vec<JobId>,
}

/// An operation the state machine ([`crate::transition`]) refuses; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("job {0} does not exist")]
    NotFound(JobId),
    #[error("group {0} does not exist")]
    GroupNotFound(GroupId),
    #[error("job {id} is {state}; it cannot be {action}")]
    WrongState {
        id: JobId,
        state: State,
        action: &'static str,
    },
    #[error(
        "the result of job {0} came from an attempt that no longer holds its lease; it was ignored"
    )]
    LeaseLost(JobId),
    #[error("job {job} of the batch depends on {dep:?}, which is not an earlier job of the batch or an existing job")]
    BadDependency { job: usize, dep: Dep },
    #[error("invalid queue name {0:?}: use 1 to 64 characters without control characters")]
    InvalidQueueName(String),
    #[error("invalid job kind {0:?}: use 1 to 64 characters without control characters")]
    InvalidKind(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_order_and_parse() {
        assert!(Priority::Low < Priority::Normal);
        assert!(Priority::High < Priority::Critical);
        assert_eq!("HIGH".parse::<Priority>().unwrap(), Priority::High);
        assert!("urgent".parse::<Priority>().is_err());
    }

    #[test]
    fn backoff_grows_exponentially_with_bounded_jitter() {
        let b = Backoff {
            base_ms: 1000,
            max_ms: 60_000,
        };
        assert_eq!(b.delay_ms(1, 0.0), 500);
        assert_eq!(b.delay_ms(1, 1.0), 1000);
        assert_eq!(b.delay_ms(3, 0.0), 2000);
        assert_eq!(b.delay_ms(3, 1.0), 4000);
        assert_eq!(b.delay_ms(20, 1.0), 60_000);
        assert!(b.delay_ms(2, 0.5) > b.delay_ms(1, 0.5));
    }

    #[test]
    fn states_round_trip_through_u8() {
        for s in State::ALL {
            assert_eq!(State::from_u8(s as u8), Some(s));
        }
        assert!(State::Dead.is_terminal());
        assert!(!State::Running.is_terminal());
    }
}
