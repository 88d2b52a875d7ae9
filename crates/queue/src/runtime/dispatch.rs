//! The dispatcher: the loop that promotes due scheduled jobs, claims ready jobs into free
//! worker slots queue by queue (per-queue concurrency and pause, highest priority first,
//! under a lease), and runs each claimed attempt: its handler under the job's timeout and
//! cancellation (token, then a grace, then abandoned), its [`JobContext`] built from the
//! payload and the results of its dependencies, and its end recorded as one transition
//! (retried with backoff while the store is unreachable or takes no writes). No job is
//! claimed while the store takes no writes or its disk is nearly full ([`super::disk`]).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::Rng;
use tracing::Instrument;

use super::{lock_unpoisoned, state_events, Inner, Slot, StopReason};
use crate::commit::CommitError;
use crate::context::{Attempt, JobContext, JobError, ProgressPolicy};
use crate::error::QueueError;
use crate::events::Event;
use crate::index::{self, Index};
use crate::job::{Failure, FailureKind, JobRecord, Millis, Rejection, State};
use crate::store::{prefix_end, Space, StoreError};
use crate::transition::{self, Change, Outcome};

impl Inner {
    /// The dispatcher: promotes due jobs, fills free slots, sleeps until woken or due.
    pub(super) async fn dispatch(self: Arc<Self>) {
        loop {
            if self.shutdown.is_cancelled() {
                break;
            }
            let stopped = self.may_block(|| self.claims_stopped());
            let next_due = if self.committer.unwritable().is_some() {
                None
            } else {
                match self.may_block(|| self.promote_due()) {
                    Ok(n) => n,
                    Err(e) => {
                        tracing::error!(error = %e, "promoting scheduled jobs failed");
                        None
                    }
                }
            };
            if stopped.is_none() {
                if let Err(e) = self.may_block(|| self.fill_slots()) {
                    tracing::error!(error = %e, "claiming jobs failed");
                }
            }
            // On a shared store other processes enqueue too: their events wake this loop,
            // and since an event can be lost with a connection, it also looks every poll.
            // While no job may start it looks as often, to start them once they may.
            let longest = if self.is_shared() || stopped.is_some() {
                self.config.poll_every.max(Duration::from_millis(50)) * 4
            } else {
                Duration::from_secs(30)
            };
            let wait = next_due
                .map(|t| Duration::from_millis(t.saturating_sub(self.now()).max(1)))
                .unwrap_or(longest)
                .min(longest);
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
                _ = self.shutdown.cancelled() => break,
            }
        }
    }

    /// Makes due scheduled jobs ready; returns the time the next one is due.
    fn promote_due(&self) -> Result<Option<Millis>, QueueError> {
        let space = Space::Index(Index::Scheduled);
        loop {
            let now = self.now();
            let due = self
                .store
                .scan_keys(space, &[], Some(&index::time_bound(now)), 512)?;
            for k in &due {
                if let Some(id) = index::id_from_key(k) {
                    match self.apply(false, |t| transition::promote(t, id, now), |_| Vec::new()) {
                        Ok(_) => {}
                        Err(CommitError::Store(StoreError::Rejected(_))) => {
                            self.drop_dangling(id)?
                        }
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            if due.len() < 512 {
                break;
            }
        }
        let next = self.store.scan_keys(space, &[], None, 1)?;
        Ok(next.first().and_then(|k| index::time_of_key(k)))
    }

    /// Queues that have ready jobs, from the ready index.
    fn ready_queues(&self) -> Result<Vec<String>, QueueError> {
        let mut out = Vec::new();
        let mut start = Vec::new();
        loop {
            let keys = self
                .store
                .scan_keys(Space::Index(Index::Ready), &start, None, 1)?;
            let Some(k) = keys.first() else { break };
            let Some(nul) = k.iter().position(|b| *b == 0) else {
                break;
            };
            let q = String::from_utf8_lossy(&k[..nul]).into_owned();
            start = prefix_end(&k[..=nul]).unwrap_or_default();
            out.push(q);
            if start.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// Claims ready jobs into free slots, queue by queue; a queue that fails is logged
    /// and the next one is served.
    fn fill_slots(self: &Arc<Self>) -> Result<(), QueueError> {
        if self.all_paused.load(Ordering::SeqCst) || self.shutdown.is_cancelled() {
            return Ok(());
        }
        for queue in self.ready_queues()? {
            if let Err(e) = self.fill_queue(&queue) {
                tracing::error!(queue, error = %e, "claiming jobs of a queue failed");
            }
        }
        Ok(())
    }

    fn fill_queue(self: &Arc<Self>, queue: &str) -> Result<(), QueueError> {
        loop {
            {
                let mut lanes = lock_unpoisoned(&self.lanes);
                let lane = lanes.entry(queue.to_string()).or_default();
                let limit = lane
                    .settings
                    .concurrency
                    .unwrap_or(self.config.default_concurrency);
                if lane.settings.paused || lane.running >= limit {
                    return Ok(());
                }
            }
            match self.claim_next(queue)? {
                Some(job) => self.start_attempt(job),
                None => return Ok(()),
            }
        }
    }

    fn claim_next(&self, queue: &str) -> Result<Option<JobRecord>, QueueError> {
        let prefix = index::ready_prefix(queue);
        let end = prefix_end(&prefix);
        let keys = self
            .store
            .scan_keys(Space::Index(Index::Ready), &prefix, end.as_deref(), 8)?;
        let now = self.now();
        for k in keys {
            let Some(id) = index::id_from_key(&k) else {
                continue;
            };
            let lease: u64 = rand::rng().random();
            let until = self.lease_deadline(self.lease_now());
            let r = self.apply(
                false,
                |t| transition::claim_leased(t, id, now, lease, Some(until)),
                |job| vec![Event::State(Change::of(job, Some(State::Pending)))],
            );
            match r {
                Ok((job, _)) => {
                    let mut lanes = lock_unpoisoned(&self.lanes);
                    lanes.entry(queue.to_string()).or_default().running += 1;
                    return Ok(Some(job));
                }
                // The record is gone (set aside just now, or damage): so goes its entry.
                Err(CommitError::Store(StoreError::Rejected(Rejection::NotFound(_)))) => {
                    self.drop_dangling(id)?;
                }
                Err(CommitError::Store(StoreError::Rejected(r))) => {
                    tracing::debug!(job = %id, reason = %r, "skipped a stale ready entry");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    fn start_attempt(self: &Arc<Self>, job: JobRecord) {
        let attempt = Arc::new(Attempt::new());
        let slot = Arc::new(Slot {
            queue: job.queue.clone(),
            kind: job.kind.clone(),
            since: self.now(),
            lease: job.lease.expect("a claimed job has a lease"),
            attempt: attempt.clone(),
            stop: Mutex::new(None),
        });
        lock_unpoisoned(&self.slots).insert(job.id, slot.clone());
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        let inner = self.clone();
        self.attempts
            .spawn(async move { inner.run_attempt(job, slot).await }.instrument(span));
    }

    async fn run_attempt(self: Arc<Self>, job: JobRecord, slot: Arc<Slot>) {
        let lease = job.lease.expect("a claimed job has a lease");
        let outcome = self.attempt_outcome(&job, lease, &slot).await;
        let jitter: f64 = rand::rng().random();
        // A store that cannot be reached (a shared store's connection lost) is tried
        // again with backoff: the attempt's work is kept and recorded once it is back.
        // If the lease ran out meanwhile, the lease check refuses a second record.
        let mut pause = Duration::from_millis(200);
        let gave_up_at = tokio::time::Instant::now() + Duration::from_secs(600);
        // A store that takes no writes (a full disk) is waited for the same way, for as
        // long as it takes, unless the queue closes first (the job then runs again at the
        // next start).
        let r = loop {
            let now = self.now();
            let r = self.may_block(|| match &outcome {
                AttemptEnd::Release => self.apply(
                    true,
                    |t| transition::release(t, job.id, lease, now),
                    |c| state_events(c),
                ),
                AttemptEnd::Outcome(o) => self.apply(
                    true,
                    |t| transition::finish(t, job.id, lease, o.clone(), now, jitter),
                    |c| state_events(c),
                ),
            });
            match r {
                Err(CommitError::Store(e))
                    if e.is_unavailable() && tokio::time::Instant::now() < gave_up_at =>
                {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "the job store is unreachable; the end of the attempt will be recorded when it is back");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(CommitError::Unwritable(e)) if !self.shutdown.is_cancelled() => {
                    tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "the job store takes no writes; the end of the attempt will be recorded once it does");
                    tokio::select! {
                        _ = tokio::time::sleep(pause) => {}
                        _ = self.shutdown.cancelled() => {}
                    }
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                r => break r,
            }
        };
        lock_unpoisoned(&self.slots).remove(&job.id);
        if let Some(l) = lock_unpoisoned(&self.lanes).get_mut(&job.queue) {
            l.running = l.running.saturating_sub(1);
        }
        self.wake.notify_one();
        match r {
            Ok((_, ack)) => {
                if let Err(e) = ack.durable().await {
                    tracing::error!(error = %e, "recording the end of the job failed");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the end of the attempt was not recorded"),
        }
    }

    async fn attempt_outcome(&self, job: &JobRecord, lease: u64, slot: &Slot) -> AttemptEnd {
        let handler = self
            .handlers
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&job.kind)
            .cloned();
        let Some(handler) = handler else {
            return AttemptEnd::Outcome(Outcome::Failed(Failure {
                kind: FailureKind::NoHandler,
                message: format!(
                    "this version of Video2Doc cannot run jobs of kind {:?}",
                    job.kind
                ),
                detail: None,
                retryable: false,
                upstream: None,
            }));
        };
        let ctx = match self.context(job, lease, slot.attempt.clone()) {
            Ok(c) => c,
            Err(e) => {
                return AttemptEnd::Outcome(Outcome::Failed(Failure {
                    kind: FailureKind::Error,
                    message: format!("the job's input could not be read: {e}"),
                    detail: None,
                    retryable: false,
                    upstream: None,
                }))
            }
        };
        let mut task = tokio::spawn(handler.run(ctx));
        let timeout = job.timeout_ms.map(Duration::from_millis);
        let deadline = async {
            match timeout {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let token = slot.attempt.token.clone();
        let early = tokio::select! {
            r = &mut task => Some(r),
            _ = deadline => { slot.request_stop(StopReason::Timeout); None }
            _ = token.cancelled() => None,
        };
        let stop = *lock_unpoisoned(&slot.stop);
        let result = match early {
            Some(r) => Some(r),
            None => {
                slot.attempt.kill_children();
                let grace = match stop {
                    Some(StopReason::Timeout) => self.config.timeout_grace,
                    Some(StopReason::Shutdown) => self.config.shutdown_grace,
                    _ => self.config.cancel_grace,
                };
                match tokio::time::timeout(grace, &mut task).await {
                    Ok(r) => Some(r),
                    Err(_) => {
                        tracing::warn!(
                            grace_ms = grace.as_millis() as u64,
                            "the job did not stop in time; abandoned"
                        );
                        task.abort();
                        None
                    }
                }
            }
        };
        match stop {
            Some(StopReason::Cancel) => {
                AttemptEnd::Outcome(Outcome::Cancelled("cancelled by request".into()))
            }
            Some(StopReason::Shutdown) | Some(StopReason::LeaseLost) => AttemptEnd::Release,
            Some(StopReason::Timeout) => {
                let limit = timeout.unwrap_or_default();
                AttemptEnd::Outcome(Outcome::Failed(Failure {
                    kind: FailureKind::Timeout,
                    message: format!(
                        "timed out after {} (the time limit of this job){}",
                        human_duration(limit),
                        if result.is_none() {
                            "; it did not stop and was abandoned"
                        } else {
                            ""
                        }
                    ),
                    detail: None,
                    retryable: true,
                    upstream: None,
                }))
            }
            None => match result {
                Some(Ok(Ok(value))) => match self.store_payload(job.id, "result", &value) {
                    Ok(p) => AttemptEnd::Outcome(Outcome::Succeeded(p)),
                    Err(e) => AttemptEnd::Outcome(Outcome::Failed(Failure {
                        kind: FailureKind::Error,
                        message: format!("the job's result could not be saved: {e}"),
                        detail: None,
                        retryable: true,
                        upstream: None,
                    })),
                },
                Some(Ok(Err(e))) => AttemptEnd::Outcome(Outcome::Failed(failure_of(e))),
                Some(Err(join)) => {
                    let msg = if join.is_panic() {
                        let p = join.into_panic();
                        p.downcast_ref::<String>()
                            .cloned()
                            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "unknown panic".into())
                    } else {
                        "the task was aborted".into()
                    };
                    AttemptEnd::Outcome(Outcome::Failed(Failure {
                        kind: FailureKind::Error,
                        message: format!("internal error in the {} step: {msg}", job.kind),
                        detail: None,
                        retryable: false,
                        upstream: None,
                    }))
                }
                None => unreachable!("an abandoned attempt always has a stop reason"),
            },
        }
    }

    fn context(
        &self,
        job: &JobRecord,
        lease: u64,
        attempt: Arc<Attempt>,
    ) -> Result<JobContext, QueueError> {
        let payload = self.load_payload(&job.payload, "payload")?;
        let mut deps = BTreeMap::new();
        for &d in &job.deps {
            if let Some(dep) = self.load_job(d)? {
                if let Some(r) = &dep.result {
                    deps.insert(d, self.load_payload(r, "result")?);
                }
            }
        }
        Ok(JobContext {
            id: job.id,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            attempt: job.attempts,
            payload,
            deps,
            lease,
            work_dir: self.files.as_ref().map(|f| f.join(job.id.to_string())),
            attempt_state: attempt,
            store: self.store.clone(),
            bus: self.bus.clone(),
            policy: ProgressPolicy {
                persist_every: self.config.progress_persist_every,
                emit_every: self.config.progress_emit_every,
            },
            clock: self.config.clock.clone(),
        })
    }
}

enum AttemptEnd {
    Outcome(Outcome),
    Release,
}

fn failure_of(e: JobError) -> Failure {
    Failure {
        kind: FailureKind::Error,
        message: e.message,
        detail: e.detail,
        retryable: e.retryable,
        upstream: None,
    }
}

/// "1 h 5 min", "30 s", "250 ms".
fn human_duration(d: Duration) -> String {
    let ms = d.as_millis() as u64;
    if ms < 1000 {
        return format!("{ms} ms");
    }
    let s = ms / 1000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}
