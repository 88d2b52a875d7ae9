//! Observability: job counts by queue and state, durations and failure rate by job
//! kind, throughput over the last hour, worker slots, group status, health, listings,
//! and the periodic statistics snapshots kept in the store. A record that does not
//! decode is set aside ([`super::quarantine`]) and left out of listings and counts.
//!
//! Listings and counts read the store outside a transaction. sled applies a transaction
//! tree by tree, so a reader can catch a job between two index entries for an instant;
//! state changes are decided inside transactions. A caller that
//! decides something on one must allow for that: the one such decision in Video2Doc is
//! `Core::submit_complete`'s resume check (video2doc-core). `process` runs it before the
//! workers start; under running workers (`serve`, `watch`) a resubmission caught
//! mid-transition could start a second run of the same file, which then reuses the
//! cached stages.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};

use super::{Inner, Queue};
use crate::error::QueueError;
use crate::index::{self, Index};
use crate::job::{
    GroupId, GroupRecord, JobId, JobRecord, Millis, Priority, Progress, Rejection, State,
};
use crate::store::{self, prefix_end, Space};

const HOUR_MS: u64 = 3600 * 1000;

/// Durations of finished attempts of one job kind over the last hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindStats {
    pub succeeded: u64,
    pub failed: u64,
    pub mean_ms: f64,
    pub p95_ms: u64,
    /// failed / (succeeded + failed)
    pub failure_rate: f64,
}

/// Queue statistics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub at: Millis,
    /// queue -> state -> count
    pub counts: BTreeMap<String, BTreeMap<State, u64>>,
    pub totals: BTreeMap<State, u64>,
    /// job kind -> durations and failures over the last hour
    pub kinds: BTreeMap<String, KindStats>,
    /// Jobs finished in the last hour.
    pub finished_last_hour: u64,
    /// Jobs finished per minute over the last hour, oldest first (60 buckets).
    pub throughput_per_minute: Vec<u64>,
    /// failed / (succeeded + failed) over the last hour, all kinds.
    pub failure_rate: f64,
}

/// One worker slot that is running a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotInfo {
    pub job: JobId,
    pub kind: String,
    pub since: Millis,
    pub progress: Progress,
}

/// The slots of one queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerInfo {
    pub queue: String,
    pub concurrency: usize,
    pub paused: bool,
    pub running: Vec<SlotInfo>,
}

/// Aggregate status of a group (workflow).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupStatus {
    pub id: GroupId,
    pub name: String,
    pub created_at: Millis,
    /// running while any member is not finished; then succeeded if all succeeded,
    /// else failed, or cancelled when the only failures are members that could not run
    /// because a member was cancelled.
    pub state: State,
    pub counts: BTreeMap<State, u64>,
    pub total: u64,
    /// Mean progress of the members (finished members count as 1).
    pub progress: f32,
    pub members: Vec<MemberStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberStatus {
    pub id: JobId,
    pub kind: String,
    pub state: State,
    pub progress: f32,
}

/// Whether the queue can do its work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// The store takes writes and new jobs may start.
    pub ok: bool,
    pub store: String,
    pub store_writable: bool,
    pub store_error: Option<String>,
    /// Why no new job starts now (the store takes no writes, too little free disk);
    /// `None` while jobs start.
    pub claims_stopped: Option<String>,
    /// The free space (bytes) under which no new job starts.
    pub min_free_disk_bytes: u64,
    /// Stored values set aside because they could not be read ([`Queue::quarantined`]),
    /// and the first jobs among them.
    pub quarantined: u64,
    pub quarantined_jobs: Vec<JobId>,
    /// On a shared store: this worker's clock minus the store's (ms).
    pub clock_skew_ms: Option<i64>,
    pub write_probe_us: u64,
    pub last_flush_at: Option<Millis>,
    pub last_flush_us: u64,
    pub flushes: u64,
    pub commits_flushed: u64,
    pub flush_failures: u64,
    pub free_disk_bytes: Option<u64>,
    pub all_paused: bool,
    pub recovered_at_start: usize,
}

/// A short view of a job for listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    pub state: State,
    pub priority: Priority,
    pub attempts: u32,
    pub progress: Progress,
    pub created_at: Millis,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    pub error: Option<String>,
}

impl From<&JobRecord> for JobSummary {
    fn from(j: &JobRecord) -> Self {
        JobSummary {
            id: j.id,
            kind: j.kind.clone(),
            queue: j.queue.clone(),
            state: j.state,
            priority: j.priority,
            attempts: j.attempts,
            progress: j.progress.clone(),
            created_at: j.created_at,
            started_at: j.started_at,
            finished_at: j.finished_at,
            error: j.error.as_ref().map(|e| e.message.clone()),
        }
    }
}

fn counts(inner: &Inner) -> Result<BTreeMap<String, BTreeMap<State, u64>>, QueueError> {
    let mut out: BTreeMap<String, BTreeMap<State, u64>> = BTreeMap::new();
    for k in inner
        .store
        .scan_keys(Space::Index(Index::ByState), &[], None, usize::MAX)?
    {
        if let Some((state, queue, _)) = index::parse_state_key(&k) {
            *out.entry(queue.to_string())
                .or_default()
                .entry(state)
                .or_default() += 1;
        }
    }
    Ok(out)
}

pub(crate) fn compute(inner: &Inner, now: Millis) -> Result<Stats, QueueError> {
    let counts = counts(inner)?;
    let mut totals = BTreeMap::new();
    for per in counts.values() {
        for (s, n) in per {
            *totals.entry(*s).or_default() += n;
        }
    }
    let since = now.saturating_sub(HOUR_MS);
    let keys = inner.store.scan_keys(
        Space::Index(Index::Finished),
        &since.to_be_bytes(),
        None,
        usize::MAX,
    )?;
    let mut per_kind: BTreeMap<String, (Vec<u64>, u64)> = BTreeMap::new();
    let mut buckets = vec![0u64; 60];
    let (mut ok, mut failed) = (0u64, 0u64);
    for k in &keys {
        let (Some(at), Some(id)) = (index::time_of_key(k), index::id_from_key(k)) else {
            continue;
        };
        let b = ((at.saturating_sub(since)) / 60_000).min(59) as usize;
        buckets[b] += 1;
        let Some(job) = inner.load_job(id)? else {
            continue;
        };
        let entry = per_kind.entry(job.kind.clone()).or_default();
        match job.state {
            State::Succeeded => {
                ok += 1;
                entry.0.push(job.duration_ms().unwrap_or(0));
            }
            State::Failed | State::Dead => {
                failed += 1;
                entry.1 += 1;
            }
            _ => {}
        }
    }
    let kinds = per_kind
        .into_iter()
        .map(|(kind, (mut durations, failed))| {
            durations.sort_unstable();
            let n = durations.len() as u64;
            let mean = if n == 0 {
                0.0
            } else {
                durations.iter().sum::<u64>() as f64 / n as f64
            };
            let p95 = if n == 0 {
                0
            } else {
                durations[((n as f64 * 0.95).ceil() as usize).clamp(1, n as usize) - 1]
            };
            let rate = if n + failed == 0 {
                0.0
            } else {
                failed as f64 / (n + failed) as f64
            };
            (
                kind,
                KindStats {
                    succeeded: n,
                    failed,
                    mean_ms: mean,
                    p95_ms: p95,
                    failure_rate: rate,
                },
            )
        })
        .collect();
    Ok(Stats {
        at: now,
        counts,
        totals,
        kinds,
        finished_last_hour: keys.len() as u64,
        throughput_per_minute: buckets,
        failure_rate: if ok + failed == 0 {
            0.0
        } else {
            failed as f64 / (ok + failed) as f64
        },
    })
}

/// Saves a statistics snapshot and drops snapshots older than the retention.
pub(crate) fn snapshot(inner: &Inner, now: Millis) -> Result<(), QueueError> {
    let stats = compute(inner, now)?;
    let bytes = serde_json::to_vec(&stats).expect("stats serialize");
    let keep_from = now.saturating_sub(inner.config.retention.as_millis() as u64);
    let old = inner.store.scan_keys(
        Space::Stats,
        &[],
        Some(&keep_from.to_be_bytes()),
        usize::MAX,
    )?;
    inner.committer.apply(
        false,
        |t| {
            for k in &old {
                t.remove(Space::Stats, k)?;
            }
            t.insert(Space::Stats, &now.to_be_bytes(), &bytes)
        },
        |_| Vec::new(),
    )?;
    Ok(())
}

impl Queue {
    /// Counts, durations, throughput and failure rate.
    pub fn stats(&self) -> Result<Stats, QueueError> {
        compute(&self.inner, self.inner.now())
    }

    /// Saved statistics snapshots since `since`, oldest first (one that does not decode
    /// is set aside).
    pub fn snapshots(&self, since: Millis) -> Result<Vec<Stats>, QueueError> {
        let mut out = Vec::new();
        for (k, v) in self
            .inner
            .store
            .scan(Space::Stats, &since.to_be_bytes(), None, usize::MAX)?
        {
            match store::decode(Space::Stats, &k, &v, || "statistics snapshot".into()) {
                Ok(s) => out.push(s),
                Err(u) => {
                    self.inner.set_aside(&u)?;
                }
            }
        }
        Ok(out)
    }

    /// Saves a statistics snapshot now (maintenance does this periodically).
    pub fn snapshot_stats(&self) -> Result<(), QueueError> {
        snapshot(&self.inner, self.inner.now())
    }

    /// The worker slots of every known queue and what they run.
    pub fn workers(&self) -> Vec<WorkerInfo> {
        let inner = &self.inner;
        let slots: Vec<_> = inner
            .slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, s)| (*id, s.clone()))
            .collect();
        let lanes = inner.lanes.lock().unwrap_or_else(|p| p.into_inner());
        lanes
            .iter()
            .map(|(name, lane)| {
                let mut running: Vec<SlotInfo> = slots
                    .iter()
                    .filter(|(_, s)| &s.queue == name)
                    .map(|(id, s)| SlotInfo {
                        job: *id,
                        kind: s.kind.clone(),
                        since: s.since,
                        progress: s
                            .attempt
                            .latest
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .clone(),
                    })
                    .collect();
                running.sort_by_key(|s| s.since);
                WorkerInfo {
                    queue: name.clone(),
                    concurrency: lane
                        .settings
                        .concurrency
                        .unwrap_or(inner.config.default_concurrency),
                    // Paused on its own or with all queues: either way nothing starts.
                    paused: lane.settings.paused || inner.all_paused.load(Ordering::SeqCst),
                    running,
                }
            })
            .collect()
    }

    /// The status of a group and its members.
    pub fn group(&self, id: GroupId) -> Result<GroupStatus, QueueError> {
        let g = self
            .inner
            .load_group(id)?
            .ok_or(QueueError::Rejected(Rejection::GroupNotFound(id)))?;
        let mut jobs = Vec::with_capacity(g.members.len());
        for m in &g.members {
            if let Some(job) = self.inner.load_job(*m)? {
                jobs.push(job);
            }
        }
        Ok(self.summarize_group(g, &jobs))
    }

    /// A group's status from its record and its members' records (as loaded by the
    /// caller, e.g. from one listing of many groups).
    pub fn summarize_group(&self, g: GroupRecord, jobs: &[JobRecord]) -> GroupStatus {
        let mut counts: BTreeMap<State, u64> = BTreeMap::new();
        let mut members = Vec::new();
        let mut sum = 0.0f32;
        let mut cancelled = std::collections::BTreeSet::new();
        let mut upstream_of_failed = Vec::new();
        for job in jobs {
            let progress = if job.state.is_terminal() {
                1.0
            } else if job.state == State::Running {
                self.progress(job.id)
                    .map(|p| p.fraction)
                    .unwrap_or(job.progress.fraction)
            } else {
                0.0
            };
            sum += progress;
            *counts.entry(job.state).or_default() += 1;
            match (&job.state, &job.error) {
                (State::Cancelled, _) => {
                    cancelled.insert(job.id);
                }
                (State::Failed | State::Dead, Some(e)) => upstream_of_failed.push(e.upstream),
                (State::Failed | State::Dead, None) => upstream_of_failed.push(None),
                _ => {}
            }
            members.push(MemberStatus {
                id: job.id,
                kind: job.kind.clone(),
                state: job.state,
                progress,
            });
        }
        let total = members.len() as u64;
        let finished: u64 = counts
            .iter()
            .filter(|(s, _)| s.is_terminal())
            .map(|(_, n)| n)
            .sum();
        let has = |s: State| counts.get(&s).copied().unwrap_or(0) > 0;
        let state = if finished < total {
            if has(State::Running) || finished > 0 || has(State::Blocked) && has(State::Succeeded) {
                State::Running
            } else {
                State::Pending
            }
        } else if upstream_of_failed
            .iter()
            .any(|u| u.is_none_or(|u| !cancelled.contains(&u)))
        {
            // A member failed on its own (not only because a member was cancelled).
            State::Failed
        } else if has(State::Cancelled) {
            State::Cancelled
        } else {
            State::Succeeded
        };
        GroupStatus {
            id: g.id,
            name: g.name,
            created_at: g.created_at,
            state,
            counts,
            total,
            progress: if total == 0 { 1.0 } else { sum / total as f32 },
            members,
        }
    }

    /// A group's stored record (name and members).
    pub fn group_record(&self, id: GroupId) -> Result<GroupRecord, QueueError> {
        self.inner
            .load_group(id)?
            .ok_or(QueueError::Rejected(Rejection::GroupNotFound(id)))
    }

    /// Jobs, newest first, optionally of one state and/or queue.
    pub fn list(
        &self,
        state: Option<State>,
        queue: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobSummary>, QueueError> {
        Ok(self
            .records(state, queue, limit)?
            .iter()
            .map(|job| {
                let mut s = JobSummary::from(job);
                if let Some(p) = self.progress(job.id) {
                    s.progress = p;
                }
                s
            })
            .collect())
    }

    /// Whole job records, newest first, optionally of one state and/or queue. The
    /// progress in them is the last persisted one; [`Queue::progress`] has the live one.
    pub fn records(
        &self,
        state: Option<State>,
        queue: Option<&str>,
        limit: usize,
    ) -> Result<Vec<JobRecord>, QueueError> {
        let store = self.inner.store.as_ref();
        let mut ids: Vec<JobId> = match state {
            Some(s) => {
                let prefix = match queue {
                    Some(q) => index::state_queue_prefix(s, q),
                    None => index::state_prefix(s),
                };
                store
                    .scan_keys(
                        Space::Index(Index::ByState),
                        &prefix,
                        prefix_end(&prefix).as_deref(),
                        usize::MAX,
                    )?
                    .iter()
                    .filter_map(|k| index::id_from_key(k))
                    .collect()
            }
            None => store
                .scan_keys(Space::Jobs, &[], None, usize::MAX)?
                .iter()
                .filter_map(|k| index::id_from_key(k))
                .collect(),
        };
        ids.sort_unstable_by(|a, b| b.cmp(a));
        let mut out = Vec::new();
        for id in ids {
            if out.len() >= limit {
                break;
            }
            if let Some(job) = self.inner.load_job(id)? {
                if queue.is_none_or(|q| q == job.queue) {
                    out.push(job);
                }
            }
        }
        Ok(out)
    }

    /// Store writable, whether jobs start (and why not), last flush, free disk, records
    /// set aside.
    pub fn health(&self) -> Health {
        let inner = &self.inner;
        let started = std::time::Instant::now();
        let probe = inner
            .committer
            .apply(
                false,
                |t| t.insert(Space::Meta, b"health_probe", &inner.now().to_be_bytes()),
                |_| Vec::new(),
            )
            .and_then(|_| inner.committer.flush())
            .map_err(|e| e.to_string());
        let write_probe_us = started.elapsed().as_micros() as u64;
        let fs = self.flush_stats();
        let last = fs.last_flush_ms.load(Ordering::Relaxed);
        let free = inner.free_disk();
        let store_writable = probe.is_ok();
        let claims_stopped = inner.claims_stopped();
        let (quarantined, quarantined_jobs) = super::quarantine::count(inner.store.as_ref())
            .unwrap_or_else(|e| {
                tracing::debug!(error = %e, "the quarantine was not counted");
                (0, Vec::new())
            });
        Health {
            ok: store_writable && claims_stopped.is_none(),
            store: inner.store.describe(),
            store_writable,
            store_error: probe.err(),
            claims_stopped,
            min_free_disk_bytes: inner.config.min_free_disk,
            quarantined,
            quarantined_jobs,
            clock_skew_ms: inner.lease_clock.skew(),
            write_probe_us,
            last_flush_at: (last > 0).then_some(last),
            last_flush_us: fs.last_flush_micros.load(Ordering::Relaxed),
            flushes: fs.flushes.load(Ordering::Relaxed),
            commits_flushed: fs.commits.load(Ordering::Relaxed),
            flush_failures: fs.failures.load(Ordering::Relaxed),
            free_disk_bytes: free,
            all_paused: self.is_paused(None),
            recovered_at_start: self.recovered(),
        }
    }
}
