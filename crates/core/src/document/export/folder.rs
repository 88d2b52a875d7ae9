//! The document folder of one input, and every write into it.
//!
//! Inputs with the same name never share a folder: `talk`, then `talk (2)`, `talk (3)`...
//! A folder is claimed with a marker naming its source, so processing the same input
//! again reuses its own folder and nothing else. Nothing is written through a link: the
//! folder is refused when it is a link or belongs to another user, and every file is
//! written to a fresh, exclusively created temporary name inside it, then renamed into
//! place (a link planted under a document's name is replaced, never followed). A folder
//! that is the user's own (no marker) is left alone and the next name is taken.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use cap_std::fs::{Dir, OpenOptions};
use serde::{Deserialize, Serialize};

/// The file that marks a folder as Video2Doc's documents (watched folders and folder
/// drops skip such folders).
pub const OUTPUT_MARKER: &str = ".video2doc-output";

/// Why documents could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error(
        "the document folder {path} is a link; Video2Doc does not write through links: \
         remove it or choose another output folder"
    )]
    Link { path: PathBuf },
    #[error(
        "the document folder {path} belongs to another user; Video2Doc does not write into \
         it: remove it or choose another output folder"
    )]
    NotOwned { path: PathBuf },
    #[error("{path} is not a folder of documents Video2Doc made (it has no {OUTPUT_MARKER})")]
    NotDocuments { path: PathBuf },
    #[error("{root} already holds 999 folders named {stem}: choose another output folder")]
    NoFreeName { root: PathBuf, stem: String },
    #[error("could not write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the marker says: whose documents the folder holds.
#[derive(Debug, Serialize, Deserialize)]
struct Marker {
    source: PathBuf,
}

/// An open document folder (or a folder inside one), written without following links.
pub struct DocFolder {
    path: PathBuf,
    dir: Dir,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> FolderError + '_ {
    move |source| FolderError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DocFolder {
    /// The folder for the documents of `source` in `out_root`, named `stem` or, when that
    /// name holds something else, `stem (2)`, `stem (3)`...: the first that is free or
    /// already this source's.
    pub fn claim(out_root: &Path, stem: &str, source: &Path) -> Result<DocFolder, FolderError> {
        std::fs::create_dir_all(out_root).map_err(io(out_root))?;
        let root =
            Dir::open_ambient_dir(out_root, cap_std::ambient_authority()).map_err(io(out_root))?;
        for n in 1..=999 {
            let name = if n == 1 {
                stem.to_string()
            } else {
                format!("{stem} ({n})")
            };
            let path = out_root.join(&name);
            match root.create_dir(&name) {
                Ok(()) => {
                    let folder = DocFolder::open(&root, &name, path)?;
                    let marker = serde_json::to_vec(&Marker {
                        source: source.to_path_buf(),
                    })
                    .expect("markers serialize");
                    folder.write(OUTPUT_MARKER, &marker)?;
                    return Ok(folder);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let meta = root.symlink_metadata(&name).map_err(io(&path))?;
                    if meta.file_type().is_symlink() {
                        return Err(FolderError::Link { path });
                    }
                    if !meta.is_dir() {
                        continue;
                    }
                    if !owned(&meta) {
                        return Err(FolderError::NotOwned { path });
                    }
                    let folder = DocFolder::open(&root, &name, path)?;
                    if folder.source(stem).as_deref() == Some(source) {
                        return Ok(folder);
                    }
                }
                Err(e) => return Err(FolderError::Io { path, source: e }),
            }
        }
        Err(FolderError::NoFreeName {
            root: out_root.to_path_buf(),
            stem: stem.to_string(),
        })
    }

    fn open(parent: &Dir, name: &str, path: PathBuf) -> Result<DocFolder, FolderError> {
        let meta = parent.symlink_metadata(name).map_err(io(&path))?;
        if meta.file_type().is_symlink() {
            return Err(FolderError::Link { path });
        }
        let dir = parent.open_dir(name).map_err(io(&path))?;
        Ok(DocFolder { path, dir })
    }

    /// Whose documents these are: the marker's source, or for a folder made by an older
    /// version, the source its JSON document names.
    fn source(&self, stem: &str) -> Option<PathBuf> {
        let marker = self.dir.read_to_string(OUTPUT_MARKER).ok()?;
        if let Ok(m) = serde_json::from_str::<Marker>(&marker) {
            return Some(m.source);
        }
        #[derive(Deserialize)]
        struct Written {
            source: PathBuf,
        }
        let doc = self.dir.read(format!("{stem}.json")).ok()?;
        serde_json::from_slice::<Written>(&doc)
            .ok()
            .map(|d| d.source)
    }

    /// An existing document folder (one that has the marker), opened without following
    /// links, to write its documents again.
    pub fn reopen(path: &Path) -> Result<DocFolder, FolderError> {
        let not_documents = || FolderError::NotDocuments {
            path: path.to_path_buf(),
        };
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(not_documents());
        };
        let name = name.to_string_lossy();
        let root =
            Dir::open_ambient_dir(parent, cap_std::ambient_authority()).map_err(io(parent))?;
        let meta = root.symlink_metadata(name.as_ref()).map_err(io(path))?;
        if meta.file_type().is_symlink() {
            return Err(FolderError::Link {
                path: path.to_path_buf(),
            });
        }
        if !owned(&meta) {
            return Err(FolderError::NotOwned {
                path: path.to_path_buf(),
            });
        }
        let folder = DocFolder::open(&root, &name, path.to_path_buf())?;
        if folder.dir.symlink_metadata(OUTPUT_MARKER).is_err() {
            return Err(not_documents());
        }
        Ok(folder)
    }

    /// Reads the file `name` in this folder (not through a link).
    pub fn read(&self, name: &str) -> Result<Vec<u8>, FolderError> {
        let path = self.path.join(name);
        let meta = self.dir.symlink_metadata(name).map_err(io(&path))?;
        if meta.file_type().is_symlink() {
            return Err(FolderError::Link { path });
        }
        self.dir.read(name).map_err(io(&path))
    }

    /// Whether this folder holds a file `name` (not a link).
    pub fn has(&self, name: &str) -> bool {
        self.dir.symlink_metadata(name).is_ok_and(|m| m.is_file())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The folder `name` inside this one, made if missing; refused if it is a link.
    pub fn subfolder(&self, name: &str) -> Result<DocFolder, FolderError> {
        let path = self.path.join(name);
        match self.dir.create_dir(name) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(FolderError::Io { path, source }),
        }
        DocFolder::open(&self.dir, name, path)
    }

    /// Writes `bytes` as `name`: to a fresh temporary file created exclusively here, then
    /// renamed over `name` (which is replaced if it is a link, not followed).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf, FolderError> {
        let path = self.path.join(name);
        let (tmp, mut file) = self.temporary(name)?;
        let written = file
            .write_all(bytes)
            .and_then(|_| file.sync_all())
            .and_then(|_| self.dir.rename(&tmp, &self.dir, name));
        if let Err(source) = written {
            let _ = self.dir.remove_file(&tmp);
            return Err(FolderError::Io { path, source });
        }
        Ok(path)
    }

    /// Copies the file at `from` (outside, e.g. the work folder) in as `name`.
    pub fn copy_in(&self, from: &Path, name: &str) -> Result<PathBuf, FolderError> {
        let bytes = std::fs::read(from).map_err(io(from))?;
        self.write(name, &bytes)
    }

    /// Removes the files here that `stale` picks and `keep` does not name (slides of a
    /// longer earlier run); links are removed as entries, never followed.
    pub fn remove_stale(
        &self,
        keep: &[String],
        stale: impl Fn(&str) -> bool,
    ) -> Result<(), FolderError> {
        let entries = self.dir.entries().map_err(io(&self.path))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if stale(&name) && !keep.contains(&name) {
                let _ = self.dir.remove_file(&name);
            }
        }
        Ok(())
    }

    /// The existing folder `name` inside this one (refused if it is a link).
    pub fn inner(&self, name: &str) -> Result<DocFolder, FolderError> {
        DocFolder::open(&self.dir, name, self.path.join(name))
    }

    /// Whether nothing but the marker is left in this folder.
    pub fn only_marker_left(&self) -> bool {
        self.dir.entries().is_ok_and(|rd| {
            rd.flatten()
                .all(|e| e.file_name().to_string_lossy() == OUTPUT_MARKER)
        })
    }

    /// Removes the empty folder `name` in `parent` (never a link's target).
    pub fn remove_empty(parent: &Path, name: &str) -> Result<(), FolderError> {
        let root =
            Dir::open_ambient_dir(parent, cap_std::ambient_authority()).map_err(io(parent))?;
        root.remove_dir(name).map_err(io(&parent.join(name)))
    }

    /// Removes the file (or link, as an entry) `name` here; a missing one is no error.
    pub fn remove_file(&self, name: &str) -> Result<(), FolderError> {
        match self.dir.remove_file(name) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(FolderError::Io {
                path: self.path.join(name),
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// Removes the folder `name` here if it is empty; true when it is gone.
    pub fn remove_empty_dir(&self, name: &str) -> bool {
        self.dir.remove_dir(name).is_ok() || self.dir.symlink_metadata(name).is_err()
    }

    fn temporary(&self, name: &str) -> Result<(String, cap_std::fs::File), FolderError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        let mut last = None;
        for _ in 0..16 {
            let tmp = format!(
                ".{name}.{}-{nanos:x}-{}.part",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            );
            match self.dir.open_with(&tmp, &options) {
                Ok(f) => return Ok((tmp, f)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
                Err(source) => {
                    return Err(FolderError::Io {
                        path: self.path.join(tmp),
                        source,
                    })
                }
            }
        }
        Err(FolderError::Io {
            path: self.path.join(name),
            source: last.expect("a failed attempt"),
        })
    }
}

#[cfg(unix)]
fn owned(meta: &cap_std::fs::Metadata) -> bool {
    use cap_std::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    meta.uid() == unsafe { libc::geteuid() }
}

#[cfg(not(unix))]
fn owned(_: &cap_std::fs::Metadata) -> bool {
    true
}
