//! Secondary indexes of the job store, derived from a job record alone.
//!
//! Every backend keeps the same five indexes; a backend never decides what is indexed,
//! it only stores the entries [`entries`] derives. Keys sort bytewise so that a prefix
//! scan yields the order the queue needs (highest priority first, FIFO inside it).

use crate::job::{JobId, JobRecord, Millis, Priority, State};

/// The indexes every backend keeps beside the job records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Index {
    /// Pending jobs that may start now, by queue, priority (highest first), ready time, id.
    Ready,
    /// Pending jobs waiting for a run-at or backoff time, by that time.
    Scheduled,
    /// Finished jobs by finish time (retention purge, throughput).
    Finished,
    /// Every job by state and queue (counts, listings, recovery of running jobs).
    ByState,
    /// Dedup key of live jobs -> job id.
    Dedup,
}

impl Index {
    pub const ALL: [Index; 5] = [
        Index::Ready,
        Index::Scheduled,
        Index::Finished,
        Index::ByState,
        Index::Dedup,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Index::Ready => "idx_ready",
            Index::Scheduled => "idx_scheduled",
            Index::Finished => "idx_finished",
            Index::ByState => "idx_state",
            Index::Dedup => "idx_dedup",
        }
    }
}

/// One index entry: the index, its key and its value.
pub type Entry = (Index, Vec<u8>, Vec<u8>);

pub fn id_key(id: JobId) -> [u8; 8] {
    id.0.to_be_bytes()
}

pub fn id_from_key(key: &[u8]) -> Option<JobId> {
    let tail: [u8; 8] = key.get(key.len().checked_sub(8)?..)?.try_into().ok()?;
    Some(JobId(u64::from_be_bytes(tail)))
}

/// Prefix of the ready index for one queue.
pub fn ready_prefix(queue: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(queue.len() + 1);
    k.extend_from_slice(queue.as_bytes());
    k.push(0);
    k
}

fn ready_key(queue: &str, priority: Priority, ready_at: Millis, id: JobId) -> Vec<u8> {
    let mut k = ready_prefix(queue);
    k.push(Priority::Critical as u8 - priority as u8);
    k.extend_from_slice(&ready_at.to_be_bytes());
    k.extend_from_slice(&id_key(id));
    k
}

fn time_key(at: Millis, id: JobId) -> Vec<u8> {
    let mut k = Vec::with_capacity(16);
    k.extend_from_slice(&at.to_be_bytes());
    k.extend_from_slice(&id_key(id));
    k
}

/// The time part of a Scheduled or Finished key.
pub fn time_of_key(key: &[u8]) -> Option<Millis> {
    Some(u64::from_be_bytes(key.get(..8)?.try_into().ok()?))
}

/// Upper bound (exclusive) of Scheduled/Finished keys at or before `at`.
pub fn time_bound(at: Millis) -> Vec<u8> {
    (at.saturating_add(1)).to_be_bytes().to_vec()
}

/// Prefix of the by-state index for one state (all queues).
pub fn state_prefix(state: State) -> Vec<u8> {
    vec![state as u8]
}

/// Prefix of the by-state index for one state and queue.
pub fn state_queue_prefix(state: State, queue: &str) -> Vec<u8> {
    let mut k = state_prefix(state);
    k.extend_from_slice(queue.as_bytes());
    k.push(0);
    k
}

/// Splits a by-state key into state, queue and id.
pub fn parse_state_key(key: &[u8]) -> Option<(State, &str, JobId)> {
    let state = State::from_u8(*key.first()?)?;
    let rest = key.get(1..key.len().checked_sub(9)?)?;
    let queue = std::str::from_utf8(rest).ok()?;
    Some((state, queue, id_from_key(key)?))
}

/// The index entries of a job record.
pub fn entries(job: &JobRecord) -> Vec<Entry> {
    let mut out = Vec::with_capacity(3);
    let mut by_state = state_queue_prefix(job.state, &job.queue);
    by_state.extend_from_slice(&id_key(job.id));
    out.push((Index::ByState, by_state, Vec::new()));
    match job.state {
        State::Pending => match job.waiting_until {
            Some(at) => out.push((Index::Scheduled, time_key(at, job.id), Vec::new())),
            None => out.push((
                Index::Ready,
                ready_key(&job.queue, job.priority, job.ready_at, job.id),
                Vec::new(),
            )),
        },
        s if s.is_terminal() => {
            let at = job.finished_at.unwrap_or(job.created_at);
            out.push((Index::Finished, time_key(at, job.id), Vec::new()));
        }
        _ => {}
    }
    if let Some(key) = &job.dedup_key {
        if !job.state.is_terminal() {
            out.push((
                Index::Dedup,
                key.as_bytes().to_vec(),
                id_key(job.id).to_vec(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_keys_sort_by_priority_then_time_then_id() {
        let a = ready_key("q", Priority::Critical, 50, JobId(9));
        let b = ready_key("q", Priority::High, 10, JobId(1));
        let c = ready_key("q", Priority::High, 10, JobId(2));
        let d = ready_key("q", Priority::High, 11, JobId(0));
        let e = ready_key("q", Priority::Low, 0, JobId(0));
        let mut v = vec![e.clone(), d.clone(), c.clone(), b.clone(), a.clone()];
        v.sort();
        assert_eq!(v, vec![a, b, c, d, e]);
        assert!(ready_key("q", Priority::Low, 0, JobId(0)).starts_with(&ready_prefix("q")));
        assert!(!ready_key("qq", Priority::Low, 0, JobId(0)).starts_with(&ready_prefix("q")));
    }

    #[test]
    fn state_key_round_trips() {
        let mut k = state_queue_prefix(State::Running, "video");
        k.extend_from_slice(&id_key(JobId(77)));
        assert_eq!(
            parse_state_key(&k),
            Some((State::Running, "video", JobId(77)))
        );
    }
}
