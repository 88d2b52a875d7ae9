//! video2doc-queue: the durable job queue embedded in Video2Doc.
//!
//! Generic: it knows jobs (a kind, a queue name, a JSON payload), not videos. It
//! replaces a Celery + Redis broker with one library inside the app.
//!
//! The modules, from the leaves up (each uses only those above it):
//!
//! - [`job`]: the job model: ids, states, priorities, records, and the refusals of the
//!   state machine ([`Rejection`]). Plain data, no I/O.
//! - [`index`]: the five secondary indexes, a pure function of a job record.
//! - [`dir_lock`]: the lock file that gives one process a data folder.
//! - [`store`]: storage behind the [`Store`] trait (sled on disk, memory, Redis with the
//!   feature `redis`); bytes in fixed key spaces, no job semantics.
//! - [`transition`]: the state machine (retries, crash accounting, leases, workflows),
//!   each rule one transaction against a [`store::Txn`].
//! - [`events`], [`commit`]: the event bus, and the group committer: every job state
//!   change is one transaction, acknowledged after a group-committed flush, its events
//!   sent after that flush in commit order.
//! - [`context`]: what a handler sees ([`JobContext`]) and returns ([`JobError`]).
//! - [`clock`]: the wall clock ([`Clock`]) and the lease clock every worker sharing a
//!   store measures leases by.
//! - [`error`]: [`QueueError`], the error of every queue operation.
//! - [`runtime`]: the [`Queue`] handle and its parts: the dispatcher (per-queue
//!   concurrency, pause/resume, priorities, timeouts, cancellation), maintenance, leases
//!   with a reaper, the worker registry and the event relay (what several processes
//!   sharing one store need), the quarantine of records that do not decode, the disk
//!   check that stops claims, and [`runtime::stats`] (counts, durations, throughput,
//!   workers, groups, health).
//!
//! ```no_run
//! # async fn demo() -> Result<(), video2doc_queue::QueueError> {
//! use video2doc_queue::{NewJob, Queue, QueueConfig};
//! let queue = Queue::open(std::path::Path::new("/tmp/v2d"), QueueConfig::default())?;
//! queue.register("hello", |ctx: video2doc_queue::JobContext| async move {
//!     Ok(serde_json::json!({ "greeting": format!("hello {}", ctx.payload) }))
//! });
//! queue.start()?;
//! let job = queue.enqueue(NewJob::new("hello", "default", serde_json::json!("world"))).await?;
//! let done = queue.wait(job.id).await?;
//! # Ok(()) }
//! ```

pub mod clock;
pub mod commit;
pub mod context;
pub mod dir_lock;
pub mod error;
pub mod events;
pub mod index;
pub mod job;
pub mod runtime;
pub mod store;
pub mod transition;

pub use clock::Clock;
pub use context::{Handler, JobContext, JobError};
pub use error::QueueError;
pub use events::Event;
pub use job::{
    now_ms, Backoff, Dep, Failure, FailureKind, GroupId, GroupRecord, HistoryEntry, JobId,
    JobRecord, Millis, NewJob, Payload, Priority, Progress, Rejection, State, HELD,
};
pub use runtime::quarantine::Quarantined;
pub use runtime::registry::WorkerRecord;
pub use runtime::stats::{GroupStatus, Health, JobSummary, Stats, WorkerInfo};
pub use runtime::{Queue, QueueConfig, QueueSettings};
pub use store::{MemoryStore, SledStore, Store, StoreError, Undecodable};
#[cfg(feature = "redis")]
pub use store::{RedisConfig, RedisStore};
pub use transition::{Change, Enqueued, Outcome};

// The worker registry keeps its path from the crate root: tests forge worker records
// under `registry::WORKER_KEY_PREFIX`.
pub use runtime::registry;
