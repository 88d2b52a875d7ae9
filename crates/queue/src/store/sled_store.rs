//! The sled 0.34 backend: one sled database in `<dir>/db`, one tree per [`Space`], a
//! lock file naming the process that holds the directory, and a stored schema version.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use sled::Transactional;

use super::{Entry, RawTxn, Space, Store, StoreError, TxError, SCHEMA_VERSION};
use crate::lock::DirLock;

const SCHEMA_KEY: &[u8] = b"schema_version";

/// The sled backend. Holds the data directory's lock for as long as it lives.
pub struct SledStore {
    path: PathBuf,
    db: sled::Db,
    trees: Vec<sled::Tree>,
    _lock: DirLock,
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
        let sled_err = |source| StoreError::Sled {
            path: path.clone(),
            source,
        };
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(128 * 1024 * 1024)
            .open()
            .map_err(sled_err)?;
        let trees = Space::ALL
            .iter()
            .map(|s| db.open_tree(s.name()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(sled_err)?;
        let store = SledStore {
            path: path.clone(),
            db,
            trees,
            _lock: lock,
        };
        store.check_schema()?;
        Ok(store)
    }

    fn check_schema(&self) -> Result<(), StoreError> {
        let meta = &self.trees[Space::Meta.position()];
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
                self.db.flush().map_err(|e| self.err(e))?;
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
        self.trees[Space::Meta.position()]
            .insert(SCHEMA_KEY, &v.to_be_bytes())
            .map_err(|e| self.err(e))?;
        self.db.flush().map_err(|e| self.err(e))?;
        Ok(())
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
        let r = self.trees.as_slice().transaction(|trees| {
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
            Err(TransactionError::Abort(TxError::Rejected(r))) => Err(StoreError::Rejected(r)),
            Err(TransactionError::Abort(TxError::Corrupt { what, source })) => {
                Err(StoreError::Corrupt { what, source })
            }
            Err(TransactionError::Abort(TxError::Backend)) => {
                unreachable!("backend errors are mapped to storage errors above")
            }
            Err(TransactionError::Storage(e)) => Err(self.err(e)),
        }
    }

    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.trees[space.position()]
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
        let tree = &self.trees[space.position()];
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
        self.db
            .generate_id()
            .map(|id| id + 1)
            .map_err(|e| self.err(e))
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.err(e))
    }

    fn describe(&self) -> String {
        format!("sled 0.34 at {}", self.path.display())
    }

    fn location(&self) -> Option<PathBuf> {
        Some(self.path.clone())
    }
}
