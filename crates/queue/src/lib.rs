//! video2doc-queue: the durable job queue embedded in Video2Doc.
//!
//! Generic: it knows jobs (a kind, a queue name, a JSON payload), not videos. It
//! replaces a Celery + Redis broker with one library inside the app:
//!
//! - [`store`]: storage behind the [`Store`] trait (sled on disk, or memory); every job
//!   state change is one transaction, acknowledged after a group-committed flush.
//! - [`transition`]: the state machine (retries, crash accounting, leases, workflows).
//! - [`runtime`]: the [`Queue`] handle and its dispatcher (per-queue concurrency,
//!   pause/resume, priorities, timeouts, cancellation, maintenance).
//! - [`stats`]: counts, durations, throughput, workers, groups, health.
//! - [`lease`], [`registry`], [`relay`], [`clock`]: what several processes sharing one
//!   store (Redis, feature `redis`) need: leases with a reaper, registered workers with a
//!   heartbeat, events between processes, and the one clock they all measure leases by.
//! - [`quarantine`], [`disk`]: staying up when the data is not fine: records that do not
//!   decode are set aside, and no job starts while the store cannot write or its disk is
//!   nearly full (the committer reopens a store that failed a write once there is room).
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
pub mod disk;
pub mod events;
pub mod index;
pub mod job;
pub mod lease;
pub mod lock;
pub mod quarantine;
pub mod registry;
pub mod relay;
pub mod runtime;
pub mod stats;
pub mod store;
pub mod transition;

pub use clock::Clock;
pub use context::{Handler, JobContext, JobError};
pub use events::Event;
pub use job::{
    now_ms, Backoff, Dep, Failure, FailureKind, GroupId, GroupRecord, HistoryEntry, JobId,
    JobRecord, Millis, NewJob, Payload, Priority, Progress, State, HELD,
};
pub use quarantine::Quarantined;
pub use registry::WorkerRecord;
pub use runtime::{human_duration, Queue, QueueConfig, QueueError, QueueSettings};
pub use stats::{GroupStatus, Health, JobSummary, Stats, WorkerInfo};
pub use store::{MemoryStore, SledStore, Store, StoreError, Undecodable};
#[cfg(feature = "redis")]
pub use store::{RedisConfig, RedisStore};
pub use transition::{Change, Enqueued, Outcome, Rejection};
