//! An exclusive lock on a file, across processes, held until the returned file is
//! dropped: waited for (polling, so that a cancel is seen) while someone else holds it.
//! Model downloads and the stages of a work folder take their turns with it.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cancelled while waiting for another to finish")]
    Cancelled,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Locks `path` (made if missing), trying again every `pause` while another holds it;
/// `waiting` is called once, when the first try finds it held. With `cancel`, a cancel
/// ends the wait within 50 ms.
pub fn lock_exclusive(
    path: &Path,
    pause: Duration,
    cancel: Option<&AtomicBool>,
    waiting: impl FnOnce(),
) -> Result<File, LockError> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let mut waiting = Some(waiting);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {
                if let Some(told) = waiting.take() {
                    told();
                }
                let until = Instant::now() + pause;
                while Instant::now() < until {
                    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                        return Err(LockError::Cancelled);
                    }
                    std::thread::sleep(Duration::from_millis(50).min(pause));
                }
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
        }
    }
}
