//! An in-memory backend: ordered maps under one mutex. Not durable; it exists so that
//! the conformance suite proves the state machine against a second, independent
//! backend, and for tests of logic that need no disk.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use super::{Entry, RawTxn, Space, Store, StoreError, TxError};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// The in-memory backend.
#[derive(Default)]
pub struct MemoryStore {
    spaces: Mutex<Vec<Map>>,
    ids: AtomicU64,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore {
            spaces: Mutex::new(vec![Map::new(); Space::ALL.len()]),
            ids: AtomicU64::new(0),
        }
    }
}

type SpaceKey = (usize, Vec<u8>);

struct MemTxn<'a> {
    spaces: &'a [Map],
    /// Pending writes by (space, key); `None` is a removal.
    writes: RefCell<BTreeMap<SpaceKey, Option<Vec<u8>>>>,
}

impl RawTxn for MemTxn<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        let pos = space.position();
        if let Some(w) = self.writes.borrow().get(&(pos, key.to_vec())) {
            return Ok(w.clone());
        }
        Ok(self.spaces[pos].get(key).cloned())
    }

    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        self.writes
            .borrow_mut()
            .insert((space.position(), key.to_vec()), Some(value.to_vec()));
        Ok(())
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<(), TxError> {
        self.writes
            .borrow_mut()
            .insert((space.position(), key.to_vec()), None);
        Ok(())
    }
}

impl Store for MemoryStore {
    fn run(&self, f: &dyn Fn(&dyn RawTxn) -> Result<(), TxError>) -> Result<(), StoreError> {
        let mut spaces = self.spaces.lock().unwrap_or_else(|p| p.into_inner());
        let txn = MemTxn {
            spaces: &spaces,
            writes: RefCell::new(BTreeMap::new()),
        };
        match f(&txn) {
            Ok(()) => {
                let writes = txn.writes.into_inner();
                for ((pos, key), value) in writes {
                    match value {
                        Some(v) => spaces[pos].insert(key, v),
                        None => spaces[pos].remove(&key),
                    };
                }
                Ok(())
            }
            Err(e) => Err(e.into_store_error()),
        }
    }

    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let spaces = self.spaces.lock().unwrap_or_else(|p| p.into_inner());
        Ok(spaces[space.position()].get(key).cloned())
    }

    fn scan(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        use std::ops::Bound;
        let spaces = self.spaces.lock().unwrap_or_else(|p| p.into_inner());
        let upper = match end {
            Some(e) => Bound::Excluded(e.to_vec()),
            None => Bound::Unbounded,
        };
        Ok(spaces[space.position()]
            .range((Bound::Included(start.to_vec()), upper))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        Ok(self.ids.fetch_add(1, Ordering::Relaxed) + 1)
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn describe(&self) -> String {
        "in-memory store (not durable)".to_string()
    }
}
