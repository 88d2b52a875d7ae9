//! The user's view of the queue: one item per input, that is a complete workflow (a
//! group of five jobs, key `g<group>`) or a task submitted on its own (key `j<job>`).
//! This module owns how items are listed, detailed (timeline, outputs, the transcript
//! and slides so far) and acted on (cancel, retry, priority) as one; it extends
//! [`Core`] and reads only what the queue and the work folders already hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use video2doc_queue::{
    now_ms, Failure, GroupId, JobId, JobRecord, Payload, Priority, Progress, QueueError, Rejection,
    State,
};

use crate::app::{Core, CoreError};
use crate::document::export::Format;
use crate::media::ocr::SlideText;
use crate::pipeline::{self, Outputs, SlideImage};
use crate::workflow::WorkflowInput;

/// Which item a request is about: `g12` (a workflow) or `j40` (a lone task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ItemKey {
    Group(GroupId),
    Job(JobId),
}

impl std::fmt::Display for ItemKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ItemKey::Group(g) => write!(f, "g{g}"),
            ItemKey::Job(j) => write!(f, "j{j}"),
        }
    }
}

impl std::str::FromStr for ItemKey {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        let bad = || CoreError::BadKey(s.to_string());
        let (kind, n) = s.split_at_checked(1).ok_or_else(bad)?;
        let n: u64 = n.parse().map_err(|_| bad())?;
        match kind {
            "g" => Ok(ItemKey::Group(GroupId(n))),
            "j" => Ok(ItemKey::Job(JobId(n))),
            _ => Err(bad()),
        }
    }
}

/// One step (job) of an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    pub job: JobId,
    pub kind: String,
    pub queue: String,
    pub state: State,
    pub progress: Progress,
    pub attempts: u32,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    /// The stage's own failure in plain words; `None` when it did not run because an
    /// earlier stage failed (see `upstream`), whose error says it all.
    pub error: Option<String>,
    /// The job whose failure (or cancellation) stopped this stage before it ran.
    #[serde(default)]
    pub upstream: Option<JobId>,
    /// What a held stage waits for ("a speech model"): it starts by itself once that is
    /// there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
}

/// One row of the queue as a person sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemRow {
    pub key: String,
    pub group: Option<GroupId>,
    /// The input's file name.
    pub title: String,
    pub input: Option<PathBuf>,
    pub state: State,
    pub priority: Priority,
    /// The queue of the stage running now, or of the last one that ran.
    pub queue: String,
    /// 0..=1 over all stages: 1 once it succeeded, otherwise the work done (a failed
    /// or cancelled item shows how far it got).
    pub progress: f32,
    /// Estimated time left, while running.
    pub eta_ms: Option<u64>,
    pub created_at: u64,
    pub started_at: Option<u64>,
    pub finished_at: Option<u64>,
    /// The first failure in plain words (a stage's own, not one passed downstream).
    pub error: Option<String>,
    /// What the item waits for while nothing of it runs ("a speech model": dropped
    /// before a model was installed; it goes on by itself when one is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_for: Option<String>,
    pub stages: Vec<StageRow>,
}

/// One change of state of one stage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub job: JobId,
    pub kind: String,
    pub at: u64,
    pub from: Option<State>,
    pub to: State,
    pub note: String,
    /// The technical detail of a failure (a stage's own, never one passed downstream).
    pub error: Option<String>,
    /// On the entry where a stage failed without running: the job that stopped it.
    #[serde(default)]
    pub upstream: Option<JobId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputFile {
    pub path: PathBuf,
    pub format: Format,
    pub bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    /// Who said it (one of the detail's `speakers`), once the document names speakers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlideThumb {
    pub index: usize,
    /// Unknown while the slides are still being saved.
    pub start_ms: Option<u64>,
    pub thumbnail: PathBuf,
    pub image: PathBuf,
    /// The slide's title and the rest of its text, once read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Everything the detail view shows about one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemDetail {
    pub row: ItemRow,
    pub timeline: Vec<TimelineEntry>,
    /// The documents' folder once written; before, the folder it will be made in.
    pub output_dir: Option<PathBuf>,
    pub outputs: Vec<OutputFile>,
    pub transcript: Vec<TranscriptLine>,
    pub slides: Vec<SlideThumb>,
    pub preview_html: Option<PathBuf>,
    /// The speakers the document names (two or more: the transcript is labelled).
    #[serde(default)]
    pub speakers: Vec<crate::document::Speaker>,
    /// The document's JSON file, once made: what a rename rewrites.
    #[serde(default)]
    pub document: Option<PathBuf>,
}

/// A filter of the item list.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ItemFilter {
    #[serde(default)]
    pub state: Option<State>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
}

fn input_of(job: &JobRecord) -> Option<WorkflowInput> {
    match &job.payload {
        Payload::Inline(v) => serde_json::from_value(v.clone()).ok(),
        Payload::File(_) => None,
    }
}

/// Builds an item's row from its jobs (in id order, as the workflow made them).
fn row_of(
    key: ItemKey,
    overall: State,
    jobs: &[JobRecord],
    live: impl Fn(JobId) -> Option<Progress>,
    now: u64,
) -> ItemRow {
    let stages: Vec<StageRow> = jobs
        .iter()
        .map(|j| StageRow {
            job: j.id,
            kind: j.kind.clone(),
            queue: j.queue.clone(),
            state: j.state,
            progress: if j.state == State::Running {
                live(j.id).unwrap_or_else(|| j.progress.clone())
            } else {
                j.progress.clone()
            },
            attempts: j.attempts,
            started_at: j.started_at,
            finished_at: j.finished_at,
            error: own_failure(j).map(|e| e.message.clone()),
            upstream: j
                .error
                .as_ref()
                .and_then(|e| e.upstream)
                .filter(|_| matches!(j.state, State::Failed | State::Dead)),
            waiting_for: j.held_for().map(str::to_string),
        })
        .collect();
    // Work done: a stage that ended without succeeding counts as far as it got.
    let fraction = |s: &StageRow| match s.state {
        State::Succeeded => 1.0,
        _ if s.upstream.is_some() => 0.0,
        State::Running | State::Failed | State::Dead | State::Cancelled => {
            s.progress.fraction.clamp(0.0, 1.0)
        }
        _ => 0.0,
    };
    let progress = if stages.is_empty() {
        0.0
    } else {
        stages.iter().map(fraction).sum::<f32>() / stages.len() as f32
    };
    let input = jobs.first().and_then(input_of).map(|w| w.input);
    let title = input
        .as_deref()
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| key.to_string());
    let current = stages
        .iter()
        .find(|s| s.state == State::Running)
        .or_else(|| stages.iter().rev().find(|s| s.started_at.is_some()))
        .or(stages.first());
    let started_at = stages.iter().filter_map(|s| s.started_at).min();
    let finished = overall.is_terminal();
    let finished_at = if finished {
        stages.iter().filter_map(|s| s.finished_at).max()
    } else {
        None
    };
    // What the item waits for while nothing of it runs.
    let waiting_for = stages
        .iter()
        .find_map(|s| s.waiting_for.clone())
        .filter(|_| stages.iter().all(|s| s.state != State::Running));
    let eta_ms = match (overall, started_at) {
        // Held for a model: no time can be told.
        _ if waiting_for.is_some() => None,
        (State::Running, Some(t)) if progress > 0.02 => {
            let elapsed = now.saturating_sub(t) as f64;
            Some((elapsed * f64::from(1.0 - progress) / f64::from(progress)).round() as u64)
        }
        _ => None,
    };
    // A stage's own failure, not the "upstream failed" of the stages after it; a
    // cancelled item did not go wrong.
    let failed = matches!(overall, State::Failed | State::Dead);
    let error = jobs
        .iter()
        .filter_map(|j| j.error.as_ref())
        .find(|e| e.upstream.is_none())
        .or_else(|| jobs.iter().find_map(|j| j.error.as_ref()))
        .filter(|_| failed)
        .map(|e| e.message.clone());
    ItemRow {
        key: key.to_string(),
        group: match key {
            ItemKey::Group(g) => Some(g),
            ItemKey::Job(_) => None,
        },
        title,
        input,
        state: overall,
        priority: jobs.iter().map(|j| j.priority).max().unwrap_or_default(),
        queue: current.map(|s| s.queue.clone()).unwrap_or_default(),
        progress: if overall == State::Succeeded {
            1.0
        } else {
            progress
        },
        eta_ms,
        created_at: jobs.iter().map(|j| j.created_at).min().unwrap_or(0),
        started_at,
        finished_at,
        error,
        waiting_for,
        stages,
    }
}

impl Core {
    /// The items, newest first, filtered by their overall state and/or the queue of
    /// their current stage.
    pub fn items(&self, filter: &ItemFilter) -> Result<Vec<ItemRow>, CoreError> {
        let queue = self.queue();
        let mut by_key: BTreeMap<ItemKey, Vec<JobRecord>> = BTreeMap::new();
        for job in queue.records(None, None, usize::MAX)? {
            let key = match job.group {
                Some(g) => ItemKey::Group(g),
                None => ItemKey::Job(job.id),
            };
            by_key.entry(key).or_default().push(job);
        }
        let now = now_ms();
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut rows = Vec::new();
        for (key, mut jobs) in by_key.into_iter().rev() {
            jobs.sort_by_key(|j| j.id);
            let row = self.row(key, jobs, now)?;
            let keep = filter.state.is_none_or(|s| s == row.state)
                && filter.queue.as_deref().is_none_or(|q| q == row.queue);
            if keep {
                rows.push(row);
                if rows.len() >= limit {
                    break;
                }
            }
        }
        Ok(rows)
    }

    fn row(&self, key: ItemKey, jobs: Vec<JobRecord>, now: u64) -> Result<ItemRow, CoreError> {
        let queue = self.queue();
        let overall = match key {
            ItemKey::Group(g) => match queue.group_record(g) {
                Ok(record) => queue.summarize_group(record, &jobs).state,
                Err(QueueError::Rejected(Rejection::GroupNotFound(_))) => {
                    jobs.iter().map(|j| j.state).max().unwrap_or(State::Pending)
                }
                Err(e) => return Err(e.into()),
            },
            ItemKey::Job(_) => jobs.first().map(|j| j.state).unwrap_or(State::Pending),
        };
        Ok(row_of(key, overall, &jobs, |id| queue.progress(id), now))
    }

    /// The jobs of one item, in id order.
    fn item_jobs(&self, key: ItemKey) -> Result<Vec<JobRecord>, CoreError> {
        let queue = self.queue();
        let mut jobs = match key {
            ItemKey::Group(g) => queue
                .group_record(g)?
                .members
                .iter()
                .map(|m| queue.get(*m))
                .collect::<Result<Vec<_>, _>>()?,
            ItemKey::Job(j) => vec![queue.get(j)?],
        };
        jobs.sort_by_key(|j| j.id);
        Ok(jobs)
    }

    /// One item's row.
    pub fn item(&self, key: ItemKey) -> Result<ItemRow, CoreError> {
        let jobs = self.item_jobs(key)?;
        self.row(key, jobs, now_ms())
    }

    /// The item a job belongs to.
    pub fn item_of(&self, job: JobId) -> Result<ItemKey, CoreError> {
        Ok(match self.queue().get(job)?.group {
            Some(g) => ItemKey::Group(g),
            None => ItemKey::Job(job),
        })
    }

    /// One item with its timeline, outputs, and the transcript and slides so far.
    pub fn item_detail(&self, key: ItemKey) -> Result<ItemDetail, CoreError> {
        let jobs = self.item_jobs(key)?;
        let timeline = timeline_of(&jobs);

        let queue = self.queue();
        // The work folder, from the first stage's result (nothing is in it before).
        let work = jobs
            .iter()
            .filter(|j| j.state == State::Succeeded)
            .filter_map(|j| queue.result(j.id).ok().flatten())
            .find_map(|r| r.get("work").and_then(|w| w.as_str()).map(PathBuf::from));
        let outputs: Option<Outputs> = jobs
            .iter()
            .filter(|j| j.kind == "export" && j.state == State::Succeeded)
            .find_map(|j| queue.result(j.id).ok().flatten())
            .and_then(|v| serde_json::from_value(v).ok());
        // The folder the documents went to; until then, the folder they will be in (its
        // own folder's name is chosen at export: `talk`, or `talk (2)` when taken).
        let output_dir = outputs
            .as_ref()
            .map(|o| o.folder.clone())
            .or_else(|| jobs.first().and_then(input_of).map(|w| w.out_dir));
        let files: Vec<OutputFile> = outputs
            .iter()
            .flat_map(|o| o.files.iter())
            .map(|(format, path)| OutputFile {
                path: path.clone(),
                format: *format,
                bytes: std::fs::metadata(path).map(|m| m.len()).unwrap_or(0),
            })
            .collect();
        let preview_html = files
            .iter()
            .find(|f| f.format == Format::Html && f.path.is_file())
            .map(|f| f.path.clone());

        let document = files
            .iter()
            .find(|f| f.format == Format::Json && f.path.is_file())
            .map(|f| f.path.clone());
        // Once made, the document's transcript (its speakers as named since); before,
        // the lines so far.
        let made: Option<crate::document::Document> = document
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok());
        let line = |s: &crate::media::transcribe::Segment| TranscriptLine {
            start_ms: s.start_ms,
            end_ms: s.end_ms,
            text: s.text.trim().to_string(),
            speaker: s.speaker,
        };
        // Without a JSON document, the transcript with its speakers from the work folder
        // once both are made (default names: a rename needs the JSON document).
        let labelled = match (&made, &work) {
            (None, Some(w)) => pipeline::labelled_transcript(w),
            _ => None,
        };
        let (transcript, slides) = match (&made, &labelled, &work) {
            (Some(d), _, w) => (
                d.segments.iter().map(line).collect(),
                w.as_deref().map(slides_of).unwrap_or_default(),
            ),
            (None, Some(t), Some(w)) => (t.segments.iter().map(line).collect(), slides_of(w)),
            (None, _, Some(w)) => (
                pipeline::transcript_so_far(w).iter().map(line).collect(),
                slides_of(w),
            ),
            (None, _, None) => (Vec::new(), Vec::new()),
        };
        let speakers = match (made, labelled) {
            (Some(d), _) => d.speakers,
            (None, Some(t)) => t.speakers,
            (None, None) => Vec::new(),
        };
        Ok(ItemDetail {
            row: self.row(key, jobs, now_ms())?,
            timeline,
            output_dir,
            outputs: files,
            transcript,
            slides,
            preview_html,
            speakers,
            document,
        })
    }

    /// Cancels every stage of the item that has not finished.
    pub async fn cancel_item(&self, key: ItemKey) -> Result<ItemRow, CoreError> {
        for j in self.item_jobs(key)? {
            if !j.state.is_terminal() {
                ignore_finished(self.queue().cancel(j.id).await)?;
            }
        }
        self.item(key)
    }

    /// Runs again the stages that failed or were cancelled on their own; the stages
    /// after them come back with them.
    pub async fn retry_item(&self, key: ItemKey) -> Result<ItemRow, CoreError> {
        let jobs = self.item_jobs(key)?;
        let own = |j: &&JobRecord| {
            matches!(j.state, State::Failed | State::Dead | State::Cancelled)
                && j.error.as_ref().is_none_or(|e| e.upstream.is_none())
        };
        let targets: Vec<JobId> = jobs.iter().filter(own).map(|j| j.id).collect();
        if targets.is_empty() {
            return Err(CoreError::NothingToRetry(key.to_string()));
        }
        for id in targets {
            ignore_finished(self.queue().retry(id).await)?;
        }
        self.item(key)
    }

    /// Changes the priority of the stages that have not started.
    pub async fn set_item_priority(
        &self,
        key: ItemKey,
        priority: Priority,
    ) -> Result<ItemRow, CoreError> {
        for j in self.item_jobs(key)? {
            if matches!(j.state, State::Pending | State::Blocked) {
                ignore_finished(self.queue().set_priority(j.id, priority).await)?;
            }
        }
        self.item(key)
    }

    /// Removes finished items from the list (their documents stay). Returns how many
    /// jobs were removed.
    pub fn clear_finished(&self) -> Result<usize, CoreError> {
        Ok(self.queue().purge_finished(now_ms() + 1)?)
    }
}

/// A job's failure when it is its own, not one passed down from a job it depends on.
fn own_failure(job: &JobRecord) -> Option<&Failure> {
    job.error.as_ref().filter(|e| e.upstream.is_none())
}

/// The changes of state of an item's jobs, oldest first. A stage stopped by an earlier
/// one's failure gets a short note naming it, not a copy of that failure.
fn timeline_of(jobs: &[JobRecord]) -> Vec<TimelineEntry> {
    let mut timeline = Vec::new();
    for j in jobs {
        let mut from = None;
        let last = j.history.len().saturating_sub(1);
        let upstream = j.error.as_ref().and_then(|e| e.upstream);
        for (i, h) in j.history.iter().enumerate() {
            let failed_here = i == last && matches!(h.state, State::Failed | State::Dead);
            let error = failed_here
                .then(|| own_failure(j))
                .flatten()
                .map(|e| match &e.detail {
                    Some(d) => format!("{}: {d}", e.message),
                    None => e.message.clone(),
                });
            let upstream = upstream.filter(|_| failed_here);
            let note = match upstream {
                Some(root) => match jobs.iter().find(|r| r.id == root) {
                    Some(r) => format!("not run: job {root} ({}) {}", r.kind, r.state),
                    None => format!("not run: job {root} did not succeed"),
                },
                None => h.note.clone(),
            };
            timeline.push(TimelineEntry {
                job: j.id,
                kind: j.kind.clone(),
                at: h.at,
                from,
                to: h.state,
                note,
                error,
                upstream,
            });
            from = Some(h.state);
        }
    }
    timeline.sort_by_key(|t| (t.at, t.job));
    timeline
}

/// A job that finished between listing and acting is not an error for the item.
fn ignore_finished(r: Result<(), QueueError>) -> Result<(), CoreError> {
    match r {
        Err(QueueError::Rejected(Rejection::NotFound(_) | Rejection::WrongState { .. })) => Ok(()),
        other => Ok(other?),
    }
}

/// The slides of a work folder: the finished list, or the thumbnails saved so far.
fn slides_of(work: &Path) -> Vec<SlideThumb> {
    if let Some(s) = pipeline::stored_value::<Vec<SlideImage>>(&work.join("slides.json")) {
        return s
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let read =
                    pipeline::stored_value::<SlideText>(&pipeline::slide_text_path(&s.image));
                SlideThumb {
                    index: i + 1,
                    start_ms: Some(s.start_ms),
                    title: read.as_ref().and_then(|t| t.title.clone()),
                    text: read.as_ref().map(SlideText::body).filter(|t| !t.is_empty()),
                    thumbnail: s.thumbnail,
                    image: s.image,
                }
            })
            .collect();
    }
    pipeline::slides_so_far(work)
        .into_iter()
        .map(|(index, thumbnail, image)| SlideThumb {
            index,
            start_ms: None,
            thumbnail,
            image,
            title: None,
            text: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use video2doc_queue::{Backoff, FailureKind, HistoryEntry};

    fn job(id: u64, kind: &str, state: State) -> JobRecord {
        let input = serde_json::json!({
            "input": "/videos/lecture 1.mp4",
            "out_dir": "/docs",
            "settings": serde_json::to_value(pipeline::StageOptions::new("/m.bin".into())).unwrap(),
        });
        JobRecord {
            id: JobId(id),
            kind: kind.into(),
            queue: kind.into(),
            priority: Priority::Normal,
            payload: Payload::Inline(input),
            state,
            attempts: 0,
            max_retries: 0,
            retries_used: 0,
            backoff: Backoff::default(),
            timeout_ms: None,
            created_at: 1_000 + id,
            ready_at: 0,
            waiting_until: None,
            started_at: None,
            finished_at: None,
            deps: Vec::new(),
            dependents: Vec::new(),
            deps_remaining: 0,
            dedup_key: None,
            group: Some(GroupId(1)),
            lease: None,
            lease_until: None,
            crashes: 0,
            cancel_requested: false,
            progress: Progress::default(),
            result: None,
            error: None,
            history: Vec::new(),
            hold: None,
        }
    }

    #[test]
    fn keys_round_trip_and_bad_ones_are_refused() {
        for k in [ItemKey::Group(GroupId(12)), ItemKey::Job(JobId(40))] {
            assert_eq!(k.to_string().parse::<ItemKey>().unwrap(), k);
        }
        for bad in ["", "g", "x12", "g-1", "j1.5"] {
            assert!(bad.parse::<ItemKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn a_running_workflow_shows_its_current_stage_progress_and_eta() {
        let mut v = job(1, "video", State::Succeeded);
        v.started_at = Some(10_000);
        v.finished_at = Some(20_000);
        let mut a = job(2, "audio", State::Running);
        a.started_at = Some(20_000);
        let jobs = vec![
            v,
            a,
            job(3, "image", State::Pending),
            job(4, "summary", State::Blocked),
            job(5, "export", State::Blocked),
        ];
        let live = |id: JobId| {
            (id == JobId(2)).then(|| Progress {
                fraction: 0.5,
                stage: "transcribe".into(),
                message: "00:10 hello".into(),
            })
        };
        let row = row_of(
            ItemKey::Group(GroupId(1)),
            State::Running,
            &jobs,
            live,
            40_000,
        );
        assert_eq!(row.key, "g1");
        assert_eq!(row.title, "lecture 1.mp4");
        assert_eq!(row.queue, "audio");
        assert!((row.progress - 0.3).abs() < 1e-6, "{}", row.progress);
        // 30 s for 30 %: 70 s to go.
        assert_eq!(row.eta_ms, Some(70_000));
        assert_eq!(row.stages[1].progress.message, "00:10 hello");
        assert_eq!(row.finished_at, None);
    }

    fn fail(msg: &str, upstream: Option<JobId>) -> Failure {
        Failure {
            kind: if upstream.is_some() {
                FailureKind::Upstream
            } else {
                FailureKind::Error
            },
            message: msg.into(),
            detail: Some(format!("detail of {msg}")),
            retryable: false,
            upstream,
        }
    }

    /// A workflow whose audio stage failed at 40 %: the summary and export never ran.
    fn failed_at_audio() -> Vec<JobRecord> {
        let mut v = job(1, "video", State::Succeeded);
        v.finished_at = Some(5);
        let mut a = job(2, "audio", State::Failed);
        a.error = Some(fail("the model is damaged", None));
        a.progress.fraction = 0.4;
        a.finished_at = Some(9);
        a.history = vec![
            HistoryEntry {
                at: 1,
                state: State::Pending,
                note: "enqueued".into(),
            },
            HistoryEntry {
                at: 6,
                state: State::Running,
                note: "claimed".into(),
            },
            HistoryEntry {
                at: 9,
                state: State::Failed,
                note: "the model is damaged".into(),
            },
        ];
        let downstream = |id: u64, kind: &str| {
            let mut d = job(id, kind, State::Failed);
            d.error = Some(fail(
                "upstream: job 2 (audio) the model is damaged",
                Some(JobId(2)),
            ));
            d.finished_at = Some(9);
            d.history = vec![
                HistoryEntry {
                    at: 1,
                    state: State::Blocked,
                    note: "enqueued; waiting".into(),
                },
                HistoryEntry {
                    at: 9,
                    state: State::Failed,
                    note: "upstream: job 2 (audio) the model is damaged".into(),
                },
            ];
            d
        };
        let s = downstream(4, "summary");
        let e = downstream(5, "export");
        vec![v, a, job(3, "image", State::Succeeded), s, e]
    }

    #[test]
    fn the_error_shown_is_the_stage_that_failed_not_the_ones_after_it() {
        let jobs = failed_at_audio();
        let row = row_of(
            ItemKey::Group(GroupId(1)),
            State::Failed,
            &jobs,
            |_| None,
            10,
        );
        assert_eq!(row.error.as_deref(), Some("the model is damaged"));
        assert_eq!(row.finished_at, Some(9));
        assert_eq!(row.eta_ms, None);
        // The failure is the audio stage's alone; the stages after it only name it.
        let errors: Vec<_> = row.stages.iter().map(|s| s.error.as_deref()).collect();
        assert_eq!(
            errors,
            [None, Some("the model is damaged"), None, None, None]
        );
        let upstream: Vec<_> = row.stages.iter().map(|s| s.upstream).collect();
        assert_eq!(upstream, [None, None, None, Some(JobId(2)), Some(JobId(2))]);
    }

    #[test]
    fn a_failed_item_shows_how_far_it_got_not_a_full_bar() {
        let jobs = failed_at_audio();
        let key = ItemKey::Group(GroupId(1));
        let row = row_of(key, State::Failed, &jobs, |_| None, 10);
        // video 1 + audio 0.4 + image 1 + summary 0 + export 0, over five stages.
        assert!((row.progress - 0.48).abs() < 1e-6, "{}", row.progress);
        let mut cancelled = jobs.clone();
        for j in &mut cancelled[1..] {
            j.state = State::Cancelled;
            j.error = None;
            j.progress.fraction = 0.0;
        }
        let row = row_of(key, State::Cancelled, &cancelled, |_| None, 10);
        assert!((row.progress - 0.2).abs() < 1e-6, "{}", row.progress);
        assert_eq!(row.error, None);
        let mut done = jobs;
        for j in &mut done {
            j.state = State::Succeeded;
            j.error = None;
        }
        assert_eq!(
            row_of(key, State::Succeeded, &done, |_| None, 10).progress,
            1.0
        );
    }

    #[test]
    fn the_timeline_tells_the_failure_once_and_names_it_downstream() {
        let timeline = timeline_of(&failed_at_audio());
        let with_error: Vec<_> = timeline.iter().filter(|t| t.error.is_some()).collect();
        assert_eq!(with_error.len(), 1, "{timeline:#?}");
        assert_eq!(with_error[0].job, JobId(2));
        assert_eq!(
            with_error[0].error.as_deref(),
            Some("the model is damaged: detail of the model is damaged")
        );
        let not_run: Vec<_> = timeline.iter().filter(|t| t.upstream.is_some()).collect();
        assert_eq!(not_run.len(), 2);
        for t in not_run {
            assert_eq!(t.upstream, Some(JobId(2)));
            assert_eq!(t.to, State::Failed);
            assert_eq!(t.note, "not run: job 2 (audio) failed");
        }
        // Oldest first; the earlier entries of a downstream stage keep their notes.
        assert!(timeline.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(timeline
            .iter()
            .any(|t| t.job == JobId(4) && t.note == "enqueued; waiting" && t.upstream.is_none()));
    }
}
