//! The sled 0.34 backend: one sled database in `<dir>/db`, one tree per [`Space`], a
//! lock file naming the process that holds the directory, and a stored schema version.
//!
//! A failed write to the disk (a full disk) puts sled 0.34 in an error state that only
//! reopening the database ends: every later write and flush fails, even once space is
//! back. So the database can be reopened in place ([`Store::reopen`]): the handle is
//! swapped under a lock that every operation takes for reading.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::{RwLock, RwLockReadGuard};

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;

use super::{Entry, RawTxn, Space, Store, StoreError, TxError, SCHEMA_VERSION};
use crate::dir_lock::DirLock;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// The sled backend. Holds the data directory's lock for as long as it lives.
pub struct SledStore {
    path: PathBuf,
    /// `None` between closing for a reopen and opening again (if that failed).
    open: RwLock<Option<Db>>,
    _lock: DirLock,
}

/// One opened sled database and its trees.
struct Db {
    db: sled::Db,
    trees: Vec<sled::Tree>,
}

impl Db {
    fn open(path: &Path) -> Result<Db, sled::Error> {
        let db = sled::Config::new()
            .path(path)
            .cache_capacity(128 * 1024 * 1024)
            .open()?;
        let trees = Space::ALL
            .iter()
            .map(|s| db.open_tree(s.name()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Db { db, trees })
    }

    fn tree(&self, space: Space) -> &sled::Tree {
        &self.trees[space.position()]
    }
}

impl SledStore {
    /// Opens (or creates) the store in `dir`. Fails with [`StoreError::Locked`] naming
    /// the holder if another process has it open, and with [`StoreError::NewerSchema`]
    /// if a newer version wrote it.
    pub fn open(dir: &Path) -> Result<SledStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
        let lock = DirLock::acquire(dir)?;
        let path = dir.join("db");
        let db = Db::open(&path).map_err(|source| StoreError::Sled {
            path: path.clone(),
            source,
        })?;
        let store = SledStore {
            path,
            open: RwLock::new(Some(db)),
            _lock: lock,
        };
        store.check_schema()?;
        Ok(store)
    }

    /// The open database, or [`StoreError::Closed`] if reopening it failed.
    fn db(&self) -> Result<DbGuard<'_>, StoreError> {
        let guard = self.open.read().unwrap_or_else(|p| p.into_inner());
        if guard.is_none() {
            return Err(StoreError::Closed {
                path: self.path.clone(),
            });
        }
        Ok(DbGuard(guard))
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let db = self.db()?;
        let meta = db.tree(Space::Meta);
        let found = meta.get(SCHEMA_KEY).map_err(|e| self.err(e))?;
        match found {
            Some(v) => {
                let found = u32::from_be_bytes(v.as_ref().try_into().unwrap_or([0xff; 4]));
                if found > SCHEMA_VERSION {
                    return Err(StoreError::NewerSchema {
                        path: self.path.clone(),
                        found,
                        supported: SCHEMA_VERSION,
                    });
                }
            }
            None => {
                meta.insert(SCHEMA_KEY, &SCHEMA_VERSION.to_be_bytes())
                    .map_err(|e| self.err(e))?;
                db.db.flush().map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    fn err(&self, source: sled::Error) -> StoreError {
        StoreError::Sled {
            path: self.path.clone(),
            source,
        }
    }

    /// Writes a schema version (for tests of the newer-version check).
    pub fn force_schema_version(&self, v: u32) -> Result<(), StoreError> {
        let db = self.db()?;
        db.tree(Space::Meta)
            .insert(SCHEMA_KEY, &v.to_be_bytes())
            .map_err(|e| self.err(e))?;
        db.db.flush().map_err(|e| self.err(e))?;
        Ok(())
    }
}

/// A read lock on an open database.
struct DbGuard<'a>(RwLockReadGuard<'a, Option<Db>>);

impl std::ops::Deref for DbGuard<'_> {
    type Target = Db;
    fn deref(&self) -> &Db {
        self.0.as_ref().expect("checked when taken")
    }
}

struct SledTxn<'a> {
    trees: &'a [TransactionalTree],
    failure: RefCell<Option<UnabortableTransactionError>>,
}

impl SledTxn<'_> {
    fn keep<T>(&self, r: Result<T, UnabortableTransactionError>) -> Result<T, TxError> {
        r.map_err(|e| {
            *self.failure.borrow_mut() = Some(e);
            TxError::Backend
        })
    }
}

impl RawTxn for SledTxn<'_> {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, TxError> {
        let r = self.trees[space.position()].get(key);
        Ok(self.keep(r)?.map(|v| v.to_vec()))
    }

    fn insert(&self, space: Space, key: &[u8], value: &[u8]) -> Result<(), TxError> {
        let r = self.trees[space.position()].insert(key, value);
        self.keep(r).map(|_| ())
    }

    fn remove(&self, space: Space, key: &[u8]) -> Result<(), TxError> {
        let r = self.trees[space.position()].remove(key);
        self.keep(r).map(|_| ())
    }
}

impl Store for SledStore {
    fn run(&self, f: &dyn Fn(&dyn RawTxn) -> Result<(), TxError>) -> Result<(), StoreError> {
        let db = self.db()?;
        let r = db.trees.as_slice().transaction(|trees| {
            let txn = SledTxn {
                trees,
                failure: RefCell::new(None),
            };
            match f(&txn) {
                Ok(()) => Ok(()),
                Err(TxError::Backend) => {
                    let e = txn
                        .failure
                        .into_inner()
                        .expect("a backend error was recorded");
                    Err(match e {
                        UnabortableTransactionError::Conflict => {
                            ConflictableTransactionError::Conflict
                        }
                        UnabortableTransactionError::Storage(s) => {
                            ConflictableTransactionError::Storage(s)
                        }
                    })
                }
                Err(other) => Err(ConflictableTransactionError::Abort(other)),
            }
        });
        match r {
            Ok(()) => Ok(()),
            Err(TransactionError::Abort(e)) => Err(e.into_store_error()),
            Err(TransactionError::Storage(e)) => Err(self.err(e)),
        }
    }

    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.db()?
            .tree(space)
            .get(key)
            .map(|v| v.map(|v| v.to_vec()))
            .map_err(|e| self.err(e))
    }

    fn scan(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        let db = self.db()?;
        let tree = db.tree(space);
        let iter = match end {
            Some(e) => tree.range(start..e),
            None => tree.range(start..),
        };
        iter.take(limit)
            .map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())))
            .collect::<Result<_, _>>()
            .map_err(|e| self.err(e))
    }

    fn next_id(&self) -> Result<u64, StoreError> {
        self.db()?
            .db
            .generate_id()
            .map(|id| id + 1)
            .map_err(|e| self.err(e))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db()?.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    fn describe(&self) -> String {
        format!("sled 0.34 at {}", self.path.display())
    }

    fn location(&self) -> Option<PathBuf> {
        Some(self.path.clone())
    }

    fn can_reopen(&self) -> bool {
        true
    }

    fn reopen(&self) -> Result<(), StoreError> {
        let mut open = self.open.write().unwrap_or_else(|p| p.into_inner());
        // The old database must be gone (its file lock released) before it opens again.
        drop(open.take());
        *open = Some(Db::open(&self.path).map_err(|e| self.err(e))?);
        tracing::info!(path = %self.path.display(), "reopened the job store");
        Ok(())
    }
}
