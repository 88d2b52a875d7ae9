//! Group commit: state changes are applied as transactions at once, then acknowledged
//! only after a flush makes them durable. One flusher thread serves every caller, so a
//! single flush covers every transaction that finished while the previous one ran.
//!
//! Transactions and their registration with the flusher happen under one lock, so
//! events leave in exactly the order the changes were committed.
//!
//! # A store that stops taking writes
//! A backend whose writes can fail until it is reopened ([`Store::can_reopen`]: sled once
//! a write hit a full disk) gets more. The committer keeps the writes of every
//! transaction that no successful flush has covered yet (a redo log). When a write or a
//! flush fails that way:
//! - new transactions are refused at once with [`CommitError::Unwritable`], saying why;
//! - the commits caught in the failed flush keep waiting: they are neither acknowledged
//!   nor failed, and their events are kept;
//! - in the background, once the store's disk has `min_free` bytes free again, the
//!   store is reopened in place, the kept writes are applied again in commit order, and
//!   a flush makes them durable. Then the caught commits are acknowledged, their events
//!   leave in order, and transactions are taken again.
//!
//! So an acknowledgement still means "on disk", and nothing acknowledged is lost. Commits
//! still caught when the committer is dropped fail.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use crate::events::{Event, EventBus};
use crate::job::now_ms;
use crate::store::{transact, RawTxn, Space, Store, StoreError, TxError};

/// The first pause between attempts to make a failed store writable again, and the longest.
const RETRY_FIRST: Duration = Duration::from_millis(200);
const RETRY_MOST: Duration = Duration::from_secs(5);
/// Kept transactions after which a flush is asked for even if nobody waits for one.
const REDO_FLUSH_AT: usize = 1024;

struct Waiter {
    events: Vec<Event>,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

impl Waiter {
    /// A waiter that only wakes the flusher.
    fn wake() -> Waiter {
        Waiter {
            events: Vec::new(),
            done: None,
        }
    }
}

/// The writes of one transaction, by space and key (`None`: removed), in key order.
type Writes = BTreeMap<(Space, Vec<u8>), Option<Vec<u8>>>;

/// Writes not yet covered by a successful flush, numbered in commit order.
#[derive(Default)]
struct Redo {
    next: u64,
    kept: VecDeque<(u64, Writes)>,
}

/// What callers and the flusher share.
struct Gate {
    /// Held while a transaction runs and is handed to the flusher, and while the store
    /// is reopened, so that no transaction runs on a store being swapped.
    order: Mutex<Option<Sender<Waiter>>>,
    /// Why the store takes no writes now.
    failure: Mutex<Option<String>>,
    redo: Mutex<Redo>,
    /// Only stores that can be reopened keep a redo log.
    keeps_redo: bool,
    /// Free bytes the store's disk needs before the store is reopened.
    min_free: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Gate {
    fn failure(&self) -> Option<String> {
        lock(&self.failure).clone()
    }

    /// Records that the store takes no writes; logged once, when it starts.
    fn fail(&self, e: &StoreError) {
        let mut failure = lock(&self.failure);
        if failure.is_none() {
            tracing::error!(error = %e, "the job store takes no writes: no job starts, and what was caught in the failed write waits until it can be written again");
        }
        *failure = Some(e.to_string());
    }

    /// The number of the last kept transaction (0: none yet).
    fn last_kept(&self) -> u64 {
        lock(&self.redo).next
    }

    /// Forgets kept transactions up to `upto` (a flush covered them).
    fn covered(&self, upto: u64) {
        let mut redo = lock(&self.redo);
        while redo.kept.front().is_some_and(|(n, _)| *n <= upto) {
            redo.kept.pop_front();
        }
    }
}

/// Applies transactions and acknowledges them after a shared flush.
pub struct Committer {
    store: Arc<dyn Store>,
    gate: Arc<Gate>,
    stats: Arc<FlushStats>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Counters of the flusher, for health output and benchmarks.
#[derive(Debug, Default)]
pub struct FlushStats {
    pub flushes: AtomicU64,
    pub commits: AtomicU64,
    pub last_flush_ms: AtomicU64,
    pub last_flush_micros: AtomicU64,
    pub failures: AtomicU64,
}

/// A durable commit could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the job store could not be flushed to disk: {0}")]
    Flush(String),
    /// The store failed a write (a full disk) and takes none until it is reopened.
    #[error("the job store takes no writes until it can write to its disk again: {0}")]
    Unwritable(String),
    #[error("the queue's flusher has stopped")]
    FlusherGone,
}

/// The acknowledgement of one commit: resolves once it is durable.
pub struct Ack(Option<oneshot::Receiver<Result<(), String>>>);

impl Ack {
    pub async fn durable(self) -> Result<(), CommitError> {
        match self.0 {
            None => Ok(()),
            Some(rx) => match rx.await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(CommitError::Flush(e)),
                Err(_) => Err(CommitError::FlusherGone),
            },
        }
    }

    /// Blocks the current (non-async) thread until the commit is durable.
    pub fn durable_blocking(self) -> Result<(), CommitError> {
        match self.0 {
            None => Ok(()),
            Some(rx) => match rx.blocking_recv() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(CommitError::Flush(e)),
                Err(_) => Err(CommitError::FlusherGone),
            },
        }
    }
}

impl Committer {
    /// A committer for `store`. `min_free` (bytes) is the free space its disk needs
    /// before a store that stopped taking writes is reopened.
    pub fn new(store: Arc<dyn Store>, bus: Arc<EventBus>, min_free: u64) -> Committer {
        let (tx, rx) = channel();
        let stats = Arc::new(FlushStats::default());
        let gate = Arc::new(Gate {
            order: Mutex::new(Some(tx)),
            failure: Mutex::new(None),
            redo: Mutex::new(Redo::default()),
            keeps_redo: store.can_reopen(),
            min_free,
        });
        let s = store.clone();
        let st = stats.clone();
        let g = gate.clone();
        let thread = std::thread::Builder::new()
            .name("video2doc-queue-flusher".into())
            .spawn(move || flusher(s, bus, rx, st, g))
            .expect("the flusher thread starts");
        Committer {
            store,
            gate,
            stats,
            thread: Some(thread),
        }
    }

    pub fn stats(&self) -> &FlushStats {
        &self.stats
    }

    /// Why the store takes no writes now, if it does not.
    pub fn unwritable(&self) -> Option<String> {
        self.gate.failure()
    }

    /// Runs `f` as one transaction; `events` derives the events from its result. The
    /// returned [`Ack`] resolves when the transaction is on disk (`durable` false: it
    /// is still flushed and its events still leave in order, but nobody waits).
    pub fn apply<R>(
        &self,
        durable: bool,
        f: impl Fn(&dyn RawTxn) -> Result<R, TxError>,
        events: impl FnOnce(&R) -> Vec<Event>,
    ) -> Result<(R, Ack), CommitError> {
        let order = lock(&self.gate.order);
        if let Some(why) = self.gate.failure() {
            return Err(CommitError::Unwritable(why));
        }
        let run = if self.gate.keeps_redo {
            transact_recording(self.store.as_ref(), f).map(|(r, w)| (r, Some(w)))
        } else {
            transact(self.store.as_ref(), f).map(|r| (r, None))
        };
        let (r, writes) = match run {
            Ok(x) => x,
            Err(e) => {
                if self.gate.keeps_redo && e.is_write_failure() {
                    self.gate.fail(&e);
                    if let Some(tx) = order.as_ref() {
                        let _ = tx.send(Waiter::wake());
                    }
                }
                return Err(e.into());
            }
        };
        let mut kept = 0;
        if let Some(w) = writes.filter(|w| !w.is_empty()) {
            let mut redo = lock(&self.gate.redo);
            redo.next += 1;
            let n = redo.next;
            redo.kept.push_back((n, w));
            kept = redo.kept.len();
        }
        let events = events(&r);
        let (done, rx) = if durable {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        if !events.is_empty() || done.is_some() || kept >= REDO_FLUSH_AT {
            order
                .as_ref()
                .ok_or(CommitError::FlusherGone)?
                .send(Waiter { events, done })
                .map_err(|_| CommitError::FlusherGone)?;
        }
        Ok((r, Ack(rx)))
    }

    /// Makes every finished transaction durable now (outside the group commit). A write
    /// failure stops the store taking writes, as in [`Committer::apply`].
    pub fn flush(&self) -> Result<(), CommitError> {
        if let Some(why) = self.gate.failure() {
            return Err(CommitError::Unwritable(why));
        }
        self.store.flush().map_err(|e| {
            if self.gate.keeps_redo && e.is_write_failure() {
                self.gate.fail(&e);
                if let Some(tx) = lock(&self.gate.order).as_ref() {
                    let _ = tx.send(Waiter::wake());
                }
            }
            e.into()
        })
    }
}

impl Drop for Committer {
    /// Stops the flusher after it has flushed what is queued, so that the store (and
    /// its directory lock) is released when the committer is gone.
    fn drop(&mut self) {
        lock(&self.gate.order).take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The writes of one transaction, as the closure made them.
struct Recording<'a> {
    txn: &'a dyn RawTxn,
    writes: RefCell<Writes>,
}

impl RawTxn for Recording<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        self.txn.get(space, key)
    }

    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.txn.insert(space, key, value)?;
        self.writes
            .borrow_mut()
            .insert((space, key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<(), TxError> {
        self.txn.remove(space, key)?;
        self.writes.borrow_mut().insert((space, key.to_vec()), None);
        Ok(())
    }
}

/// Runs `f` in one transaction and returns its result with the writes it made (those of
/// the attempt that committed).
fn transact_recording<R>(
    store: &dyn Store,
    f: impl Fn(&dyn RawTxn) -> Result<R, TxError>,
) -> Result<(R, Writes), StoreError> {
    transact(store, |t| {
        let rec = Recording {
            txn: t,
            writes: RefCell::new(Writes::new()),
        };
        let r = f(&rec)?;
        Ok((r, rec.writes.into_inner()))
    })
}

fn flusher(
    store: Arc<dyn Store>,
    bus: Arc<EventBus>,
    rx: Receiver<Waiter>,
    stats: Arc<FlushStats>,
    gate: Arc<Gate>,
) {
    // Commits caught in a failed flush: acknowledged once the store is writable again.
    let mut caught: Vec<Waiter> = Vec::new();
    let mut pause = RETRY_FIRST;
    loop {
        let first = if gate.failure().is_some() {
            match rx.recv_timeout(pause) {
                Ok(w) => Some(w),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            }
        } else {
            match rx.recv() {
                Ok(w) => Some(w),
                Err(_) => break,
            }
        };
        let mut batch: Vec<Waiter> = first.into_iter().collect();
        batch.extend(rx.try_iter());
        if gate.failure().is_some() {
            caught.append(&mut batch);
            if writable_again(store.as_ref(), &gate) {
                pause = RETRY_FIRST;
                deliver(&bus, std::mem::take(&mut caught), &Ok(()));
            } else {
                pause = (pause * 2).min(RETRY_MOST);
            }
            continue;
        }
        let upto = gate.last_kept();
        let started = Instant::now();
        let result = store.flush();
        stats.flushes.fetch_add(1, Ordering::Relaxed);
        stats
            .commits
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        stats.last_flush_ms.store(now_ms(), Ordering::Relaxed);
        stats
            .last_flush_micros
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match result {
            Ok(()) => {
                gate.covered(upto);
                deliver(&bus, batch, &Ok(()));
            }
            Err(e) if gate.keeps_redo && e.is_write_failure() => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                gate.fail(&e);
                caught.append(&mut batch);
            }
            Err(e) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "flushing the job store failed");
                deliver(&bus, batch, &Err(e.to_string()));
            }
        }
    }
    if !caught.is_empty() {
        tracing::error!(
            commits = caught.len(),
            "the queue closed before its job store could take writes again; these changes are not saved"
        );
        let why = "the queue closed before the job store could take writes again".to_string();
        deliver(&bus, caught, &Err(why));
    }
}

/// Acknowledges `waiters` with `result`; on success their events leave, in order.
fn deliver(bus: &EventBus, waiters: Vec<Waiter>, result: &Result<(), String>) {
    for w in waiters {
        if result.is_ok() {
            bus.publish_all(w.events);
        }
        if let Some(done) = w.done {
            let _ = done.send(result.clone());
        }
    }
}

/// Tries to make a store that stopped taking writes take them again: once its disk has
/// room, reopens it, applies the kept writes again in commit order and flushes them.
fn writable_again(store: &dyn Store, gate: &Gate) -> bool {
    let _span = tracing::info_span!("store_recovery", store = %store.describe()).entered();
    let free = store
        .location()
        .and_then(|dir| fs4::available_space(&dir).ok());
    if free.is_some_and(|f| f < gate.min_free) {
        tracing::debug!(
            free = free.unwrap_or(0),
            needed = gate.min_free,
            "the job store's disk has too little room yet"
        );
        return false;
    }
    let _order = lock(&gate.order);
    let mut redo = lock(&gate.redo);
    let again = || -> Result<(), StoreError> {
        store.reopen()?;
        for (_, writes) in &redo.kept {
            store.run(&|t| {
                for ((space, key), value) in writes {
                    match value {
                        Some(v) => t.insert(*space, key, v)?,
                        None => t.remove(*space, key)?,
                    }
                }
                Ok(())
            })?;
        }
        store.flush()
    };
    match again() {
        Ok(()) => {
            let replayed = redo.kept.len();
            redo.kept.clear();
            *lock(&gate.failure) = None;
            tracing::info!(
                replayed,
                "the job store takes writes again; what waited is saved and jobs start again"
            );
            true
        }
        Err(e) => {
            tracing::debug!(error = %e, "the job store does not take writes yet");
            *lock(&gate.failure) = Some(e.to_string());
            false
        }
    }
}
