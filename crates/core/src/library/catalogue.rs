//! The library's list of documents: every document made on this machine, kept until
//! the person deletes it (job records may be purged long before). One JSON file,
//! private to the user, replaced whole under a lock shared by every process on the
//! data folder, so the window, the CLI and the HTTP API may all add to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::LibraryError;
use crate::document::export::Format;
use crate::document::Document;

/// One document of the library.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Stable for a document folder and its name: hex of a hash of both.
    pub id: String,
    /// The folder Video2Doc made for it.
    pub folder: PathBuf,
    /// The name its files share (`<stem>.md`, `<stem>.pdf`...).
    pub stem: String,
    /// Its JSON: in the folder, or the library's own copy when the settings did not ask
    /// for JSON.
    pub json: PathBuf,
    pub title: String,
    pub source: PathBuf,
    /// RFC 3339, when it was made.
    pub created: String,
    pub duration_ms: u64,
    pub language: Option<String>,
    /// The speakers' names, when it is labelled.
    #[serde(default)]
    pub speakers: Vec<String>,
    /// The first slide's thumbnail.
    pub thumbnail: Option<PathBuf>,
    pub slides: usize,
    /// The formats the folder holds.
    pub formats: Vec<Format>,
    /// The JSON's length and modification time when it was last read: a change means
    /// it was edited (by the editor, a script or a hand) and is indexed again.
    pub stamp: String,
    /// The JSON is gone (deleted outside the app): kept in the list so that it can be
    /// removed, never searched.
    #[serde(default)]
    pub missing: bool,
}

impl Entry {
    /// The entry for `doc`, written as `<stem>.*` in `folder` with its JSON at `json`.
    pub fn of(doc: &Document, folder: &Path, stem: &str, json: &Path, formats: &[Format]) -> Entry {
        Entry {
            id: id_of(folder, stem),
            folder: folder.to_path_buf(),
            stem: stem.to_string(),
            json: json.to_path_buf(),
            title: doc.title.clone(),
            source: doc.source.clone(),
            created: doc.created.clone(),
            duration_ms: doc.duration_ms,
            language: doc.language.clone(),
            speakers: match doc.labelled() {
                true => doc.speakers.iter().map(|s| s.name.clone()).collect(),
                false => Vec::new(),
            },
            thumbnail: doc.sections.iter().find_map(|s| s.thumbnail.clone()),
            slides: doc.sections.iter().filter(|s| s.image.is_some()).count(),
            formats: formats.to_vec(),
            stamp: stamp(json).unwrap_or_default(),
            missing: false,
        }
    }
}

/// The id of the documents `<stem>.*` in `folder`.
pub fn id_of(folder: &Path, stem: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(folder.to_string_lossy().as_bytes());
    h.update([0]);
    h.update(stem.as_bytes());
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A file's length and modification time, to tell an edit; `None` when it is gone.
pub fn stamp(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    Some(format!("{}-{mtime}", meta.len()))
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    documents: Vec<Entry>,
}

/// The catalogue file and its lock.
pub struct Catalogue {
    path: PathBuf,
    lock: PathBuf,
}

impl Catalogue {
    pub fn new(dir: &Path) -> Catalogue {
        Catalogue {
            path: dir.join("documents.json"),
            lock: dir.join(".documents.lock"),
        }
    }

    /// The catalogue file's stamp (it changes with every write), `None` before the first.
    pub fn stamp(&self) -> Option<String> {
        stamp(&self.path)
    }

    /// Every entry (none when there is no catalogue yet).
    pub fn load(&self) -> Result<Vec<Entry>, LibraryError> {
        let bytes = match std::fs::read(&self.path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(LibraryError::Io {
                    path: self.path.clone(),
                    source,
                })
            }
        };
        let file: File =
            serde_json::from_slice(&bytes).map_err(|source| LibraryError::Damaged {
                path: self.path.clone(),
                source,
            })?;
        Ok(file.documents)
    }

    /// Changes the entries under the lock (other processes wait their turn) and writes
    /// them back when `change` says it changed something. Returns what `change` returned.
    pub fn update<T>(
        &self,
        change: impl FnOnce(&mut Vec<Entry>) -> (bool, T),
    ) -> Result<T, LibraryError> {
        if let Some(dir) = self.path.parent() {
            crate::private::private_dir(dir).map_err(|source| LibraryError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let _held =
            crate::file_lock::lock_exclusive(&self.lock, Duration::from_millis(20), None, || {
                tracing::debug!("waiting for the library's lock")
            })
            .map_err(|e| LibraryError::Io {
                path: self.lock.clone(),
                source: std::io::Error::other(e),
            })?;
        let mut entries = self.load()?;
        let (changed, out) = change(&mut entries);
        if changed {
            let bytes = serde_json::to_vec_pretty(&File { documents: entries })
                .expect("the catalogue serializes");
            crate::private::write_private(&self.path, &bytes).map_err(|source| {
                LibraryError::Io {
                    path: self.path.clone(),
                    source,
                }
            })?;
        }
        Ok(out)
    }
}
