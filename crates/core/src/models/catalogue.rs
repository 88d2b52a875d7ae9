//! The standard ggml Whisper models (whisper.cpp's published set): names, sizes,
//! checksums and where to download them; resumable downloads that verify the checksum;
//! and import of a ggml file the user already has.
//!
//! whisper.cpp publishes SHA-1 checksums for these files (its model card), so that is
//! what downloads are verified against.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

/// One downloadable model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// `tiny.en`, `base-q5_1`, `large-v3-turbo`...
    pub name: String,
    /// Approximate size in MiB, as published.
    pub size_mib: u32,
    /// SHA-1 of the file, as published by whisper.cpp.
    pub sha1: String,
    pub url: String,
    /// False for the `.en` models.
    pub multilingual: bool,
}

impl CatalogueEntry {
    pub fn file_name(&self) -> String {
        format!("ggml-{}.bin", self.name)
    }
}

const BASE_URL: &str = "https://huggingface.co/ggerganov/whisper.cpp/resolve/main";

/// (name, MiB, sha1) as published in whisper.cpp's model card.
const MODELS: &[(&str, u32, &str)] = &[
    ("tiny", 75, "bd577a113a864445d4c299885e0cb97d4ba92b5f"),
    ("tiny-q5_1", 31, "2827a03e495b1ed3048ef28a6a4620537db4ee51"),
    ("tiny-q8_0", 42, "19e8118f6652a650569f5a949d962154e01571d9"),
    ("tiny.en", 75, "c78c86eb1a8faa21b369bcd33207cc90d64ae9df"),
    (
        "tiny.en-q5_1",
        31,
        "3fb92ec865cbbc769f08137f22470d6b66e071b6",
    ),
    (
        "tiny.en-q8_0",
        42,
        "802d6668e7d411123e672abe4cb6c18f12306abb",
    ),
    ("base", 142, "465707469ff3a37a2b9b8d8f89f2f99de7299dac"),
    ("base-q5_1", 57, "a3733eda680ef76256db5fc5dd9de8629e62c5e7"),
    ("base-q8_0", 78, "7bb89bb49ed6955013b166f1b6a6c04584a20fbe"),
    ("base.en", 142, "137c40403d78fd54d454da0f9bd998f78703390c"),
    (
        "base.en-q5_1",
        57,
        "d26d7ce5a1b6e57bea5d0431b9c20ae49423c94a",
    ),
    (
        "base.en-q8_0",
        78,
        "bb1574182e9b924452bf0cd1510ac034d323e948",
    ),
    ("small", 466, "55356645c2b361a969dfd0ef2c5a50d530afd8d5"),
    (
        "small-q5_1",
        181,
        "6fe57ddcfdd1c6b07cdcc73aaf620810ce5fc771",
    ),
    (
        "small-q8_0",
        252,
        "bcad8a2083f4e53d648d586b7dbc0cd673d8afad",
    ),
    ("small.en", 466, "db8a495a91d927739e50b3fc1cc4c6b8f6c2d022"),
    (
        "small.en-q5_1",
        181,
        "20f54878d608f94e4a8ee3ae56016571d47cba34",
    ),
    (
        "small.en-q8_0",
        252,
        "9d75ff4ccfa0a8217870d7405cf8cef0a5579852",
    ),
    ("medium", 1536, "fd9727b6e1217c2f614f9b698455c4ffd82463b4"),
    (
        "medium-q5_0",
        514,
        "7718d4c1ec62ca96998f058114db98236937490e",
    ),
    (
        "medium-q8_0",
        785,
        "e66645948aff4bebbec71b3485c576f3d63af5d6",
    ),
    (
        "medium.en",
        1536,
        "8c30f0e44ce9560643ebd10bbe50cd20eafd3723",
    ),
    (
        "medium.en-q5_0",
        514,
        "bb3b5281bddd61605d6fc76bc5b92d8f20284c3b",
    ),
    (
        "medium.en-q8_0",
        785,
        "b1cf48c12c807e14881f634fb7b6c6ca867f6b38",
    ),
    ("large-v1", 2970, "b1caaf735c4cc1429223d5a74f0f4d0b9b59a299"),
    ("large-v2", 2970, "0f4c8e34f21cf1a914c59d8b3ce882345ad349d6"),
    (
        "large-v2-q5_0",
        1126,
        "00e39f2196344e901b3a2bd5814807a769bd1630",
    ),
    (
        "large-v2-q8_0",
        1536,
        "da97d6ca8f8ffbeeb5fd147f79010eeea194ba38",
    ),
    ("large-v3", 2970, "ad82bf6a9043ceed055076d0fd39f5f186ff8062"),
    (
        "large-v3-q5_0",
        1126,
        "e6e2ed78495d403bef4b7cff42ef4aaadcfea8de",
    ),
    (
        "large-v3-turbo",
        1536,
        "4af2b29d7ec73d781377bfd1758ca957a807e941",
    ),
    (
        "large-v3-turbo-q5_0",
        547,
        "e050f7970618a659205450ad97eb95a18d69c9ee",
    ),
    (
        "large-v3-turbo-q8_0",
        834,
        "01bf15bedffe9f39d65c1b6ff9b687ea91f59e0e",
    ),
];

/// Every model of the catalogue.
pub fn catalogue() -> Vec<CatalogueEntry> {
    MODELS
        .iter()
        .map(|(name, mib, sha1)| CatalogueEntry {
            name: (*name).to_string(),
            size_mib: *mib,
            sha1: (*sha1).to_string(),
            url: format!("{BASE_URL}/ggml-{name}.bin"),
            multilingual: !name.contains(".en"),
        })
        .collect()
}

/// The catalogue entry called `name` (`ggml-` prefix and `.bin` suffix optional).
pub fn find(name: &str) -> Option<CatalogueEntry> {
    let n = name.trim_start_matches("ggml-").trim_end_matches(".bin");
    catalogue().into_iter().find(|e| e.name == n)
}

/// Why a model could not be downloaded or imported.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("there is no model called {0:?}; `video2doc models list` shows them")]
    Unknown(String),
    #[error("downloading {url} failed: {reason} (run the download again to resume)")]
    Download { url: String, reason: String },
    #[error("the downloaded {name} is damaged (SHA-1 {got}, expected {expected}); it was deleted, download it again")]
    Checksum {
        name: String,
        got: String,
        expected: String,
    },
    #[error("{path} is not a ggml Whisper model: {reason}")]
    NotGgml { path: PathBuf, reason: String },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cancelled")]
    Cancelled,
    #[error("{0} is already downloading")]
    Busy(String),
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// SHA-1 of a file, hex.
pub fn sha1_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha1::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// Downloads `entry` into `dir` as `ggml-<name>.bin`. A partial download
/// (`.part`) is resumed with an HTTP range request. `progress` gets (bytes, total).
/// The file is renamed into place only after its checksum matched.
pub fn download(
    entry: &CatalogueEntry,
    dir: &Path,
    cancel: &AtomicBool,
    mut progress: impl FnMut(u64, Option<u64>),
) -> Result<PathBuf, ModelError> {
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let dest = dir.join(entry.file_name());
    let part = dir.join(format!("{}.part", entry.file_name()));
    let mut have = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let derr = |reason: String| ModelError::Download {
        url: entry.url.clone(),
        reason,
    };
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(20))
        .timeout_read(Duration::from_secs(60))
        .build();
    let mut req = agent.get(&entry.url);
    if have > 0 {
        req = req.set("Range", &format!("bytes={have}-"));
    }
    let resp = req.call().map_err(|e| derr(e.to_string()))?;
    let resumed = resp.status() == 206;
    if !resumed {
        have = 0; // the server sent the whole file
    }
    let total = resp
        .header("Content-Length")
        .and_then(|l| l.parse::<u64>().ok())
        .map(|l| l + have);
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(false)
        .open(&part)
        .map_err(write_err(&part))?;
    file.set_len(have).map_err(write_err(&part))?;
    file.seek(SeekFrom::Start(have)).map_err(write_err(&part))?;
    let mut body = resp.into_reader();
    let mut buf = vec![0u8; 256 * 1024];
    let mut done = have;
    progress(done, total);
    loop {
        if cancel.load(Ordering::Relaxed) {
            file.flush().map_err(write_err(&part))?;
            return Err(ModelError::Cancelled);
        }
        let n = body.read(&mut buf).map_err(|e| derr(e.to_string()))?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(write_err(&part))?;
        done += n as u64;
        progress(done, total);
    }
    file.sync_all().map_err(write_err(&part))?;
    drop(file);
    if let Some(t) = total {
        if done < t {
            return Err(derr(format!(
                "the connection ended after {done} of {t} bytes"
            )));
        }
    }
    let got = sha1_file(&part).map_err(write_err(&part))?;
    if got != entry.sha1 {
        let _ = std::fs::remove_file(&part);
        return Err(ModelError::Checksum {
            name: entry.file_name(),
            got,
            expected: entry.sha1.clone(),
        });
    }
    std::fs::rename(&part, &dest).map_err(write_err(&dest))?;
    Ok(dest)
}

/// What a ggml file's header says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GgmlInfo {
    pub n_vocab: i32,
    pub n_audio_layer: i32,
    pub n_text_layer: i32,
    pub n_mels: i32,
    pub ftype: i32,
    pub multilingual: bool,
}

/// Reads and checks a ggml Whisper header.
pub fn ggml_info(path: &Path) -> Result<GgmlInfo, ModelError> {
    let bad = |reason: &str| ModelError::NotGgml {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let mut f = std::fs::File::open(path).map_err(|e| bad(&e.to_string()))?;
    let mut head = [0u8; 48];
    f.read_exact(&mut head)
        .map_err(|_| bad("it is shorter than a model header"))?;
    let int = |i: usize| i32::from_le_bytes(head[i * 4..i * 4 + 4].try_into().expect("4 bytes"));
    if int(0) != 0x6767_6d6c {
        return Err(bad("it does not start with the ggml magic number"));
    }
    let info = GgmlInfo {
        n_vocab: int(1),
        n_audio_layer: int(5),
        n_text_layer: int(9),
        n_mels: int(10),
        ftype: int(11),
        multilingual: int(1) >= 51865,
    };
    let sane = (51_000..=52_000).contains(&info.n_vocab)
        && (1..=64).contains(&info.n_audio_layer)
        && (1..=64).contains(&info.n_text_layer)
        && (info.n_mels == 80 || info.n_mels == 128);
    if !sane {
        return Err(bad("its header does not describe a Whisper model"));
    }
    Ok(info)
}

/// Copies a ggml file into `dir` as `ggml-<name>.bin` after checking its header.
pub fn import_ggml(src: &Path, dir: &Path, name: &str) -> Result<PathBuf, ModelError> {
    ggml_info(src)?;
    std::fs::create_dir_all(dir).map_err(write_err(dir))?;
    let dest = dir.join(format!("ggml-{name}.bin"));
    let tmp = dir.join(format!("ggml-{name}.bin.part"));
    std::fs::copy(src, &tmp).map_err(write_err(&tmp))?;
    std::fs::rename(&tmp, &dest).map_err(write_err(&dest))?;
    Ok(dest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_has_every_standard_model() {
        let c = catalogue();
        assert_eq!(c.len(), 33);
        for n in [
            "tiny",
            "tiny.en",
            "base.en-q5_1",
            "large-v3-turbo",
            "large-v3-turbo-q8_0",
        ] {
            assert!(find(n).is_some(), "{n}");
        }
        assert!(!find("small.en").unwrap().multilingual);
        assert!(find("ggml-medium.bin").unwrap().multilingual);
        assert!(c
            .iter()
            .all(|e| e.sha1.len() == 40 && e.url.ends_with(&e.file_name())));
    }
}
