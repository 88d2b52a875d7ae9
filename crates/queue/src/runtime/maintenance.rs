//! Maintenance: the periodic loop of a started queue that purges finished jobs past
//! retention (with their files) and saves a statistics snapshot. On an exclusive store
//! it runs in every period; on a shared store each period's run is claimed in the store
//! first ([`Inner::maintenance_due`]), so it runs once per period, not once per worker.

use std::sync::Arc;

use super::Inner;
use crate::error::QueueError;
use crate::index::{self, Index};
use crate::job::Millis;
use crate::store::Space;
use crate::transition;

/// When the last maintenance of a shared store started (big-endian millis).
const MAINTENANCE_KEY: &str = "maintenance_at";

impl Inner {
    /// Periodic maintenance: purge past retention, statistics snapshots.
    /// On a shared store every worker runs this loop, but each period's maintenance is
    /// claimed in the store first, so that it runs once per period, not once per worker.
    pub(super) async fn maintain(self: Arc<Self>) {
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
        if let Err(e) = super::stats::snapshot(self, self.now()) {
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

    pub(super) fn purge(&self, before: Millis) -> Result<usize, QueueError> {
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
