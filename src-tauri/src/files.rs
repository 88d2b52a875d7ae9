//! Which files the window may open, show in the file manager or load (the asset
//! protocol), and how checked paths are handed to the system.
//!
//! Every path is canonicalised (symlinks and `..` resolved) before it is compared, and so
//! is every root. The roots come from the app's folders and the settings, never from job
//! data; a job's data only names single files, and those are checked like any other.
//! - **Open**: a regular file of a document type ([`DOCUMENT_TYPES`]) that is not a
//!   program, under an output root (the output folder, the watched folders and their
//!   output folders) or listed by an item detail the window was given (outputs, slides).
//! - **Reveal**: what may be opened, or a folder: the app's own (data, settings), one
//!   under an output root, or the folder of a listed document. Never an app bundle.
//! - **Load**: exact files only, never a folder: the slide thumbnails of a detail (in the
//!   app's work folder) and its HTML document (the preview), after the checks of open.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use video2doc_core::document::Document;
use video2doc_core::library::Entry;
use video2doc_core::AppSettings;
use video2doc_core::CoreDirs;
use video2doc_core::ItemDetail;
use video2doc_core::OutputPlace;

use crate::error::CommandError;

/// The files the window opens: the documents and slide images the app writes.
pub const DOCUMENT_TYPES: [&str; 11] = [
    "md", "html", "docx", "pdf", "srt", "vtt", "txt", "json", "jpg", "jpeg", "png",
];

/// Image types a slide thumbnail may have.
const IMAGE_TYPES: [&str; 3] = ["jpg", "jpeg", "png"];

/// Folders that are programs on macOS (opened, they run).
const BUNDLE_TYPES: [&str; 10] = [
    "app",
    "appex",
    "bundle",
    "framework",
    "kext",
    "mpkg",
    "pkg",
    "plugin",
    "prefpane",
    "xpc",
];

/// Why the window may not have a file.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{} does not exist (moved or deleted?)", .path.display())]
    Missing {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a Video2Doc document or folder", .path.display())]
    Outside { path: PathBuf },
    #[error("{} is not a Video2Doc document: only {} files are opened", .path.display(), DOCUMENT_TYPES.join(", "))]
    NotADocument { path: PathBuf },
    #[error("{} is a program; Video2Doc never starts programs", .path.display())]
    Program { path: PathBuf },
}

impl From<FileError> for CommandError {
    fn from(e: FileError) -> Self {
        let code = match e {
            FileError::Missing { .. } => "not_found",
            _ => "bad_request",
        };
        CommandError {
            code,
            detail: std::error::Error::source(&e).map(|s| s.to_string()),
            message: e.to_string(),
        }
    }
}

/// How a checked path is handed to the system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// With its default app.
    Open,
    /// Selected in the file manager.
    Reveal,
}

/// Hands checked paths to the system (the `opener` crate); the tests manage a recording
/// one instead, so that they check `open_path` without starting any app.
#[derive(Clone)]
pub struct Launcher(Arc<LaunchFn>);

/// Hands one path to the system; the error in plain words.
type LaunchFn = dyn Fn(Launch, &Path) -> Result<(), String> + Send + Sync;

impl Launcher {
    pub fn new(f: impl Fn(Launch, &Path) -> Result<(), String> + Send + Sync + 'static) -> Self {
        Launcher(Arc::new(f))
    }

    pub fn system() -> Self {
        Launcher::new(|how, path| {
            match how {
                Launch::Open => opener::open(path),
                Launch::Reveal => opener::reveal(path),
            }
            .map_err(|e| e.to_string())
        })
    }

    pub fn launch(&self, how: Launch, path: &Path) -> Result<(), String> {
        (self.0)(how, path)
    }
}

/// The roots, as configured (canonicalised when used: a folder may appear later).
#[derive(Debug, Clone, Default)]
struct Roots {
    /// Where documents are written.
    output: Vec<PathBuf>,
    /// The app's own folders (data, settings): shown, never opened from.
    app: Vec<PathBuf>,
    /// The work folder, where slide thumbnails are.
    work: PathBuf,
}

/// The window's access to files; see the module documentation.
#[derive(Default)]
pub struct Files {
    roots: Mutex<Roots>,
    /// Files item details listed (outputs, slides), canonical.
    listed: Mutex<HashSet<PathBuf>>,
    /// Files already added to the asset scope.
    loadable: Mutex<HashSet<PathBuf>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The lower-case extension of `path`, if it is one of `types`.
fn has_type(path: &Path, types: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| types.contains(&e.to_ascii_lowercase().as_str()))
}

/// `path` with symlinks and `..` resolved. On Windows without the `\\?\` prefix that
/// `canonicalize` adds to drive paths, which not every program takes.
fn canonical(path: &Path) -> std::io::Result<PathBuf> {
    let real = path.canonicalize()?;
    #[cfg(windows)]
    if let Some(plain) = real.to_str().and_then(|s| s.strip_prefix(r"\\?\")) {
        if plain.as_bytes().get(1) == Some(&b':') {
            return Ok(PathBuf::from(plain));
        }
    }
    Ok(real)
}

/// `path` with symlinks and `..` resolved; it must exist.
fn real(path: &Path) -> Result<PathBuf, FileError> {
    if !path.is_absolute() {
        return Err(FileError::Outside {
            path: path.to_path_buf(),
        });
    }
    canonical(path).map_err(|source| FileError::Missing {
        path: path.to_path_buf(),
        source,
    })
}

/// Whether `dir` (canonical) is `root` or inside it, with `root` canonicalised.
fn within(dir: &Path, root: &Path) -> bool {
    canonical(root).is_ok_and(|r| dir.starts_with(r))
}

/// Whether a file is a program: executable, and starting as scripts and binaries do. (The
/// mode alone is not enough: on FAT and SMB mounts every file has it.)
#[cfg(unix)]
fn is_program(path: &Path, meta: &std::fs::Metadata) -> bool {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    if meta.permissions().mode() & 0o111 == 0 {
        return false;
    }
    let mut head = [0u8; 4];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    const MAGIC: [&[u8]; 7] = [
        b"#!",
        b"\x7fELF",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
    ];
    MAGIC.iter().any(|m| head[..n].starts_with(m))
}

#[cfg(not(unix))]
fn is_program(_path: &Path, _meta: &std::fs::Metadata) -> bool {
    // Elsewhere the type decides what the system does with a file, and only documents
    // get through.
    false
}

impl Files {
    /// Takes the roots from the app's folders and the settings (at start and whenever
    /// the settings change).
    pub fn set_roots(&self, dirs: &CoreDirs, settings: &AppSettings) {
        let mut output = vec![settings.output_dir_or_default()];
        for w in &settings.watch {
            output.push(match &w.output {
                OutputPlace::Folder(p) => p.clone(),
                OutputPlace::BesideSource => w.path.clone(),
            });
        }
        *lock(&self.roots) = Roots {
            output,
            app: vec![dirs.data.clone(), dirs.config.clone()],
            work: dirs.work(),
        };
    }

    fn under_output_root(&self, real: &Path) -> bool {
        let roots = lock(&self.roots).output.clone();
        roots.iter().any(|r| within(real, r))
    }

    /// The canonical path of `path` if the window may open it.
    pub fn openable(&self, path: &Path) -> Result<PathBuf, FileError> {
        let real = real(path)?;
        let meta = std::fs::metadata(&real).map_err(|source| FileError::Missing {
            path: path.to_path_buf(),
            source,
        })?;
        if !meta.is_file() || !has_type(&real, &DOCUMENT_TYPES) {
            return Err(FileError::NotADocument {
                path: path.to_path_buf(),
            });
        }
        if is_program(&real, &meta) {
            return Err(FileError::Program {
                path: path.to_path_buf(),
            });
        }
        if self.under_output_root(&real) || lock(&self.listed).contains(&real) {
            Ok(real)
        } else {
            Err(FileError::Outside {
                path: path.to_path_buf(),
            })
        }
    }

    /// The canonical path of `path` if the window may show it in the file manager.
    pub fn revealable(&self, path: &Path) -> Result<PathBuf, FileError> {
        let real = real(path)?;
        if !real.is_dir() {
            return self.openable(path);
        }
        if has_type(&real, &BUNDLE_TYPES) {
            return Err(FileError::Program {
                path: path.to_path_buf(),
            });
        }
        let app = lock(&self.roots).app.clone();
        let allowed = app.iter().any(|r| within(&real, r))
            || self.under_output_root(&real)
            || lock(&self.listed)
                .iter()
                .any(|f| f.parent() == Some(real.as_path()));
        if allowed {
            Ok(real)
        } else {
            Err(FileError::Outside {
                path: path.to_path_buf(),
            })
        }
    }

    /// Notes the files a detail lists and returns those the window may now load that it
    /// could not before (to add to the asset scope).
    pub fn note_detail(&self, detail: &ItemDetail) -> Vec<PathBuf> {
        let outputs = detail.outputs.iter().map(|o| o.path.as_path());
        let slides = detail
            .slides
            .iter()
            .flat_map(|s| [s.image.as_path(), s.thumbnail.as_path()]);
        {
            let mut listed = lock(&self.listed);
            for p in outputs.chain(slides) {
                // The app writes regular files: a link in their place is someone else's.
                let link = p.symlink_metadata().is_ok_and(|m| m.is_symlink());
                if let (false, Ok(real)) = (link, canonical(p)) {
                    listed.insert(real);
                }
            }
        }
        let work = lock(&self.roots).work.clone();
        let thumbs = detail.slides.iter().filter_map(|s| {
            let real = canonical(&s.thumbnail).ok()?;
            (real.is_file() && has_type(&real, &IMAGE_TYPES) && within(&real, &work))
                .then_some(real)
        });
        let preview = detail
            .preview_html
            .as_deref()
            .and_then(|p| self.openable(p).ok())
            .filter(|p| has_type(p, &["html"]));
        let mut loadable = lock(&self.loadable);
        thumbs
            .chain(preview)
            .filter(|p| loadable.insert(p.clone()))
            .collect()
    }

    /// Notes a library document the window opens: its files may be opened and its
    /// folder shown; its slide pictures (in its own folder) may be loaded. Returns those
    /// newly loadable, and its source when it is a media file there is to play.
    pub fn note_document(&self, entry: &Entry, doc: &Document) -> (Vec<PathBuf>, Option<PathBuf>) {
        let mut out = self.note_entry(entry);
        out.extend(
            self.note_pictures(
                entry,
                doc.sections
                    .iter()
                    .flat_map(|s| [s.image.as_deref(), s.thumbnail.as_deref()])
                    .flatten(),
            ),
        );
        // The source as the library recorded it, never as an edited draft says.
        let media = Some(&entry.source)
            .filter(|p| !p.symlink_metadata().is_ok_and(|m| m.is_symlink()))
            .and_then(|p| canonical(p).ok())
            .filter(|real| real.is_file() && video2doc_core::media::is_supported(real));
        (out, media)
    }

    /// Notes a library entry the window lists: its files may be opened and its folder
    /// shown, its thumbnail loaded. Returns what is newly loadable.
    pub fn note_entry(&self, entry: &Entry) -> Vec<PathBuf> {
        let outputs = entry
            .formats
            .iter()
            .map(|f| entry.folder.join(format!("{}.{}", entry.stem, f.ext())));
        let not_link = |p: &Path| !p.symlink_metadata().is_ok_and(|m| m.is_symlink());
        {
            let mut listed = lock(&self.listed);
            for p in outputs.filter(|p| not_link(p)) {
                if let Ok(real) = canonical(&p) {
                    listed.insert(real);
                }
            }
        }
        self.note_pictures(entry, entry.thumbnail.as_deref().into_iter())
    }

    /// The pictures among `paths` that are images in the entry's own folder, newly
    /// loadable.
    fn note_pictures<'a>(
        &self,
        entry: &Entry,
        paths: impl Iterator<Item = &'a Path>,
    ) -> Vec<PathBuf> {
        let folder = canonical(&entry.folder).ok();
        let not_link = |p: &Path| !p.symlink_metadata().is_ok_and(|m| m.is_symlink());
        let mut loadable = lock(&self.loadable);
        paths
            .filter(|p| not_link(p))
            .filter_map(|p| canonical(p).ok())
            .filter(|real| {
                real.is_file()
                    && has_type(real, &IMAGE_TYPES)
                    && folder.as_ref().is_some_and(|f| within(real, f))
            })
            .filter(|p| loadable.insert(p.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_are_matched_without_case() {
        assert!(has_type(Path::new("/a/Lecture.MD"), &DOCUMENT_TYPES));
        assert!(!has_type(Path::new("/a/lecture"), &DOCUMENT_TYPES));
        assert!(!has_type(Path::new("/a/x.desktop"), &DOCUMENT_TYPES));
        assert!(has_type(Path::new("/a/Calc.App"), &BUNDLE_TYPES));
    }

    #[test]
    fn a_relative_path_is_refused() {
        assert!(matches!(
            real(Path::new("docs/a.md")),
            Err(FileError::Outside { .. })
        ));
    }
}
