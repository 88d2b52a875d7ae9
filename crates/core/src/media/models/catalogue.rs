//! The standard ggml Whisper models (whisper.cpp's published set): names, sizes,
//! checksums and where to download them (from Hugging Face, or a mirror of it); and
//! import of a ggml file the user already has. Downloading is [`super::download`]'s.
//!
//! whisper.cpp publishes SHA-1 checksums for these files (its model card), so that is
//! what downloads are verified against.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use serde::{Deserialize, Serialize};

use super::download::{self, Checksum, Event, Persistence};
use crate::net::{Http, NetError};

/// One downloadable model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogueEntry {
    /// `tiny.en`, `base-q5_1`, `large-v3-turbo`...
    pub name: String,
    /// Approximate size in MiB, as published.
    pub size_mib: u32,
    /// What the file hashes to, as published by whisper.cpp (SHA-1).
    pub checksum: Checksum,
    pub url: String,
    /// False for the `.en` models.
    pub multilingual: bool,
}

impl CatalogueEntry {
    pub fn file_name(&self) -> String {
        format!("ggml-{}.bin", self.name)
    }
}

/// Where the models are published. A mirror of Hugging Face (the `model_source`
/// setting, e.g. for networks that cannot reach it) serves the same paths.
pub const DEFAULT_SOURCE: &str = "https://huggingface.co";
const REPO_PATH: &str = "ggerganov/whisper.cpp/resolve/main";

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

/// The languages a person says they will transcribe, for the first-run choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Languages {
    EnglishOnly,
    Chinese,
    Several,
}

/// The model recommended for `languages` on an ordinary laptop: English-only base
/// (accurate for English at a fifth of small's time), or small quantized to 5 bits for
/// Chinese and mixed recordings (base mishears too much Chinese; small-q5_1 is 181 MB).
pub fn recommended(languages: Languages) -> &'static str {
    match languages {
        Languages::EnglishOnly => "base.en",
        Languages::Chinese | Languages::Several => "small-q5_1",
    }
}

/// Every model of the catalogue, downloaded from Hugging Face.
pub fn catalogue() -> Vec<CatalogueEntry> {
    catalogue_from(DEFAULT_SOURCE)
}

/// Every model of the catalogue, downloaded from `source` (Hugging Face or a mirror).
pub fn catalogue_from(source: &str) -> Vec<CatalogueEntry> {
    let source = source.trim_end_matches('/');
    MODELS
        .iter()
        .map(|(name, mib, sha1)| CatalogueEntry {
            name: (*name).to_string(),
            size_mib: *mib,
            checksum: Checksum::Sha1((*sha1).to_string()),
            url: format!("{source}/{REPO_PATH}/ggml-{name}.bin"),
            multilingual: !name.contains(".en"),
        })
        .collect()
}

/// The catalogue from `source`, with an organisation's own `extra` entries added (an
/// entry of a built-in name replaces the built-in one).
pub fn catalogue_with(source: &str, extra: &[CatalogueEntry]) -> Vec<CatalogueEntry> {
    let mut all: Vec<CatalogueEntry> = catalogue_from(source)
        .into_iter()
        .filter(|e| !extra.iter().any(|x| x.name == e.name))
        .collect();
    all.extend(extra.iter().cloned());
    all
}

/// Reads an organisation's own catalogue (the `model_catalogue` setting): a JSON list
/// of entries, `[{"name": "base-lab", "size_mib": 142, "url": "https://…",
/// "checksum": {"sha256": "…"}, "multilingual": true}]`.
pub fn read_catalogue(path: &Path) -> Result<Vec<CatalogueEntry>, ModelError> {
    let bad = |reason: String| ModelError::BadCatalogue {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let entries: Vec<CatalogueEntry> =
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    for e in &entries {
        if e.name.is_empty() || e.name.contains(['/', '\\']) {
            return Err(bad(format!("{:?} is not a model name", e.name)));
        }
        if !(e.url.starts_with("https://") || e.url.starts_with("http://")) {
            return Err(bad(format!(
                "the address of {} must start with https://",
                e.name
            )));
        }
    }
    Ok(entries)
}

/// The catalogue entry called `name` (`ggml-` prefix and `.bin` suffix optional).
pub fn find(name: &str) -> Option<CatalogueEntry> {
    find_from(name, DEFAULT_SOURCE)
}

/// [`find`], downloaded from `source`.
pub fn find_from(name: &str, source: &str) -> Option<CatalogueEntry> {
    find_in(&catalogue_from(source), name)
}

/// The entry of `entries` called `name` (`ggml-` prefix and `.bin` suffix optional).
pub fn find_in(entries: &[CatalogueEntry], name: &str) -> Option<CatalogueEntry> {
    let n = name.trim_start_matches("ggml-").trim_end_matches(".bin");
    entries.iter().find(|e| e.name == n).cloned()
}

/// Why a model could not be downloaded or imported.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("there is no model called {0:?}; `video2doc models list` shows them")]
    Unknown(String),
    #[error(
        "the download of {name} was stopped at {got} bytes: more than the {limit} it can be \
         (a wrong file, or a broken server or proxy)"
    )]
    TooLarge { name: String, got: u64, limit: u64 },
    #[error("could not download {name}: {source}{}", resume_hint(*resumable, *kept_bytes))]
    Download {
        name: String,
        /// Whether trying again may work (the network, not a refusal).
        resumable: bool,
        /// Bytes kept in the partial file, from which a new try resumes.
        kept_bytes: u64,
        #[source]
        source: NetError,
    },
    #[error("the downloaded {name} is damaged ({algorithm} {got}, expected {expected}); it was deleted, download it again")]
    Checksum {
        name: String,
        algorithm: &'static str,
        got: String,
        expected: String,
    },
    #[error("{path} is not a ggml Whisper model: {reason}")]
    NotGgml { path: PathBuf, reason: String },
    #[error("{path} is not a text model Video2Doc can use: {reason}")]
    NotTextModel { path: PathBuf, reason: String },
    #[error("{path} is not a pair of speaker models Video2Doc can use: {reason}")]
    NotSpeakerModel { path: PathBuf, reason: String },
    #[error("{path} is not a summary model Video2Doc can use: {reason}")]
    NotSummaryModel { path: PathBuf, reason: String },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the model catalogue {path} cannot be used: {reason}")]
    BadCatalogue { path: PathBuf, reason: String },
    #[error("cancelled")]
    Cancelled,
    #[error("{0} is already downloading")]
    Busy(String),
}

fn resume_hint(resumable: bool, kept: u64) -> String {
    match (resumable, kept) {
        (false, _) => String::new(),
        (true, 0) => ". Try again when the network is back".into(),
        (true, k) => format!(
            ". {:.1} MB are kept: trying again resumes from there",
            k as f64 / 1e6
        ),
    }
}

fn write_err(path: &Path) -> impl Fn(std::io::Error) -> ModelError + '_ {
    move |source| ModelError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Downloads `entry` into `dir` as `ggml-<name>.bin`, resuming a partial download,
/// verified before it is put in place (see [`download::fetch`]).
pub fn download(
    http: &Http,
    entry: &CatalogueEntry,
    dir: &Path,
    cancel: &AtomicBool,
    event: impl FnMut(Event),
) -> Result<PathBuf, ModelError> {
    let dest = dir.join(entry.file_name());
    download::fetch(
        http,
        &entry.url,
        &dest,
        &entry.checksum,
        &Persistence {
            // The catalogue's size with room for its rounding; never a full disk.
            most_bytes: Some((u64::from(entry.size_mib) << 20) / 10 * 11 + (16 << 20)),
            ..Persistence::default()
        },
        cancel,
        event,
    )
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
    // Every size whisper.cpp allocates by (a crafted header with a width of 2^31 would
    // make it try), within what Whisper models have.
    let (audio_ctx, audio_state, audio_head) = (int(2), int(3), int(4));
    let (text_ctx, text_state, text_head) = (int(6), int(7), int(8));
    let heads_fit = |state: i32, head: i32| head > 0 && head <= 64 && state % head == 0;
    let sane = (51_000..=52_000).contains(&info.n_vocab)
        && (1..=64).contains(&info.n_audio_layer)
        && (1..=64).contains(&info.n_text_layer)
        && (info.n_mels == 80 || info.n_mels == 128)
        && audio_ctx == 1500
        && (1..=448).contains(&text_ctx)
        && (64..=4096).contains(&audio_state)
        && (64..=4096).contains(&text_state)
        && heads_fit(audio_state, audio_head)
        && heads_fit(text_state, text_head)
        && info.ftype >= 0
        && info.ftype % 1000 <= 40
        && info.ftype / 1000 <= 3;
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
            .all(|e| e.checksum.expected().len() == 40 && e.url.ends_with(&e.file_name())));
        assert_eq!(
            find_from("tiny", "https://hf-mirror.com/").unwrap().url,
            "https://hf-mirror.com/ggerganov/whisper.cpp/resolve/main/ggml-tiny.bin"
        );
    }
}
