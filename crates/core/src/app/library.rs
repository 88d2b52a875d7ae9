//! What the faces do with the library: list, search, open for editing, edit, export
//! again, delete, export a JSON document headless. The work is [`crate::library`]'s;
//! this adds the settings (subtitle style) and the shape each face shows.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Core, CoreError};
use crate::document::edit::Edit;
use crate::document::export::Format;
use crate::document::Document;
use crate::library::{Entry, Hit, Library, Synced, Version};

/// A document as the editor opens it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Editing {
    pub entry: Entry,
    /// The draft when one is being edited, else the document as last exported.
    pub document: Document,
    /// It holds edits not exported yet.
    pub draft: bool,
    pub versions: Vec<Version>,
}

/// What an edit did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edited {
    pub document: Document,
    /// Places changed (a replace may change none).
    pub changed: usize,
}

/// A replace across every document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReplacedIn {
    pub id: String,
    pub title: String,
    pub changed: usize,
}

impl Core {
    /// The library (also usable without a queue: see [`Library::new`]).
    pub fn library(&self) -> &Library {
        &self.library
    }

    /// Every document made, newest first, as their files now say (a document edited
    /// elsewhere, renamed speakers, a folder deleted outside the app).
    pub fn documents(&self) -> Result<Vec<Entry>, CoreError> {
        if let Err(e) = self.library.sync() {
            tracing::warn!(error = %e, "the library could not be brought up to date");
        }
        Ok(self.library.list()?)
    }

    /// Brings the library up to date with its documents on disk.
    pub fn sync_library(&self) -> Result<Synced, CoreError> {
        Ok(self.library.sync()?)
    }

    /// The passages matching `query` across every document.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, CoreError> {
        Ok(self.library.search(query, limit)?)
    }

    /// Removes a document from the library; with `files`, deletes what Video2Doc wrote
    /// for it.
    pub fn delete_document(&self, id: &str, files: bool) -> Result<(), CoreError> {
        Ok(self.library.delete(id, files)?)
    }

    /// Opens document `id` for editing.
    pub fn open_document(&self, id: &str) -> Result<Editing, CoreError> {
        let entry = self.library.entry(id)?;
        let (document, draft) = self.library.editing(id)?;
        Ok(Editing {
            versions: self.library.versions(id)?,
            entry,
            document,
            draft,
        })
    }

    /// Applies one edit to the draft of `id`, saved before this returns.
    pub fn edit_document(&self, id: &str, edit: &Edit) -> Result<Edited, CoreError> {
        let (document, changed) = self.library.edit(id, edit)?;
        Ok(Edited { document, changed })
    }

    /// Saves `doc` whole as the draft of `id` (undo, redo).
    pub fn save_draft(&self, id: &str, doc: &Document) -> Result<(), CoreError> {
        Ok(self.library.save_draft(id, doc)?)
    }

    /// Drops the draft of `id`.
    pub fn discard_draft(&self, id: &str) -> Result<(), CoreError> {
        Ok(self.library.discard_draft(id)?)
    }

    /// Makes version `number` of `id` its draft.
    pub fn restore_version(&self, id: &str, number: u32) -> Result<Document, CoreError> {
        Ok(self.library.restore(id, number)?)
    }

    /// Writes every format of `id` again from its edits.
    pub fn export_again(&self, id: &str) -> Result<Vec<PathBuf>, CoreError> {
        Ok(self.library.export_again(id, &self.settings().subtitles)?)
    }

    /// Replaces `find` in every document's draft (started where there is none);
    /// returns the documents changed.
    pub fn replace_everywhere(&self, edit: &Edit) -> Result<Vec<ReplacedIn>, CoreError> {
        if !matches!(edit, Edit::Replace { .. }) {
            return Err(CoreError::InvalidOptions(vec![
                "only a replace applies to every document".into(),
            ]));
        }
        let mut out = Vec::new();
        for e in self.library.list()?.into_iter().filter(|e| !e.missing) {
            let (mut doc, _) = self.library.editing(&e.id)?;
            let changed = doc
                .apply(edit)
                .map_err(crate::library::LibraryError::from)?;
            if changed > 0 {
                self.library.save_draft(&e.id, &doc)?;
                out.push(ReplacedIn {
                    id: e.id,
                    title: e.title,
                    changed,
                });
            }
        }
        Ok(out)
    }

    /// Renders the document JSON `json` into `out_root` (see
    /// [`Library::export_file`]).
    pub fn export_document(
        &self,
        json: &Path,
        out_root: &Path,
        formats: &[Format],
    ) -> Result<(Entry, Vec<PathBuf>), CoreError> {
        Ok(self
            .library
            .export_file(json, out_root, formats, &self.settings().subtitles)?)
    }
}
