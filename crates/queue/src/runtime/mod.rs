//! The running queue: the [`Queue`] handle and the state every part of the runtime works
//! on (`Inner`: the store and its committer, the event bus, the handlers, the lanes of
//! the named queues and the worker slots). This file owns the handle's operations
//! (enqueue, cancel, retry, priorities, hold and release, pause and concurrency, waiting),
//! the tunables ([`QueueConfig`]) and the persisted settings of each queue
//! ([`QueueSettings`]), recovery at open, and large payloads and results kept in files.
//! One runtime per process; on a shared store (Redis) several processes each run one
//! against the same jobs.
//!
//! Its parts are child modules, each an `impl Inner` (or `impl Queue`) block of its own
//! that reaches the state through `super`; none imports the others in a circle:
//!
//! - `dispatch`: the dispatcher loop, claiming, and running one attempt to its end.
//! - `maintenance`: the periodic purge and statistics snapshot.
//! - `lease`: the keeper task (lease renewal, remote cancel, the reaper, the heartbeat).
//! - [`registry`]: this worker's record among the workers sharing a store.
//! - `relay`: events between processes sharing a store.
//! - [`quarantine`]: records that do not decode, set aside; every transition and record
//!   read of the runtime goes through it.
//! - `disk`: whether new jobs may start as far as the disk and the store's writes go.
//! - [`stats`]: counts, listings, group status and health.

mod disk;
mod dispatch;
mod lease;
mod maintenance;
pub mod quarantine;
pub mod registry;
mod relay;
pub mod stats;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::{Clock, LeaseClock};
use crate::commit::{Ack, CommitError, Committer};
use crate::context::{Attempt, Handler};
use crate::error::QueueError;
use crate::events::{Event, EventBus};
use crate::index::{self, Index};
use crate::job::{GroupId, JobId, JobRecord, Millis, NewJob, Payload, Priority, Rejection, State};
use crate::store::{prefix_end, SledStore, Space, Store, StoreError, Undecodable};
use crate::transition::{self, Change, Enqueued};
use registry::{Identity, WorkerRecord};

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
    pub(crate) identity: Identity,
    /// Whether other processes' events are being received.
    pub(crate) incoming: AtomicBool,
    /// When this worker registered (set while started).
    pub(crate) registered_at: Mutex<Option<Millis>>,
    /// The clock of lease deadlines and worker expiry.
    pub(crate) lease_clock: LeaseClock,
    /// Why no job starts now, as last reported (to log changes once).
    pub(crate) claims_stopped: Mutex<Option<disk::Stop>>,
}

/// The queue. Cheap to clone; every clone is the same queue.
#[derive(Clone)]
pub struct Queue {
    pub(crate) inner: Arc<Inner>,
}

const ALL_PAUSED_KEY: &str = "all_paused";
const QUEUE_KEY_PREFIX: &str = "queue/";

/// Locks a mutex, taking it over if a panicking thread left it poisoned.
pub(crate) fn lock_unpoisoned<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
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
        let identity = Identity::new();
        relay::start_outgoing(&store, &identity, &bus);
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
        lock_unpoisoned(&self.inner.tasks).extend([d, m, k]);
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
        let slots: Vec<_> = lock_unpoisoned(&inner.slots).values().cloned().collect();
        for s in slots {
            s.request_stop(StopReason::Shutdown);
        }
        inner.attempts.close();
        inner.attempts.wait().await;
        let tasks: Vec<_> = std::mem::take(&mut *lock_unpoisoned(&inner.tasks));
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
    pub fn registered_workers(&self) -> Result<Vec<WorkerRecord>, QueueError> {
        Ok(registry::live_workers(
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
        let slot = lock_unpoisoned(&self.inner.slots).get(&id).cloned()?;
        let p = lock_unpoisoned(&slot.attempt.latest).clone();
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
            if let Some(slot) = lock_unpoisoned(&self.inner.slots).get(&id).cloned() {
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
            Some(q) => lock_unpoisoned(&self.inner.lanes)
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
        let mut stop = lock_unpoisoned(&self.stop);
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
        let mut lanes = lock_unpoisoned(&self.lanes);
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
            let mut lanes = lock_unpoisoned(&self.lanes);
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
        let mut lanes = lock_unpoisoned(&self.lanes);
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
}
