//! When new jobs may start, as far as the disk goes. Below a floor of free space on the
//! disk of the job store ([`crate::QueueConfig::min_free_disk`]) no new job starts: jobs
//! write (their results, the store's records, the app's files beside it), and a store
//! whose disk fills up stops taking writes altogether ([`crate::commit`]); nor does one
//! start while the store takes no writes. Running jobs go on. Health reports why
//! ([`crate::Health::claims_stopped`]), and the dispatcher looks again every few hundred
//! milliseconds, so jobs start again once there is room.

use super::{lock_unpoisoned, Inner};

/// Why new jobs do not start, for logging each change once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    Unwritable,
    LowDisk,
}

impl Inner {
    /// Free bytes on the disk of the store (of the files folder for a store elsewhere,
    /// or of its nearest folder that exists yet).
    pub(crate) fn free_disk(&self) -> Option<u64> {
        let path = self.store.location().or_else(|| self.files.clone())?;
        let existing = path.ancestors().find(|p| p.exists())?;
        fs4::available_space(existing).ok()
    }

    /// Why no new job may start now, in words; `None` when they may. Each change is logged.
    pub(crate) fn claims_stopped(&self) -> Option<String> {
        let (stop, why) = match self.committer.unwritable() {
            Some(e) => (
                Some(Stop::Unwritable),
                Some(format!("the job store takes no writes ({e})")),
            ),
            None => match self.free_disk() {
                Some(free) if free < self.config.min_free_disk => (
                    Some(Stop::LowDisk),
                    Some(format!(
                        "only {} is free on the disk of the job store; jobs start again once {} is",
                        human_bytes(free),
                        human_bytes(self.config.min_free_disk)
                    )),
                ),
                _ => (None, None),
            },
        };
        let mut last = lock_unpoisoned(&self.claims_stopped);
        if *last != stop {
            match &why {
                Some(why) => tracing::error!(reason = %why, "no new job starts"),
                None => tracing::info!("new jobs start again"),
            }
            *last = stop;
        }
        why
    }
}

/// "512 KiB", "150 MiB", "1.5 GiB".
pub(crate) fn human_bytes(n: u64) -> String {
    const KIB: f64 = 1024.0;
    let n = n as f64;
    if n < KIB * KIB {
        format!("{:.0} KiB", n / KIB)
    } else if n < KIB * KIB * KIB {
        format!("{:.0} MiB", n / (KIB * KIB))
    } else {
        format!("{:.1} GiB", n / (KIB * KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_say_them() {
        assert_eq!(human_bytes(512 * 1024), "512 KiB");
        assert_eq!(human_bytes(200 * 1024 * 1024), "200 MiB");
        assert_eq!(human_bytes(3 * 1024 * 1024 * 1024 / 2), "1.5 GiB");
    }
}
