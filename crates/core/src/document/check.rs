//! Reading a document's JSON made or edited elsewhere (by hand, by a script, by the
//! editor): parsed, checked against `schema/document.schema.json`, then checked for
//! what the exporters rely on (times in order within each segment and section, speakers
//! that exist). Every refusal names the field at fault, as a JSON pointer
//! (`/segments/3/start_ms`), and the file.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Document, DOCUMENT_SCHEMA};

/// Why a JSON is not a document Video2Doc can render.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{path} is not JSON: {source}")]
    Syntax {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} is not a Video2Doc document: {field}: {reason}")]
    Field {
        path: PathBuf,
        /// A JSON pointer to the field ("" for the whole document).
        field: String,
        reason: String,
    },
}

const SCHEMA: &str = include_str!("../../schema/document.schema.json");

fn validator() -> &'static jsonschema::Validator {
    static V: OnceLock<jsonschema::Validator> = OnceLock::new();
    V.get_or_init(|| {
        let schema: serde_json::Value =
            serde_json::from_str(SCHEMA).expect("the document schema is JSON");
        jsonschema::validator_for(&schema).expect("the document schema compiles")
    })
}

/// The document in `bytes` (read from `path`), checked.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<Document, CheckError> {
    let field = |field: String, reason: String| CheckError::Field {
        path: path.to_path_buf(),
        field: if field.is_empty() { "/".into() } else { field },
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|source| CheckError::Syntax {
            path: path.to_path_buf(),
            source,
        })?;
    if let Some(e) = validator().iter_errors(&value).next() {
        return Err(field(e.instance_path.to_string(), e.to_string()));
    }
    let doc: Document =
        serde_json::from_value(value).map_err(|e| field(String::new(), e.to_string()))?;
    if doc.schema > DOCUMENT_SCHEMA {
        return Err(field(
            "/schema".into(),
            format!(
                "layout {} is newer than this Video2Doc reads ({DOCUMENT_SCHEMA}): update Video2Doc",
                doc.schema
            ),
        ));
    }
    for (i, s) in doc.segments.iter().enumerate() {
        if s.end_ms < s.start_ms {
            return Err(field(
                format!("/segments/{i}/end_ms"),
                format!("ends ({}) before it starts ({})", s.end_ms, s.start_ms),
            ));
        }
        if let Some(who) = s.speaker {
            if !doc.speakers.iter().any(|p| p.id == who) {
                return Err(field(
                    format!("/segments/{i}/speaker"),
                    format!("speaker {who} is not in the document's speakers"),
                ));
            }
        }
        for (j, w) in s.words.iter().enumerate() {
            if w.end_ms < w.start_ms {
                return Err(field(
                    format!("/segments/{i}/words/{j}/end_ms"),
                    format!("ends ({}) before it starts ({})", w.end_ms, w.start_ms),
                ));
            }
        }
    }
    for (i, s) in doc.sections.iter().enumerate() {
        if s.end_ms < s.start_ms {
            return Err(field(
                format!("/sections/{i}/end_ms"),
                format!("ends ({}) before it starts ({})", s.end_ms, s.start_ms),
            ));
        }
    }
    Ok(doc)
}

/// Reads and checks the document at `path`.
pub fn read(path: &Path) -> Result<Document, CheckError> {
    let bytes = std::fs::read(path).map_err(|e| CheckError::Field {
        path: path.to_path_buf(),
        field: "/".into(),
        reason: format!("cannot be read: {e}"),
    })?;
    parse(path, &bytes)
}
