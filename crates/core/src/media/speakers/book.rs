//! Remembered voices (opt-in): the voiceprints of speakers someone named, kept in one
//! file on this machine (readable by its user only), so that the same person is named
//! in the next recording. A print is the centroid of a speaker's voice in one recording
//! ([`super::Voice`]); a voice is recognised when its print is at least
//! [`RECOGNISED`] alike and clearly closer to one remembered voice than to any other.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::voiceprint::cosine;
use super::Voice;

/// A voice this alike to a remembered one (cosine of prints) is that person.
pub const RECOGNISED: f32 = 0.8;
/// The best match must be this much more alike than the next remembered person.
const MARGIN: f32 = 0.05;

/// One remembered person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownVoice {
    pub name: String,
    pub print: Vec<f32>,
    /// When it was remembered (RFC 3339) and from which recording, for the list.
    pub added: String,
    pub source: String,
}

/// Why the book could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("the remembered voices {path} could not be read: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the remembered voices {path} are damaged ({source}); delete the file to start again")]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("the remembered voices could not be saved to {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The remembered voices, as stored in one JSON file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VoiceBook {
    pub voices: Vec<KnownVoice>,
}

impl VoiceBook {
    /// The book at `path` (empty when there is none yet).
    pub fn load(path: &Path) -> Result<VoiceBook, BookError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|source| BookError::Damaged {
                path: path.to_path_buf(),
                source,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(VoiceBook::default()),
            Err(source) => Err(BookError::Read {
                path: path.to_path_buf(),
                source,
            }),
        }
    }

    /// Writes the book whole (a temporary file renamed into place), readable by this
    /// user only.
    pub fn save(&self, path: &Path) -> Result<(), BookError> {
        let err = |source| BookError::Write {
            path: path.to_path_buf(),
            source,
        };
        let tmp = path.with_extension("json.part");
        let bytes = serde_json::to_vec_pretty(self).expect("voices serialize");
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(&tmp).map_err(err)?;
        std::io::Write::write_all(&mut f, &bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }

    /// Remembers `print` as `name` (replacing what was remembered under that name).
    pub fn remember(&mut self, name: &str, print: &[f32], source: &str, added: &str) {
        self.voices.retain(|v| v.name != name);
        self.voices.push(KnownVoice {
            name: name.to_string(),
            print: print.to_vec(),
            added: added.to_string(),
            source: source.to_string(),
        });
    }

    /// Forgets `name`; false when it was not remembered.
    pub fn forget(&mut self, name: &str) -> bool {
        let before = self.voices.len();
        self.voices.retain(|v| v.name != name);
        self.voices.len() != before
    }

    /// The remembered name of each voice, when one is recognised (a name is given to
    /// one voice of a recording at most: the most alike).
    pub fn names(&self, voices: &[Voice]) -> Vec<Option<String>> {
        let mut best: Vec<Option<(usize, f32)>> = voices
            .iter()
            .map(|v| {
                let mut scores: Vec<(usize, f32)> = self
                    .voices
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| k.print.len() == v.print.len())
                    .map(|(i, k)| (i, cosine(&k.print, &v.print)))
                    .collect();
                scores.sort_by(|a, b| b.1.total_cmp(&a.1));
                let first = *scores.first()?;
                let second = scores.get(1).map_or(-1.0, |s| s.1);
                (first.1 >= RECOGNISED && first.1 - second >= MARGIN).then_some(first)
            })
            .collect();
        // One name, one voice: the most alike keeps it.
        for i in 0..best.len() {
            for j in 0..best.len() {
                if let (Some((a, sa)), Some((b, sb))) = (best[i], best[j]) {
                    if i != j && a == b && (sb > sa || (sb == sa && j < i)) {
                        best[i] = None;
                    }
                }
            }
        }
        best.into_iter()
            .map(|b| b.map(|(i, _)| self.voices[i].name.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn voice(id: u32, print: &[f32]) -> Voice {
        let mut p = print.to_vec();
        super::super::voiceprint::normalise(&mut p);
        Voice {
            id,
            speech_ms: 1000,
            print: p,
        }
    }

    #[test]
    fn a_remembered_voice_is_named_once_and_strangers_are_not() {
        let mut book = VoiceBook::default();
        book.remember("Li Wei", &voice(1, &[1.0, 0.0, 0.0]).print, "a.mp4", "now");
        book.remember("Ana", &voice(1, &[0.0, 1.0, 0.0]).print, "a.mp4", "now");
        let names = book.names(&[
            voice(1, &[0.0, 0.0, 1.0]),
            voice(2, &[0.95, 0.1, 0.0]),
            voice(3, &[0.9, 0.2, 0.1]),
        ]);
        assert_eq!(names, vec![None, Some("Li Wei".into()), None]);
        assert!(book.forget("Ana"));
        assert!(!book.forget("Ana"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("voices.json");
        book.save(&path).unwrap();
        assert_eq!(VoiceBook::load(&path).unwrap(), book);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
