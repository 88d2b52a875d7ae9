//! Stored values that do not decode, set aside so that one of them never stops the queue.
//!
//! A record can fail to decode: damage, or a newer Video2Doc (same store format) wrote a
//! state or field this build does not know. Wherever the runtime meets one (claiming,
//! recovery and the reaper at open, listings, any transition) it moves the raw bytes,
//! unchanged, into the `quarantine` space under `<space>/<key>`, drops a job's index
//! entries, fails the jobs that were waiting for it, logs a warning naming it, and carries
//! on. Health counts them and names the jobs among them ([`crate::Health::quarantined`]);
//! [`Queue::quarantined`] lists them. Nothing reads them again; putting one back (after an
//! upgrade) is copying its bytes to the place its key names.

use serde::{Deserialize, Serialize};

use super::{Inner, Queue};
use crate::commit::{Ack, CommitError};
use crate::error::QueueError;
use crate::events::Event;
use crate::index::{self, Index};
use crate::job::{GroupId, GroupRecord, JobId, JobRecord};
use crate::store::{self, prefix_end, RawTxn, Space, StoreError, TxError, Undecodable};
use crate::transition::{self, Change};

/// How many values one operation sets aside before it gives up (and reports the error).
const MOST_PER_OPERATION: usize = 16;
/// How many job ids health names.
const IDS_IN_HEALTH: usize = 20;

/// One value set aside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quarantined {
    /// The key space it was in ("jobs", "groups", "meta", …).
    pub space: String,
    /// The job, when it was a job record.
    pub job: Option<JobId>,
    /// Its size in bytes.
    pub bytes: usize,
}

/// The key of a set-aside value: where it was.
fn quarantine_key(space: Space, key: &[u8]) -> Vec<u8> {
    let mut k = format!("{}/", space.name()).into_bytes();
    k.extend_from_slice(key);
    k
}

fn job_prefix() -> Vec<u8> {
    quarantine_key(Space::Jobs, &[])
}

/// How many values are set aside, and the first jobs among them.
pub(crate) fn count(store: &dyn store::Store) -> Result<(u64, Vec<JobId>), StoreError> {
    let keys = store.scan_keys(Space::Quarantine, &[], None, usize::MAX)?;
    let prefix = job_prefix();
    let jobs = keys
        .iter()
        .filter(|k| k.starts_with(&prefix) && k.len() == prefix.len() + 8)
        .filter_map(|k| index::id_from_key(k))
        .take(IDS_IN_HEALTH)
        .collect();
    Ok((keys.len() as u64, jobs))
}

impl Inner {
    /// Runs one transition through the committer. A record it meets that does not decode
    /// is set aside and the transition runs again, without it.
    pub(crate) fn apply<R>(
        &self,
        durable: bool,
        f: impl Fn(&dyn RawTxn) -> Result<R, TxError>,
        events: impl Fn(&R) -> Vec<Event>,
    ) -> Result<(R, Ack), CommitError> {
        let mut set_aside = 0;
        loop {
            match self.committer.apply(durable, &f, &events) {
                Err(CommitError::Store(StoreError::Corrupt(u)))
                    if set_aside < MOST_PER_OPERATION =>
                {
                    set_aside += 1;
                    self.set_aside(&u)?;
                }
                r => return r,
            }
        }
    }

    /// A job's record; one that does not decode is set aside and reads as missing.
    pub(crate) fn load_job(&self, id: JobId) -> Result<Option<JobRecord>, QueueError> {
        self.load_readable(|| store::load_job(self.store.as_ref(), id))
    }

    /// A group's record; one that does not decode is set aside and reads as missing.
    pub(crate) fn load_group(&self, id: GroupId) -> Result<Option<GroupRecord>, QueueError> {
        self.load_readable(|| store::load_group(self.store.as_ref(), id))
    }

    /// Reads with `load`; a value that does not decode is set aside and reads as missing
    /// (also when setting it aside fails, the store taking no writes: a read goes on).
    fn load_readable<T>(
        &self,
        load: impl Fn() -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, QueueError> {
        for _ in 0..MOST_PER_OPERATION {
            match load() {
                Err(StoreError::Corrupt(u)) => match self.set_aside(&u) {
                    Ok(true) => return Ok(None),
                    // Rewritten meanwhile: read it again.
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(what = %u.what, error = %e, "a record that could not be read was not set aside; it is skipped");
                        return Ok(None);
                    }
                },
                r => return Ok(r?),
            }
        }
        Ok(load()?)
    }

    /// Moves the value `u` describes into the quarantine (see the module docs). Returns
    /// false when it no longer holds those bytes (rewritten meanwhile: read it again).
    pub(crate) fn set_aside(&self, u: &Undecodable) -> Result<bool, CommitError> {
        let _span =
            tracing::info_span!("quarantine", space = u.space.name(), what = %u.what).entered();
        let job = u.job();
        let moved = match job {
            Some(id) => self.set_aside_job(id, Some(&u.bytes))?,
            None => self.set_aside_value(u.space, &u.key, &u.bytes)?,
        };
        if moved {
            let space = u.space.name();
            let bytes = u.bytes.len();
            match job {
                Some(id) => tracing::warn!(
                    job = %id, space, bytes, error = %u.source,
                    "job {id}'s record could not be read; it was set aside (quarantine) and the queue goes on without it"
                ),
                None => tracing::warn!(
                    what = %u.what, space, bytes, error = %u.source,
                    "a stored {} could not be read; it was set aside (quarantine)", u.what
                ),
            }
        }
        if let (true, Some(id)) = (moved, job) {
            self.fail_waiting_for(id)?;
        }
        Ok(moved)
    }

    /// Drops the index entries of a job whose record is gone (a ready entry left behind).
    pub(crate) fn drop_dangling(&self, id: JobId) -> Result<(), CommitError> {
        self.set_aside_job(id, None).map(|_| ())
    }

    /// Moves a job's record (if it still holds `bytes`; `None`: if it is gone) and drops
    /// every index entry naming the job. The entries are found by scanning, since the
    /// record they derive from cannot be read.
    fn set_aside_job(&self, id: JobId, bytes: Option<&[u8]>) -> Result<bool, CommitError> {
        let key = index::id_key(id);
        let entries = self.index_entries_of(id)?;
        let qkey = quarantine_key(Space::Jobs, &key);
        let (moved, _) = self.committer.apply(
            false,
            |t| {
                let now = t.get(Space::Jobs, &key)?;
                if now.as_deref() != bytes {
                    return Ok(false);
                }
                if let Some(b) = &now {
                    t.insert(Space::Quarantine, &qkey, b)?;
                    t.remove(Space::Jobs, &key)?;
                }
                for (ix, k) in &entries {
                    let space = Space::Index(*ix);
                    // A dedup entry may have been taken over by another job meanwhile.
                    if *ix != Index::Dedup || t.get(space, k)?.as_deref() == Some(&key[..]) {
                        t.remove(space, k)?;
                    }
                }
                Ok(now.is_some())
            },
            |_| Vec::new(),
        )?;
        Ok(moved)
    }

    fn set_aside_value(&self, space: Space, key: &[u8], bytes: &[u8]) -> Result<bool, CommitError> {
        let qkey = quarantine_key(space, key);
        let (moved, _) = self.committer.apply(
            false,
            |t| {
                if t.get(space, key)?.as_deref() != Some(bytes) {
                    return Ok(false);
                }
                t.insert(Space::Quarantine, &qkey, bytes)?;
                t.remove(space, key)?;
                Ok(true)
            },
            |_| Vec::new(),
        )?;
        Ok(moved)
    }

    /// Every index entry naming `id`.
    fn index_entries_of(&self, id: JobId) -> Result<Vec<(Index, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for ix in Index::ALL {
            let space = Space::Index(ix);
            if ix == Index::Dedup {
                let own = index::id_key(id);
                for (k, v) in self.store.scan(space, &[], None, usize::MAX)? {
                    if v == own {
                        out.push((ix, k));
                    }
                }
            } else {
                for k in self.store.scan_keys(space, &[], None, usize::MAX)? {
                    if index::id_from_key(&k) == Some(id) {
                        out.push((ix, k));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Fails the jobs waiting for `lost`, which can never succeed now.
    fn fail_waiting_for(&self, lost: JobId) -> Result<(), CommitError> {
        let prefix = index::state_prefix(crate::job::State::Blocked);
        let keys = self.store.scan_keys(
            Space::Index(Index::ByState),
            &prefix,
            prefix_end(&prefix).as_deref(),
            usize::MAX,
        )?;
        let now = self.now();
        for k in keys {
            let Some((_, _, id)) = index::parse_state_key(&k) else {
                continue;
            };
            let r = self.committer.apply(
                false,
                |t| transition::lose_dependency(t, id, lost, now),
                |c: &Vec<Change>| c.iter().cloned().map(Event::State).collect(),
            );
            match r {
                Ok(_) => {}
                // A job that cannot be read either is met (and set aside) where it is used.
                Err(CommitError::Store(StoreError::Corrupt(_) | StoreError::Rejected(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Queue {
    /// The values set aside because they could not be read, in key order.
    pub fn quarantined(&self) -> Result<Vec<Quarantined>, QueueError> {
        let prefix = job_prefix();
        Ok(self
            .inner
            .store
            .scan(Space::Quarantine, &[], None, usize::MAX)?
            .into_iter()
            .map(|(k, v)| {
                let space = k
                    .iter()
                    .position(|b| *b == b'/')
                    .map(|i| String::from_utf8_lossy(&k[..i]).into_owned())
                    .unwrap_or_default();
                let job = (k.starts_with(&prefix) && k.len() == prefix.len() + 8)
                    .then(|| index::id_from_key(&k))
                    .flatten();
                Quarantined {
                    space,
                    job,
                    bytes: v.len(),
                }
            })
            .collect())
    }
}
