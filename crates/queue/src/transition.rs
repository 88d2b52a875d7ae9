//! The job state machine: every change of a job's state, written against a [`Txn`] so
//! that the caller runs each one as a single storage transaction on any backend.
//!
//! Owns the rules: which transitions are allowed, retries with backoff, crash
//! accounting, lease checks, and the propagation of failure (and revival) along
//! workflow dependencies. Each function returns the [`Change`]s it made, for events.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::job::{
    Dep, Failure, FailureKind, GroupId, GroupRecord, JobId, JobRecord, Millis, NewJob, Payload,
    Priority, Progress, Rejection, State, HELD,
};
use crate::store::{RawTxn, TxError, Txn};

/// One change of a job's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub id: JobId,
    pub kind: String,
    pub queue: String,
    pub group: Option<GroupId>,
    pub from: Option<State>,
    pub to: State,
    pub attempt: u32,
    pub note: String,
    pub error: Option<Failure>,
    /// The host of the process that made the change, on events that came from another
    /// process sharing the store; `None` for changes made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl Change {
    pub(crate) fn of(job: &JobRecord, from: Option<State>) -> Change {
        Change {
            id: job.id,
            kind: job.kind.clone(),
            queue: job.queue.clone(),
            group: job.group,
            from,
            to: job.state,
            attempt: job.attempts,
            note: job
                .history
                .last()
                .map(|h| h.note.clone())
                .unwrap_or_default(),
            error: job.error.clone(),
            host: None,
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Succeeded(Payload),
    Failed(Failure),
    Cancelled(String),
}

/// What enqueueing one job of a batch did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enqueued {
    pub id: JobId,
    /// False when a live job with the same dedup key was returned instead.
    pub created: bool,
}

fn valid_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && !s.chars().any(char::is_control)
}

/// Validates a batch before any id is spent on it.
pub fn validate(jobs: &[NewJob]) -> Result<(), Rejection> {
    for (i, j) in jobs.iter().enumerate() {
        if !valid_name(&j.queue) {
            return Err(Rejection::InvalidQueueName(j.queue.clone()));
        }
        if !valid_name(&j.kind) {
            return Err(Rejection::InvalidKind(j.kind.clone()));
        }
        for d in &j.deps {
            if let Dep::Batch(k) = d {
                if *k >= i {
                    return Err(Rejection::BadDependency { job: i, dep: *d });
                }
            }
        }
    }
    Ok(())
}

/// Enqueues a batch atomically. `ids[i]` and `payloads[i]` belong to `jobs[i]`.
pub fn enqueue(
    t: &dyn RawTxn,
    now: Millis,
    ids: &[JobId],
    jobs: &[NewJob],
    payloads: &[Payload],
    group: Option<(GroupId, &str)>,
) -> Result<(Vec<Enqueued>, Vec<Change>), TxError> {
    let mut out: Vec<Enqueued> = Vec::with_capacity(jobs.len());
    let mut changes = Vec::new();
    for (i, new) in jobs.iter().enumerate() {
        if let Some(key) = &new.dedup_key {
            if let Some(existing) = t.dedup_lookup(key)? {
                out.push(Enqueued {
                    id: existing,
                    created: false,
                });
                continue;
            }
        }
        let id = ids[i];
        let mut job = JobRecord {
            id,
            kind: new.kind.clone(),
            queue: new.queue.clone(),
            priority: new.priority,
            payload: payloads[i].clone(),
            state: State::Pending,
            attempts: 0,
            max_retries: new.max_retries,
            retries_used: 0,
            backoff: new.backoff,
            timeout_ms: new.timeout_ms,
            created_at: now,
            ready_at: now,
            waiting_until: match new.hold {
                Some(_) => Some(HELD),
                None => new.run_at.filter(|at| *at > now),
            },
            started_at: None,
            finished_at: None,
            deps: Vec::new(),
            dependents: Vec::new(),
            deps_remaining: 0,
            dedup_key: new.dedup_key.clone(),
            group: group.map(|g| g.0),
            lease: None,
            lease_until: None,
            crashes: 0,
            cancel_requested: false,
            progress: Progress::default(),
            result: None,
            error: None,
            history: Vec::new(),
            hold: new.hold.clone(),
        };
        let mut upstream_failure = None;
        for dep in &new.deps {
            let dep_id = match *dep {
                Dep::Job(d) => d,
                Dep::Batch(k) => out
                    .get(k)
                    .map(|e| e.id)
                    .ok_or(Rejection::BadDependency { job: i, dep: *dep })?,
            };
            if job.deps.contains(&dep_id) {
                continue;
            }
            let before = t
                .get_job(dep_id)?
                .ok_or(Rejection::BadDependency { job: i, dep: *dep })?;
            job.deps.push(dep_id);
            match before.state {
                State::Succeeded => {}
                s if s.is_terminal() => {
                    if upstream_failure.is_none() {
                        upstream_failure = Some(upstream_of(&before));
                    }
                }
                _ => {
                    let mut after = before.clone();
                    after.dependents.push(id);
                    t.put_job(Some(&before), &after)?;
                    job.deps_remaining += 1;
                }
            }
        }
        if let Some(f) = upstream_failure {
            job.state = State::Failed;
            job.finished_at = Some(now);
            job.error = Some(f);
            job.push_history(now, "enqueued after a job it depends on had failed");
        } else if job.deps_remaining > 0 {
            job.state = State::Blocked;
            job.push_history(now, "enqueued; waiting for the jobs it depends on");
        } else if let Some(name) = &job.hold {
            let note = format!("enqueued; held until {name} is ready");
            job.push_history(now, note);
        } else if let Some(at) = job.waiting_until {
            job.push_history(now, format!("enqueued; scheduled to start at {at}"));
        } else {
            job.push_history(now, "enqueued");
        }
        t.put_job(None, &job)?;
        changes.push(Change::of(&job, None));
        out.push(Enqueued { id, created: true });
    }
    if let Some((gid, name)) = group {
        let g = GroupRecord {
            id: gid,
            name: name.to_string(),
            created_at: now,
            members: out.iter().filter(|e| e.created).map(|e| e.id).collect(),
        };
        t.put_group(&g)?;
    }
    Ok((out, changes))
}

/// The failure a dependent of the finished, unsuccessful job `root` ends with.
fn upstream_of(root: &JobRecord) -> Failure {
    match &root.error {
        Some(e) if e.kind == FailureKind::Upstream => e.clone(),
        other => Failure {
            kind: FailureKind::Upstream,
            message: match other {
                Some(e) => format!("upstream: job {} ({}) {}", root.id, root.kind, e.message),
                None => format!(
                    "upstream: job {} ({}) was {}",
                    root.id, root.kind, root.state
                ),
            },
            detail: other.as_ref().and_then(|e| e.detail.clone()),
            retryable: false,
            upstream: Some(root.id),
        },
    }
}

/// Claims a ready job for an attempt under `lease`, with no lease deadline (on a shared
/// store, such a claim is taken back by the first reaper that sees it).
pub fn claim(t: &dyn RawTxn, id: JobId, now: Millis, lease: u64) -> Result<JobRecord, TxError> {
    claim_leased(t, id, now, lease, None)
}

/// Claims a ready job for an attempt under `lease`, held until `until` unless renewed.
pub fn claim_leased(
    t: &dyn RawTxn,
    id: JobId,
    now: Millis,
    lease: u64,
    until: Option<Millis>,
) -> Result<JobRecord, TxError> {
    let before = t.job(id)?;
    if before.state != State::Pending || before.waiting_until.is_some() {
        return Err(Rejection::WrongState {
            id,
            state: before.state,
            action: "started",
        }
        .into());
    }
    let mut job = before.clone();
    job.state = State::Running;
    job.attempts += 1;
    job.lease = Some(lease);
    job.lease_until = until;
    job.started_at = Some(now);
    job.finished_at = None;
    job.cancel_requested = false;
    job.progress = Progress::default();
    job.push_history(now, format!("attempt {} started", job.attempts));
    t.put_job(Some(&before), &job)?;
    Ok(job)
}

/// Extends a running attempt's lease to `until`, if it still holds it. Returns the
/// record, whose `cancel_requested` tells the worker to stop.
pub fn renew(t: &dyn RawTxn, id: JobId, lease: u64, until: Millis) -> Result<JobRecord, TxError> {
    let before = t.job(id)?;
    if before.state != State::Running || before.lease != Some(lease) {
        return Err(Rejection::LeaseLost(id).into());
    }
    let mut job = before.clone();
    job.lease_until = Some(until);
    t.put_job(Some(&before), &job)?;
    Ok(job)
}

/// Records a running attempt's progress, if it still holds its lease.
pub fn progress(t: &dyn RawTxn, id: JobId, lease: u64, progress: &Progress) -> Result<(), TxError> {
    let before = t.job(id)?;
    if before.state != State::Running || before.lease != Some(lease) {
        return Err(Rejection::LeaseLost(id).into());
    }
    let mut job = before.clone();
    job.progress = progress.clone();
    t.put_job(Some(&before), &job)
}

/// Adds a line to a running job's history (how it ran: a fallback taken, a device
/// used); its state does not change.
pub fn note(t: &dyn RawTxn, id: JobId, lease: u64, now: Millis, note: &str) -> Result<(), TxError> {
    let before = t.job(id)?;
    if before.state != State::Running || before.lease != Some(lease) {
        return Err(Rejection::LeaseLost(id).into());
    }
    let mut job = before.clone();
    job.push_history(now, note);
    t.put_job(Some(&before), &job)
}

/// Ends a running attempt. Retryable failures with retries left go back to pending
/// after a backoff (`jitter` in [0, 1)); the rest end the job and its dependents.
pub fn finish(
    t: &dyn RawTxn,
    id: JobId,
    lease: u64,
    outcome: Outcome,
    now: Millis,
    jitter: f64,
) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if before.state != State::Running || before.lease != Some(lease) {
        return Err(Rejection::LeaseLost(id).into());
    }
    let mut job = before.clone();
    job.lease = None;
    job.lease_until = None;
    job.crashes = 0;
    let mut changes = Vec::new();
    match outcome {
        Outcome::Succeeded(result) => {
            job.state = State::Succeeded;
            job.finished_at = Some(now);
            job.result = Some(result);
            job.error = None;
            job.progress.fraction = 1.0;
            job.push_history(now, format!("attempt {} succeeded", job.attempts));
            t.put_job(Some(&before), &job)?;
            changes.push(Change::of(&job, Some(before.state)));
            release_dependents(t, &job, now, &mut changes)?;
        }
        Outcome::Failed(f) => {
            let retry = f.retryable && !job.cancel_requested && job.retries_used < job.max_retries;
            if retry {
                job.retries_used += 1;
                let delay = job.backoff.delay_ms(job.retries_used, jitter);
                job.state = State::Pending;
                job.waiting_until = Some(now + delay);
                job.finished_at = Some(now);
                job.push_history(
                    now,
                    format!(
                        "attempt {} failed: {}; retry {} of {} in {:.1} s",
                        job.attempts,
                        f.message,
                        job.retries_used,
                        job.max_retries,
                        delay as f64 / 1000.0
                    ),
                );
                job.error = Some(f);
                t.put_job(Some(&before), &job)?;
                changes.push(Change::of(&job, Some(before.state)));
            } else {
                job.state = State::Failed;
                job.finished_at = Some(now);
                job.push_history(
                    now,
                    format!("attempt {} failed: {}", job.attempts, f.message),
                );
                job.error = Some(f);
                t.put_job(Some(&before), &job)?;
                changes.push(Change::of(&job, Some(before.state)));
                fail_dependents(t, &job, now, &mut changes)?;
            }
        }
        Outcome::Cancelled(note) => {
            job.state = State::Cancelled;
            job.finished_at = Some(now);
            job.push_history(now, note);
            t.put_job(Some(&before), &job)?;
            changes.push(Change::of(&job, Some(before.state)));
            fail_dependents(t, &job, now, &mut changes)?;
        }
    }
    Ok(changes)
}

/// A dependency succeeded: dependents whose dependencies all succeeded become ready.
fn release_dependents(
    t: &dyn RawTxn,
    job: &JobRecord,
    now: Millis,
    changes: &mut Vec<Change>,
) -> Result<(), TxError> {
    for &d in &job.dependents {
        let Some(before) = t.get_job(d)? else {
            continue;
        };
        if before.state != State::Blocked {
            continue;
        }
        let mut after = before.clone();
        after.deps_remaining = after.deps_remaining.saturating_sub(1);
        if after.deps_remaining == 0 {
            after.state = State::Pending;
            after.ready_at = now;
            after.push_history(now, "the jobs it depends on succeeded; ready");
            t.put_job(Some(&before), &after)?;
            changes.push(Change::of(&after, Some(State::Blocked)));
        } else {
            t.put_job(Some(&before), &after)?;
        }
    }
    Ok(())
}

/// `root` ended unsuccessfully: every job waiting on it, directly or not, fails with
/// an upstream error naming the job where the failure began.
fn fail_dependents(
    t: &dyn RawTxn,
    root: &JobRecord,
    now: Millis,
    changes: &mut Vec<Change>,
) -> Result<(), TxError> {
    let failure = upstream_of(root);
    let mut todo: VecDeque<JobId> = root.dependents.iter().copied().collect();
    while let Some(d) = todo.pop_front() {
        let Some(before) = t.get_job(d)? else {
            continue;
        };
        if before.state.is_terminal() || before.state == State::Running {
            continue;
        }
        let mut after = before.clone();
        after.state = State::Failed;
        after.finished_at = Some(now);
        after.error = Some(failure.clone());
        after.push_history(now, failure.message.clone());
        t.put_job(Some(&before), &after)?;
        changes.push(Change::of(&after, Some(before.state)));
        todo.extend(after.dependents.iter().copied());
    }
    Ok(())
}

/// Cancels a job. Pending and blocked jobs end at once; a running job is marked
/// (persisted) and its attempt is stopped by the runtime, which then calls `finish`.
/// Returns the changes and whether the job is running.
pub fn cancel(t: &dyn RawTxn, id: JobId, now: Millis) -> Result<(Vec<Change>, bool), TxError> {
    let before = t.job(id)?;
    let mut job = before.clone();
    let mut changes = Vec::new();
    match before.state {
        State::Pending | State::Blocked => {
            job.state = State::Cancelled;
            job.finished_at = Some(now);
            job.push_history(now, "cancelled by request");
            t.put_job(Some(&before), &job)?;
            changes.push(Change::of(&job, Some(before.state)));
            fail_dependents(t, &job, now, &mut changes)?;
            Ok((changes, false))
        }
        State::Running => {
            if !job.cancel_requested {
                job.cancel_requested = true;
                job.push_history(now, "cancel requested");
                t.put_job(Some(&before), &job)?;
            }
            Ok((changes, true))
        }
        state => Err(Rejection::WrongState {
            id,
            state,
            action: "cancelled",
        }
        .into()),
    }
}

/// Runs a failed, cancelled or dead job again, reviving the dependents its failure
/// had failed. A job that failed because of an upstream job retries that job instead.
pub fn retry(t: &dyn RawTxn, id: JobId, now: Millis) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if !matches!(before.state, State::Failed | State::Cancelled | State::Dead) {
        return Err(Rejection::WrongState {
            id,
            state: before.state,
            action: "retried",
        }
        .into());
    }
    if let Some(Failure {
        kind: FailureKind::Upstream,
        upstream: Some(origin),
        ..
    }) = &before.error
    {
        if *origin != id {
            if let Some(o) = t.get_job(*origin)? {
                if matches!(o.state, State::Failed | State::Cancelled | State::Dead) {
                    return retry(t, *origin, now);
                }
            }
        }
    }
    let mut changes = Vec::new();
    revive(t, before, now, "retry requested", &mut changes)?;
    Ok(changes)
}

/// Puts `before` back to blocked or pending by its dependencies, then does the same for
/// dependents that had failed because of it.
fn revive(
    t: &dyn RawTxn,
    before: JobRecord,
    now: Millis,
    note: &str,
    changes: &mut Vec<Change>,
) -> Result<(), TxError> {
    let root = before.id;
    let mut todo = VecDeque::from([before]);
    while let Some(before) = todo.pop_front() {
        let mut job = before.clone();
        job.retries_used = 0;
        job.crashes = 0;
        job.cancel_requested = false;
        job.result = None;
        job.finished_at = None;
        job.waiting_until = None;
        job.deps_remaining = 0;
        job.error = None;
        let mut failed_dep = None;
        for &d in &job.deps {
            match t.get_job(d)? {
                Some(dep) if dep.state == State::Succeeded => {}
                Some(dep) if dep.state.is_terminal() => {
                    failed_dep.get_or_insert(upstream_of(&dep));
                }
                Some(_) => job.deps_remaining += 1,
                None => {}
            }
        }
        if let Some(f) = failed_dep {
            // Still blocked by another failure: stays failed, naming that one.
            job.state = State::Failed;
            job.finished_at = Some(now);
            job.push_history(now, f.message.clone());
            job.error = Some(f);
            t.put_job(Some(&before), &job)?;
            changes.push(Change::of(&job, Some(before.state)));
            continue;
        }
        job.state = if job.deps_remaining > 0 {
            State::Blocked
        } else {
            State::Pending
        };
        job.ready_at = now;
        job.push_history(
            now,
            if job.id == root {
                note.to_string()
            } else {
                format!("revived: job {root} is being retried")
            },
        );
        t.put_job(Some(&before), &job)?;
        changes.push(Change::of(&job, Some(before.state)));
        for &d in &job.dependents {
            if let Some(dep) = t.get_job(d)? {
                let failed_by_root = dep.state == State::Failed
                    && dep.error.as_ref().is_some_and(|e| {
                        e.kind == FailureKind::Upstream && e.upstream == Some(root)
                    });
                if failed_by_root {
                    todo.push_back(dep);
                }
            }
        }
    }
    Ok(())
}

/// Changes the priority of a job that has not started.
pub fn set_priority(
    t: &dyn RawTxn,
    id: JobId,
    priority: Priority,
    now: Millis,
) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if !matches!(before.state, State::Pending | State::Blocked) {
        return Err(Rejection::WrongState {
            id,
            state: before.state,
            action: "reprioritised",
        }
        .into());
    }
    let mut job = before.clone();
    job.priority = priority;
    job.push_history(now, format!("priority set to {priority}"));
    t.put_job(Some(&before), &job)?;
    Ok(Vec::new())
}

/// A job that was running when the process stopped: it runs again, unless this is the
/// second crash in a row (dead) or a cancel was requested (cancelled).
pub fn recover(t: &dyn RawTxn, id: JobId, now: Millis) -> Result<Vec<Change>, TxError> {
    take_back(t, id, now, "the app stopped unexpectedly")
}

/// On a shared store: a running job whose lease ran out (its worker stopped renewing it,
/// presumably dead) is taken back as after a crash. Nothing happens if the lease was
/// renewed meanwhile or the job is no longer running.
pub fn reap(t: &dyn RawTxn, id: JobId, now: Millis) -> Result<Vec<Change>, TxError> {
    let job = t.job(id)?;
    if job.state != State::Running || job.lease_until.is_some_and(|u| u > now) {
        return Ok(Vec::new());
    }
    take_back(t, id, now, "its worker stopped renewing its lease")
}

/// A job waiting for `lost`, whose record could not be read and was set aside: it can
/// never run, so this job fails, naming it (and so do the jobs waiting for this one).
pub fn lose_dependency(
    t: &dyn RawTxn,
    id: JobId,
    lost: JobId,
    now: Millis,
) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if before.state != State::Blocked || !before.deps.contains(&lost) {
        return Ok(Vec::new());
    }
    let mut job = before.clone();
    let failure = Failure {
        kind: FailureKind::Upstream,
        message: format!("upstream: job {lost} could not be read and was set aside"),
        detail: None,
        retryable: false,
        upstream: Some(lost),
    };
    job.state = State::Failed;
    job.finished_at = Some(now);
    job.push_history(now, failure.message.clone());
    job.error = Some(failure);
    t.put_job(Some(&before), &job)?;
    let mut changes = vec![Change::of(&job, Some(before.state))];
    fail_dependents(t, &job, now, &mut changes)?;
    Ok(changes)
}

fn take_back(t: &dyn RawTxn, id: JobId, now: Millis, why: &str) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if before.state != State::Running {
        return Ok(Vec::new());
    }
    let mut job = before.clone();
    job.lease = None;
    job.lease_until = None;
    job.crashes += 1;
    let mut changes = Vec::new();
    if job.cancel_requested {
        job.state = State::Cancelled;
        job.finished_at = Some(now);
        job.push_history(
            now,
            format!("cancelled ({why} while it was being cancelled)"),
        );
    } else if job.crashes >= 2 {
        job.state = State::Dead;
        job.finished_at = Some(now);
        job.error = Some(Failure {
            kind: FailureKind::Crashed,
            message: format!(
                "it was running when {why} {} times in a row, so it is not started again automatically",
                job.crashes
            ),
            detail: None,
            retryable: false,
            upstream: None,
        });
        job.push_history(now, "dead: running at two crashes in a row");
    } else {
        job.state = State::Pending;
        job.ready_at = now;
        job.waiting_until = None;
        job.push_history(
            now,
            format!(
                "attempt {} was interrupted when {why}; it will run again",
                job.attempts
            ),
        );
    }
    t.put_job(Some(&before), &job)?;
    changes.push(Change::of(&job, Some(State::Running)));
    if job.state.is_terminal() {
        fail_dependents(t, &job, now, &mut changes)?;
    }
    Ok(changes)
}

/// A job held for `name` is held no more: ready (or still waiting for the jobs it depends
/// on). Other jobs are left as they are (empty changes).
pub fn release_hold(
    t: &dyn RawTxn,
    id: JobId,
    name: &str,
    now: Millis,
) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if before.held_for() != Some(name) {
        return Ok(Vec::new());
    }
    let mut job = before.clone();
    job.hold = None;
    if job.waiting_until == Some(HELD) {
        job.waiting_until = None;
        job.ready_at = now;
    }
    job.push_history(now, format!("{name} is ready; no longer held"));
    t.put_job(Some(&before), &job)?;
    Ok(vec![Change::of(&job, Some(before.state))])
}

/// A scheduled job whose time has come becomes ready, in the order of that time.
pub fn promote(t: &dyn RawTxn, id: JobId, now: Millis) -> Result<bool, TxError> {
    let before = t.job(id)?;
    match before.waiting_until {
        Some(at) if before.state == State::Pending && at <= now => {
            let mut job = before.clone();
            job.waiting_until = None;
            job.ready_at = at;
            t.put_job(Some(&before), &job)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Deletes a finished job whose dependents have all finished too; removes it from
/// its group (and the group once empty). Returns the purged record.
pub fn purge(t: &dyn RawTxn, id: JobId) -> Result<Option<JobRecord>, TxError> {
    let Some(job) = t.get_job(id)? else {
        return Ok(None);
    };
    if !job.state.is_terminal() {
        return Ok(None);
    }
    for &d in &job.dependents {
        if let Some(dep) = t.get_job(d)? {
            if !dep.state.is_terminal() {
                return Ok(None);
            }
        }
    }
    t.remove_job(&job)?;
    if let Some(gid) = job.group {
        if let Some(mut g) = t.get_group(gid)? {
            g.members.retain(|m| *m != id);
            if g.members.is_empty() {
                t.remove_group(gid)?;
            } else {
                t.put_group(&g)?;
            }
        }
    }
    Ok(Some(job))
}

/// A running attempt stopped because the app is shutting down in an orderly way: the
/// job goes back to pending, to run first at the next start. Not counted as a crash.
pub fn release(t: &dyn RawTxn, id: JobId, lease: u64, now: Millis) -> Result<Vec<Change>, TxError> {
    let before = t.job(id)?;
    if before.state != State::Running || before.lease != Some(lease) {
        return Err(Rejection::LeaseLost(id).into());
    }
    let mut job = before.clone();
    job.lease = None;
    job.lease_until = None;
    if job.cancel_requested {
        job.state = State::Cancelled;
        job.finished_at = Some(now);
        job.push_history(now, "cancelled by request");
    } else {
        job.state = State::Pending;
        job.ready_at = now;
        job.push_history(
            now,
            format!(
                "attempt {} stopped because the app was closing; it will run again",
                job.attempts
            ),
        );
    }
    t.put_job(Some(&before), &job)?;
    let mut changes = vec![Change::of(&job, Some(State::Running))];
    if job.state.is_terminal() {
        fail_dependents(t, &job, now, &mut changes)?;
    }
    Ok(changes)
}
