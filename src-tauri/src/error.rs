//! What a command's failure looks like to the window: a code, the message in plain
//! words, and the technical detail behind it.

use serde::Serialize;
use video2doc_core::CoreError;

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

impl From<CoreError> for CommandError {
    fn from(e: CoreError) -> Self {
        CommandError {
            code: e.class().code(),
            detail: e.detail(),
            message: e.to_string(),
        }
    }
}

impl From<tauri::Error> for CommandError {
    fn from(e: tauri::Error) -> Self {
        CommandError {
            code: "failed",
            detail: video2doc_core::error_class::causes(&e),
            message: e.to_string(),
        }
    }
}

impl From<tokio::task::JoinError> for CommandError {
    fn from(e: tokio::task::JoinError) -> Self {
        CommandError::failed(format!("internal error: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use video2doc_core::{JobId, QueueError, Rejection};

    #[test]
    fn the_window_reads_the_contract_as_codes_with_the_causes() {
        let gone = CoreError::Queue(QueueError::Rejected(Rejection::NotFound(JobId(3))));
        assert_eq!(CommandError::from(gone).code, "not_found");
        let bad = CoreError::UnknownKind("gpu".into());
        assert_eq!(CommandError::from(bad).code, "bad_request");
        let broken = CoreError::NoRedisSupport("redis://lab".into());
        let e = CommandError::from(broken);
        assert_eq!((e.code, e.detail), ("failed", None));
    }
}
