//! Watched folders: every new video dropped into a folder becomes a document without
//! anyone touching anything.
//!
//! Gets right what such tools usually get wrong: a file is taken only once it is
//! complete (size and modification time stable for the settle time, and it opens for
//! reading); what was ingested is recorded on disk (path, size, mtime, content hash), so
//! a restart or a rename does not process a file twice while a changed file is processed
//! again; Video2Doc's own outputs are never ingested, even inside a watched folder; a
//! folder that vanishes shows an error and is picked up again when it is back. Events
//! come from `notify`, with a scan at start and a periodic rescan as a safety net
//! (network drives miss events).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecursiveMode, Watcher as _};
use serde::{Deserialize, Serialize};
use video2doc_queue::{JobId, Priority, State};

use crate::app::{Core, CoreError, ProcessOptions};
use crate::document::export::Format;

/// Marks a folder Video2Doc wrote documents into; watchers never look inside.
pub use crate::document::export::OUTPUT_MARKER;

pub use crate::media::MEDIA_EXTENSIONS;

/// Where a watched folder's documents go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputPlace {
    /// `<folder of the source>/<name>/`.
    BesideSource,
    Folder(PathBuf),
}

/// What happens to a source file once its documents are made.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterSuccess {
    #[default]
    Keep,
    MoveTo(PathBuf),
    Delete,
}

/// One watched folder and how its files are processed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WatchedFolder {
    pub path: PathBuf,
    #[serde(default)]
    pub recursive: bool,
    /// Lower-case extensions without the dot; empty: [`MEDIA_EXTENSIONS`].
    #[serde(default)]
    pub extensions: Vec<String>,
    pub output: OutputPlace,
    #[serde(default)]
    pub formats: Option<Vec<Format>>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub priority: Priority,
    #[serde(default)]
    pub after_success: AfterSuccess,
}

impl WatchedFolder {
    pub fn new(path: PathBuf, output: OutputPlace) -> WatchedFolder {
        WatchedFolder {
            path,
            recursive: false,
            extensions: Vec::new(),
            output,
            formats: None,
            model: None,
            language: None,
            priority: Priority::Normal,
            after_success: AfterSuccess::Keep,
        }
    }

    fn wants_extension(&self, p: &Path) -> bool {
        if self.extensions.is_empty() {
            return crate::media::is_supported(p);
        }
        let Some(ext) = p.extension().and_then(|e| e.to_str()) else {
            return false;
        };
        self.extensions.iter().any(|e| e.eq_ignore_ascii_case(ext))
    }

    fn out_dir(&self, source: &Path) -> PathBuf {
        match &self.output {
            OutputPlace::Folder(p) => p.clone(),
            OutputPlace::BesideSource => source.parent().unwrap_or(Path::new(".")).to_path_buf(),
        }
    }
}

/// Timing of the watcher.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WatchTiming {
    /// A file must keep its size and mtime this long before it is taken.
    pub settle: Duration,
    /// Full rescans, as a safety net for missed events.
    pub rescan: Duration,
    /// How often candidates are checked.
    pub tick: Duration,
}

impl Default for WatchTiming {
    fn default() -> Self {
        WatchTiming {
            settle: Duration::from_secs(5),
            rescan: Duration::from_secs(60),
            tick: Duration::from_millis(500),
        }
    }
}

/// One file that was ingested.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ingested {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ms: u64,
    pub sha256: String,
    pub export: Option<JobId>,
    /// The after-success action has been done (or there was none to do).
    pub settled: bool,
    /// Other paths the same content was seen at (copies, renames): not taken again, and
    /// never moved or deleted in its place.
    #[serde(default)]
    pub seen_at: Vec<SeenAt>,
}

/// A path the same content was seen at, with its size and mtime there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeenAt {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ms: u64,
}

/// The persistent record of what was ingested, by content hash (and indexed by path).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Ledger {
    files: BTreeMap<String, Ingested>,
    #[serde(skip)]
    paths: HashMap<PathBuf, String>,
}

impl Ledger {
    fn load(path: &Path) -> Ledger {
        let mut l: Ledger = std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let paths: Vec<(PathBuf, String)> = l
            .files
            .iter()
            .flat_map(|(k, i)| {
                std::iter::once(&i.path)
                    .chain(i.seen_at.iter().map(|s| &s.path))
                    .map(move |p| (p.clone(), k.clone()))
            })
            .collect();
        l.paths.extend(paths);
        l
    }

    fn insert(&mut self, i: Ingested) {
        self.paths.insert(i.path.clone(), i.sha256.clone());
        self.files.insert(i.sha256.clone(), i);
    }

    /// The same content seen again at `p` (its size and mtime in `m`).
    fn seen_at(&mut self, hash: &str, p: &Path, m: &std::fs::Metadata) {
        if let Some(i) = self.files.get_mut(hash) {
            if i.path != p {
                i.seen_at.retain(|s| s.path != p);
                i.seen_at.push(SeenAt {
                    path: p.to_path_buf(),
                    size: m.len(),
                    mtime_ms: mtime_ms(m),
                });
            }
            self.paths.insert(p.to_path_buf(), hash.to_string());
        }
    }

    fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(d) = path.parent() {
            std::fs::create_dir_all(d)?;
        }
        // Whole or not at all, through a temporary file of its own (two watchers, the
        // old and the new around a settings save, never share one).
        crate::private::write_private(
            path,
            &serde_json::to_vec(self).expect("the ledger serializes"),
        )
    }

    /// The size and mtime `p` had when it was last seen (ingested, or skipped as a copy).
    fn by_path(&self, p: &Path) -> Option<(u64, u64)> {
        let i = self.files.get(self.paths.get(p)?)?;
        if i.path == p {
            return Some((i.size, i.mtime_ms));
        }
        let s = i.seen_at.iter().find(|s| s.path == p)?;
        Some((s.size, s.mtime_ms))
    }
}

/// A folder's state, for the status view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FolderStatus {
    pub path: PathBuf,
    /// None when the folder is being watched; else why it is not.
    pub error: Option<String>,
    /// Files seen but still being written (not yet stable).
    pub settling: usize,
    pub ingested: usize,
}

/// Something the watcher did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WatchEvent {
    Ingested { path: PathBuf, export: JobId },
    Skipped { path: PathBuf, reason: String },
    FolderError { path: PathBuf, message: String },
    FolderBack { path: PathBuf },
    SourceMoved { from: PathBuf, to: PathBuf },
    SourceDeleted { path: PathBuf },
}

fn mtime_ms(m: &std::fs::Metadata) -> u64 {
    m.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Whether `p` is inside one of Video2Doc's output or work folders.
fn is_ours(p: &Path, excluded: &[PathBuf]) -> bool {
    if excluded.iter().any(|e| p.starts_with(e)) {
        return true;
    }
    p.ancestors()
        .skip(1)
        .any(|a| a.join(OUTPUT_MARKER).exists())
}

/// How deep a recursive watch looks, and how many files one folder's scan takes.
const MAX_DEPTH: usize = 16;
const MAX_FILES: usize = 100_000;

/// Files under `dir` (recursively or not, links not followed), skipping our own folders.
fn walk(
    dir: &Path,
    recursive: bool,
    excluded: &[PathBuf],
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    walk_at(dir, if recursive { MAX_DEPTH } else { 0 }, excluded, out)
}

fn walk_at(
    dir: &Path,
    depth: usize,
    excluded: &[PathBuf],
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        if out.len() >= MAX_FILES {
            break;
        }
        let Ok(entry) = entry else { continue };
        let p = entry.path();
        let Ok(ft) = entry.file_type() else { continue };
        if ft.is_dir() {
            if depth > 0
                && !p.join(OUTPUT_MARKER).exists()
                && !excluded.iter().any(|e| p.starts_with(e))
            {
                if let Err(e) = walk_at(&p, depth - 1, excluded, out) {
                    tracing::debug!(folder = %p.display(), error = %e, "not looked into");
                }
            }
        } else if ft.is_file() {
            out.push(p);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    size: u64,
    mtime: u64,
    stable_since: Instant,
}

struct FolderState {
    config: WatchedFolder,
    error: Option<String>,
    last_scan: Option<Instant>,
}

/// The watched folders of one [`Core`].
pub struct FolderWatcher {
    core: Arc<Core>,
    timing: WatchTiming,
    ledger_path: PathBuf,
    ledger: Mutex<Ledger>,
    folders: Mutex<Vec<FolderState>>,
    candidates: Mutex<HashMap<PathBuf, Candidate>>,
    /// Files whose ingest failed, with their size and mtime then: taken again only once
    /// they change (or the watcher restarts, as it does when settings are saved).
    failed: Mutex<HashMap<PathBuf, (u64, u64)>>,
    events: tokio::sync::broadcast::Sender<WatchEvent>,
}

impl FolderWatcher {
    pub fn new(core: Arc<Core>, folders: Vec<WatchedFolder>, timing: WatchTiming) -> FolderWatcher {
        let ledger_path = core.dirs().data.join("watch").join("ingested.json");
        let ledger = Ledger::load(&ledger_path);
        let (events, _) = tokio::sync::broadcast::channel(1024);
        FolderWatcher {
            core,
            timing,
            ledger_path,
            ledger: Mutex::new(ledger),
            folders: Mutex::new(
                folders
                    .into_iter()
                    .map(|config| FolderState {
                        config,
                        error: None,
                        last_scan: None,
                    })
                    .collect(),
            ),
            candidates: Mutex::new(HashMap::new()),
            failed: Mutex::new(HashMap::new()),
            events,
        }
    }

    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<WatchEvent> {
        self.events.subscribe()
    }

    fn emit(&self, e: WatchEvent) {
        tracing::info!(event = ?e, "watched folder");
        let _ = self.events.send(e);
    }

    /// Folders that must never be ingested: the data folder and fixed output folders.
    fn excluded(&self) -> Vec<PathBuf> {
        let mut out = vec![self.core.dirs().data.clone()];
        for f in self
            .folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            if let OutputPlace::Folder(p) = &f.config.output {
                out.push(p.clone());
            }
            if let AfterSuccess::MoveTo(p) = &f.config.after_success {
                out.push(p.clone());
            }
        }
        out
    }

    pub fn status(&self) -> Vec<FolderStatus> {
        let candidates = self.candidates.lock().unwrap_or_else(|p| p.into_inner());
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        self.folders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|f| FolderStatus {
                path: f.config.path.clone(),
                error: f.error.clone(),
                settling: candidates
                    .keys()
                    .filter(|p| p.starts_with(&f.config.path))
                    .count(),
                ingested: ledger
                    .files
                    .values()
                    .filter(|i| i.path.starts_with(&f.config.path))
                    .count(),
            })
            .collect()
    }

    /// What a folder would ingest now, without ingesting anything.
    pub fn preview(&self, folder: &WatchedFolder) -> Result<Vec<PathBuf>, std::io::Error> {
        let mut files = Vec::new();
        walk(&folder.path, folder.recursive, &self.excluded(), &mut files)?;
        let ledger = self.ledger.lock().unwrap_or_else(|p| p.into_inner());
        let excluded = self.excluded();
        let mut out: Vec<PathBuf> = files
            .into_iter()
            .filter(|p| folder.wants_extension(p) && !is_ours(p, &excluded))
            .filter(|p| {
                let Ok(m) = std::fs::metadata(p) else {
                    return false;
                };
                ledger.by_path(p) != Some((m.len(), mtime_ms(&m)))
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// Scans one folder (all of it) and notes its files as candidates.
    fn scan(&self, i: usize) {
        let (cfg, was_error) = {
            let f = self.folders.lock().unwrap_or_else(|p| p.into_inner());
            (f[i].config.clone(), f[i].error.is_some())
        };
        let mut files = Vec::new();
        let result = if cfg.path.is_dir() {
            walk(&cfg.path, cfg.recursive, &self.excluded(), &mut files)
        } else {
            Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "the folder does not exist",
            ))
        };
        {
            let mut f = self.folders.lock().unwrap_or_else(|p| p.into_inner());
            f[i].last_scan = Some(Instant::now());
            match &result {
                Ok(()) => f[i].error = None,
                Err(e) => f[i].error = Some(format!("{} cannot be read: {e}", cfg.path.display())),
            }
        }
        match result {
            Ok(()) => {
                if was_error {
                    self.emit(WatchEvent::FolderBack {
                        path: cfg.path.clone(),
                    });
                }
                for p in files {
                    self.note(&p);
                }
            }
            Err(e) if !was_error => self.emit(WatchEvent::FolderError {
                path: cfg.path.clone(),
                message: format!("{} cannot be read: {e}", cfg.path.display()),
            }),
            Err(_) => {}
        }
    }

    /// A path that may be a new or changed file.
    fn note(&self, p: &Path) {
        // Links are not followed (as scans do not): a link dropped into a shared folder
        // must not make the owner's private files into documents there.
        let Ok(m) = std::fs::symlink_metadata(p) else {
            self.candidates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(p);
            return;
        };
        if !m.is_file() || self.folder_of(p).is_none() {
            return;
        }
        let (size, mtime) = (m.len(), mtime_ms(&m));
        if self.failed.lock().unwrap_or_else(|e| e.into_inner()).get(p) == Some(&(size, mtime)) {
            return; // failed like this before: said once, not again every rescan
        }
        if self
            .ledger
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .by_path(p)
            == Some((size, mtime))
        {
            return; // seen exactly like this before
        }
        let mut c = self.candidates.lock().unwrap_or_else(|e| e.into_inner());
        let entry = c.entry(p.to_path_buf()).or_insert(Candidate {
            size,
            mtime,
            stable_since: Instant::now(),
        });
        if entry.size != size || entry.mtime != mtime {
            *entry = Candidate {
                size,
                mtime,
                stable_since: Instant::now(),
            };
        }
    }

    /// The watched folder a file belongs to, if it passes that folder's filters.
    fn folder_of(&self, p: &Path) -> Option<WatchedFolder> {
        let excluded = self.excluded();
        if is_ours(p, &excluded) {
            return None;
        }
        let folders = self.folders.lock().unwrap_or_else(|e| e.into_inner());
        folders
            .iter()
            .map(|f| &f.config)
            .find(|f| {
                let inside = if f.recursive {
                    p.starts_with(&f.path)
                } else {
                    p.parent() == Some(f.path.as_path())
                };
                inside && f.wants_extension(p)
            })
            .cloned()
    }

    /// Takes the candidates that have been stable for the settle time.
    async fn take_ready(&self) {
        let ready: Vec<PathBuf> = {
            let mut c = self.candidates.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let mut ready = Vec::new();
            for (p, cand) in c.iter_mut() {
                match std::fs::symlink_metadata(p) {
                    Ok(m) if !m.is_file() => {}
                    Ok(m) if m.len() == cand.size && mtime_ms(&m) == cand.mtime => {
                        if now.duration_since(cand.stable_since) >= self.timing.settle
                            && std::fs::File::open(p).is_ok()
                        {
                            ready.push(p.clone());
                        }
                    }
                    Ok(m) => {
                        // Still being written: start the wait again.
                        *cand = Candidate {
                            size: m.len(),
                            mtime: mtime_ms(&m),
                            stable_since: now,
                        };
                    }
                    Err(_) => {}
                }
            }
            c.retain(|p, _| p.exists() && !ready.contains(p));
            ready
        };
        for p in ready {
            if let Err(e) = self.ingest(&p).await {
                tracing::warn!(path = %p.display(), error = %e, "could not ingest");
                if let Ok(m) = std::fs::symlink_metadata(&p) {
                    self.failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(p.clone(), (m.len(), mtime_ms(&m)));
                }
                self.emit(WatchEvent::Skipped {
                    path: p.clone(),
                    reason: e.to_string(),
                });
            }
        }
    }

    async fn ingest(&self, p: &Path) -> Result<(), CoreError> {
        let Some(folder) = self.folder_of(p) else {
            return Ok(());
        };
        let m = std::fs::symlink_metadata(p)
            .ok()
            .filter(|m| m.is_file())
            .ok_or_else(|| CoreError::NoSuchFile(p.to_path_buf()))?;
        let hash = hash_of(p).await?;
        {
            let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(known) = ledger.files.get(&hash) {
                // The same content under another name (a rename or a copy): not again,
                // and the copy is never what gets moved or deleted.
                let reason = format!("same content as {}", known.path.display());
                ledger.seen_at(&hash, p, &m);
                let _ = ledger.save(&self.ledger_path);
                drop(ledger);
                self.emit(WatchEvent::Skipped {
                    path: p.to_path_buf(),
                    reason,
                });
                return Ok(());
            }
        }
        let out_dir = folder.out_dir(p);
        let options = ProcessOptions {
            out_dir: Some(out_dir.clone()),
            formats: folder.formats.clone(),
            model: folder.model.clone(),
            language: folder.language.clone(),
            priority: Some(folder.priority),
            wait_for_model: true,
            ..ProcessOptions::default()
        };
        let w = self.core.submit_complete(p, &options).await?;
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        ledger.insert(Ingested {
            path: p.to_path_buf(),
            size: m.len(),
            mtime_ms: mtime_ms(&m),
            sha256: hash,
            export: Some(w.export),
            settled: folder.after_success == AfterSuccess::Keep,
            seen_at: Vec::new(),
        });
        let _ = ledger.save(&self.ledger_path);
        drop(ledger);
        self.emit(WatchEvent::Ingested {
            path: p.to_path_buf(),
            export: w.export,
        });
        Ok(())
    }

    /// Moves or deletes sources whose documents are done, as their folder asks: only the
    /// very file that was processed (same size, mtime and content), and a move never
    /// replaces a file already in the archive (`talk (2).mp4` instead).
    async fn settle_sources(&self) {
        let pending: Vec<(String, Ingested)> = {
            let ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
            ledger
                .files
                .iter()
                .filter(|(_, i)| !i.settled)
                .map(|(k, i)| (k.clone(), i.clone()))
                .collect()
        };
        for (key, item) in pending {
            let Some(export) = item.export else { continue };
            let Ok(job) = self.core.queue().get(export) else {
                continue;
            };
            if !job.state.is_terminal() {
                continue;
            }
            let action = self.folder_of(&item.path).map(|f| f.after_success);
            if job.state == State::Succeeded
                && matches!(action, Some(AfterSuccess::MoveTo(_) | AfterSuccess::Delete))
            {
                if let Err(why) = still_the_processed_file(&item).await {
                    self.emit(WatchEvent::Skipped {
                        path: item.path.clone(),
                        reason: format!("{why}; it is left where it is"),
                    });
                } else {
                    self.after_success(&item.path, action);
                }
            }
            let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(i) = ledger.files.get_mut(&key) {
                i.settled = true;
            }
            let _ = ledger.save(&self.ledger_path);
        }
    }

    fn after_success(&self, path: &Path, action: Option<AfterSuccess>) {
        match action {
            Some(AfterSuccess::MoveTo(dir)) => match move_without_replacing(path, &dir) {
                Ok(to) => self.emit(WatchEvent::SourceMoved {
                    from: path.to_path_buf(),
                    to,
                }),
                Err(e) => self.emit(WatchEvent::Skipped {
                    path: path.to_path_buf(),
                    reason: format!("could not be moved to {}: {e}", dir.display()),
                }),
            },
            Some(AfterSuccess::Delete) => match std::fs::remove_file(path) {
                Ok(()) => self.emit(WatchEvent::SourceDeleted {
                    path: path.to_path_buf(),
                }),
                Err(e) => self.emit(WatchEvent::Skipped {
                    path: path.to_path_buf(),
                    reason: format!("could not be deleted: {e}"),
                }),
            },
            _ => {}
        }
    }

    /// Runs until `stop` fires: watches with notify, scans at start and periodically,
    /// takes stable files, settles sources.
    pub async fn run(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
        let mut watchers: HashMap<PathBuf, notify::RecommendedWatcher> = HashMap::new();
        // Folders notify could not watch (too many folders for inotify, a share without
        // change notification), and when it was last tried: tried again once a rescan
        // period has passed, and scanned only when a rescan is due meanwhile.
        let mut unwatchable: HashMap<PathBuf, Instant> = HashMap::new();
        let mut tick = tokio::time::interval(self.timing.tick);
        loop {
            // (Re)attach notify to folders that have none (at start, or back after an error).
            let configs: Vec<(usize, WatchedFolder, bool)> = self
                .folders
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let due = f
                        .last_scan
                        .is_none_or(|t| t.elapsed() >= self.timing.rescan)
                        || f.error.is_some();
                    (i, f.config.clone(), due)
                })
                .collect();
            for (i, cfg, due) in configs {
                if !cfg.path.is_dir() {
                    watchers.remove(&cfg.path);
                }
                let tried_lately = unwatchable
                    .get(&cfg.path)
                    .is_some_and(|t| t.elapsed() < self.timing.rescan);
                if cfg.path.is_dir() && !watchers.contains_key(&cfg.path) && !tried_lately {
                    let tx = tx.clone();
                    let w =
                        notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                            if let Ok(ev) = res {
                                for p in ev.paths {
                                    let _ = tx.send(p);
                                }
                            }
                        });
                    let mode = if cfg.recursive {
                        RecursiveMode::Recursive
                    } else {
                        RecursiveMode::NonRecursive
                    };
                    match w.and_then(|mut w| w.watch(&cfg.path, mode).map(|_| w)) {
                        Ok(w) => {
                            unwatchable.remove(&cfg.path);
                            watchers.insert(cfg.path.clone(), w);
                        }
                        Err(e) => {
                            if unwatchable
                                .insert(cfg.path.clone(), Instant::now())
                                .is_none()
                            {
                                self.emit(WatchEvent::FolderError {
                                    path: cfg.path.clone(),
                                    message: format!(
                                        "changes in {} are not noticed as they happen ({e}); \
                                         it is looked through every {} s instead",
                                        cfg.path.display(),
                                        self.timing.rescan.as_secs()
                                    ),
                                });
                            }
                        }
                    }
                    self.scan(i);
                } else if due {
                    self.scan(i);
                }
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                Some(p) = rx.recv() => {
                    self.note(&p);
                    while let Ok(p) = rx.try_recv() {
                        self.note(&p);
                    }
                }
                _ = tick.tick() => {
                    self.take_ready().await;
                    self.settle_sources().await;
                }
            }
        }
    }
}

/// The content hash of `p`, read off the async threads.
async fn hash_of(p: &Path) -> Result<String, CoreError> {
    let path = p.to_path_buf();
    tokio::task::spawn_blocking(move || crate::pipeline::content_hash(&path))
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| CoreError::NoSuchFile(p.to_path_buf()))
}

/// Whether the file at `item.path` is still the one processed: not a link, same size,
/// mtime and content. Else why not, in plain words.
async fn still_the_processed_file(item: &Ingested) -> Result<(), String> {
    let p = &item.path;
    let m = std::fs::symlink_metadata(p).map_err(|_| format!("{} is gone", p.display()))?;
    let same = m.is_file()
        && m.len() == item.size
        && mtime_ms(&m) == item.mtime_ms
        && hash_of(p).await.is_ok_and(|h| h == item.sha256);
    if same {
        Ok(())
    } else {
        Err(format!("{} changed since it was processed", p.display()))
    }
}

/// Moves `from` into `dir` under its own name, or `name (2).ext`, `name (3).ext`... when
/// that is taken: never replacing a file. A hard link claims the name atomically (then
/// the source is unlinked); across file systems, a copy to an exclusively created file.
fn move_without_replacing(from: &Path, dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name = from
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "no file name"))?;
    let (stem, ext) = {
        let p = Path::new(name);
        (
            p.file_stem().unwrap_or(name).to_string_lossy().into_owned(),
            p.extension().map(|e| format!(".{}", e.to_string_lossy())),
        )
    };
    for n in 1..=999 {
        let to = if n == 1 {
            dir.join(name)
        } else {
            dir.join(format!("{stem} ({n}){}", ext.as_deref().unwrap_or("")))
        };
        match std::fs::hard_link(from, &to) {
            Ok(()) => {
                std::fs::remove_file(from)?;
                return Ok(to);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(_) => {
                // Another file system (or one without hard links): copy, then remove.
                let mut dest = match std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&to)
                {
                    Ok(f) => f,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                };
                let copied = std::fs::File::open(from)
                    .and_then(|mut src| std::io::copy(&mut src, &mut dest))
                    .and_then(|_| dest.sync_all());
                if let Err(e) = copied {
                    let _ = std::fs::remove_file(&to);
                    return Err(e);
                }
                std::fs::remove_file(from)?;
                return Ok(to);
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::AlreadyExists,
        format!("{} holds 999 files of that name", dir.display()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_stop_at_their_depth_and_never_follow_links() {
        let d = tempfile::tempdir().unwrap();
        let mut deep = d.path().to_path_buf();
        for i in 0..MAX_DEPTH + 3 {
            deep = deep.join(format!("d{i}"));
            std::fs::create_dir_all(&deep).unwrap();
            std::fs::write(deep.join(format!("talk{i}.mp4")), b"x").unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(d.path(), d.path().join("d0/loop")).unwrap();
        let mut files = Vec::new();
        walk(d.path(), true, &[], &mut files).unwrap();
        // The folder itself, then MAX_DEPTH levels below it; the link not entered.
        assert_eq!(files.len(), MAX_DEPTH, "{files:?}");
        assert!(files
            .iter()
            .all(|f| !f.starts_with(d.path().join("d0/loop"))));
        let mut top = Vec::new();
        walk(d.path(), false, &[], &mut top).unwrap();
        assert!(top.is_empty(), "not recursive: only the folder's own files");
    }
}
