//! Logs of every Video2Doc program: daily-rotated files in the data folder's `logs`
//! (kept 14 days), warnings on stderr, and panics written to the log before the
//! program ends, so that nothing fails silently.

use std::path::Path;

/// Logs: daily-rotated files in `dir` (info and up) plus warnings on stderr.
/// `VIDEO2DOC_LOG` overrides the filter.
pub fn init(dir: &Path) -> Option<tracing_appender::non_blocking::WorkerGuard> {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{fmt, EnvFilter, Layer};
    let stderr = fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_env("VIDEO2DOC_LOG").unwrap_or_else(|_| "warn".into()));
    let (file, guard) = match std::fs::create_dir_all(dir) {
        Ok(()) => {
            let appender = tracing_appender::rolling::Builder::new()
                .rotation(tracing_appender::rolling::Rotation::DAILY)
                .filename_prefix("video2doc")
                .filename_suffix("log")
                .max_log_files(14)
                .build(dir)
                .ok();
            match appender {
                Some(a) => {
                    let (w, g) = tracing_appender::non_blocking(a);
                    (
                        Some(
                            fmt::layer()
                                .with_ansi(false)
                                .with_writer(w)
                                .with_filter(EnvFilter::new("info")),
                        ),
                        Some(g),
                    )
                }
                None => (None, None),
            }
        }
        Err(_) => (None, None),
    };
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(file)
        .try_init();
    guard
}

/// What a panic said ("unknown panic" when it carried no text).
pub fn panic_message(info: &std::panic::PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Writes panics to the log (with where they happened) as well as to stderr.
pub fn log_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(%place, "panic: {}", panic_message(info));
        default(info);
    }));
}
