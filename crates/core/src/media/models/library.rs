//! The models installed in the data folder, as the window manages them: the catalogue
//! (Whisper models, then text models, then speaker models) with what is present,
//! downloads that can be followed and cancelled (one at a time per model), and imports
//! of ggml files, faster-whisper folders, text model folders and speaker model folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::catalogue::{self, ModelError};
use super::download::Event;
use super::{llm, speaker, text};
use crate::net::Http;

/// What a model does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelKind {
    /// Transcribes speech (a ggml Whisper model).
    #[default]
    Whisper,
    /// Reads slide text (a pair of ONNX networks).
    Text,
    /// Tells speakers apart (a pair of ONNX networks).
    Speaker,
    /// Writes summaries (a GGUF language model).
    Summary,
}

/// One model as the settings list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRow {
    pub name: String,
    #[serde(default)]
    pub kind: ModelKind,
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
                    kind: ModelKind::Whisper,
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
                    kind: ModelKind::Whisper,
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
        let text_dir = text::text_dir(&self.dir);
        let installed = text::installed(&text_dir);
        for e in text::text_catalogue() {
            let paths = e.paths(&text_dir);
            rows.push(ModelRow {
                kind: ModelKind::Text,
                present: installed.as_ref() == Some(&paths),
                size_bytes: e.size_bytes(),
                downloading: running.get(&e.name).map(|r| r.progress.clone()),
                multilingual: true,
                path: text_dir.clone(),
                name: e.name,
            });
        }
        // A text model imported from elsewhere (its own file names).
        if let Some(other) = installed.filter(|p| {
            text::text_catalogue()
                .iter()
                .all(|e| &e.paths(&text_dir) != p)
        }) {
            rows.push(ModelRow {
                kind: ModelKind::Text,
                present: true,
                size_bytes: [&other.det, &other.rec]
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum(),
                downloading: None,
                multilingual: true,
                path: text_dir,
                name: "imported text model".into(),
            });
        }
        let speaker_dir = speaker::speaker_dir(&self.dir);
        let installed = speaker::installed(&speaker_dir);
        for e in speaker::speaker_catalogue() {
            let paths = e.paths(&speaker_dir);
            rows.push(ModelRow {
                kind: ModelKind::Speaker,
                present: installed.as_ref() == Some(&paths),
                size_bytes: e.size_bytes(),
                downloading: running.get(&e.name).map(|r| r.progress.clone()),
                multilingual: true,
                path: speaker_dir.clone(),
                name: e.name,
            });
        }
        if let Some(other) = installed.filter(|p| {
            speaker::speaker_catalogue()
                .iter()
                .all(|e| &e.paths(&speaker_dir) != p)
        }) {
            rows.push(ModelRow {
                kind: ModelKind::Speaker,
                present: true,
                size_bytes: [&other.segmentation, &other.voiceprint]
                    .iter()
                    .filter_map(|p| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum(),
                downloading: None,
                multilingual: true,
                path: speaker_dir,
                name: "imported speaker models".into(),
            });
        }
        let summary_dir = llm::summary_dir(&self.dir);
        let present = llm::installed(&summary_dir);
        for e in llm::summary_catalogue() {
            let path = summary_dir.join(&e.file.file_name);
            rows.push(ModelRow {
                kind: ModelKind::Summary,
                present: present.contains(&path),
                size_bytes: e.file.bytes,
                downloading: running.get(&e.name).map(|r| r.progress.clone()),
                multilingual: e.about.contains("Chinese"),
                path,
                name: e.name,
            });
        }
        // Summary models imported under their own file names.
        for path in present {
            if llm::summary_catalogue()
                .iter()
                .any(|e| summary_dir.join(&e.file.file_name) == path)
            {
                continue;
            }
            rows.push(ModelRow {
                kind: ModelKind::Summary,
                present: true,
                size_bytes: std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0),
                downloading: None,
                multilingual: true,
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path,
            });
        }
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
        progress: impl FnMut(u64, u64),
    ) -> Result<ModelRow, ModelError> {
        if let Some(entry) = text::find_text_model(name) {
            let dir = text::text_dir(&self.dir);
            let total = entry.size_bytes();
            return self.tracked(&entry.name, total, progress, |cancel, event| {
                text::download_text_model(&Http::from_environment(), &entry, &dir, cancel, event)
                    .map(|_| ())
            });
        }
        if let Some(entry) = llm::find_summary_model(name) {
            let dir = llm::summary_dir(&self.dir);
            let total = entry.file.bytes;
            return self.tracked(&entry.name, total, progress, |cancel, event| {
                llm::download_summary_model(&Http::from_environment(), &entry, &dir, cancel, event)
                    .map(|_| ())
            });
        }
        if let Some(entry) = speaker::find_speaker_model(name) {
            let dir = speaker::speaker_dir(&self.dir);
            let total = entry.size_bytes();
            return self.tracked(&entry.name, total, progress, |cancel, event| {
                speaker::download_speaker_model(
                    &Http::from_environment(),
                    &entry,
                    &dir,
                    cancel,
                    event,
                )
                .map(|_| ())
            });
        }
        let entry = catalogue::find_in(&self.entries(), name)
            .ok_or_else(|| ModelError::Unknown(name.into()))?;
        let guess = u64::from(entry.size_mib) << 20;
        let dir = self.dir.clone();
        self.tracked(&entry.name, guess, progress, |cancel, event| {
            catalogue::download(&Http::from_environment(), &entry, &dir, cancel, event).map(|_| ())
        })
    }

    /// Runs `download` as the one download of `name` in this process, its events kept as
    /// the row's progress and passed to `progress` as (done, total) bytes.
    fn tracked(
        &self,
        name: &str,
        guess: u64,
        mut progress: impl FnMut(u64, u64),
        download: impl FnOnce(&AtomicBool, &mut dyn FnMut(Event)) -> Result<(), ModelError>,
    ) -> Result<ModelRow, ModelError> {
        let cancel = Arc::new(AtomicBool::new(false));
        {
            let mut running = self.lock();
            if running.contains_key(name) {
                return Err(ModelError::Busy(name.to_string()));
            }
            running.insert(
                name.to_string(),
                Running {
                    cancel: cancel.clone(),
                    progress: Download {
                        done: 0,
                        total: guess,
                        note: None,
                    },
                },
            );
        }
        let mut on_event = |event: Event| {
            let mut running = self.lock();
            let Some(r) = running.get_mut(name) else {
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
        };
        let result = download(&cancel, &mut on_event);
        self.lock().remove(name);
        result?;
        Ok(self.row(name).expect("a downloaded model is listed"))
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
        // A GGUF file: a summary model.
        if src.is_file()
            && src
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
        {
            let dest = llm::import_summary_model(src, &llm::summary_dir(&self.dir))?;
            return Ok(self
                .list()
                .into_iter()
                .find(|r| r.kind == ModelKind::Summary && r.path == dest)
                .unwrap_or_else(|| {
                    panic!("the summary model imported to {} is listed", dest.display())
                }));
        }
        // A folder with a PP-OCR detection and recognition network: a text model.
        if src.is_dir() && crate::media::ocr::OcrModels::in_dir(src).is_some() {
            let paths = text::import_text_model(src, &text::text_dir(&self.dir))?;
            return Ok(self
                .list()
                .into_iter()
                .find(|r| r.kind == ModelKind::Text && r.present)
                .unwrap_or_else(|| {
                    panic!(
                        "the text model imported to {} is listed",
                        paths.det.display()
                    )
                }));
        }
        // A folder with a speaker segmentation network and a voiceprint encoder.
        if src.is_dir() && crate::media::speakers::SpeakerModels::in_dir(src).is_some() {
            let paths = speaker::import_speaker_model(src, &speaker::speaker_dir(&self.dir))?;
            return Ok(self
                .list()
                .into_iter()
                .find(|r| r.kind == ModelKind::Speaker && r.present)
                .unwrap_or_else(|| {
                    panic!(
                        "the speaker models imported to {} are listed",
                        paths.segmentation.display()
                    )
                }));
        }
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
        assert_eq!(
            rows.len(),
            catalogue::catalogue().len()
                + text::text_catalogue().len()
                + speaker::speaker_catalogue().len()
                + llm::summary_catalogue().len()
        );
        assert!(rows
            .iter()
            .any(|r| r.kind == ModelKind::Text && r.name == text::DEFAULT_TEXT_MODEL));
        assert!(rows
            .iter()
            .any(|r| r.kind == ModelKind::Summary && r.name == llm::DEFAULT_SUMMARY_MODEL));
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
