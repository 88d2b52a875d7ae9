//! The one error contract of every face: what a failure means to whoever asked (the
//! thing asked for does not exist, the request is wrong, or the app failed), and an
//! error's causes in words. The HTTP API maps the class to a status, the window to a
//! code, the CLI to an exit code, each in a few lines; nothing else decides it.

/// What a failure means to the one who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// What was named (a job, a group, an item) does not exist.
    NotFound,
    /// The request is wrong or cannot be done as asked (a missing file, an unknown
    /// kind, invalid settings, no model): asking differently helps.
    BadRequest,
    /// The app failed (storage, a broken install): asking again may help.
    Failed,
}

impl ErrorClass {
    /// Its name on the wire (`not_found`, `bad_request`, `failed`).
    pub fn code(self) -> &'static str {
        match self {
            ErrorClass::NotFound => "not_found",
            ErrorClass::BadRequest => "bad_request",
            ErrorClass::Failed => "failed",
        }
    }
}

/// The causes below `e`, outermost first, each said once (an error often repeats its
/// source's words in its own message): `None` when it has none that add anything.
pub fn causes(e: &dyn std::error::Error) -> Option<String> {
    let said = e.to_string();
    let mut parts: Vec<String> = Vec::new();
    let mut src = e.source();
    while let Some(s) = src {
        let part = s.to_string();
        if !said.contains(&part) && !parts.iter().any(|p| p.contains(&part)) {
            parts.push(part);
        }
        src = s.source();
    }
    (!parts.is_empty()).then(|| parts.join(": "))
}

/// `e` and its causes on one line, each said once.
pub fn said(e: &dyn std::error::Error) -> String {
    match causes(e) {
        Some(c) => format!("{e}: {c}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not read {0}: {1}")]
    struct Outer(&'static str, #[source] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("the export failed")]
    struct Top(#[source] Outer);

    #[test]
    fn each_cause_is_said_once() {
        let io = || std::io::Error::other("disk full");
        // The message already holds its source's words: nothing more to say.
        assert_eq!(causes(&Outer("a.md", io())), None);
        assert_eq!(said(&Outer("a.md", io())), "could not read a.md: disk full");
        let top = Top(Outer("a.md", io()));
        assert_eq!(
            causes(&top).as_deref(),
            Some("could not read a.md: disk full")
        );
        assert_eq!(
            said(&top),
            "the export failed: could not read a.md: disk full"
        );
    }
}
