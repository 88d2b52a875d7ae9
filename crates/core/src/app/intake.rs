//! What a person hands the app: files and folders dropped on the window, picked in a
//! dialog, passed on the command line or to a second launch. This module owns turning
//! them into items: folders expanded, unsupported files set aside with the reason,
//! each supported file submitted as a complete workflow.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::app::items::ItemKey;
use crate::app::{Core, CoreError, ProcessOptions};
pub use crate::media::{is_supported, MEDIA_EXTENSIONS};

/// What became of each path handed in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ImportReport {
    pub accepted: Vec<Accepted>,
    pub rejected: Vec<Rejected>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub path: PathBuf,
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rejected {
    pub path: PathBuf,
    pub reason: String,
}

/// Folders deeper than this are not entered (a dropped home folder must not take hours).
const MAX_DEPTH: usize = 8;
/// At most this many files from one drop.
const MAX_FILES: usize = 10_000;

/// The files under the paths, in a stable order: supported ones, and the others with why.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Rejected>) {
    let mut files = Vec::new();
    let mut rejected = Vec::new();
    let mut visited = std::collections::HashSet::new();
    for p in paths {
        if p.is_dir() {
            walk(p, 0, &mut visited, &mut files);
            if files.len() >= MAX_FILES {
                rejected.push(Rejected {
                    path: p.clone(),
                    reason: format!(
                        "it holds more than {MAX_FILES} video and audio files; the first \
                         {MAX_FILES} were taken: drop fewer at a time"
                    ),
                });
                break;
            }
        } else if !p.exists() {
            rejected.push(Rejected {
                path: p.clone(),
                reason: "it does not exist".into(),
            });
        } else if is_supported(p) {
            files.push(p.clone());
        } else {
            let ext = p
                .extension()
                .map(|e| format!(".{}", e.to_string_lossy()))
                .unwrap_or_else(|| "without an extension".into());
            rejected.push(Rejected {
                path: p.clone(),
                reason: format!(
                    "files {ext} are not video or audio; supported: {}",
                    MEDIA_EXTENSIONS.join(", ")
                ),
            });
        }
    }
    // The same file reached twice (named twice, or through a link): once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|f| seen.insert(f.canonicalize().unwrap_or_else(|_| f.clone())));
    (files, rejected)
}

/// Supported files of a folder and its subfolders; hidden ones, the app's own output
/// folders and links are skipped, and no folder is walked twice (a link loop cannot
/// multiply files).
fn walk(
    dir: &Path,
    depth: usize,
    visited: &mut std::collections::HashSet<PathBuf>,
    out: &mut Vec<PathBuf>,
) {
    if depth > MAX_DEPTH
        || out.len() >= MAX_FILES
        || dir.join(crate::app::watch::OUTPUT_MARKER).exists()
        || !visited.insert(dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf()))
    {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let hidden = p
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        // Links inside a dropped folder are not followed (as in watched folders); a
        // link dropped itself is.
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        if p.is_dir() {
            walk(&p, depth + 1, visited, out);
        } else if is_supported(&p) && out.len() < MAX_FILES {
            out.push(p);
        }
    }
}

impl Core {
    /// Submits every supported file under `paths` as a complete workflow. A file that
    /// cannot be submitted is reported with the reason and does not stop the others.
    /// With no model installed yet the files are accepted and their transcription waits
    /// for one (the window's first run).
    pub async fn import_paths(
        &self,
        paths: &[PathBuf],
        o: &ProcessOptions,
    ) -> Result<ImportReport, CoreError> {
        let o = &ProcessOptions {
            wait_for_model: true,
            ..o.clone()
        };
        let (files, rejected) = expand(paths);
        let mut report = ImportReport {
            accepted: Vec::new(),
            rejected,
        };
        if files.is_empty() && report.rejected.is_empty() {
            return Err(CoreError::Unsupported {
                path: paths.first().cloned().unwrap_or_default(),
                reason: format!(
                    "no video or audio files in it (supported: {})",
                    MEDIA_EXTENSIONS.join(", ")
                ),
            });
        }
        for f in files {
            match self.submit_complete(&f, o).await {
                Ok(w) => report.accepted.push(Accepted {
                    key: ItemKey::Group(w.group).to_string(),
                    path: f,
                }),
                // The app cannot work at all: say so once, not per file.
                Err(e @ (CoreError::CannotTranscribe(_) | CoreError::NoOutput)) => return Err(e),
                Err(e) => report.rejected.push(Rejected {
                    path: f,
                    reason: e.to_string(),
                }),
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_are_expanded_and_other_files_refused_with_the_reason() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("week 1/.hidden")).unwrap();
        std::fs::create_dir_all(root.join("out")).unwrap();
        for f in [
            "week 1/a.MP4",
            "week 1/b.mkv",
            "week 1/notes.txt",
            "week 1/.hidden/c.mp4",
            "out/done.mp4",
            "talk.m4a",
            "slides.pdf",
        ] {
            std::fs::write(root.join(f), b"x").unwrap();
        }
        std::fs::write(root.join("out").join(crate::app::watch::OUTPUT_MARKER), b"").unwrap();
        let (files, rejected) = expand(&[
            root.join("week 1"),
            root.join("out"),
            root.join("talk.m4a"),
            root.join("slides.pdf"),
            root.join("missing.mp4"),
        ]);
        assert_eq!(
            files,
            vec![
                root.join("week 1/a.MP4"),
                root.join("week 1/b.mkv"),
                root.join("talk.m4a")
            ]
        );
        assert_eq!(rejected.len(), 2);
        assert!(rejected[0].reason.contains(".pdf are not video or audio"));
        assert_eq!(rejected[1].reason, "it does not exist");
    }

    #[cfg(unix)]
    #[test]
    fn link_loops_and_the_same_file_twice_give_each_file_once() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("course");
        std::fs::create_dir_all(root.join("week 1")).unwrap();
        std::fs::write(root.join("week 1/a.mp4"), b"x").unwrap();
        std::fs::write(root.join("b.mp4"), b"x").unwrap();
        // Links back up the tree, twice: each file would be reached many times over.
        std::os::unix::fs::symlink(&root, root.join("week 1/self")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("again")).unwrap();
        std::os::unix::fs::symlink(root.join("b.mp4"), root.join("b-link.mp4")).unwrap();
        let (files, rejected) = expand(&[root.clone(), root.join("b.mp4")]);
        assert_eq!(files, vec![root.join("b.mp4"), root.join("week 1/a.mp4")]);
        assert!(rejected.is_empty(), "{rejected:?}");
    }
}
