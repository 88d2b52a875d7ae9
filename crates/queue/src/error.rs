//! The error of every queue operation: [`QueueError`], what a caller of [`crate::Queue`]
//! gets back. It wraps the layers below (a refusal of the state machine, the store, the
//! group committer) and adds the runtime's own (files, a second start, workers that
//! cannot share a store). The `From` impls unwrap a refusal wherever it was carried, so a
//! caller matches `QueueError::Rejected` once, whichever layer refused.

use std::path::PathBuf;

use crate::commit::CommitError;
use crate::job::Rejection;
use crate::store::StoreError;

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
