//! The library: every document made on this machine, kept until the person deletes it,
//! searchable across all of them, and edited in place.
//!
//! - `catalogue.rs`: the list of documents (`<data>/library/documents.json`).
//! - `index.rs`: the full-text index (tantivy), a cache of the documents: made again
//!   from them when lost, brought up to date by [`Library::sync`] when a document's JSON
//!   changed (an edit, a script), appeared or went.
//! - `tokens.rs`: English words and Chinese characters as terms.
//! - `edits.rs`: the draft being edited and the versions kept.
//!
//! **Invariant: the documents' JSON files are the truth; the catalogue says where they
//! are, the index only what is in them. Deleting a document removes the files Video2Doc
//! wrote for it and nothing else (a folder keeping a file of the user's stays).**

pub mod catalogue;
pub mod edits;
pub mod index;
pub mod tokens;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

pub use catalogue::Entry;
pub use edits::Version;
pub use index::{Found, Passage};

use crate::document::check::CheckError;
use crate::document::edit::Edit;
use crate::document::export::{self, DocFolder, ExportError, Format, SubtitleStyle};
use crate::document::{Document, DocumentError};

/// Why the library could not do something.
#[derive(Debug, thiserror::Error)]
pub enum LibraryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the library's list {path} is damaged: {source}")]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the library's index in {path} failed: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },
    #[error("no document {id} in the library")]
    NoDocument { id: String },
    #[error("no version {number} of this document is kept")]
    NoVersion { number: u32 },
    #[error("the document {path} is gone (deleted or moved outside Video2Doc)")]
    Missing { path: PathBuf },
    #[error(transparent)]
    Check(#[from] CheckError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Edit(#[from] DocumentError),
}

/// A search hit: a passage and the document it is in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    /// The library id of the document.
    pub id: String,
    /// The document's JSON.
    pub document: PathBuf,
    pub title: String,
    pub passage: Passage,
    pub start_ms: u64,
    pub end_ms: u64,
    /// The slide shown then (from 1), if any.
    pub slide: Option<usize>,
    pub speaker: Option<String>,
    pub snippet: String,
    /// The matched terms in `snippet`, as character ranges.
    pub marks: Vec<[usize; 2]>,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Synced {
    /// Documents (re)indexed.
    pub indexed: usize,
    /// Documents taken out of the index.
    pub removed: usize,
    /// Documents whose JSON is gone.
    pub missing: usize,
}

/// The library in a folder (`<data>/library`).
pub struct Library {
    dir: PathBuf,
    catalogue: catalogue::Catalogue,
    index: Mutex<Option<index::SearchIndex>>,
    /// The catalogue's stamp at the last sync: a search first syncs when another
    /// process changed it since.
    synced: Mutex<Option<String>>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LibraryError + '_ {
    move |source| LibraryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Library {
    pub fn new(dir: &Path) -> Library {
        Library {
            dir: dir.to_path_buf(),
            catalogue: catalogue::Catalogue::new(dir),
            index: Mutex::new(None),
            synced: Mutex::new(None),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` with the index open (opened at first use; one made empty is filled from
    /// the documents first).
    fn with_index<T>(
        &self,
        f: impl FnOnce(&index::SearchIndex) -> Result<T, LibraryError>,
    ) -> Result<T, LibraryError> {
        let mut slot = self.index.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            crate::private::private_dir(&self.dir).map_err(io(&self.dir))?;
            let (i, fresh) = index::SearchIndex::open(&self.dir)?;
            if fresh {
                tracing::info!(dir = %self.dir.display(), "making the library's index from the documents");
            }
            *slot = Some(i);
            drop(slot);
            self.sync()?;
            slot = self.index.lock().unwrap_or_else(|p| p.into_inner());
        }
        f(slot.as_ref().expect("opened above"))
    }

    /// Adds (or updates) the document `doc` written as `<stem>.*` in `folder` in these
    /// formats; when the formats hold no JSON, the library keeps its own copy (to
    /// search, edit and export again). Indexed at once, unless another process is
    /// writing the index (its next sync indexes it).
    pub fn record(
        &self,
        doc: &Document,
        folder: &Path,
        stem: &str,
        formats: &[Format],
    ) -> Result<Entry, LibraryError> {
        let id = catalogue::id_of(folder, stem);
        let json = match formats.contains(&Format::Json) {
            true => folder.join(format!("{stem}.json")),
            false => {
                let copies = self.dir.join("documents");
                crate::private::private_dir(&copies).map_err(io(&copies))?;
                let path = copies.join(format!("{id}.json"));
                let bytes = serde_json::to_vec(doc).expect("documents serialize");
                crate::private::write_private(&path, &bytes).map_err(io(&path))?;
                path
            }
        };
        let entry = Entry::of(doc, folder, stem, &json, formats);
        let e = entry.clone();
        self.catalogue.update(|entries| {
            entries.retain(|x| x.id != e.id);
            entries.push(e);
            (true, ())
        })?;
        self.with_index(|i| i.write(|w| i.put(w, &entry, doc)))?;
        Ok(entry)
    }

    /// Every document, newest first.
    pub fn list(&self) -> Result<Vec<Entry>, LibraryError> {
        let mut all = self.catalogue.load()?;
        all.sort_by(|a, b| b.created.cmp(&a.created).then(a.title.cmp(&b.title)));
        Ok(all)
    }

    /// The entry `id`.
    pub fn entry(&self, id: &str) -> Result<Entry, LibraryError> {
        self.catalogue
            .load()?
            .into_iter()
            .find(|e| e.id == id)
            .ok_or_else(|| LibraryError::NoDocument { id: id.into() })
    }

    /// The entry whose JSON, folder or id is `key` (a path as the CLI is given it).
    pub fn find(&self, key: &str) -> Result<Entry, LibraryError> {
        let path = Path::new(key);
        let canon = |p: &Path| p.canonicalize().unwrap_or_else(|_| p.to_path_buf());
        let want = canon(path);
        self.catalogue
            .load()?
            .into_iter()
            .find(|e| e.id == key || canon(&e.json) == want || canon(&e.folder) == want)
            .ok_or_else(|| LibraryError::NoDocument { id: key.into() })
    }

    /// The document of `entry` as last exported (not its draft).
    pub fn document(&self, entry: &Entry) -> Result<Document, LibraryError> {
        if !entry.json.is_file() {
            return Err(LibraryError::Missing {
                path: entry.json.clone(),
            });
        }
        Ok(crate::document::check::read(&entry.json)?)
    }

    /// Brings the catalogue and the index up to date with the documents on disk: a JSON
    /// edited is indexed again, one gone is marked missing and taken out of the index,
    /// one back is indexed. Another process writing the index leaves it to that one.
    pub fn sync(&self) -> Result<Synced, LibraryError> {
        let mut report = Synced::default();
        let before = self.catalogue.stamp();
        // Catalogue first: stamps and what the documents now say.
        let mut fresh: HashMap<String, Document> = HashMap::new();
        let entries = self.catalogue.update(|entries| {
            let mut changed = false;
            for e in entries.iter_mut() {
                match catalogue::stamp(&e.json) {
                    None => {
                        changed |= !e.missing;
                        e.missing = true;
                    }
                    Some(s) if s != e.stamp || e.missing => {
                        match crate::document::check::read(&e.json) {
                            Ok(doc) => {
                                let mut n =
                                    Entry::of(&doc, &e.folder, &e.stem, &e.json, &e.formats);
                                n.stamp = s;
                                *e = n;
                                fresh.insert(e.id.clone(), doc);
                            }
                            Err(err) => {
                                tracing::warn!(error = %err, "a library document cannot be read; it is not searched");
                                e.stamp = s;
                                e.missing = true;
                            }
                        }
                        changed = true;
                    }
                    Some(_) => {}
                }
            }
            (changed, entries.clone())
        })?;
        report.missing = entries.iter().filter(|e| e.missing).count();
        let slot = self.index.lock().unwrap_or_else(|p| p.into_inner());
        let Some(i) = slot.as_ref() else {
            return Ok(report);
        };
        let indexed = i.indexed()?;
        let live: BTreeMap<&str, &Entry> = entries
            .iter()
            .filter(|e| !e.missing)
            .map(|e| (e.id.as_str(), e))
            .collect();
        let stale: Vec<&str> = indexed
            .keys()
            .map(String::as_str)
            .filter(|id| !live.contains_key(id))
            .collect();
        let due: Vec<&Entry> = live
            .values()
            .copied()
            .filter(|e| indexed.get(&e.id) != Some(&e.stamp))
            .collect();
        if stale.is_empty() && due.is_empty() {
            *self.synced.lock().unwrap_or_else(|p| p.into_inner()) = before;
            return Ok(report);
        }
        let mut indexed = 0;
        let wrote = i.write(|w| {
            for id in &stale {
                i.remove(w, id);
            }
            for e in due {
                let doc = match fresh.remove(&e.id) {
                    Some(d) => d,
                    None => match crate::document::check::read(&e.json) {
                        Ok(d) => d,
                        Err(err) => {
                            tracing::warn!(error = %err, "a library document cannot be read; it is not searched");
                            continue;
                        }
                    },
                };
                i.put(w, e, &doc)?;
                indexed += 1;
            }
            Ok(())
        })?;
        if wrote {
            report.removed = stale.len();
            report.indexed = indexed;
            *self.synced.lock().unwrap_or_else(|p| p.into_inner()) = before;
        }
        Ok(report)
    }

    /// The passages that match `query` best (at most `limit`), in documents that are
    /// still there.
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<Hit>, LibraryError> {
        if query.trim().is_empty() {
            return Ok(Vec::new());
        }
        let changed = {
            let seen = self.synced.lock().unwrap_or_else(|p| p.into_inner());
            seen.is_some() && *seen != self.catalogue.stamp()
        };
        if changed {
            self.sync()?;
        }
        let found = self.with_index(|i| i.search(query, limit))?;
        let entries: HashMap<String, Entry> = self
            .catalogue
            .load()?
            .into_iter()
            .filter(|e| !e.missing)
            .map(|e| (e.id.clone(), e))
            .collect();
        Ok(found
            .into_iter()
            .filter_map(|f| {
                let e = entries.get(&f.id)?;
                Some(Hit {
                    id: f.id,
                    document: e.json.clone(),
                    title: e.title.clone(),
                    passage: f.passage,
                    start_ms: f.start_ms,
                    end_ms: f.end_ms,
                    slide: f.slide,
                    speaker: f.speaker,
                    snippet: f.snippet,
                    marks: f.marks,
                })
            })
            .collect())
    }

    /// Removes document `id` from the library and, with `files`, deletes the files
    /// Video2Doc wrote for it (its formats, its slide images, the marker; the folder when
    /// nothing else is left in it). Its edits go too.
    pub fn delete(&self, id: &str, files: bool) -> Result<(), LibraryError> {
        let entry = self.entry(id)?;
        if files {
            match DocFolder::reopen(&entry.folder) {
                Ok(folder) => {
                    for f in Format::ALL {
                        folder
                            .remove_file(&format!("{}.{}", entry.stem, f.ext()))
                            .map_err(ExportError::from)?;
                    }
                    if let Ok(slides) = folder.inner("slides") {
                        slides
                            .remove_stale(&[], |n| n.starts_with("slide-") && n.ends_with(".jpg"))
                            .map_err(ExportError::from)?;
                        folder.remove_empty_dir("slides");
                    }
                    if folder.only_marker_left() {
                        folder
                            .remove_file(export::OUTPUT_MARKER)
                            .map_err(ExportError::from)?;
                        if let (Some(parent), Some(name)) =
                            (entry.folder.parent(), entry.folder.file_name())
                        {
                            let _ = DocFolder::remove_empty(parent, &name.to_string_lossy());
                        }
                    }
                }
                Err(e) if entry.folder.exists() => return Err(ExportError::from(e).into()),
                Err(_) => {}
            }
            if entry.json.starts_with(self.dir.join("documents")) {
                let _ = std::fs::remove_file(&entry.json);
            }
        }
        self.catalogue.update(|entries| {
            entries.retain(|e| e.id != id);
            (true, ())
        })?;
        edits::Edits::new(&self.dir, id).remove();
        self.with_index(|i| {
            i.write(|w| {
                i.remove(w, id);
                Ok(())
            })
            .map(|_| ())
        })
    }

    /// The document `id` as the editor shows it: its draft when one is being edited,
    /// else as last exported. The second value says it is a draft.
    pub fn editing(&self, id: &str) -> Result<(Document, bool), LibraryError> {
        let edits = edits::Edits::new(&self.dir, id);
        if let Some(d) = edits.draft()? {
            return Ok((d, true));
        }
        Ok((self.document(&self.entry(id)?)?, false))
    }

    /// Applies `edit` to the document's draft (started from the document when there is
    /// none) and saves the draft before returning. Returns the draft and how many places
    /// changed.
    pub fn edit(&self, id: &str, edit: &Edit) -> Result<(Document, usize), LibraryError> {
        let (mut doc, _) = self.editing(id)?;
        let changed = doc.apply(edit)?;
        self.save_draft(id, &doc)?;
        Ok((doc, changed))
    }

    /// Saves `doc` as the draft of `id` whole (undo and redo send the state to return
    /// to), checked as a document read from disk would be.
    pub fn save_draft(&self, id: &str, doc: &Document) -> Result<(), LibraryError> {
        let entry = self.entry(id)?;
        let bytes = serde_json::to_vec(doc).expect("documents serialize");
        let mut doc = crate::document::check::parse(&entry.json, &bytes)?;
        if doc.align_words() > 0 {
            doc.refresh_sections();
        }
        let made = self.document(&entry)?;
        edits::Edits::new(&self.dir, id).save_draft(&doc, &made)
    }

    /// Drops the draft of `id` (its last export stands).
    pub fn discard_draft(&self, id: &str) -> Result<(), LibraryError> {
        edits::Edits::new(&self.dir, id).drop_draft()
    }

    /// The versions kept of `id`.
    pub fn versions(&self, id: &str) -> Result<Vec<Version>, LibraryError> {
        edits::Edits::new(&self.dir, id).versions()
    }

    /// Makes version `number` of `id` the draft.
    pub fn restore(&self, id: &str, number: u32) -> Result<Document, LibraryError> {
        let doc = edits::Edits::new(&self.dir, id).version(number)?;
        self.save_draft(id, &doc)?;
        Ok(doc)
    }

    /// Writes every format of `id` again from its draft (or, without one, from its
    /// JSON), keeps that as a version, drops the draft and indexes it. Returns the
    /// files written.
    pub fn export_again(
        &self,
        id: &str,
        subtitles: &SubtitleStyle,
    ) -> Result<Vec<PathBuf>, LibraryError> {
        let entry = self.entry(id)?;
        let edits = edits::Edits::new(&self.dir, id);
        let (doc, _) = self.editing(id)?;
        if edits.versions()?.is_empty() {
            edits.keep(&self.document(&entry)?)?;
        }
        let folder = DocFolder::reopen(&entry.folder).map_err(ExportError::from)?;
        let formats: Vec<Format> = Format::ALL
            .into_iter()
            .filter(|f| {
                entry.formats.contains(f) || folder.has(&format!("{}.{}", entry.stem, f.ext()))
            })
            .collect();
        let files = export::export(&doc, &folder, &entry.stem, &formats, subtitles)?;
        if !formats.contains(&Format::Json) {
            let bytes = serde_json::to_vec(&doc).expect("documents serialize");
            crate::private::write_private(&entry.json, &bytes).map_err(io(&entry.json))?;
        }
        edits.keep(&doc)?;
        edits.drop_draft()?;
        self.with_index(|_| Ok(()))?;
        self.sync()?;
        Ok(files.into_values().collect())
    }

    /// Renders every format asked of the document JSON at `json` (made by Video2Doc,
    /// edited by hand or by a script), checked as the pipeline's own, into the folder
    /// for its source in `out_root` (its own folder when it is already there; never
    /// another's), with its slide images; the result joins the library.
    pub fn export_file(
        &self,
        json: &Path,
        out_root: &Path,
        formats: &[Format],
        subtitles: &SubtitleStyle,
    ) -> Result<(Entry, Vec<PathBuf>), LibraryError> {
        let doc = crate::document::check::read(json)?;
        self.export_read(doc, json, out_root, formats, subtitles)
    }

    /// [`Library::export_file`] for a document already read from `json` (and perhaps
    /// changed since, as `summarize` does).
    pub fn export_read(
        &self,
        mut doc: Document,
        json: &Path,
        out_root: &Path,
        formats: &[Format],
        subtitles: &SubtitleStyle,
    ) -> Result<(Entry, Vec<PathBuf>), LibraryError> {
        if doc.align_words() > 0 {
            doc.refresh_sections();
        }
        let stem = json
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| doc.title.clone());
        let stem = export::safe_stem(&stem);
        let folder = DocFolder::claim(out_root, &stem, &doc.source).map_err(ExportError::from)?;
        // The slide pictures travel with the document.
        let pictured: Vec<usize> = (0..doc.sections.len())
            .filter(|&i| doc.sections[i].image.is_some())
            .collect();
        if !pictured.is_empty() {
            let slides = folder.subfolder("slides").map_err(ExportError::from)?;
            for i in pictured {
                let s = &mut doc.sections[i];
                for picture in [&mut s.image, &mut s.thumbnail] {
                    let Some(from) = picture.clone() else {
                        continue;
                    };
                    let from = match from.is_absolute() {
                        true => from,
                        false => json.parent().unwrap_or(Path::new(".")).join(from),
                    };
                    let Some(name) = from.file_name().map(|n| n.to_string_lossy().into_owned())
                    else {
                        continue;
                    };
                    match from.is_file() {
                        true => {
                            *picture =
                                Some(slides.copy_in(&from, &name).map_err(ExportError::from)?)
                        }
                        false => {
                            tracing::warn!(picture = %from.display(), "a slide picture is missing; its section is written without it");
                            *picture = None;
                        }
                    }
                }
            }
        }
        let files = export::export(&doc, &folder, &stem, formats, subtitles)?;
        let entry = self.record(&doc, folder.path(), &stem, formats)?;
        Ok((entry, files.into_values().collect()))
    }

    /// The size of the index on disk, in bytes.
    pub fn index_size(&self) -> Result<u64, LibraryError> {
        self.with_index(|i| Ok(i.size()))
    }
}
