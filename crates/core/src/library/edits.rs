//! A document's edits, kept until they are exported and after: the draft being edited
//! (written whole and synced at every change, so a crash loses at most the change being
//! made) and its versions (the document as made, then as each "Export again" wrote it).
//!
//! `<library>/edits/<id>/draft.json` and `<library>/edits/<id>/v0001.json`...,
//! private to the user.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::LibraryError;
use crate::document::Document;

/// A kept version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    /// From 1 (the document as made).
    pub number: u32,
    /// RFC 3339, when it was kept.
    pub saved: String,
}

/// The edits of one document.
pub struct Edits {
    dir: PathBuf,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Edits {
    pub fn new(library: &Path, id: &str) -> Edits {
        Edits {
            dir: library.join("edits").join(id),
        }
    }

    fn draft_path(&self) -> PathBuf {
        self.dir.join("draft.json")
    }

    fn write(&self, path: &Path, doc: &Document) -> Result<(), LibraryError> {
        crate::private::private_dir(&self.dir).map_err(io(&self.dir))?;
        let bytes = serde_json::to_vec(doc).expect("documents serialize");
        crate::private::write_private(path, &bytes).map_err(io(path))
    }

    fn read(&self, path: &Path) -> Result<Option<Document>, LibraryError> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(crate::document::check::parse(path, &bytes)?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(path)(e)),
        }
    }

    /// The draft, if the document is being edited.
    pub fn draft(&self) -> Result<Option<Document>, LibraryError> {
        self.read(&self.draft_path())
    }

    /// Saves the draft; the first draft of a document first keeps `made` (the document
    /// as it stands) as version 1.
    pub fn save_draft(&self, doc: &Document, made: &Document) -> Result<(), LibraryError> {
        if self.versions()?.is_empty() {
            self.keep(made)?;
        }
        self.write(&self.draft_path(), doc)
    }

    /// Drops the draft (after it was exported, or to discard it).
    pub fn drop_draft(&self) -> Result<(), LibraryError> {
        match std::fs::remove_file(self.draft_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&self.draft_path())(e)),
            _ => Ok(()),
        }
    }

    /// Keeps `doc` as the next version; returns its number.
    pub fn keep(&self, doc: &Document) -> Result<u32, LibraryError> {
        let number = self.versions()?.last().map_or(1, |v| v.number + 1);
        self.write(&self.dir.join(format!("v{number:04}.json")), doc)?;
        Ok(number)
    }

    /// The versions kept, oldest first.
    pub fn versions(&self) -> Result<Vec<Version>, LibraryError> {
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut out: Vec<Version> = rd
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                let number = name
                    .strip_prefix('v')?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                let saved = e
                    .metadata()
                    .ok()?
                    .modified()
                    .ok()?
                    .duration_since(std::time::UNIX_EPOCH)
                    .ok()?
                    .as_secs();
                Some(Version {
                    number,
                    saved: crate::document::rfc3339(saved as i64),
                })
            })
            .collect();
        out.sort_by_key(|v| v.number);
        Ok(out)
    }

    /// Version `number`.
    pub fn version(&self, number: u32) -> Result<Document, LibraryError> {
        let path = self.dir.join(format!("v{number:04}.json"));
        self.read(&path)?.ok_or(LibraryError::NoVersion { number })
    }

    /// Forgets every edit (the document was deleted).
    pub fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
