//! What a person hands the app: files and folders dropped on the window, picked in a
//! dialog, passed on the command line or to a second launch. This module owns turning
//! them into items: folders expanded, unsupported files set aside with the reason,
//! each supported file submitted as a complete workflow.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::api::{Core, CoreError, ProcessOptions};
use crate::items::ItemKey;
use crate::watch::MEDIA_EXTENSIONS;

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

/// Whether the app takes files of this name.
pub fn is_supported(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The files under the paths, in a stable order: supported ones, and the others with why.
pub fn expand(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<Rejected>) {
    let mut files = Vec::new();
    let mut rejected = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, 0, &mut files);
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
    files.dedup();
    (files, rejected)
}

/// Supported files of a folder and its subfolders; hidden ones and the app's own output
/// folders are skipped.
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    if depth > MAX_DEPTH || dir.join(crate::watch::OUTPUT_MARKER).exists() {
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
        if p.is_dir() {
            walk(&p, depth + 1, out);
        } else if is_supported(&p) {
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
                Err(e @ (CoreError::ModelMissing(_) | CoreError::NoOutput)) => return Err(e),
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
        std::fs::write(root.join("out").join(crate::watch::OUTPUT_MARKER), b"").unwrap();
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
}
