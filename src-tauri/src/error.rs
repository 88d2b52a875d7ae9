//! What a command's failure looks like to the window: a code, the message in plain
//! words, and the technical detail behind it.

use serde::Serialize;
use video2doc_core::api::CoreError;

/// The rejection of every command.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct CommandError {
    /// `bad_request`, `not_found`, `unavailable` (the job queue is not open yet; the
    /// window shows why) or `failed`.
    pub code: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

impl CommandError {
    pub fn bad_request(message: impl Into<String>) -> CommandError {
        CommandError {
            code: "bad_request",
            message: message.into(),
            detail: None,
        }
    }

    /// The job queue is not open (see [`crate::connection`]).
    pub fn unavailable(message: impl Into<String>) -> CommandError {
        CommandError {
            code: "unavailable",
            message: message.into(),
            detail: None,
        }
    }

    pub fn failed(message: impl Into<String>) -> CommandError {
        CommandError {
            code: "failed",
            message: message.into(),
            detail: None,
        }
    }
}

/// The chain of sources below an error, joined.
fn detail_of(e: &dyn std::error::Error) -> Option<String> {
    let mut parts = Vec::new();
    let mut src = e.source();
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    (!parts.is_empty()).then(|| parts.join(": "))
}

impl From<CoreError> for CommandError {
    fn from(e: CoreError) -> Self {
        let code = if e.is_not_found() {
            "not_found"
        } else if e.is_request_error() {
            "bad_request"
        } else {
            "failed"
        };
        CommandError {
            code,
            message: e.to_string(),
            detail: detail_of(&e),
        }
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> Self {
        CommandError {
            code: "failed",
            detail: detail_of(&e),
            message: e.to_string(),
        }
    }
}

impl From<tokio::task::JoinError> for CommandError {
    fn from(e: tokio::task::JoinError) -> Self {
        CommandError::failed(format!("internal error: {e}"))
    }
}
