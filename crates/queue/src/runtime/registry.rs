//! The worker registry: who runs this store's jobs. Each started queue writes a
//! [`WorkerRecord`] (host, pid, version, schema, queues and their slots) into the
//! store's meta space and renews it with a heartbeat; a record whose heartbeat stopped
//! expires, is no longer listed, and is swept. A worker refuses to start while a live
//! worker of another schema version shares the store. Heartbeats and expiry are on the
//! lease clock ([`crate::clock`]), which every worker sharing a store shares.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{lock_unpoisoned, Inner};
use crate::error::QueueError;
use crate::job::Millis;
use crate::store::{prefix_end, Space, StoreError, SCHEMA_VERSION};

/// Meta keys of worker records: this prefix, then the worker id in hex.
pub const WORKER_KEY_PREFIX: &str = "worker/";

/// Who this process is, as other processes sharing the store see it.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Random per queue instance: tells this process's events from the others'.
    pub id: u64,
    pub host: String,
    pub pid: u32,
}

impl Identity {
    pub fn new() -> Identity {
        Identity {
            id: rand::random(),
            host: host_name(),
            pid: std::process::id(),
        }
    }
}

impl Default for Identity {
    fn default() -> Self {
        Identity::new()
    }
}

/// This machine's host name.
pub fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname NUL-terminates within it
        // on success (and we stop at the first NUL or the end).
        let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if r == 0 {
            let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
            let name = String::from_utf8_lossy(&buf[..end]).into_owned();
            if !name.is_empty() {
                return name;
            }
        }
    }
    std::env::var("COMPUTERNAME")
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown-host".to_string())
}

/// One registered worker (a started queue in some process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerRecord {
    /// The worker's id (hex), unique per started queue.
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// The version of the program (`CARGO_PKG_VERSION` of video2doc-queue).
    pub version: String,
    /// The store format version it reads and writes.
    pub schema: u32,
    /// Slots per queue it runs (queues it knows of; others get the default).
    pub queues: BTreeMap<String, usize>,
    pub default_concurrency: usize,
    /// Job kinds it has handlers for.
    pub kinds: Vec<String>,
    /// Jobs it is running now.
    pub running: usize,
    pub started_at: Millis,
    pub heartbeat_at: Millis,
    /// It is presumed gone if no heartbeat comes before this.
    pub expires_at: Millis,
}

fn key_of(id: u64) -> String {
    format!("{WORKER_KEY_PREFIX}{id:016x}")
}

/// Live worker records of the store, by host then pid.
pub fn live_workers(
    store: &dyn crate::store::Store,
    now: Millis,
) -> Result<Vec<WorkerRecord>, StoreError> {
    let prefix = WORKER_KEY_PREFIX.as_bytes();
    let mut out = Vec::new();
    for (_, v) in store.scan(
        Space::Meta,
        prefix,
        prefix_end(prefix).as_deref(),
        usize::MAX,
    )? {
        match serde_json::from_slice::<WorkerRecord>(&v) {
            Ok(w) if w.expires_at > now => out.push(w),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "ignored an unreadable worker record"),
        }
    }
    out.sort_by(|a, b| (&a.host, a.pid).cmp(&(&b.host, b.pid)));
    Ok(out)
}

impl Inner {
    fn worker_record(&self, started_at: Millis, now: Millis) -> WorkerRecord {
        let queues = lock_unpoisoned(&self.lanes)
            .iter()
            .map(|(name, lane)| {
                (
                    name.clone(),
                    lane.settings
                        .concurrency
                        .unwrap_or(self.config.default_concurrency),
                )
            })
            .collect();
        let ttl = self.config.lease.as_millis() as u64;
        WorkerRecord {
            id: format!("{:016x}", self.identity.id),
            host: self.identity.host.clone(),
            pid: self.identity.pid,
            version: env!("CARGO_PKG_VERSION").to_string(),
            schema: SCHEMA_VERSION,
            queues,
            default_concurrency: self.config.default_concurrency,
            kinds: self.handler_kinds(),
            running: lock_unpoisoned(&self.slots).len(),
            started_at,
            heartbeat_at: now,
            expires_at: now + ttl,
        }
    }

    /// Registers this worker, refusing if a live worker of another schema shares the store.
    pub(crate) fn register_worker(&self) -> Result<(), QueueError> {
        let now = self.lease_now();
        for w in live_workers(self.store.as_ref(), now)? {
            if w.schema != SCHEMA_VERSION {
                return Err(QueueError::IncompatibleWorker {
                    host: w.host,
                    pid: w.pid,
                    version: w.version,
                    schema: w.schema,
                    ours: SCHEMA_VERSION,
                });
            }
        }
        self.put_worker(self.worker_record(now, now))?;
        *lock_unpoisoned(&self.registered_at) = Some(now);
        Ok(())
    }

    /// Renews this worker's record.
    pub(crate) fn heartbeat(&self) -> Result<(), QueueError> {
        let Some(started) = *lock_unpoisoned(&self.registered_at) else {
            return Ok(());
        };
        self.put_worker(self.worker_record(started, self.lease_now()))
    }

    fn put_worker(&self, w: WorkerRecord) -> Result<(), QueueError> {
        let key = key_of(self.identity.id);
        let bytes = serde_json::to_vec(&w).expect("worker records serialize");
        self.committer.apply(
            false,
            |t| t.insert(Space::Meta, key.as_bytes(), &bytes),
            |_| Vec::new(),
        )?;
        Ok(())
    }

    /// Removes this worker's record (at close).
    pub(crate) fn unregister_worker(&self) -> Result<(), QueueError> {
        if lock_unpoisoned(&self.registered_at).take().is_none() {
            return Ok(());
        }
        let key = key_of(self.identity.id);
        self.committer.apply(
            false,
            |t| t.remove(Space::Meta, key.as_bytes()),
            |_| Vec::new(),
        )?;
        Ok(())
    }

    /// Deletes records of workers whose heartbeat stopped; returns how many.
    pub(crate) fn sweep_workers(&self, now: Millis) -> Result<usize, QueueError> {
        let prefix = WORKER_KEY_PREFIX.as_bytes();
        let mut n = 0;
        for (k, v) in self.store.scan(
            Space::Meta,
            prefix,
            prefix_end(prefix).as_deref(),
            usize::MAX,
        )? {
            let expired = serde_json::from_slice::<WorkerRecord>(&v)
                .map(|w| w.expires_at <= now)
                .unwrap_or(true);
            if !expired {
                continue;
            }
            let (removed, _) = self.committer.apply(
                false,
                |t| {
                    // Decided again inside the transaction: the worker may have come back.
                    let gone = match t.get(Space::Meta, &k)? {
                        Some(v) => serde_json::from_slice::<WorkerRecord>(&v)
                            .map(|w| w.expires_at <= now)
                            .unwrap_or(true),
                        None => false,
                    };
                    if gone {
                        t.remove(Space::Meta, &k)?;
                    }
                    Ok(gone)
                },
                |_| Vec::new(),
            )?;
            n += usize::from(removed);
        }
        Ok(n)
    }
}
