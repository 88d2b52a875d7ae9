//! Text models: the networks that read slide text ([`crate::media::ocr`]), handled as
//! Whisper models are: a catalogue entry with published checksums, verified resumable
//! downloads (each file through [`super::download::fetch`]), and import of files the
//! user already has. They live in `<models>/ocr/`.
//!
//! The entry is PaddleOCR's PP-OCRv4 mobile pair as RapidOCR publishes it in ONNX
//! (Chinese and English in one alphabet; the recogniser's ONNX file carries the
//! alphabet), with RapidOCR's SHA-256 checksums. The same two files are in the
//! `rapidocr-onnxruntime` 1.4.4 package, which the tests use.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::catalogue::ModelError;
use super::download::{self, Checksum, Event, Persistence};
use crate::media::ocr::OcrModels;
use crate::net::Http;

/// One file of a text model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextModelFile {
    pub file_name: String,
    pub url: String,
    pub sha256: String,
    pub bytes: u64,
}

/// A downloadable text model: a detection and a recognition network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextModelEntry {
    pub name: String,
    /// What it reads, in plain words.
    pub reads: String,
    pub detection: TextModelFile,
    pub recognition: TextModelFile,
}

impl TextModelEntry {
    pub fn size_bytes(&self) -> u64 {
        self.detection.bytes + self.recognition.bytes
    }

    /// Where the entry's files are once installed in `dir` (`<models>/ocr`).
    pub fn paths(&self, dir: &Path) -> OcrModels {
        OcrModels {
            det: dir.join(&self.detection.file_name),
            rec: dir.join(&self.recognition.file_name),
        }
    }
}

const RAPIDOCR: &str =
    "https://www.modelscope.cn/models/RapidAI/RapidOCR/resolve/v3.10.0/onnx/PP-OCRv4";

/// The name of the text model the app uses by default.
pub const DEFAULT_TEXT_MODEL: &str = "ppocr-v4-mobile";

/// The text models that can be downloaded.
pub fn text_catalogue() -> Vec<TextModelEntry> {
    vec![TextModelEntry {
        name: DEFAULT_TEXT_MODEL.to_string(),
        reads: "Chinese and English".to_string(),
        detection: TextModelFile {
            file_name: "ch_PP-OCRv4_det_mobile.onnx".into(),
            url: format!("{RAPIDOCR}/det/ch_PP-OCRv4_det_mobile.onnx"),
            sha256: "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9".into(),
            bytes: 4_745_517,
        },
        recognition: TextModelFile {
            file_name: "ch_PP-OCRv4_rec_mobile.onnx".into(),
            url: format!("{RAPIDOCR}/rec/ch_PP-OCRv4_rec_mobile.onnx"),
            sha256: "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b".into(),
            bytes: 10_857_958,
        },
    }]
}

/// The catalogue's text model called `name`.
pub fn find_text_model(name: &str) -> Option<TextModelEntry> {
    text_catalogue().into_iter().find(|e| e.name == name)
}

/// The text models folder of a models folder.
pub fn text_dir(models: &Path) -> PathBuf {
    models.join("ocr")
}

/// The text model installed in `dir`: the catalogue's default when both its files are
/// there, else an imported pair.
pub fn installed(dir: &Path) -> Option<OcrModels> {
    let default = find_text_model(DEFAULT_TEXT_MODEL)?.paths(dir);
    if default.det.is_file() && default.rec.is_file() {
        return Some(default);
    }
    OcrModels::in_dir(dir)
}

/// Downloads both files of `entry` into `dir`, each verified before it is put in place;
/// `event` sees the two files' bytes as one download.
pub fn download_text_model(
    http: &Http,
    entry: &TextModelEntry,
    dir: &Path,
    cancel: &AtomicBool,
    mut event: impl FnMut(Event),
) -> Result<OcrModels, ModelError> {
    let total = entry.size_bytes();
    let mut before = 0u64;
    for file in [&entry.detection, &entry.recognition] {
        let dest = dir.join(&file.file_name);
        download::fetch(
            http,
            &file.url,
            &dest,
            &Checksum::Sha256(file.sha256.clone()),
            &Persistence {
                most_bytes: Some(file.bytes + (1 << 20)),
                ..Persistence::default()
            },
            cancel,
            |e| {
                event(match e {
                    Event::Progress { done, .. } => Event::Progress {
                        done: before + done,
                        total: Some(total),
                    },
                    other => other,
                })
            },
        )?;
        before += file.bytes;
    }
    Ok(entry.paths(dir))
}

/// Imports a text model the user has: a folder holding a `*det*.onnx` and a
/// `*rec*.onnx` file (as RapidOCR's and PaddleOCR's exports are named). Both are loaded
/// first (a file that is not a model the reader can run is refused), then copied into
/// `dir` under their own names.
pub fn import_text_model(src: &Path, dir: &Path) -> Result<OcrModels, ModelError> {
    let found = OcrModels::in_dir(src).ok_or_else(|| ModelError::NotTextModel {
        path: src.to_path_buf(),
        reason: "it has no *det*.onnx and *rec*.onnx files".into(),
    })?;
    crate::media::ocr::Reader::load(&found.det, &found.rec, 1).map_err(|e| {
        ModelError::NotTextModel {
            path: src.to_path_buf(),
            reason: e.to_string(),
        }
    })?;
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for f in [&found.det, &found.rec] {
        let name = f.file_name().expect("found files have names");
        let dest = dir.join(name);
        let tmp = dir.join(format!("{}.part", name.to_string_lossy()));
        std::fs::copy(f, &tmp)
            .and_then(|_| std::fs::rename(&tmp, &dest))
            .map_err(|source| ModelError::Write {
                path: dest.clone(),
                source,
            })?;
        out.push(dest);
    }
    let rec = out.pop().expect("two files");
    let det = out.pop().expect("two files");
    Ok(OcrModels { det, rec })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_names_its_files_with_checksums() {
        let e = find_text_model(DEFAULT_TEXT_MODEL).unwrap();
        assert_eq!(e.size_bytes(), 15_603_475);
        for f in [&e.detection, &e.recognition] {
            assert_eq!(f.sha256.len(), 64);
            assert!(f.url.starts_with("https://") && f.url.ends_with(&f.file_name));
        }
        assert!(find_text_model("nothing").is_none());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(installed(dir.path()), None);
    }
}
