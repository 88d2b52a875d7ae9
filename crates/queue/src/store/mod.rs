//! Storage behind the queue: the [`Store`] trait every backend implements, and the
//! typed view ([`Txn`]) that the state machine works through inside one transaction.
//!
//! A backend stores bytes in a few fixed key spaces ([`Space`]) and runs a closure
//! atomically; it knows nothing of job semantics. Records are JSON; index entries are
//! derived by [`crate::index::entries`], so every backend indexes the same way. The same
//! conformance suite (`tests/conformance.rs`) runs against every backend.
//!
//! A backend that several processes use at once (Redis) also implements [`SharedStore`]:
//! it carries opaque messages between those processes, tells the time every process
//! shares (for leases), and its presence tells the runtime that jobs are recovered by
//! lease deadline rather than all at open.
//!
//! A value that does not decode is reported with where it lives ([`Undecodable`]), so
//! that the runtime can set it aside ([`crate::runtime::quarantine`]) and carry on. A
//! backend whose writes can fail until it is reopened (sled on a full disk) says so
//! ([`Store::can_reopen`]) and reopens in place ([`Store::reopen`]); [`crate::commit`]
//! does the rest.

pub mod memory;
#[cfg(feature = "redis")]
pub mod redis_store;
pub mod sled_store;

use std::cell::RefCell;
use std::path::PathBuf;

use crate::dir_lock::LockError;
use crate::index::{self, Index};
use crate::job::{GroupId, GroupRecord, JobId, JobRecord, Millis, Rejection};

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis_store::{RedisConfig, RedisStore};
pub use sled_store::SledStore;

/// The on-disk format version this build writes and reads.
pub const SCHEMA_VERSION: u32 = 1;

/// A key space of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Space {
    /// JobId (big endian) -> JobRecord (JSON).
    Jobs,
    /// GroupId (big endian) -> GroupRecord (JSON).
    Groups,
    /// Settings that must survive a restart (paused queues, concurrency, schema version).
    Meta,
    /// Periodic statistics snapshots by time.
    Stats,
    /// Values that did not decode, moved here unchanged: `<space name>/<key>` -> bytes.
    Quarantine,
    Index(Index),
}

impl Space {
    pub const ALL: [Space; 10] = [
        Space::Jobs,
        Space::Groups,
        Space::Meta,
        Space::Stats,
        Space::Quarantine,
        Space::Index(Index::Ready),
        Space::Index(Index::Scheduled),
        Space::Index(Index::Finished),
        Space::Index(Index::ByState),
        Space::Index(Index::Dedup),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Space::Jobs => "jobs",
            Space::Groups => "groups",
            Space::Meta => "meta",
            Space::Stats => "stats",
            Space::Quarantine => "quarantine",
            Space::Index(i) => i.name(),
        }
    }

    pub(crate) fn position(self) -> usize {
        Space::ALL
            .iter()
            .position(|s| *s == self)
            .expect("every space is listed")
    }
}

/// A stored value that does not decode (damage, or written by a newer build), with
/// where it lives and its bytes, so that it can be set aside.
#[derive(thiserror::Error)]
#[error("the stored {what} could not be read: {source}")]
pub struct Undecodable {
    pub space: Space,
    pub key: Vec<u8>,
    /// What it should have been ("job 12").
    pub what: String,
    pub bytes: Vec<u8>,
    #[source]
    pub source: serde_json::Error,
}

impl Undecodable {
    /// The job whose record this is, if it is one.
    pub fn job(&self) -> Option<JobId> {
        (self.space == Space::Jobs)
            .then(|| index::id_from_key(&self.key))
            .flatten()
    }
}

impl std::fmt::Debug for Undecodable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Undecodable")
            .field("space", &self.space)
            .field("what", &self.what)
            .field("bytes", &self.bytes.len())
            .field("source", &self.source)
            .finish()
    }
}

/// Errors of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("the job store at {path} was written by a newer Video2Doc (format {found}, this version reads up to {supported}); update Video2Doc or choose another data folder")]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    #[error(transparent)]
    Locked(#[from] LockError),
    #[error(transparent)]
    Corrupt(Box<Undecodable>),
    #[error("the job store at {path} failed: {source}")]
    Sled {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    /// The store was closed to be reopened after a failed write, and opening it again failed.
    #[error(
        "the job store at {path} is closed after a failed write; it is opened again once it can be"
    )]
    Closed { path: PathBuf },
    #[error("could not use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The Redis server answered with an error, or an operation failed for good.
    #[cfg(feature = "redis")]
    #[error("the Redis job store at {url} failed: {source}")]
    Redis {
        url: String,
        #[source]
        source: redis::RedisError,
    },
    /// The Redis server could not be reached (refused, dropped, timed out) after retries.
    #[cfg(feature = "redis")]
    #[error("the Redis job store at {url} is unreachable ({what}): {source}")]
    Unreachable {
        url: String,
        what: &'static str,
        #[source]
        source: redis::RedisError,
    },
    /// A transaction could not commit because others kept changing what it read.
    #[error("the job store at {store} was too busy: a transaction conflicted {attempts} times")]
    Contention { store: String, attempts: u32 },
}

impl StoreError {
    /// Whether the store could not be reached: trying again later may succeed.
    pub fn is_unavailable(&self) -> bool {
        #[cfg(feature = "redis")]
        if matches!(self, StoreError::Unreachable { .. }) {
            return true;
        }
        false
    }

    /// Whether a write to the disk failed (a full disk): the store takes no writes until
    /// it is reopened ([`Store::reopen`]).
    pub fn is_write_failure(&self) -> bool {
        matches!(
            self,
            StoreError::Sled {
                source: sled::Error::Io(_),
                ..
            } | StoreError::Closed { .. }
        )
    }

    /// The value that did not decode, if that is what this is.
    pub fn undecodable(&self) -> Option<&Undecodable> {
        match self {
            StoreError::Corrupt(u) => Some(u),
            _ => None,
        }
    }
}

impl From<Undecodable> for StoreError {
    fn from(u: Undecodable) -> Self {
        StoreError::Corrupt(Box::new(u))
    }
}

/// Why a closure inside a transaction stopped.
#[derive(Debug, thiserror::Error)]
pub enum TxError {
    /// The operation is not allowed; the transaction is rolled back.
    #[error(transparent)]
    Rejected(#[from] Rejection),
    /// A stored value does not decode.
    #[error(transparent)]
    Corrupt(Box<Undecodable>),
    /// The backend failed; it keeps the cause and reports it from `transact`.
    #[error("storage backend error")]
    Backend,
}

/// The bytes-level view of one transaction. Reads see the transaction's own writes.
pub trait RawTxn {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError>;
    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<(), TxError>;
    fn remove(&self, space: Space, key: &[u8]) -> Result<(), TxError>;
}

/// Typed access to records inside one transaction, shared by every backend.
pub trait Txn: RawTxn {
    fn get_job(&self, id: JobId) -> Result<Option<JobRecord>, TxError> {
        let key = index::id_key(id);
        self.get(Space::Jobs, &key)?
            .map(|b| {
                decode(Space::Jobs, &key, &b, || format!("job {id}")).map_err(TxError::Corrupt)
            })
            .transpose()
    }

    fn job(&self, id: JobId) -> Result<JobRecord, TxError> {
        self.get_job(id)?
            .ok_or(TxError::Rejected(Rejection::NotFound(id)))
    }

    /// Writes `after` and moves its index entries from those of `before`.
    fn put_job(&self, before: Option<&JobRecord>, after: &JobRecord) -> Result<(), TxError> {
        let new = index::entries(after);
        if let Some(b) = before {
            for old in index::entries(b) {
                if !new.contains(&old) {
                    self.remove(Space::Index(old.0), &old.1)?;
                }
            }
        }
        for (ix, k, v) in &new {
            self.insert(Space::Index(*ix), k, v)?;
        }
        let bytes = serde_json::to_vec(after).expect("job records serialize");
        self.insert(Space::Jobs, &index::id_key(after.id), &bytes)
    }

    fn remove_job(&self, job: &JobRecord) -> Result<(), TxError> {
        for (ix, k, _) in index::entries(job) {
            self.remove(Space::Index(ix), &k)?;
        }
        self.remove(Space::Jobs, &index::id_key(job.id))
    }

    fn dedup_lookup(&self, key: &str) -> Result<Option<JobId>, TxError> {
        Ok(self
            .get(Space::Index(Index::Dedup), key.as_bytes())?
            .and_then(|v| index::id_from_key(&v)))
    }

    fn get_group(&self, id: GroupId) -> Result<Option<GroupRecord>, TxError> {
        let key = id.0.to_be_bytes();
        self.get(Space::Groups, &key)?
            .map(|b| {
                decode(Space::Groups, &key, &b, || format!("group {id}")).map_err(TxError::Corrupt)
            })
            .transpose()
    }

    fn put_group(&self, g: &GroupRecord) -> Result<(), TxError> {
        let bytes = serde_json::to_vec(g).expect("group records serialize");
        self.insert(Space::Groups, &g.id.0.to_be_bytes(), &bytes)
    }

    fn remove_group(&self, id: GroupId) -> Result<(), TxError> {
        self.remove(Space::Groups, &id.0.to_be_bytes())
    }
}

impl<T: RawTxn + ?Sized> Txn for T {}

impl TxError {
    /// What a backend's `run` reports for a closure that stopped with this (not `Backend`).
    pub(crate) fn into_store_error(self) -> StoreError {
        match self {
            TxError::Rejected(r) => StoreError::Rejected(r),
            TxError::Corrupt(u) => StoreError::Corrupt(u),
            TxError::Backend => unreachable!("backend failures are reported by the backend"),
        }
    }
}

/// Decodes the value stored at `space`/`key`; `what` names it in errors.
pub fn decode<T: serde::de::DeserializeOwned>(
    space: Space,
    key: &[u8],
    bytes: &[u8],
    what: impl FnOnce() -> String,
) -> Result<T, Box<Undecodable>> {
    serde_json::from_slice(bytes).map_err(|source| {
        Box::new(Undecodable {
            space,
            key: key.to_vec(),
            what: what(),
            bytes: bytes.to_vec(),
            source,
        })
    })
}

/// One stored key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A storage backend. Implementations must make `run` atomic (all writes or none,
/// isolated from concurrent transactions) and `flush` a durability barrier for
/// every transaction that returned before it was called.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` as one transaction; the backend may call it again on a conflict.
    fn run(&self, f: &dyn Fn(&dyn RawTxn) -> Result<(), TxError>) -> Result<(), StoreError>;
    /// One value, outside any transaction.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entries with `start <= key < end` (no end: to the end of the space), in key order.
    fn scan(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;
    /// Keys only, as `scan`.
    fn scan_keys(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        Ok(self
            .scan(space, start, end, limit)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }
    /// A fresh identifier, never handed out before in this store (survives restarts).
    fn next_id(&self) -> Result<u64, StoreError>;
    /// Makes every finished transaction durable.
    fn flush(&self) -> Result<(), StoreError>;
    /// A short description for health output ("sled at /path").
    fn describe(&self) -> String;
    /// Where the store lives on disk, if anywhere.
    fn location(&self) -> Option<PathBuf> {
        None
    }
    /// Set when other processes use the same store at the same time.
    fn shared(&self) -> Option<&dyn SharedStore> {
        None
    }
    /// Whether a failed write can leave this store refusing writes until [`Store::reopen`]
    /// (sled after a full disk). The committer then keeps what it has not seen flushed,
    /// to apply again after the reopen.
    fn can_reopen(&self) -> bool {
        false
    }
    /// Closes and opens the store again in place: afterwards it holds what was on disk,
    /// and takes writes again if the disk does. Only called when [`Store::can_reopen`].
    fn reopen(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// The part of a backend that several processes share at once: an opaque message
/// channel between them (events), with delivery while connected only.
pub trait SharedStore: Send + Sync {
    /// Sends `message` to every process listening on this store (itself included).
    fn publish(&self, message: &[u8]) -> Result<(), StoreError>;
    /// Starts listening on a thread of its own, which reconnects after a lost connection
    /// and stops once the receiver is dropped.
    /// An empty message means the subscription was (re)made and what was published
    /// before it may have been missed. Returns once subscribed (or after its timeout).
    fn listen(&self) -> Result<tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>, StoreError>;
    /// The store's own clock (milliseconds since the Unix epoch): the one clock that the
    /// lease deadlines of every process sharing the store are measured with.
    fn server_time(&self) -> Result<Millis, StoreError>;
}

/// Runs `f` in one transaction of `store` and returns its result.
pub fn transact<R>(
    store: &dyn Store,
    f: impl Fn(&dyn RawTxn) -> Result<R, TxError>,
) -> Result<R, StoreError> {
    let out = RefCell::new(None);
    store.run(&|t| {
        let r = f(t)?;
        *out.borrow_mut() = Some(r);
        Ok(())
    })?;
    Ok(out
        .into_inner()
        .expect("a committed transaction produced a value"))
}

/// The end (exclusive) of a prefix scan.
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// Reads one job outside a transaction.
pub fn load_job(store: &dyn Store, id: JobId) -> Result<Option<JobRecord>, StoreError> {
    let key = index::id_key(id);
    store
        .get(Space::Jobs, &key)?
        .map(|b| decode(Space::Jobs, &key, &b, || format!("job {id}")).map_err(StoreError::Corrupt))
        .transpose()
}

/// Reads one group outside a transaction.
pub fn load_group(store: &dyn Store, id: GroupId) -> Result<Option<GroupRecord>, StoreError> {
    let key = id.0.to_be_bytes();
    store
        .get(Space::Groups, &key)?
        .map(|b| {
            decode(Space::Groups, &key, &b, || format!("group {id}")).map_err(StoreError::Corrupt)
        })
        .transpose()
}
