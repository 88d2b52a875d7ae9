//! The running queue: the [`Queue`] handle that enqueues, controls and observes jobs,
//! and the dispatcher that claims ready jobs into worker slots (per-queue concurrency,
//! pause, priorities), runs their handlers under timeouts and cancellation, records
//! their outcomes, and runs periodic maintenance. One runtime per process; on a shared
//! store (Redis) several processes each run one against the same jobs, with leases
//! ([`crate::lease`]), a worker registry ([`crate::registry`]) and events relayed
//! between them ([`crate::relay`]). A record that does not decode is set aside
//! ([`crate::quarantine`]); a store that cannot write, or whose disk is nearly full, stops
//! new jobs from starting ([`crate::disk`], [`crate::commit`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::clock::{Clock, LeaseClock};
use crate::commit::{Ack, CommitError, Committer};
use crate::context::{Attempt, Handler, JobContext, JobError, ProgressPolicy};
use crate::events::{Event, EventBus};
use crate::index::{self, Index};
use crate::job::{
    Failure, FailureKind, GroupId, JobId, JobRecord, Millis, NewJob, Payload, Priority, State,
};
use crate::store::{prefix_end, SledStore, Space, Store, StoreError, Undecodable};
use crate::transition::{self, Change, Enqueued, Outcome, Rejection};

/// Errors of queue operations.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Rejected(Rejection),
    #[error(transparent)]
    Store(StoreError),
    #[error(transparent)]
    Commit(CommitError),
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the queue is already running")]
    AlreadyStarted,
    /// A record from a shared store names a file for a payload or result. Files are
    /// local to one machine, so on a shared store values are always kept inline: such a
    /// record was not written by a queue, and the file is not read.
    #[error("a job on the shared queue names the file {path} for its {what}; on a shared queue these are kept inline, so the file is not read")]
    FileOnSharedStore { path: PathBuf, what: &'static str },
    #[error("this worker cannot join the shared queue: the worker on {host} (pid {pid}, Video2Doc {version}) uses store format {schema} and this one uses {ours}; run the same version on every machine")]
    IncompatibleWorker {
        host: String,
        pid: u32,
        version: String,
        schema: u32,
        ours: u32,
    },
}

impl From<StoreError> for QueueError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Rejected(r) => QueueError::Rejected(r),
            e => QueueError::Store(e),
        }
    }
}

impl From<CommitError> for QueueError {
    fn from(e: CommitError) -> Self {
        match e {
            CommitError::Store(s) => s.into(),
            e => QueueError::Commit(e),
        }
    }
}

impl From<Rejection> for QueueError {
    fn from(r: Rejection) -> Self {
        QueueError::Rejected(r)
    }
}

/// Tunables of the runtime; the defaults suit a desktop app.
#[derive(Debug, Clone)]
pub struct QueueConfig {
    /// Slots per queue unless set per queue (default: the number of CPUs).
    pub default_concurrency: usize,
    /// How long a cancelled job may take to stop before it is abandoned.
    pub cancel_grace: Duration,
    /// How long a timed-out job may take to stop before it is abandoned.
    pub timeout_grace: Duration,
    /// How long running jobs get to stop when the queue closes.
    pub shutdown_grace: Duration,
    /// Finished jobs older than this are purged with their files.
    pub retention: Duration,
    /// How often maintenance (purge, statistics snapshot) runs.
    pub maintenance_every: Duration,
    /// Payloads and results larger than this (bytes of JSON) go to files.
    pub inline_limit: usize,
    pub progress_persist_every: Duration,
    pub progress_emit_every: Duration,
    /// How long a running job's lease lasts without renewal (renewed every third of it);
    /// also the expiry of a worker's registration. On a shared store a job whose worker
    /// died runs again this long after the last renewal.
    pub lease: Duration,
    /// How often a worker on a shared store looks at the jobs it runs (cancel requested
    /// elsewhere, lease taken away), and how long its dispatcher sleeps at most.
    pub poll_every: Duration,
    /// No new job starts while the folder of the store has less free space than this
    /// (bytes); health says so.
    pub min_free_disk: u64,
    /// The wall clock of this worker (the system clock; tests move it).
    pub clock: Clock,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            default_concurrency: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            cancel_grace: Duration::from_millis(500),
            timeout_grace: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(2),
            retention: Duration::from_secs(7 * 24 * 3600),
            maintenance_every: Duration::from_secs(3600),
            inline_limit: 64 * 1024,
            progress_persist_every: Duration::from_secs(2),
            progress_emit_every: Duration::from_millis(100),
            lease: Duration::from_secs(30),
            poll_every: Duration::from_millis(250),
            min_free_disk: 200 * 1024 * 1024,
            clock: Clock::system(),
        }
    }
}

/// Persisted settings of one named queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueSettings {
    pub paused: bool,
    pub concurrency: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    Cancel,
    Timeout,
    Shutdown,
    /// Another worker took the job back (this one's lease ran out).
    LeaseLost,
}

pub(crate) struct Slot {
    pub queue: String,
    pub kind: String,
    pub since: Millis,
    pub lease: u64,
    pub attempt: Arc<Attempt>,
    stop: Mutex<Option<StopReason>>,
}

#[derive(Default)]
pub(crate) struct Lane {
    pub settings: QueueSettings,
    pub running: usize,
}

pub(crate) struct Inner {
    pub store: Arc<dyn Store>,
    pub files: Option<PathBuf>,
    pub committer: Committer,
    pub bus: Arc<EventBus>,
    pub config: QueueConfig,
    handlers: RwLock<HashMap<String, Arc<dyn Handler>>>,
    pub lanes: Mutex<BTreeMap<String, Lane>>,
    pub all_paused: AtomicBool,
    pub slots: Mutex<HashMap<JobId, Arc<Slot>>>,
    pub(crate) wake: Notify,
    pub(crate) shutdown: CancellationToken,
    started: AtomicBool,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    attempts: TaskTracker,
    pub recovered: usize,
    pub(crate) identity: crate::registry::Identity,
    /// Whether other processes' events are being received.
    pub(crate) incoming: AtomicBool,
    /// When this worker registered (set while started).
    pub(crate) registered_at: Mutex<Option<Millis>>,
    /// The clock of lease deadlines and worker expiry.
    pub(crate) lease_clock: LeaseClock,
    /// Why no job starts now, as last reported (to log changes once).
    pub(crate) claims_stopped: Mutex<Option<crate::disk::Stop>>,
}

/// The queue. Cheap to clone; every clone is the same queue.
#[derive(Clone)]
pub struct Queue {
    pub(crate) inner: Arc<Inner>,
}

const ALL_PAUSED_KEY: &str = "all_paused";
const QUEUE_KEY_PREFIX: &str = "queue/";
/// When the last maintenance of a shared store started (big-endian millis).
const MAINTENANCE_KEY: &str = "maintenance_at";

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn state_events(changes: &[Change]) -> Vec<Event> {
    changes.iter().cloned().map(Event::State).collect()
}

impl Queue {
    /// Opens the durable queue in `data_dir` (sled store in `data_dir/queue`, job files
    /// in `data_dir/files`), recovering jobs that were running when the last process
    /// stopped.
    pub fn open(data_dir: &Path, config: QueueConfig) -> Result<Queue, QueueError> {
        let store = SledStore::open(&data_dir.join("queue"))?;
        Queue::with_store(Arc::new(store), Some(data_dir.join("files")), config)
    }

    /// A queue over any backend. `files` is where large payloads and results go.
    pub fn with_store(
        store: Arc<dyn Store>,
        files: Option<PathBuf>,
        config: QueueConfig,
    ) -> Result<Queue, QueueError> {
        let bus = Arc::new(EventBus::default());
        let identity = crate::registry::Identity::new();
        crate::relay::start_outgoing(&store, &identity, &bus);
        let committer = Committer::new(store.clone(), bus.clone(), config.min_free_disk);
        let (settings, all_paused, unreadable) = load_settings(store.as_ref())?;
        let lease_clock = LeaseClock::new(
            config.clock.clone(),
            (config.lease / 3).max(Duration::from_millis(50)),
        );
        if let Some(shared) = store.shared() {
            lease_clock.sync(shared)?;
        }
        let lanes = settings
            .into_iter()
            .map(|(name, settings)| {
                (
                    name,
                    Lane {
                        settings,
                        running: 0,
                    },
                )
            })
            .collect();
        let mut inner = Inner {
            store,
            files,
            committer,
            bus,
            config,
            handlers: RwLock::new(HashMap::new()),
            lanes: Mutex::new(lanes),
            all_paused: AtomicBool::new(all_paused),
            slots: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            shutdown: CancellationToken::new(),
            started: AtomicBool::new(false),
            tasks: Mutex::new(Vec::new()),
            attempts: TaskTracker::new(),
            recovered: 0,
            identity,
            incoming: AtomicBool::new(false),
            registered_at: Mutex::new(None),
            lease_clock,
            claims_stopped: Mutex::new(None),
        };
        for u in &unreadable {
            inner.set_aside(u)?;
        }
        inner.recovered = inner.recover()?;
        Ok(Queue {
            inner: Arc::new(inner),
        })
    }

    /// Registers the handler of a job kind. Jobs of kinds without a handler fail.
    pub fn register(&self, kind: impl Into<String>, handler: impl Handler) {
        self.inner
            .handlers
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(kind.into(), Arc::new(handler));
    }

    /// Starts the dispatcher and maintenance on the current tokio runtime.
    pub fn start(&self) -> Result<(), QueueError> {
        if self.inner.started.swap(true, Ordering::SeqCst) {
            return Err(QueueError::AlreadyStarted);
        }
        if let Err(e) = self.inner.register_worker() {
            self.inner.started.store(false, Ordering::SeqCst);
            return Err(e);
        }
        if let Err(e) = self.inner.ensure_incoming() {
            let _ = self.inner.unregister_worker();
            self.inner.started.store(false, Ordering::SeqCst);
            return Err(e);
        }
        let d = tokio::spawn(self.inner.clone().dispatch());
        let m = tokio::spawn(self.inner.clone().maintain());
        let k = tokio::spawn(self.inner.clone().keep());
        lock(&self.inner.tasks).extend([d, m, k]);
        Ok(())
    }

    /// Stops dispatching, gives running jobs `shutdown_grace` to stop (they run again at
    /// the next start), and waits until everything is recorded.
    pub async fn close(self) {
        self.shutdown().await
    }

    /// What [`Queue::close`] does, for an owner that holds the queue behind a shared
    /// reference; the data folder stays locked until the queue is dropped.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.shutdown.cancel();
        let slots: Vec<_> = lock(&inner.slots).values().cloned().collect();
        for s in slots {
            s.request_stop(StopReason::Shutdown);
        }
        inner.attempts.close();
        inner.attempts.wait().await;
        let tasks: Vec<_> = std::mem::take(&mut *lock(&inner.tasks));
        for t in tasks {
            let _ = t.await;
        }
        if let Err(e) = inner.unregister_worker() {
            tracing::warn!(error = %e, "this worker's registration was not removed; it expires on its own");
        }
        let _ = inner.committer.flush();
    }

    /// Subscribes to events (every state change in commit order, progress, queue changes).
    /// On a shared store this includes the events of the other processes (call it on a
    /// tokio runtime: that starts receiving them, if `start` has not).
    pub fn subscribe(&self) -> tokio::sync::mpsc::UnboundedReceiver<Event> {
        if let Err(e) = self.inner.ensure_incoming() {
            tracing::warn!(error = %e, "events of other workers will not be received");
        }
        self.inner.bus.subscribe()
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    pub fn config(&self) -> &QueueConfig {
        &self.inner.config
    }

    /// Workers registered on this store whose heartbeat is current (this one included
    /// while started), by host and pid.
    pub fn registered_workers(&self) -> Result<Vec<crate::registry::WorkerRecord>, QueueError> {
        Ok(crate::registry::live_workers(
            self.inner.store.as_ref(),
            self.inner.lease_now(),
        )?)
    }

    /// The host name this worker reports to others sharing the store.
    pub fn host(&self) -> &str {
        &self.inner.identity.host
    }

    /// Jobs found running at open and put back (or declared dead); on a shared store,
    /// only those whose lease had run out.
    pub fn recovered(&self) -> usize {
        self.inner.recovered
    }

    pub(crate) fn flush_stats(&self) -> &crate::commit::FlushStats {
        self.inner.committer.stats()
    }

    /// Enqueues one job; returns once it is durable.
    pub async fn enqueue(&self, job: NewJob) -> Result<Enqueued, QueueError> {
        let (_, mut out, ack) = self.inner.enqueue(vec![job], None)?;
        ack.durable().await?;
        Ok(out.remove(0))
    }

    /// Enqueues several jobs in one transaction (dependencies may point at earlier ones).
    pub async fn enqueue_batch(&self, jobs: Vec<NewJob>) -> Result<Vec<Enqueued>, QueueError> {
        let (_, out, ack) = self.inner.enqueue(jobs, None)?;
        ack.durable().await?;
        Ok(out)
    }

    /// Enqueues a workflow: the jobs as one group with its own status.
    pub async fn enqueue_group(
        &self,
        name: &str,
        jobs: Vec<NewJob>,
    ) -> Result<(GroupId, Vec<Enqueued>), QueueError> {
        let (gid, out, ack) = self.inner.enqueue(jobs, Some(name))?;
        ack.durable().await?;
        Ok((gid.expect("a group was created"), out))
    }

    /// The stored record of a job.
    pub fn get(&self, id: JobId) -> Result<JobRecord, QueueError> {
        self.inner
            .load_job(id)?
            .ok_or(QueueError::Rejected(Rejection::NotFound(id)))
    }

    /// The latest progress of a job: live for running jobs, else as stored.
    pub fn progress(&self, id: JobId) -> Option<crate::job::Progress> {
        let slot = lock(&self.inner.slots).get(&id).cloned()?;
        let p = lock(&slot.attempt.latest).clone();
        Some(p)
    }

    /// The result of a succeeded job (read from its file when large).
    pub fn result(&self, id: JobId) -> Result<Option<Value>, QueueError> {
        match self.get(id)?.result {
            Some(p) => Ok(Some(self.inner.load_payload(&p, "result")?)),
            None => Ok(None),
        }
    }

    /// Cancels a job: pending and blocked jobs at once, running ones via their token
    /// (and a kill of their child processes) within the cancel grace.
    pub async fn cancel(&self, id: JobId) -> Result<(), QueueError> {
        let now = self.inner.now();
        let ((_, running), ack) = self.inner.apply(
            true,
            |t| transition::cancel(t, id, now),
            |(c, _)| state_events(c),
        )?;
        if running {
            if let Some(slot) = lock(&self.inner.slots).get(&id).cloned() {
                slot.request_stop(StopReason::Cancel);
            }
        }
        ack.durable().await?;
        Ok(())
    }

    /// Runs a failed, cancelled or dead job again, with the jobs that failed because of it.
    pub async fn retry(&self, id: JobId) -> Result<(), QueueError> {
        let now = self.inner.now();
        let (_, ack) =
            self.inner
                .apply(true, |t| transition::retry(t, id, now), |c| state_events(c))?;
        self.inner.wake.notify_one();
        ack.durable().await?;
        Ok(())
    }

    /// Changes the priority of a job that has not started.
    pub async fn set_priority(&self, id: JobId, priority: Priority) -> Result<(), QueueError> {
        let now = self.inner.now();
        let (_, ack) = self.inner.apply(
            true,
            |t| transition::set_priority(t, id, priority, now),
            |c| state_events(c),
        )?;
        ack.durable().await?;
        Ok(())
    }

    /// Releases every job held for `name` ([`NewJob::held_until`]): they start as their
    /// queues allow. Returns how many were held.
    pub async fn release(&self, name: &str) -> Result<usize, QueueError> {
        let now = self.inner.now();
        let mut released = 0;
        for state in [State::Pending, State::Blocked] {
            let prefix = index::state_prefix(state);
            let end = prefix_end(&prefix);
            let keys = self.inner.store.scan_keys(
                Space::Index(Index::ByState),
                &prefix,
                end.as_deref(),
                usize::MAX,
            )?;
            for k in keys {
                let Some((_, _, id)) = index::parse_state_key(&k) else {
                    continue;
                };
                let r = self.inner.apply(
                    false,
                    |t| transition::release_hold(t, id, name, now),
                    |c| state_events(c),
                );
                match r {
                    Ok((changes, _)) => released += usize::from(!changes.is_empty()),
                    // Gone meanwhile (finished and purged, or set aside).
                    Err(CommitError::Store(StoreError::Rejected(_))) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        if released > 0 {
            self.inner.committer.flush()?;
            self.inner.wake.notify_one();
            tracing::info!(name, jobs = released, "released held jobs");
        }
        Ok(released)
    }

    /// Pauses one queue (`Some`) or all (`None`): running jobs finish, none start.
    /// Persisted: a paused queue stays paused after a restart.
    pub async fn pause(&self, queue: Option<&str>) -> Result<(), QueueError> {
        self.set_paused(queue, true).await
    }

    pub async fn resume(&self, queue: Option<&str>) -> Result<(), QueueError> {
        self.set_paused(queue, false).await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    async fn set_paused(&self, queue: Option<&str>, paused: bool) -> Result<(), QueueError> {
        let ack = match queue {
            None => {
                let ack = self.inner.put_all_paused(paused)?;
                self.inner.all_paused.store(paused, Ordering::SeqCst);
                ack
            }
            Some(q) => self.inner.update_lane(q, |s| s.paused = paused)?,
        };
        ack.durable().await?;
        Ok(())
    }

    /// Sets the number of slots of one queue (at least 1).
    pub async fn set_concurrency(&self, queue: &str, n: usize) -> Result<(), QueueError> {
        let ack = self
            .inner
            .update_lane(queue, |s| s.concurrency = Some(n.max(1)))?;
        self.inner.wake.notify_one();
        ack.durable().await?;
        Ok(())
    }

    /// Whether a queue (or, with `None`, all queues) is paused.
    pub fn is_paused(&self, queue: Option<&str>) -> bool {
        match queue {
            None => self.inner.all_paused.load(Ordering::SeqCst),
            Some(q) => lock(&self.inner.lanes)
                .get(q)
                .is_some_and(|l| l.settings.paused),
        }
    }

    /// Waits until a job is finished (succeeded, failed, cancelled or dead).
    pub async fn wait(&self, id: JobId) -> Result<JobRecord, QueueError> {
        let mut rx = self.subscribe();
        loop {
            let job = self.get(id)?;
            if job.state.is_terminal() {
                return Ok(job);
            }
            // Events from other processes are not guaranteed to arrive (a connection may
            // drop), so the record is read again at least every second.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
            loop {
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(Event::State(c))) if c.id == id && c.to.is_terminal() => break,
                    Ok(Some(_)) => {}
                    Ok(None) => return self.get(id),
                    Err(_) => break,
                }
            }
        }
    }

    /// Deletes finished jobs that finished before `before`, with their files.
    pub fn purge_finished(&self, before: Millis) -> Result<usize, QueueError> {
        self.inner.purge(before)
    }
}

impl Slot {
    pub(crate) fn request_stop(&self, reason: StopReason) {
        let mut stop = lock(&self.stop);
        if stop.is_none() {
            *stop = Some(reason);
        }
        drop(stop);
        self.attempt.token.cancel();
        self.attempt.kill_children();
    }
}

/// Persisted queue settings, settings that do not decode (to set aside: their queues get
/// the defaults), and the all-paused flag.
type LoadedSettings = (BTreeMap<String, QueueSettings>, bool, Vec<Undecodable>);

fn load_settings(store: &dyn Store) -> Result<LoadedSettings, QueueError> {
    let mut out = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (k, v) in store.scan(
        Space::Meta,
        QUEUE_KEY_PREFIX.as_bytes(),
        prefix_end(QUEUE_KEY_PREFIX.as_bytes()).as_deref(),
        usize::MAX,
    )? {
        let name = String::from_utf8_lossy(&k[QUEUE_KEY_PREFIX.len()..]).into_owned();
        match crate::store::decode(Space::Meta, &k, &v, || format!("settings of queue {name}")) {
            Ok(settings) => {
                out.insert(name, settings);
            }
            Err(u) => unreadable.push(*u),
        }
    }
    let all_paused = store
        .get(Space::Meta, ALL_PAUSED_KEY.as_bytes())?
        .is_some_and(|v| v == b"1");
    Ok((out, all_paused, unreadable))
}

impl Inner {
    /// The wall clock of this worker (see [`QueueConfig::clock`]).
    pub(crate) fn now(&self) -> Millis {
        self.config.clock.now()
    }

    /// Runs store work from async code. A shared store may wait for a lost connection
    /// (retrying for seconds), so on a multi-threaded runtime the thread is handed over
    /// for that time and other tasks (handlers, timers) go on running; an exclusive
    /// store answers at once and runs inline.
    pub(crate) fn may_block<R>(&self, f: impl FnOnce() -> R) -> R {
        let multi = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi && self.is_shared() {
            tokio::task::block_in_place(f)
        } else {
            f()
        }
    }

    /// Job kinds with a handler here.
    pub(crate) fn handler_kinds(&self) -> Vec<String> {
        let mut kinds: Vec<_> = self
            .handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .cloned()
            .collect();
        kinds.sort();
        kinds
    }

    /// Reads the persisted pauses again (another process may have paused or resumed a
    /// queue while its event did not reach this one). Concurrency stays this worker's.
    pub(crate) fn refresh_settings(&self) -> Result<(), QueueError> {
        let (settings, all_paused, unreadable) = load_settings(self.store.as_ref())?;
        for u in &unreadable {
            self.set_aside(u)?;
        }
        let mut lanes = lock(&self.lanes);
        for (name, s) in settings {
            let lane = lanes.entry(name).or_default();
            if lane.settings.paused && !s.paused {
                self.wake.notify_one();
            }
            lane.settings.paused = s.paused;
        }
        drop(lanes);
        if self.all_paused.swap(all_paused, Ordering::SeqCst) && !all_paused {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// Puts jobs that were running when the last process stopped back in line. On a
    /// shared store only those whose lease ran out: the others belong to live workers.
    fn recover(&self) -> Result<usize, QueueError> {
        if self.is_shared() {
            let n = self.reap(self.lease_now())?;
            if n > 0 {
                tracing::warn!(
                    jobs = n,
                    "took back jobs whose worker stopped renewing their lease"
                );
            }
            return Ok(n);
        }
        let prefix = index::state_prefix(State::Running);
        let end = prefix_end(&prefix);
        let keys = self.store.scan_keys(
            Space::Index(Index::ByState),
            &prefix,
            end.as_deref(),
            usize::MAX,
        )?;
        let now = self.now();
        let mut n = 0;
        for k in keys {
            let Some((_, _, id)) = index::parse_state_key(&k) else {
                continue;
            };
            match self.apply(
                false,
                |t| transition::recover(t, id, now),
                |c| state_events(c),
            ) {
                Ok((changes, _)) => n += usize::from(!changes.is_empty()),
                // Gone meanwhile: its record could not be read and was set aside.
                Err(CommitError::Store(StoreError::Rejected(_))) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if n > 0 {
            self.committer.flush()?;
            tracing::warn!(
                jobs = n,
                "recovered jobs that were running when the app stopped"
            );
        }
        Ok(n)
    }

    fn enqueue(
        &self,
        jobs: Vec<NewJob>,
        group: Option<&str>,
    ) -> Result<(Option<GroupId>, Vec<Enqueued>, Ack), QueueError> {
        transition::validate(&jobs)?;
        let ids = jobs
            .iter()
            .map(|_| self.store.next_id().map(JobId))
            .collect::<Result<Vec<_>, _>>()?;
        let payloads = jobs
            .iter()
            .zip(&ids)
            .map(|(j, id)| self.store_payload(*id, "payload", &j.payload))
            .collect::<Result<Vec<_>, _>>()?;
        let gid = match group {
            Some(name) => Some((GroupId(self.store.next_id()?), name)),
            None => None,
        };
        let now = self.now();
        let ((out, _), ack) = self.apply(
            true,
            |t| transition::enqueue(t, now, &ids, &jobs, &payloads, gid),
            |(_, c)| state_events(c),
        )?;
        {
            let mut lanes = lock(&self.lanes);
            for j in &jobs {
                lanes.entry(j.queue.clone()).or_default();
            }
        }
        self.wake.notify_one();
        Ok((gid.map(|g| g.0), out, ack))
    }

    /// Keeps small values inline; writes large ones to `files/<id>/<name>.json`.
    /// On a shared store everything stays inline: other machines cannot read this
    /// one's files.
    fn store_payload(&self, id: JobId, name: &str, v: &Value) -> Result<Payload, QueueError> {
        let Some(files) = self.files.as_ref().filter(|_| !self.is_shared()) else {
            return Ok(Payload::Inline(v.clone()));
        };
        let bytes = serde_json::to_vec(v).expect("JSON values serialize");
        if bytes.len() <= self.config.inline_limit {
            return Ok(Payload::Inline(v.clone()));
        }
        let dir = files.join(id.to_string());
        let path = dir.join(format!("{name}.json"));
        let io = |source| QueueError::Io {
            path: path.clone(),
            source,
        };
        std::fs::create_dir_all(&dir).map_err(io)?;
        std::fs::write(&path, &bytes).map_err(io)?;
        Ok(Payload::File(path))
    }

    /// A payload or result (`what`). On a shared store one naming a file is refused: files
    /// are this machine's, and such a record was not written by a queue.
    fn load_payload(&self, p: &Payload, what: &'static str) -> Result<Value, QueueError> {
        match p {
            Payload::Inline(v) => Ok(v.clone()),
            Payload::File(path) if self.is_shared() => Err(QueueError::FileOnSharedStore {
                path: path.clone(),
                what,
            }),
            Payload::File(path) => {
                let bytes = std::fs::read(path).map_err(|source| QueueError::Io {
                    path: path.clone(),
                    source,
                })?;
                serde_json::from_slice(&bytes).map_err(|e| QueueError::Io {
                    path: path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::InvalidData, e),
                })
            }
        }
    }

    fn put_all_paused(&self, on: bool) -> Result<Ack, QueueError> {
        let key = ALL_PAUSED_KEY;
        let value: &[u8] = if on { b"1" } else { b"0" };
        let event = Event::Queue {
            queue: None,
            paused: on,
            concurrency: None,
        };
        let (_, ack) = self.committer.apply(
            true,
            |t| t.insert(Space::Meta, key.as_bytes(), value),
            |_| vec![event],
        )?;
        Ok(ack)
    }

    fn update_lane(
        &self,
        queue: &str,
        f: impl FnOnce(&mut QueueSettings),
    ) -> Result<Ack, QueueError> {
        if queue.is_empty() || queue.len() > 64 || queue.chars().any(char::is_control) {
            return Err(Rejection::InvalidQueueName(queue.to_string()).into());
        }
        let mut lanes = lock(&self.lanes);
        let lane = lanes.entry(queue.to_string()).or_default();
        let mut settings = lane.settings.clone();
        f(&mut settings);
        let bytes = serde_json::to_vec(&settings).expect("settings serialize");
        let key = format!("{QUEUE_KEY_PREFIX}{queue}");
        let event = Event::Queue {
            queue: Some(queue.to_string()),
            paused: settings.paused,
            concurrency: settings.concurrency,
        };
        let (_, ack) = self.committer.apply(
            true,
            |t| t.insert(Space::Meta, key.as_bytes(), &bytes),
            |_| vec![event],
        )?;
        lane.settings = settings;
        Ok(ack)
    }

    /// The dispatcher: promotes due jobs, fills free slots, sleeps until woken or due.
    async fn dispatch(self: Arc<Self>) {
        loop {
            if self.shutdown.is_cancelled() {
                break;
            }
            let stopped = self.may_block(|| self.claims_stopped());
            let next_due = if self.committer.unwritable().is_some() {
                None
            } else {
                match self.may_block(|| self.promote_due()) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "promoting scheduled jobs failed");
                        None
                    }
                }
            };
            if stopped.is_none() {
                if let Err(e) = self.may_block(|| self.fill_slots()) {
                    tracing::error!(error = %e, "claiming jobs failed");
                }
            }
            // On a shared store other processes enqueue too: their events wake this loop,
            // and since an event can be lost with a connection, it also looks every poll.
            // While no job may start it looks as often, to start them once they may.
            let longest = if self.is_shared() || stopped.is_some() {
                self.config.poll_every.max(Duration::from_millis(50)) * 4
            } else {
                Duration::from_secs(30)
            };
            let wait = next_due
                .map(|t| Duration::from_millis(t.saturating_sub(self.now()).max(1)))
                .unwrap_or(longest)
                .min(longest);
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => break,
            }
        }
    }

    /// Makes due scheduled jobs ready; returns the time the next one is due.
    fn promote_due(&self) -> Result<Option<Millis>, QueueError> {
        let space = Space::Index(Index::Scheduled);
        loop {
            let now = self.now();
            let due = self
                .store
                .scan_keys(space, &[], Some(&index::time_bound(now)), 512)?;
            for k in &due {
                if let Some(id) = index::id_from_key(k) {
                    match self.apply(false, |t| transition::promote(t, id, now), |_| Vec::new()) {
                        Ok(_) => {}
                        Err(CommitError::Store(StoreError::Rejected(_))) => {
                            self.drop_dangling(id)?
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            if due.len() < 512 {
                break;
            }
        }
        let next = self.store.scan_keys(space, &[], None, 1)?;
        Ok(next.first().and_then(|k| index::time_of_key(k)))
    }

    /// Queues that have ready jobs, from the ready index.
    fn ready_queues(&self) -> Result<Vec<String>, QueueError> {
        let mut out = Vec::new();
        let mut start = Vec::new();
        loop {
            let keys = self
                .store
                .scan_keys(Space::Index(Index::Ready), &start, None, 1)?;
            let Some(k) = keys.first() else { break };
            let Some(nul) = k.iter().position(|b| *b == 0) else {
                break;
            };
            let q = String::from_utf8_lossy(&k[..nul]).into_owned();
            start = prefix_end(&k[..=nul]).unwrap_or_default();
            out.push(q);
            if start.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Claims ready jobs into free slots, queue by queue; a queue that fails is logged
    /// and the next one is served.
    fn fill_slots(self: &Arc<Self>) -> Result<(), QueueError> {
        if self.all_paused.load(Ordering::SeqCst) || self.shutdown.is_cancelled() {
            return Ok(());
        }
        for queue in self.ready_queues()? {
            if let Err(e) = self.fill_queue(&queue) {
                tracing::error!(queue, error = %e, "claiming jobs of a queue failed");
            }
        }
        Ok(())
    }

    fn fill_queue(self: &Arc<Self>, queue: &str) -> Result<(), QueueError> {
        loop {
            {
                let mut lanes = lock(&self.lanes);
                let lane = lanes.entry(queue.to_string()).or_default();
                let limit = lane
                    .settings
                    .concurrency
                    .unwrap_or(self.config.default_concurrency);
                if lane.settings.paused || lane.running >= limit {
                    return Ok(());
                }
            }
            match self.claim_next(queue)? {
                Some(job) => self.start_attempt(job),
                None => return Ok(()),
            }
        }
    }

    fn claim_next(&self, queue: &str) -> Result<Option<JobRecord>, QueueError> {
        let prefix = index::ready_prefix(queue);
        let end = prefix_end(&prefix);
        let keys = self
            .store
            .scan_keys(Space::Index(Index::Ready), &prefix, end.as_deref(), 8)?;
        let now = self.now();
        for k in keys {
            let Some(id) = index::id_from_key(&k) else {
                continue;
            };
            let lease: u64 = rand::rng().random();
            let until = self.lease_deadline(self.lease_now());
            let r = self.apply(
                false,
                |t| transition::claim_leased(t, id, now, lease, Some(until)),
                |job| vec![Event::State(Change::of(job, Some(State::Pending)))],
            );
            match r {
                Ok((job, _)) => {
                    let mut lanes = lock(&self.lanes);
                    lanes.entry(queue.to_string()).or_default().running += 1;
                    return Ok(Some(job));
                }
                // The record is gone (set aside just now, or damage): so goes its entry.
                Err(CommitError::Store(StoreError::Rejected(Rejection::NotFound(_)))) => {
                    self.drop_dangling(id)?;
                }
                Err(CommitError::Store(StoreError::Rejected(r))) => {
                    tracing::debug!(job = %id, reason = %r, "skipped a stale ready entry");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    fn start_attempt(self: &Arc<Self>, job: JobRecord) {
        let attempt = Arc::new(Attempt::new());
        let slot = Arc::new(Slot {
            queue: job.queue.clone(),
            kind: job.kind.clone(),
            since: self.now(),
            lease: job.lease.expect("a claimed job has a lease"),
            attempt: attempt.clone(),
            stop: Mutex::new(None),
        });
        lock(&self.slots).insert(job.id, slot.clone());
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        let inner = self.clone();
        self.attempts
            .spawn(async move { inner.run_attempt(job, slot).await }.instrument(span));
    }

    async fn run_attempt(self: Arc<Self>, job: JobRecord, slot: Arc<Slot>) {
        let lease = job.lease.expect("a claimed job has a lease");
        let outcome = self.attempt_outcome(&job, lease, &slot).await;
        let jitter: f64 = rand::rng().random();
        // A store that cannot be reached (a shared store's connection lost) is tried
        // again with backoff: the attempt's work is kept and recorded once it is back.
        // If the lease ran out meanwhile, the lease check refuses a second record.
        let mut pause = Duration::from_millis(200);
        let gave_up_at = tokio::time::Instant::now() + Duration::from_secs(600);
        // A store that takes no writes (a full disk) is waited for the same way, for as
        // long as it takes, unless the queue closes first (the job then runs again at the
        // next start).
        let r = loop {
            let now = self.now();
            let r = self.may_block(|| match &outcome {
                AttemptEnd::Release => self.apply(
                    true,
                    |t| transition::release(t, job.id, lease, now),
                    |c| state_events(c),
                ),
                AttemptEnd::Outcome(o) => self.apply(
                    true,
                    |t| transition::finish(t, job.id, lease, o.clone(), now, jitter),
                    |c| state_events(c),
                ),
            });
            match r {
                Err(CommitError::Store(e))
                    if e.is_unavailable() && tokio::time::Instant::now() < gave_up_at =>
                {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "the job store is unreachable; the end of the attempt will be recorded when it is back");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(CommitError::Unwritable(e)) if !self.shutdown.is_cancelled() => {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "the job store takes no writes; the end of the attempt will be recorded once it does");
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = self.shutdown.cancelled() => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                r => break r,
            }
        };
        lock(&self.slots).remove(&job.id);
        if let Some(l) = lock(&self.lanes).get_mut(&job.queue) {
            l.running = l.running.saturating_sub(1);
        }
        self.wake.notify_one();
        match r {
            Ok((_, ack)) => {
                if let Err(e) = ack.durable().await {
                    tracing::error!(error = %e, "recording the end of the job failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the end of the attempt was not recorded"),
        }
    }

    async fn attempt_outcome(&self, job: &JobRecord, lease: u64, slot: &Slot) -> AttemptEnd {
        let handler = self
            .handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&job.kind)
            .cloned();
        let Some(handler) = handler else {
            return AttemptEnd::Outcome(Outcome::Failed(Failure {
                kind: FailureKind::NoHandler,
                message: format!(
                    "this version of Video2Doc cannot run jobs of kind {:?}",
                    job.kind
                ),
                detail: None,
                retryable: false,
                upstream: None,
            }));
        };
        let ctx = match self.context(job, lease, slot.attempt.clone()) {
            Ok(c) => c,
            Err(e) => {
                return AttemptEnd::Outcome(Outcome::Failed(Failure {
                    kind: FailureKind::Error,
                    message: format!("the job's input could not be read: {e}"),
                    detail: None,
                    retryable: false,
                    upstream: None,
                }))
            }
        };
        let mut task = tokio::spawn(handler.run(ctx));
        let timeout = job.timeout_ms.map(Duration::from_millis);
        let deadline = async {
            match timeout {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let token = slot.attempt.token.clone();
        let early = tokio::select! {
            r = &mut task => Some(r),
            _ = deadline => { slot.request_stop(StopReason::Timeout); None }
            _ = token.cancelled() => None,
        };
        let stop = *lock(&slot.stop);
        let result = match early {
            Some(r) => Some(r),
            None => {
                slot.attempt.kill_children();
                let grace = match stop {
                    Some(StopReason::Timeout) => self.config.timeout_grace,
                    Some(StopReason::Shutdown) => self.config.shutdown_grace,
                    _ => self.config.cancel_grace,
                };
                match tokio::time::timeout(grace, &mut task).await {
                    Ok(r) => Some(r),
                    Err(_) => {
                        tracing::warn!(
                            grace_ms = grace.as_millis() as u64,
                            "the job did not stop in time; abandoned"
                        );
                        task.abort();
                        None
                    }
                }
            }
        };
        match stop {
            Some(StopReason::Cancel) => {
                AttemptEnd::Outcome(Outcome::Cancelled("cancelled by request".into()))
            }
            Some(StopReason::Shutdown) | Some(StopReason::LeaseLost) => AttemptEnd::Release,
            Some(StopReason::Timeout) => {
                let limit = timeout.unwrap_or_default();
                AttemptEnd::Outcome(Outcome::Failed(Failure {
                    kind: FailureKind::Timeout,
                    message: format!(
                        "timed out after {} (the time limit of this job){}",
                        human_duration(limit),
                        if result.is_none() {
                            "; it did not stop and was abandoned"
                        } else {
                            ""
                        }
                    ),
                    detail: None,
                    retryable: true,
                    upstream: None,
                }))
            }
            None => match result {
                Some(Ok(Ok(value))) => match self.store_payload(job.id, "result", &value) {
                    Ok(p) => AttemptEnd::Outcome(Outcome::Succeeded(p)),
                    Err(e) => AttemptEnd::Outcome(Outcome::Failed(Failure {
                        kind: FailureKind::Error,
                        message: format!("the job's result could not be saved: {e}"),
                        detail: None,
                        retryable: true,
                        upstream: None,
                    })),
                },
                Some(Ok(Err(e))) => AttemptEnd::Outcome(Outcome::Failed(failure_of(e))),
                Some(Err(join)) => {
                    let msg = if join.is_panic() {
                        let p = join.into_panic();
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".into())
                    } else {
                        "the task was aborted".into()
                    };
                    AttemptEnd::Outcome(Outcome::Failed(Failure {
                        kind: FailureKind::Error,
                        message: format!("internal error in the {} step: {msg}", job.kind),
                        detail: None,
                        retryable: false,
                        upstream: None,
                    }))
                }
                None => unreachable!("an abandoned attempt always has a stop reason"),
            },
        }
    }

    fn context(
        &self,
        job: &JobRecord,
        lease: u64,
        attempt: Arc<Attempt>,
    ) -> Result<JobContext, QueueError> {
        let payload = self.load_payload(&job.payload, "payload")?;
        let mut deps = BTreeMap::new();
        for &d in &job.deps {
            if let Some(dep) = self.load_job(d)? {
                if let Some(r) = &dep.result {
                    deps.insert(d, self.load_payload(r, "result")?);
                }
            }
        }
        Ok(JobContext {
            id: job.id,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            attempt: job.attempts,
            payload,
            deps,
            lease,
            work_dir: self.files.as_ref().map(|f| f.join(job.id.to_string())),
            attempt_state: attempt,
            store: self.store.clone(),
            bus: self.bus.clone(),
            policy: ProgressPolicy {
                persist_every: self.config.progress_persist_every,
                emit_every: self.config.progress_emit_every,
            },
        })
    }

    /// Periodic maintenance: purge past retention, statistics snapshots.
    /// On a shared store every worker runs this loop, but each period's maintenance is
    /// claimed in the store first, so that it runs once per period, not once per worker.
    async fn maintain(self: Arc<Self>) {
        loop {
            match self.may_block(|| self.maintenance_due(self.lease_now())) {
                Ok(true) => self.may_block(|| self.maintenance()),
                Ok(false) => tracing::debug!("maintenance of this period ran elsewhere"),
                Err(e) => tracing::warn!(error = %e, "could not claim this period's maintenance"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.maintenance_every) => {}
                _ = self.shutdown.cancelled() => break,
            }
        }
    }

    fn maintenance(&self) {
        let retention = self.config.retention.as_millis() as u64;
        match self.purge(self.now().saturating_sub(retention)) {
            Ok(n) if n > 0 => tracing::info!(jobs = n, "purged finished jobs past retention"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "purging finished jobs failed"),
        }
        if let Err(e) = crate::stats::snapshot(self, self.now()) {
            tracing::error!(error = %e, "saving a statistics snapshot failed");
        }
    }

    /// Whether this worker runs the maintenance now: always on an exclusive store; on a
    /// shared one only if no worker ran it in the last 90% of a period (claimed in one
    /// transaction, so two workers never both win; `now` on the lease clock, which every
    /// worker shares).
    fn maintenance_due(&self, now: Millis) -> Result<bool, QueueError> {
        if !self.is_shared() {
            return Ok(true);
        }
        let every = self.config.maintenance_every.as_millis() as u64;
        let (won, _) = self.committer.apply(
            false,
            |t| {
                let last = t
                    .get(Space::Meta, MAINTENANCE_KEY.as_bytes())?
                    .and_then(|v| v.as_slice().try_into().ok())
                    .map(u64::from_be_bytes);
                if last.is_some_and(|l| now < l.saturating_add(every / 10 * 9)) {
                    return Ok(false);
                }
                t.insert(Space::Meta, MAINTENANCE_KEY.as_bytes(), &now.to_be_bytes())?;
                Ok(true)
            },
            |_| Vec::new(),
        )?;
        Ok(won)
    }

    fn purge(&self, before: Millis) -> Result<usize, QueueError> {
        let space = Space::Index(Index::Finished);
        let mut n = 0;
        let mut start = Vec::new();
        loop {
            let keys =
                self.store
                    .scan_keys(space, &start, Some(&index::time_bound(before)), 1024)?;
            for k in &keys {
                let Some(id) = index::id_from_key(k) else {
                    continue;
                };
                let (purged, _) =
                    self.apply(false, |t| transition::purge(t, id), |_| Vec::new())?;
                if purged.is_some() {
                    n += 1;
                    if let Some(files) = &self.files {
                        let dir = files.join(id.to_string());
                        if let Err(e) = std::fs::remove_dir_all(&dir) {
                            if e.kind() != std::io::ErrorKind::NotFound {
                                tracing::warn!(dir = %dir.display(), error = %e, "could not delete a purged job's files");
                            }
                        }
                    }
                }
            }
            match keys.last() {
                Some(last) if keys.len() == 1024 => {
                    start = last.clone();
                    start.push(0);
                }
                _ => break,
            }
        }
        if n > 0 {
            self.committer.flush()?;
        }
        Ok(n)
    }
}

enum AttemptEnd {
    Outcome(Outcome),
    Release,
}

fn failure_of(e: JobError) -> Failure {
    Failure {
        kind: FailureKind::Error,
        message: e.message,
        detail: e.detail,
        retryable: e.retryable,
        upstream: None,
    }
}

/// "1 h 5 min", "30 s", "250 ms".
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}
