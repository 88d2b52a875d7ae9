//! The models installed in the data folder, as the window manages them: the catalogue
//! with what is present, downloads that can be followed and cancelled (one at a time
//! per model), and imports of ggml files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::catalogue::{self, ModelError};
use super::download::Event;
use crate::net::Http;

/// One model as the settings list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub name: String,
    pub size_bytes: u64,
    pub multilingual: bool,
    pub present: bool,
    pub path: PathBuf,
    /// Bytes done and total while a download runs.
    pub downloading: Option<Download>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Download {
    pub done: u64,
    pub total: u64,
    /// What holds it up, in plain words: another download of the same file, or a
    /// dropped connection being resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

struct Running {
    cancel: Arc<AtomicBool>,
    progress: Download,
}

/// The models folder and the downloads running into it.
pub struct ModelLibrary {
    dir: PathBuf,
    /// Where catalogue models are downloaded from (Hugging Face or a mirror).
    source: Mutex<String>,
    /// An organisation's own catalogue entries (the `model_catalogue` setting).
    extra: Mutex<Vec<catalogue::CatalogueEntry>>,
    running: Mutex<BTreeMap<String, Running>>,
}

impl ModelLibrary {
    pub fn new(dir: PathBuf) -> ModelLibrary {
        ModelLibrary {
            dir,
            source: Mutex::new(catalogue::DEFAULT_SOURCE.to_string()),
            extra: Mutex::new(Vec::new()),
            running: Mutex::new(BTreeMap::new()),
        }
    }

    /// Downloads come from `source` from now on (the `model_source` setting).
    pub fn set_source(&self, source: &str) {
        *self.source.lock().unwrap_or_else(|p| p.into_inner()) = source.to_string();
    }

    /// Adds an organisation's own entries to the catalogue (replacing the previous ones).
    pub fn set_extra(&self, extra: Vec<catalogue::CatalogueEntry>) {
        *self.extra.lock().unwrap_or_else(|p| p.into_inner()) = extra;
    }

    /// The catalogue as this library offers it.
    pub fn entries(&self) -> Vec<catalogue::CatalogueEntry> {
        let extra = self.extra.lock().unwrap_or_else(|p| p.into_inner()).clone();
        catalogue::catalogue_with(&self.source(), &extra)
    }

    pub fn source(&self) -> String {
        self.source
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The catalogue, then models imported under other names.
    pub fn list(&self) -> Vec<ModelRow> {
        let running = self.lock();
        let mut rows: Vec<ModelRow> = self
            .entries()
            .into_iter()
            .map(|e| {
                let path = self.dir.join(e.file_name());
                let meta = std::fs::metadata(&path).ok();
                ModelRow {
                    present: meta.is_some(),
                    size_bytes: meta.map(|m| m.len()).unwrap_or(u64::from(e.size_mib) << 20),
                    downloading: running.get(&e.name).map(|r| r.progress.clone()),
                    name: e.name,
                    multilingual: e.multilingual,
                    path,
                }
            })
            .collect();
        let known: Vec<PathBuf> = rows.iter().map(|r| r.path.clone()).collect();
        let mut imported: Vec<ModelRow> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !known.contains(&e.path()))
            .filter_map(|e| {
                let file = e.file_name().into_string().ok()?;
                let name = file
                    .strip_prefix("ggml-")?
                    .strip_suffix(".bin")?
                    .to_string();
                let info = catalogue::ggml_info(&e.path()).ok()?;
                Some(ModelRow {
                    multilingual: info.multilingual,
                    size_bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
                    present: true,
                    path: e.path(),
                    downloading: None,
                    name,
                })
            })
            .collect();
        imported.sort_by(|a, b| a.name.cmp(&b.name));
        rows.extend(imported);
        rows
    }

    pub fn row(&self, name: &str) -> Option<ModelRow> {
        self.list().into_iter().find(|r| r.name == name)
    }

    /// Downloads a catalogue model (resuming a partial one), calling `progress` with
    /// (done, total) bytes. A second request in this process for a model already
    /// downloading is refused; another process's download of it is waited for.
    pub fn download(
        &self,
        name: &str,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<ModelRow, ModelError> {
        let entry = catalogue::find_in(&self.entries(), name)
            .ok_or_else(|| ModelError::Unknown(name.into()))?;
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = self.lock();
            if running.contains_key(&entry.name) {
                return Err(ModelError::Busy(entry.name));
            }
            running.insert(
                entry.name.clone(),
                Running {
                    cancel: cancel.clone(),
                    progress: Download {
                        done: 0,
                        total: u64::from(entry.size_mib) << 20,
                        note: None,
                    },
                },
            );
        }
        let http = Http::from_environment();
        let guess = u64::from(entry.size_mib) << 20;
        let result = catalogue::download(&http, &entry, &self.dir, &cancel, |event| {
            let mut running = self.lock();
            let Some(r) = running.get_mut(&entry.name) else {
                return;
            };
            match event {
                Event::Progress { done, total } => {
                    r.progress = Download {
                        done,
                        total: total.unwrap_or(guess),
                        note: None,
                    };
                }
                Event::WaitingForOther => {
                    r.progress.note = Some("waiting for another download of this model".into());
                }
                Event::Retrying { reason, .. } => {
                    r.progress.note = Some(format!("{reason}; resuming"));
                }
                Event::Verifying => r.progress.note = Some("checking the file".into()),
            }
            let p = r.progress.clone();
            drop(running);
            progress(p.done, p.total);
        });
        self.lock().remove(&entry.name);
        result?;
        Ok(self.row(&entry.name).expect("a downloaded model is listed"))
    }

    /// Stops a running download (its partial file stays, to resume). False when none ran.
    pub fn cancel(&self, name: &str) -> bool {
        match self.lock().get(name) {
            Some(r) => {
                r.cancel.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    /// Imports a ggml file under its own name (`ggml-NAME.bin` or `NAME.bin`), after
    /// checking that it is a Whisper model; or converts a faster-whisper model folder
    /// (model.bin, vocabulary.txt) to one named after the folder.
    pub fn import(&self, src: &Path) -> Result<ModelRow, ModelError> {
        if src.is_dir() {
            let name = src
                .file_name()
                .map(|s| {
                    s.to_string_lossy()
                        .trim_start_matches("faster-whisper-")
                        .to_string()
                })
                .unwrap_or_default();
            let dest = self.dir.join(format!("ggml-{name}.bin"));
            std::fs::create_dir_all(&self.dir).map_err(|source| ModelError::Write {
                path: self.dir.clone(),
                source,
            })?;
            super::convert_ct2_dir_as(src, &dest, super::WeightType::F16).map_err(|e| {
                ModelError::NotGgml {
                    path: src.to_path_buf(),
                    reason: e.to_string(),
                }
            })?;
            return Ok(self.row(&name).expect("an imported model is listed"));
        }
        let stem = src
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = stem.trim_start_matches("ggml-").to_string();
        if name.is_empty() {
            return Err(ModelError::NotGgml {
                path: src.to_path_buf(),
                reason: "it has no name".into(),
            });
        }
        catalogue::import_ggml(src, &self.dir, &name)?;
        Ok(self.row(&name).expect("an imported model is listed"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_model_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let lib = ModelLibrary::new(dir.path().join("models"));
        let fake = dir.path().join("ggml-mine.bin");
        std::fs::write(&fake, b"not a model at all, just some text").unwrap();
        let e = lib.import(&fake).unwrap_err().to_string();
        assert!(
            e.contains("ggml-mine.bin") && e.contains("not a ggml"),
            "{e}"
        );
        assert!(lib.list().iter().all(|r| r.name != "mine"));
    }

    #[test]
    fn the_list_has_the_catalogue_and_unknown_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let lib = ModelLibrary::new(dir.path().to_path_buf());
        let rows = lib.list();
        assert_eq!(rows.len(), catalogue::catalogue().len());
        assert!(rows.iter().all(|r| !r.present && r.downloading.is_none()));
        let tiny = rows.iter().find(|r| r.name == "tiny.en").unwrap();
        assert!(!tiny.multilingual && tiny.size_bytes > 70 << 20);
        assert!(matches!(
            lib.download("no-such-model", |_, _| {}),
            Err(ModelError::Unknown(_))
        ));
        assert!(!lib.cancel("tiny.en"));
    }
}
