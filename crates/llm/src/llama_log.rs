//! llama.cpp's log: kept off stdout (which carries only protocol lines), its error lines
//! kept so that a failure can say llama.cpp's own reason (an unknown architecture, a
//! truncated file, ...), and everything echoed to stderr when `VIDEO2DOC_LLM_LOG` is set
//! to anything but `0` or nothing.
//!
//! llama-cpp-2 hands llama.cpp's and ggml's log lines to `tracing` (target
//! `llama-cpp-2`, field `message`); this module is the subscriber that receives them.
//! Some of llama.cpp's messages (a grammar's parse error among them) are printed
//! straight to stderr by llama.cpp and never come here.

use std::fmt;
use std::io::Write;
use std::sync::Mutex;

use llama_cpp_2::LogOptions;
use thiserror::Error;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// How many of llama.cpp's last error lines are kept.
const KEPT: usize = 8;

/// The error lines since the last [`take_errors`].
static ERRORS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Why the log could not be set up.
#[derive(Debug, Error)]
pub enum LogError {
    #[error("cannot install the log subscriber: {0}")]
    Install(#[source] tracing::subscriber::SetGlobalDefaultError),
}

/// Routes llama.cpp's log here; call once, before the backend starts.
pub fn install() -> Result<(), LogError> {
    let echo = std::env::var("VIDEO2DOC_LLM_LOG").is_ok_and(|v| !v.is_empty() && v != "0");
    tracing::subscriber::set_global_default(Collector { echo }).map_err(LogError::Install)?;
    llama_cpp_2::send_logs_to_tracing(LogOptions::default().with_logs_enabled(true));
    Ok(())
}

/// Forgets the error lines kept so far (before a call whose failure should be explained).
pub fn clear_errors() {
    lock().clear();
}

/// The error lines kept since the last [`clear_errors`] or [`take_errors`], oldest
/// first, joined by "; " (None when there are none).
pub fn take_errors() -> Option<String> {
    let lines = std::mem::take(&mut *lock());
    (!lines.is_empty()).then(|| lines.join("; "))
}

fn lock() -> std::sync::MutexGuard<'static, Vec<String>> {
    // A panic while holding the lock leaves only a list of strings behind: still usable.
    ERRORS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The `tracing` subscriber: events only (llama-cpp-2's spans are of no interest).
struct Collector {
    echo: bool,
}

impl Subscriber for Collector {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && (*metadata.level() == Level::ERROR
                || (self.echo && *metadata.level() <= Level::INFO))
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut text = Text::default();
        event.record(&mut text);
        let line = text.0.trim();
        if line.is_empty() {
            return;
        }
        let level = *event.metadata().level();
        if self.echo {
            let _ = writeln!(std::io::stderr(), "llama.cpp {level}: {line}");
        }
        if level == Level::ERROR {
            let mut kept = lock();
            if kept.len() == KEPT {
                kept.remove(0);
            }
            kept.push(line.to_owned());
        }
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// An event's `message` field (llama-cpp-2 puts llama.cpp's text there).
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.0.push_str(&format!("{value:?}"));
        }
    }
}
