//! Renders a [`Document`] to files: Markdown, HTML, DOCX, PDF, SRT, VTT, TXT and JSON,
//! named safely whatever the input's name, each written whole or not at all.

pub mod cues;
pub mod folder;
pub mod markup;
pub mod names;
pub mod pdf;
pub mod subtitles;
pub mod word;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::document::{Document, DocumentError};

pub use cues::SubtitleStyle;
pub use folder::{DocFolder, FolderError, OUTPUT_MARKER};
pub use names::safe_stem;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Md,
    Html,
    Docx,
    Pdf,
    Srt,
    Vtt,
    Txt,
    Json,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::Md,
        Format::Html,
        Format::Docx,
        Format::Pdf,
        Format::Srt,
        Format::Vtt,
        Format::Txt,
        Format::Json,
    ];

    pub fn ext(self) -> &'static str {
        match self {
            Format::Md => "md",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Pdf => "pdf",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Txt => "txt",
            Format::Json => "json",
        }
    }
}

impl FromStr for Format {
    type Err = ExportError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Format::ALL
            .into_iter()
            .find(|f| f.ext() == s || (s == "markdown" && *f == Format::Md))
            .ok_or(ExportError::UnknownFormat(s))
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("unknown output format {0:?}: use md, html, docx, pdf, srt, vtt, txt or json")]
    UnknownFormat(String),
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Pdf(#[from] pdf::PdfError),
    #[error(transparent)]
    Folder(#[from] FolderError),
    #[error("the Word document could not be made: {0}")]
    Docx(String),
    #[error("{path} is not a Video2Doc document: {source}")]
    NotDocument {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    Edit(#[from] DocumentError),
}

/// Writes `doc` in each format to `<stem>.<ext>` in `folder` (each whole or not at all,
/// never through a link); returns the paths by format.
pub fn export(
    doc: &Document,
    folder: &DocFolder,
    stem: &str,
    formats: &[Format],
    subtitles: &SubtitleStyle,
) -> Result<BTreeMap<Format, PathBuf>, ExportError> {
    let mut out = BTreeMap::new();
    for f in formats {
        let bytes = match f {
            Format::Md => markup::markdown(doc, folder.path()).into_bytes(),
            Format::Html => markup::html(doc).into_bytes(),
            Format::Txt => markup::text(doc).into_bytes(),
            Format::Srt => subtitles::srt(doc, subtitles).into_bytes(),
            Format::Vtt => subtitles::vtt(doc, subtitles).into_bytes(),
            Format::Json => serde_json::to_vec_pretty(doc).expect("documents serialize"),
            Format::Docx => word::docx(doc).map_err(ExportError::Docx)?,
            Format::Pdf => pdf::pdf(doc)?,
        };
        let path = folder.write(&format!("{stem}.{}", f.ext()), &bytes)?;
        out.insert(*f, path);
    }
    Ok(out)
}

/// Writes a document again after `edit`: reads the JSON document `json` (in the folder
/// Video2Doc made for it), applies `edit`, and writes the JSON and every other format
/// the folder holds, each whole or not at all. Returns the edited document and the
/// paths written.
pub fn rewrite(
    json: &Path,
    subtitles: &SubtitleStyle,
    edit: impl FnOnce(&mut Document) -> Result<(), DocumentError>,
) -> Result<(Document, BTreeMap<Format, PathBuf>), ExportError> {
    let folder = DocFolder::reopen(json.parent().unwrap_or(Path::new("")))?;
    let name = json
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".json").unwrap_or(&name).to_string();
    let bytes = folder.read(&name)?;
    let mut doc: Document =
        serde_json::from_slice(&bytes).map_err(|source| ExportError::NotDocument {
            path: json.to_path_buf(),
            source,
        })?;
    edit(&mut doc)?;
    let formats: Vec<Format> = Format::ALL
        .into_iter()
        .filter(|f| *f == Format::Json || folder.has(&format!("{stem}.{}", f.ext())))
        .collect();
    let files = export(&doc, &folder, &stem, &formats, subtitles)?;
    Ok((doc, files))
}
