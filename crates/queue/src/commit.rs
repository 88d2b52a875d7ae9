//! Group commit: state changes are applied as transactions at once, then acknowledged
//! only after a flush makes them durable. One flusher thread serves every caller, so a
//! single flush covers every transaction that finished while the previous one ran.
//!
//! Transactions and their registration with the flusher happen under one lock, so
//! events leave in exactly the order the changes were committed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::oneshot;

use crate::events::{Event, EventBus};
use crate::job::now_ms;
use crate::store::{transact, RawTxn, Store, StoreError, TxError};

struct Waiter {
    events: Vec<Event>,
    done: Option<oneshot::Sender<Result<(), String>>>,
}

/// Applies transactions and acknowledges them after a shared flush.
pub struct Committer {
    store: Arc<dyn Store>,
    order: Mutex<Option<Sender<Waiter>>>,
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
    pub fn new(store: Arc<dyn Store>, bus: Arc<EventBus>) -> Committer {
        let (tx, rx) = channel();
        let stats = Arc::new(FlushStats::default());
        let s = store.clone();
        let st = stats.clone();
        let thread = std::thread::Builder::new()
            .name("video2doc-queue-flusher".into())
            .spawn(move || flusher(s, bus, rx, st))
            .expect("the flusher thread starts");
        Committer {
            store,
            order: Mutex::new(Some(tx)),
            stats,
            thread: Some(thread),
        }
    }

    pub fn stats(&self) -> &FlushStats {
        &self.stats
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
        let order = self.order.lock().unwrap_or_else(|p| p.into_inner());
        let r = transact(self.store.as_ref(), f)?;
        let events = events(&r);
        let (done, rx) = if durable {
            let (tx, rx) = oneshot::channel();
            (Some(tx), Some(rx))
        } else {
            (None, None)
        };
        if !events.is_empty() || done.is_some() {
            order
                .as_ref()
                .ok_or(CommitError::FlusherGone)?
                .send(Waiter { events, done })
                .map_err(|_| CommitError::FlusherGone)?;
        }
        Ok((r, Ack(rx)))
    }
}

impl Drop for Committer {
    /// Stops the flusher after it has flushed what is queued, so that the store (and
    /// its directory lock) is released when the committer is gone.
    fn drop(&mut self) {
        self.order.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn flusher(
    store: Arc<dyn Store>,
    bus: Arc<EventBus>,
    rx: Receiver<Waiter>,
    stats: Arc<FlushStats>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        batch.extend(rx.try_iter());
        let started = Instant::now();
        let result = store.flush().map_err(|e| e.to_string());
        stats.flushes.fetch_add(1, Ordering::Relaxed);
        stats
            .commits
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        stats.last_flush_ms.store(now_ms(), Ordering::Relaxed);
        stats
            .last_flush_micros
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        if let Err(e) = &result {
            stats.failures.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, "flushing the job store failed");
        }
        for w in batch {
            if result.is_ok() {
                bus.publish_all(w.events);
            }
            if let Some(done) = w.done {
                let _ = done.send(result.clone());
            }
        }
    }
}
