//! Leases on a shared store, and the keeper task of every started queue.
//!
//! On a store several processes share, "a job found running belongs to a dead process"
//! is no longer true at open: another live worker may hold it. So there a running job
//! carries a lease deadline (`JobRecord::lease_until`), its worker renews it while the
//! attempt runs, and a job whose deadline passed is taken back by whichever worker's
//! reaper sees it first (as after a crash: it runs again, or is dead after two in a row).
//! The same task polls the records of the jobs running here, so a cancel requested by
//! another process stops them within `poll_every`, and an attempt whose lease was taken
//! away stops at once. On an exclusive store (sled, memory) none of this runs: jobs found
//! running at open are recovered then, as before. The keeper also sends the worker
//! registry's heartbeat (every backend).
//!
//! Deadlines are set, renewed and compared on the lease clock ([`crate::clock`]): on a
//! shared store the store's own clock, so machines whose clocks disagree still agree on
//! when a lease ran out.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{lock_unpoisoned, Inner, StopReason};
use crate::commit::CommitError;
use crate::error::QueueError;
use crate::index::{self, Index};
use crate::job::{JobId, Millis, Rejection, State};
use crate::store::{prefix_end, Space, StoreError};
use crate::transition::{self, Change};

impl Inner {
    pub(crate) fn is_shared(&self) -> bool {
        self.store.shared().is_some()
    }

    /// Now on the lease clock: the shared store's clock, else this worker's.
    pub(crate) fn lease_now(&self) -> Millis {
        self.lease_clock.now(self.store.shared())
    }

    /// The deadline of a lease taken or renewed at `now` (on the lease clock).
    pub(crate) fn lease_deadline(&self, now: Millis) -> Millis {
        now + self.config.lease.as_millis() as u64
    }

    /// The keeper: lease renewal and cancel polling (shared stores), heartbeat, reaper.
    pub(crate) async fn keep(self: Arc<Self>) {
        let beat_every = (self.config.lease / 3).max(Duration::from_millis(50));
        let mut last_beat = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_every) => {}
                _ = self.shutdown.cancelled() => break,
            }
            if self.is_shared() {
                self.may_block(|| self.check_running());
            }
            if last_beat.elapsed() >= beat_every {
                last_beat = Instant::now();
                self.may_block(|| self.periodic());
            }
        }
    }

    /// Heartbeat; on a shared store also the reaper and the pauses made elsewhere.
    fn periodic(&self) {
        if self.committer.unwritable().is_some() {
            return;
        }
        if let Err(e) = self.heartbeat() {
            tracing::warn!(error = %e, "the worker heartbeat was not recorded");
        }
        if self.is_shared() {
            match self.reap(self.lease_now()) {
                Ok(n) if n > 0 => tracing::warn!(
                    jobs = n,
                    "took back jobs whose worker stopped renewing their lease"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "looking for expired leases failed"),
            }
            if let Err(e) = self.refresh_settings() {
                tracing::debug!(error = %e, "queue settings not refreshed");
            }
        }
        match self.sweep_workers(self.lease_now()) {
            Ok(n) if n > 0 => {
                tracing::info!(workers = n, "removed workers whose heartbeat stopped")
            }
            Ok(_) => {}
            Err(e) => tracing::debug!(error = %e, "sweeping worker records failed"),
        }
    }

    /// For each attempt running here: stop it if cancelled elsewhere or if its lease was
    /// taken away; renew its lease once a third of it has passed.
    fn check_running(&self) {
        let slots: Vec<_> = lock_unpoisoned(&self.slots)
            .iter()
            .map(|(id, s)| (*id, s.clone()))
            .collect();
        let lease_ms = self.config.lease.as_millis() as u64;
        for (id, slot) in slots {
            let job = match self.load_job(id) {
                Ok(j) => j,
                Err(e) => {
                    tracing::debug!(job = %id, error = %e, "could not check a running job");
                    continue;
                }
            };
            let held = job
                .as_ref()
                .is_some_and(|j| j.state == State::Running && j.lease == Some(slot.lease));
            if !held {
                tracing::warn!(job = %id, "this worker no longer holds the job's lease; stopping the attempt");
                slot.request_stop(StopReason::LeaseLost);
                continue;
            }
            let job = job.expect("held implies a record");
            if job.cancel_requested {
                slot.request_stop(StopReason::Cancel);
                continue;
            }
            let now = self.lease_now();
            let left = job.lease_until.unwrap_or(0).saturating_sub(now);
            if left < lease_ms * 2 / 3 {
                let until = self.lease_deadline(now);
                let r = self.apply(
                    false,
                    |t| transition::renew(t, id, slot.lease, until),
                    |_| Vec::new(),
                );
                match r {
                    Ok(_) => {}
                    Err(CommitError::Store(StoreError::Rejected(
                        Rejection::LeaseLost(_) | Rejection::NotFound(_),
                    ))) => slot.request_stop(StopReason::LeaseLost),
                    Err(e) => {
                        tracing::warn!(job = %id, error = %e, "the job's lease was not renewed")
                    }
                }
            }
        }
    }

    /// Takes back running jobs whose lease ran out by `now` (on the lease clock), except
    /// those running here.
    pub(crate) fn reap(&self, now: Millis) -> Result<usize, QueueError> {
        let prefix = index::state_prefix(State::Running);
        let end = prefix_end(&prefix);
        let keys = self.store.scan_keys(
            Space::Index(Index::ByState),
            &prefix,
            end.as_deref(),
            usize::MAX,
        )?;
        let mut n = 0;
        for k in keys {
            let Some((_, _, id)) = index::parse_state_key(&k) else {
                continue;
            };
            if lock_unpoisoned(&self.slots).contains_key(&id) {
                continue;
            }
            n += usize::from(self.reap_one(id, now)?);
        }
        Ok(n)
    }

    fn reap_one(&self, id: JobId, now: Millis) -> Result<bool, QueueError> {
        let Some(job) = self.load_job(id)? else {
            // Its record is gone (set aside just now, or damage): so go its entries.
            self.drop_dangling(id)?;
            return Ok(false);
        };
        if job.state != State::Running || job.lease_until.is_some_and(|u| u > now) {
            return Ok(false);
        }
        let r = self.apply(
            false,
            |t| transition::reap(t, id, now),
            |c: &Vec<Change>| c.iter().cloned().map(crate::events::Event::State).collect(),
        );
        let changes = match r {
            Ok((changes, _)) => changes,
            Err(CommitError::Store(StoreError::Rejected(Rejection::NotFound(_)))) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        if !changes.is_empty() {
            self.wake.notify_one();
        }
        Ok(!changes.is_empty())
    }
}
