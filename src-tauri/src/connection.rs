//! Opens the job queue in the background, so that the window opens whatever the queue
//! setting says (issue 17, M4). A shared queue whose server is down or unreachable, or a
//! data folder another process holds, is tried again every few seconds until it opens;
//! a problem that waiting does not fix (a URL that does not parse, a store written by a
//! newer Video2Doc) waits for the settings to change or for "Try again". Meanwhile the
//! window shows the problem (`queue-connection` events, the `queue_connection` command)
//! and its settings work, so the queue can be changed or cleared without a restart; the
//! commands that need the queue say why they cannot run.

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};
use video2doc_core::AppSettings;
use video2doc_core::{Core, CoreError};
use video2doc_core::{QueueError, StoreError};

use crate::events::Notify;
use crate::shell::Shell;

/// How long to wait between two attempts that may succeed later (an attempt itself waits
/// up to 3 s for a server: `open_within` in core's `open_shared`).
pub const RETRY_EVERY: Duration = Duration::from_secs(5);

/// Where the queue stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueState {
    /// Being opened (the first attempt, or one with changed settings).
    Opening,
    Open,
    /// Not open; `problem` says why.
    Unavailable,
}

/// The queue's connection as the window shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueConnection {
    pub state: QueueState,
    /// The shared queue's address, without its password; `None`: the queue in this
    /// computer's data folder.
    pub shared: Option<String>,
    /// Why it is not open, in plain words (English; the window words it from `cause`).
    pub problem: Option<String>,
    /// The cause alone: the innermost error.
    pub cause: Option<String>,
    /// Whether it is tried again by itself.
    pub retrying: bool,
}

impl QueueConnection {
    fn opening(shared: Option<String>) -> Self {
        QueueConnection {
            state: QueueState::Opening,
            shared,
            problem: None,
            cause: None,
            retrying: false,
        }
    }

    /// Why commands that need the queue cannot run now.
    pub fn why_not_open(&self) -> String {
        match (&self.problem, &self.shared) {
            (Some(p), _) => p.clone(),
            (None, Some(url)) => {
                format!("Video2Doc is still connecting to the shared queue at {url}")
            }
            (None, None) => "the job queue is still opening".into(),
        }
    }
}

/// The connection's state, and what wakes the opener.
pub struct Link {
    state: tokio::sync::watch::Sender<QueueConnection>,
    /// "Try again" and saved settings: the next attempt starts at once.
    kick: tokio::sync::Notify,
    /// Held while an attempt runs and while settings are saved without a queue, so that
    /// an attempt always reads the settings last saved.
    pub(crate) busy: tokio::sync::Mutex<()>,
}

impl Default for Link {
    fn default() -> Self {
        Link {
            state: tokio::sync::watch::Sender::new(QueueConnection::opening(None)),
            kick: tokio::sync::Notify::new(),
            busy: tokio::sync::Mutex::new(()),
        }
    }
}

impl Link {
    pub fn get(&self) -> QueueConnection {
        self.state.borrow().clone()
    }

    /// Starts the next attempt now (when the queue is not open).
    pub fn kick(&self) {
        self.kick.notify_one();
    }

    /// Waits until the first attempt has ended, whatever its outcome.
    pub async fn settled(&self) {
        let mut rx = self.state.subscribe();
        let _ = rx.wait_for(|c| c.state != QueueState::Opening).await;
    }

    fn set<R: Runtime>(&self, app: &AppHandle<R>, c: QueueConnection) {
        if self.state.send_replace(c.clone()) != c {
            let _ = app.emit("queue-connection", c);
        }
    }
}

/// The URL with any password replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

/// The innermost error of `e`'s chain, in its own words.
fn cause_of(e: &dyn std::error::Error) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}

/// Whether waiting may fix it: a server that is down or unreachable, or a data folder
/// another process holds.
fn may_pass(e: &CoreError) -> bool {
    matches!(e, CoreError::Queue(QueueError::Store(s)) if s.is_unavailable() || matches!(s, StoreError::Locked(_)))
}

fn unavailable(shared: Option<String>, cause: String, retrying: bool) -> QueueConnection {
    let what = match &shared {
        Some(url) if retrying => format!("the shared queue at {url} cannot be reached: {cause}"),
        Some(url) => format!("the shared queue at {url} cannot be used: {cause}"),
        None => format!("the job queue on this computer could not be opened: {cause}"),
    };
    let next = match (retrying, shared.is_some()) {
        (true, true) => "; Video2Doc keeps trying (Settings can change or clear the shared queue)",
        (true, false) => "; Video2Doc keeps trying",
        (false, true) => "; change or clear the shared queue in Settings",
        (false, false) => "",
    };
    QueueConnection {
        state: QueueState::Unavailable,
        problem: Some(format!("{what}{next}")),
        cause: Some(cause),
        shared,
        retrying,
    }
}

/// The shared queue the settings name, if any (as shown: no password).
fn shared_of(dirs: &video2doc_core::CoreDirs) -> Option<String> {
    AppSettings::load(&dirs.config)
        .ok()?
        .queue_url
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty())
        .map(|u| redact(&u))
}

/// Opens the queue once; `Err(retrying)` when it did not open.
async fn attempt<R: Runtime>(
    app: &AppHandle<R>,
    shell: &Shell,
    notify: Option<Notify>,
) -> Result<(), bool> {
    let _busy = shell.link.busy.lock().await;
    let dirs = shell.dirs().clone();
    let shared = shared_of(&dirs);
    let before = shell.link.get();
    if before.state == QueueState::Opening || before.shared != shared {
        shell
            .link
            .set(app, QueueConnection::opening(shared.clone()));
    }
    let worker = shell.worker().clone();
    let opened = tauri::async_runtime::spawn_blocking(move || Core::open(dirs, worker)).await;
    let failed = |cause: String, retrying: bool| {
        let now = unavailable(shared.clone(), cause, retrying);
        // Said once per problem, not at every attempt.
        if shell.link.get().problem != now.problem {
            tracing::warn!(
                problem = now.problem.as_deref().unwrap_or_default(),
                "the job queue is not open"
            );
        }
        shell.link.set(app, now);
        Err(retrying)
    };
    let core = match opened {
        Ok(Ok(core)) => Arc::new(core),
        Ok(Err(e)) => return failed(cause_of(&e), may_pass(&e)),
        Err(e) => return failed(format!("internal error: {e}"), false),
    };
    if let Err(e) = core.start().await {
        core.close().await;
        return failed(cause_of(&e), may_pass(&e));
    }
    shell.install(app, core, notify).await;
    tracing::info!(
        shared = shared.as_deref().unwrap_or("no"),
        "the job queue is open"
    );
    shell.link.set(
        app,
        QueueConnection {
            state: QueueState::Open,
            shared,
            problem: None,
            cause: None,
            retrying: false,
        },
    );
    Ok(())
}

/// Opens the queue of the app's [`Shell`] in the background: at once, then again until
/// it opens (see the module documentation).
pub fn open_in_background<R: Runtime>(app: AppHandle<R>, notify: Option<Notify>) {
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        loop {
            let retrying = match attempt(&app, &shell, notify.clone()).await {
                Ok(()) => return,
                Err(retrying) => retrying,
            };
            if retrying {
                tokio::select! {
                    _ = tokio::time::sleep(RETRY_EVERY) => {}
                    _ = shell.link.kick.notified() => {}
                }
            } else {
                shell.link.kick.notified().await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_never_shown() {
        assert_eq!(
            redact("redis://:s3cret@db.lab:6379/2"),
            "redis://***@db.lab:6379/2"
        );
        assert_eq!(redact("redis://db.lab:6379/2"), "redis://db.lab:6379/2");
    }

    #[test]
    fn the_problem_names_the_server_the_cause_and_what_happens_next() {
        let c = unavailable(
            Some("redis://db.lab:6379/0".into()),
            "Connection refused (os error 111)".into(),
            true,
        );
        assert_eq!(c.state, QueueState::Unavailable);
        assert_eq!(
            c.why_not_open(),
            "the shared queue at redis://db.lab:6379/0 cannot be reached: Connection refused \
             (os error 111); Video2Doc keeps trying (Settings can change or clear the shared queue)"
        );
        let c = unavailable(None, "held by pid 7".into(), false);
        assert_eq!(
            c.why_not_open(),
            "the job queue on this computer could not be opened: held by pid 7"
        );
    }
}
