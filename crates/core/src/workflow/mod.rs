//! Workflows on the queue: the five job kinds of the old server design, each on its
//! own queue (`video`: probe and extract audio; `audio`: transcribe; `image`: find
//! slides; `summary`; `export`), and the complete workflow that chains them, with
//! transcription and slide analysis side by side. Stage results live in the work
//! folder; jobs carry paths and counts.

pub mod paths;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use video2doc_queue::{Dep, GroupId, JobContext, JobError, JobId, NewJob, Priority, Queue};

use crate::library::Library;
use crate::media::device::{self, Placement};
use crate::media::probe::ProbeError;
use crate::media::transcribe;
use crate::media::transcribe::{Segment, TranscribeError, Transcript};
use crate::pipeline::{self, PipelineError, StageOptions, WorkerCommand};
use crate::workflow::paths::PathMapping;

/// What every job of a workflow is given.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkflowInput {
    pub input: PathBuf,
    pub out_dir: PathBuf,
    pub settings: StageOptions,
}

/// The jobs of one complete workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteWorkflow {
    pub group: GroupId,
    pub video: JobId,
    pub audio: JobId,
    pub image: JobId,
    pub summary: JobId,
    pub export: JobId,
}

/// Turns a stage error into a job error: bad input and setup problems are not retried;
/// a crashed worker or a full disk may be.
fn job_error(e: PipelineError) -> JobError {
    let retryable = matches!(
        e,
        PipelineError::Transcribe(TranscribeError::Failed { .. }) | PipelineError::Work { .. }
    );
    JobError {
        message: e.to_string(),
        detail: crate::error_class::causes(&e),
        retryable: retryable && !matches!(e, PipelineError::Probe(ProbeError::Empty { .. })),
    }
}

/// Bridges the job's cancellation token to the flag the stages poll, until the job is
/// done (cancel the returned token then: the bridge ends, it does not wait forever).
fn cancel_flag(ctx: &JobContext) -> (Arc<AtomicBool>, tokio_util::sync::CancellationToken) {
    let flag = Arc::new(AtomicBool::new(false));
    let done = tokio_util::sync::CancellationToken::new();
    let (f, token, finished) = (flag.clone(), ctx.token().clone(), done.clone());
    tokio::spawn(async move {
        tokio::select! {
            _ = token.cancelled() => f.store(true, std::sync::atomic::Ordering::SeqCst),
            _ = finished.cancelled() => {}
        }
    });
    (flag, done)
}

struct JobProgress<'a>(&'a JobContext);

impl pipeline::StageProgress for JobProgress<'_> {
    fn stage(&self, stage: &str, fraction: f32, message: &str) {
        self.0.progress(fraction, stage, message);
    }
    fn segment(&self, s: &Segment) {
        self.0.progress(
            0.0,
            "transcribe",
            &format!("{} {}", crate::document::clock(s.start_ms), s.text),
        );
    }
    fn note(&self, note: &str) {
        self.0.note(note);
    }
}

/// Where a worker runs: its path mapping, its models folder, its settings, and on a
/// shared queue its host name (the job was made on another machine, or forged by
/// anyone who can write to the queue's store: its paths are checked, see [`locate`]).
struct Place {
    paths: PathMapping,
    shared_host: Option<String>,
    /// This machine's models folder.
    models: PathBuf,
    /// The model the app's settings name now.
    current: Arc<RwLock<PathBuf>>,
    /// What this machine's settings say now about serving jobs.
    serving: Arc<RwLock<Serving>>,
}

/// What a machine's own settings say about the jobs it runs, kept current by the app:
/// its summary endpoint (with its key: jobs carry none), and the folders it serves a
/// shared queue from (besides its path mapping's targets).
#[derive(Debug, Clone, Default)]
pub struct Serving {
    pub summary_endpoint: Option<crate::document::summary::Endpoint>,
    /// The local summary model it chose (`None`: the first installed), and the tokens
    /// per request it runs it with.
    pub summary_model: Option<String>,
    pub summary_context: u32,
    /// The `shared_roots` setting, the output folder and the watched folders (and their
    /// output folders).
    pub roots: Vec<PathBuf>,
}

impl Place {
    /// The model a job names, on this machine: through the path mapping, else (on a
    /// shared queue, where the job was made on another machine) the model of the same
    /// file name in this machine's models folder, else as mapped (the transcription
    /// stage then names the missing file). A job whose model is on none of these paths
    /// takes the model the settings name now, when that one is installed: a file dropped
    /// before any model existed waits, and then runs with the model chosen meanwhile.
    fn model(&self, named: &Path) -> PathBuf {
        let mapped = self.paths.map(named);
        // From a shared queue, only models of this machine's own folder: never any file
        // a job names.
        if mapped.is_file() && (self.shared_host.is_none() || mapped.starts_with(&self.models)) {
            return mapped;
        }
        if self.shared_host.is_some() {
            if let Some(here) = named.file_name().map(|n| self.models.join(n)) {
                if here.is_file() {
                    return here;
                }
            }
        }
        let current = self
            .current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if current.is_file() {
            tracing::info!(named = %named.display(), using = %current.display(), "the job's model is not here; using the model the settings name");
            return current;
        }
        match (&self.shared_host, named.file_name()) {
            // Missing here: named in this machine's models folder, for the stage to
            // report (never a path the job chose).
            (Some(_), Some(name)) => self.models.join(name),
            _ => mapped,
        }
    }
}

fn input_of(ctx: &JobContext, place: &Place) -> Result<WorkflowInput, JobError> {
    let w: WorkflowInput = serde_json::from_value(ctx.payload.clone())
        .map_err(|e| JobError::fatal(format!("the job's input is not a workflow input: {e}")))?;
    locate(w, place)
}

/// The input, output folder and model as this machine sees them (see [`PathMapping`]).
/// On a shared queue an input this machine cannot read fails the job naming the path
/// and the host; otherwise the stages report a missing input themselves.
fn locate(w: WorkflowInput, place: &Place) -> Result<WorkflowInput, JobError> {
    let input = place.paths.map(&w.input);
    let out_dir = place.paths.map(&w.out_dir);
    let host = place.shared_host.as_deref();
    let serving = place
        .serving
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if let (Some(host), Err(e)) = (host, std::fs::File::open(&input)) {
        let named = if input == w.input {
            String::new()
        } else {
            format!(" (the job names it {})", w.input.display())
        };
        return Err(JobError::fatal(format!(
            "the input {}{named} cannot be read on {host}: {e}; check that the shared storage is mounted there, or set path_map in that worker's settings",
            input.display()
        )));
    }
    if let Some(host) = host {
        let roots = shared_roots(&serving, &place.paths);
        for (what, path) in [("input", &input), ("output folder", &out_dir)] {
            if !inside_roots(path, &roots) {
                return Err(JobError::fatal(format!(
                    "the job's {what} {} is outside the folders {host} serves a shared queue from \
                     ({}); add its folder to shared_roots in that machine's settings",
                    path.display(),
                    if roots.is_empty() {
                        "none are set".to_string()
                    } else {
                        roots
                            .iter()
                            .map(|r| r.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                )));
            }
        }
    }
    let mut settings = w.settings;
    settings.transcribe.model = place.model(&settings.transcribe.model);
    // Slide text is read with this machine's own text model, never files a job names.
    settings.ocr = settings.ocr.and_then(|_| {
        crate::media::models::text::installed(&crate::media::models::text::text_dir(&place.models))
    });
    // Speakers too are told apart with this machine's own models.
    settings.speaker_models = settings.speaker_models.and_then(|_| {
        crate::media::models::speaker::installed(&crate::media::models::speaker::speaker_dir(
            &place.models,
        ))
    });
    // The summary endpoint (and its key) is this machine's own: jobs never carry one.
    settings.summary_endpoint = serving.summary_endpoint;
    // So is the local model, and the program that runs it: never a file a job names.
    settings.summary.local = crate::media::models::llm::chosen(
        &crate::media::models::llm::summary_dir(&place.models),
        serving.summary_model.as_deref(),
    )
    .map(|file| {
        let mut m = crate::document::summary::LocalModel::new(file);
        m.context = serving.summary_context;
        m
    });
    Ok(WorkflowInput {
        input,
        out_dir,
        settings,
    })
}

/// The folders a machine serves jobs of a shared queue from: its roots and the folders
/// its path mapping leads to.
fn shared_roots(serving: &Serving, paths: &PathMapping) -> Vec<PathBuf> {
    serving
        .roots
        .iter()
        .cloned()
        .chain(paths.0.iter().map(|m| PathBuf::from(&m.to)))
        .collect()
}

/// Whether `path` (resolved: links and `..` followed as the system would) lies under
/// one of `roots` (resolved too). A path that does not exist yet is judged by the
/// nearest folder above it that does.
fn inside_roots(path: &Path, roots: &[PathBuf]) -> bool {
    let resolved = path.ancestors().find_map(|a| {
        let real = a.canonicalize().ok()?;
        let rest = path.strip_prefix(a).ok()?;
        // What is below the existing part must not climb back out of it.
        let climbs = rest
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)));
        (!climbs).then(|| real.join(rest))
    });
    let Some(resolved) = resolved else {
        return false;
    };
    roots
        .iter()
        .filter_map(|r| r.canonicalize().ok())
        .any(|r| resolved.starts_with(r))
}

/// Runs a blocking stage on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, PipelineError> + Send + 'static,
) -> Result<T, JobError> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(job_error),
        Err(e) => Err(JobError::fatal(format!("internal error: {e}"))),
    }
}

/// A kind of job of the workflow: the old service's five task kinds, each on a queue
/// of its own name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Probe the file, decode its audio.
    Video,
    /// Transcribe.
    Audio,
    /// Find the slides.
    Image,
    Summary,
    /// Write the documents.
    Export,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Video,
        Kind::Audio,
        Kind::Image,
        Kind::Summary,
        Kind::Export,
    ];

    /// Its name, which is also its queue's.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Video => "video",
            Kind::Audio => "audio",
            Kind::Image => "image",
            Kind::Summary => "summary",
            Kind::Export => "export",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                format!("unknown task kind {s:?}: use video, audio, image, summary or export")
            })
    }
}

/// What the stages of one machine need: where work folders go, how to start the
/// transcription worker, and where this machine keeps what jobs name.
struct Stages {
    work_root: PathBuf,
    worker: WorkerCommand,
    place: Place,
    /// This machine's remembered voices (a file that may not exist).
    voices: PathBuf,
    /// This machine's library, which every document made joins.
    library: Arc<Library>,
}

/// What a running stage is given besides its input.
struct StageJob<'a> {
    /// An earlier step's work folder (`work` of a dependency's result).
    known: Option<Value>,
    cancel: &'a Arc<AtomicBool>,
    progress: &'a JobProgress<'a>,
}

impl Stages {
    /// Runs the stage of `kind` (on the blocking pool) and returns the job's result.
    fn run(&self, kind: Kind, w: &WorkflowInput, job: &StageJob) -> Result<Value, PipelineError> {
        match kind {
            Kind::Video => self.video(w, job),
            Kind::Audio => self.audio(w, job),
            Kind::Image => self.image(w, job),
            Kind::Summary => self.summary(w, job),
            Kind::Export => self.export(w, job),
        }
    }

    fn work(&self, w: &WorkflowInput, job: &StageJob) -> Result<PathBuf, PipelineError> {
        work_for(job.known.clone(), &self.work_root, &w.input)
    }

    fn video(&self, w: &WorkflowInput, job: &StageJob) -> Result<Value, PipelineError> {
        // Probe first: a missing or broken file fails here, in plain words.
        let (work, info) = pipeline::open_work(&self.work_root, &w.input)?;
        // The slides' words will be fed to the transcription (when the image step runs
        // on this machine; elsewhere the feed goes stale and is not waited for).
        pipeline::expect_slide_words(&work, &info, &w.settings)?;
        // Transcribed before with these settings: the audio is not needed again.
        let pcm = match pipeline::cached_transcript(&work, &w.settings) {
            Some(_) => None,
            None => {
                // The transcription worker starts and loads its model while the audio
                // is decoded (here; on a shared queue the audio step may run on another
                // machine).
                let local = self.place.shared_host.is_none();
                if local && info.audio.is_some() && w.settings.transcribe.model.is_file() {
                    // On the device the transcription will choose (the same choice,
                    // from the same survey), so that it takes this worker.
                    match device::place(w.settings.device, &w.settings.transcribe.model) {
                        Placement::Gpu(plan) => {
                            let args = plan.args();
                            let args: Vec<&str> = args.iter().map(String::as_str).collect();
                            transcribe::prewarm(&plan.program, &args, &w.settings.transcribe)
                        }
                        Placement::Cpu { .. } => transcribe::prewarm(
                            &self.worker.program,
                            &self.worker.arg_strs(),
                            &w.settings.transcribe,
                        ),
                    }
                }
                pipeline::audio_stage(&w.input, &info, &work, job.cancel, job.progress)?
            }
        };
        Ok(json!({ "work": work, "info": info, "pcm": pcm }))
    }

    fn audio(&self, w: &WorkflowInput, job: &StageJob) -> Result<Value, PipelineError> {
        let work = self.work(w, job)?;
        // Cached when the video step ran; done here when the task runs alone.
        let info = pipeline::probe_stage(&w.input, &work)?;
        if let Some(t) = pipeline::cached_transcript(&work, &w.settings) {
            return Ok(json!({ "work": work, "segments": t.segments.len(),
                              "language": t.language, "device": t.device }));
        }
        let pcm = pipeline::audio_stage(&w.input, &info, &work, job.cancel, job.progress)?;
        let t = pipeline::transcript_stage(
            pcm.as_deref(),
            &work,
            &w.settings,
            &self.worker,
            job.cancel,
            job.progress,
        )?;
        Ok(
            json!({ "work": work, "segments": t.segments.len(), "language": t.language,
                   "device": t.device }),
        )
    }

    fn image(&self, w: &WorkflowInput, job: &StageJob) -> Result<Value, PipelineError> {
        let work = self.work(w, job)?;
        let info = pipeline::probe_stage(&w.input, &work)?;
        let slides = pipeline::slides_stage(
            &w.input,
            &info,
            &work,
            &w.settings,
            job.cancel,
            job.progress,
        )?;
        Ok(json!({ "work": work, "slides": slides.len() }))
    }

    fn summary(&self, w: &WorkflowInput, job: &StageJob) -> Result<Value, PipelineError> {
        let work = self.work(w, job)?;
        let info = pipeline::probe_stage(&w.input, &work)?;
        let t = transcript_of(&work, w, &self.worker)?;
        let silent = |_: &str, _: f32, _: &str| {};
        // Cached: the slides job's result.
        let slides =
            pipeline::slides_stage(&w.input, &info, &work, &w.settings, job.cancel, &silent)?;
        let duration_ms = (info.duration_s * 1000.0) as u64;
        let n = pipeline::summary_stage(
            &t,
            &slides,
            duration_ms,
            &work,
            &w.settings,
            job.cancel,
            job.progress,
        )?;
        Ok(json!({
            "points": n.summary.points.len(),
            "chapters": n.chapters.len(),
            "method": n.summary.method,
            "model": n.summary.model,
            "note": n.summary.note,
        }))
    }

    fn export(&self, w: &WorkflowInput, job: &StageJob) -> Result<Value, PipelineError> {
        let work = self.work(w, job)?;
        let info = pipeline::probe_stage(&w.input, &work)?;
        let mut t = transcript_of(&work, w, &self.worker)?;
        pipeline::name_known_voices(&mut t, &work, &self.voices);
        let silent = |_: &str, _: f32, _: &str| {};
        // Cached: these return the stored results of the earlier jobs.
        let slides =
            pipeline::slides_stage(&w.input, &info, &work, &w.settings, job.cancel, &silent)?;
        let duration_ms = (info.duration_s * 1000.0) as u64;
        let notes =
            pipeline::notes_for_export(&t, &slides, duration_ms, &work, &w.settings, job.cancel)?;
        let out =
            pipeline::export_stage(&w.input, &info, &t, &slides, notes, &w.out_dir, &w.settings)?;
        if let Some(doc) = &out.document {
            // The documents are written; a library that cannot take them is said, not
            // a failed job (a sync finds them when they hold JSON).
            if let Err(e) = self
                .library
                .record(doc, &out.folder, &out.stem, &w.settings.formats)
            {
                tracing::warn!(error = %e, folder = %out.folder.display(), "the document could not join the library");
            }
        }
        Ok(serde_json::to_value(out).expect("outputs serialize"))
    }
}

/// Where this machine keeps what the stages use.
pub struct Folders {
    /// The work folders' root.
    pub work: PathBuf,
    /// The models folder.
    pub models: PathBuf,
    /// The remembered voices (a file that may not exist).
    pub voices: PathBuf,
    /// The library, which every document made here joins.
    pub library: Arc<Library>,
}

/// Registers the handler of each [`Kind`] on `queue`: one table of stages, each run on
/// the blocking pool with the job's input located on this machine ([`locate`]), its
/// cancellation, and its progress. `paths` and `folders` say where this machine keeps
/// what jobs name by path.
pub fn register(
    queue: &Queue,
    folders: Folders,
    worker: WorkerCommand,
    paths: PathMapping,
    current_model: Arc<RwLock<PathBuf>>,
    serving: Arc<RwLock<Serving>>,
) {
    let shared_host = queue.store().shared().map(|_| queue.host().to_string());
    let stages = Arc::new(Stages {
        work_root: folders.work,
        worker,
        voices: folders.voices,
        library: folders.library,
        place: Place {
            paths,
            shared_host,
            models: folders.models,
            current: current_model,
            serving,
        },
    });
    for kind in Kind::ALL {
        let stages = stages.clone();
        queue.register(kind.name(), move |ctx: JobContext| {
            let stages = stages.clone();
            async move {
                let w = input_of(&ctx, &stages.place)?;
                let known = ctx.deps.values().find_map(|v| v.get("work").cloned());
                let (cancel, done) = cancel_flag(&ctx);
                let ctx = Arc::new(ctx);
                let result = blocking(move || {
                    let progress = JobProgress(&ctx);
                    let job = StageJob {
                        known,
                        cancel: &cancel,
                        progress: &progress,
                    };
                    stages.run(kind, &w, &job)
                })
                .await;
                done.cancel();
                result
            }
        });
    }
}

/// The work folder: as an earlier step of the workflow found it, or from the input.
/// An earlier step's work folder is taken only when it is one of this machine's (a
/// result read from a shared store could name any folder, with any files in it).
fn work_for(known: Option<Value>, root: &Path, input: &Path) -> Result<PathBuf, PipelineError> {
    match known.and_then(|v| v.as_str().map(PathBuf::from)) {
        Some(p) if p.is_dir() && inside_roots(&p, &[root.to_path_buf()]) && p != root => Ok(p),
        _ => pipeline::open_work(root, input).map(|(work, _)| work),
    }
}

/// The transcript: the stored result of the audio step, or made now when the task
/// runs on its own.
fn transcript_of(
    work: &Path,
    w: &WorkflowInput,
    worker: &WorkerCommand,
) -> Result<Transcript, PipelineError> {
    if let Some(t) = pipeline::cached_transcript(work, &w.settings) {
        return Ok(t);
    }
    let info = pipeline::probe_stage(&w.input, work)?;
    let never = Arc::new(AtomicBool::new(false));
    let silent = |_: &str, _: f32, _: &str| {};
    let pcm = pipeline::audio_stage(&w.input, &info, work, &never, &silent)?;
    pipeline::transcript_stage(pcm.as_deref(), work, &w.settings, worker, &never, &silent)
}

/// Timeouts that scale with the media's length: a two-hour lecture never meets a
/// limit meant for a short clip.
fn timeouts(input: &Path) -> (Duration, Duration) {
    // (Probing keeps durations finite and >= 0; bounded again here, as a panic in
    // `from_secs_f64` would stop whatever submits, a watched folder's loop included.)
    let secs = crate::media::probe::probe(input)
        .map(|i| i.duration_s)
        .unwrap_or(0.0)
        .clamp(0.0, 1e7);
    let secs = if secs.is_nan() { 0.0 } else { secs };
    let base = Duration::from_secs(30 * 60);
    let scaled = Duration::from_secs_f64(secs * 4.0);
    (
        base.max(Duration::from_secs_f64(secs * 1.0)),
        base.max(scaled),
    )
}

/// Enqueues the complete workflow for one input.
/// What a transcription held for a model waits for ([`Queue::release`]).
pub const MODEL_HOLD: &str = "a speech model";

/// Enqueues the complete workflow; with `hold_for_model`, its transcription waits for
/// [`MODEL_HOLD`] to be released (the other steps run).
pub async fn enqueue_complete(
    queue: &Queue,
    input: WorkflowInput,
    priority: Priority,
    hold_for_model: bool,
) -> Result<CompleteWorkflow, video2doc_queue::QueueError> {
    let (short, long) = timeouts(&input.input);
    let payload = serde_json::to_value(&input).expect("inputs serialize");
    let job = |kind: Kind| {
        NewJob::new(kind.name(), kind.name(), payload.clone())
            .priority(priority)
            .max_retries(2)
            .backoff(Duration::from_secs(5), Duration::from_secs(120))
            .timeout(short)
    };
    let name = input
        .input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "video".into());
    let (group, jobs) = queue
        .enqueue_group(
            &format!("complete: {name}"),
            vec![
                job(Kind::Video),
                {
                    let audio = job(Kind::Audio).timeout(long).depends_on(Dep::Batch(0));
                    if hold_for_model {
                        audio.held_until(MODEL_HOLD)
                    } else {
                        audio
                    }
                },
                job(Kind::Image).timeout(long).depends_on(Dep::Batch(0)),
                // Chapters follow the slides: the summary waits for both.
                job(Kind::Summary)
                    .depends_on(Dep::Batch(1))
                    .depends_on(Dep::Batch(2)),
                job(Kind::Export)
                    .depends_on(Dep::Batch(2))
                    .depends_on(Dep::Batch(3)),
            ],
        )
        .await?;
    Ok(CompleteWorkflow {
        group,
        video: jobs[0].id,
        audio: jobs[1].id,
        image: jobs[2].id,
        summary: jobs[3].id,
        export: jobs[4].id,
    })
}

fn job_for(kind: Kind, payload: &Value, priority: Priority, input: &Path) -> NewJob {
    let (short, long) = timeouts(input);
    let t = if matches!(kind, Kind::Audio | Kind::Image) {
        long
    } else {
        short
    };
    NewJob::new(kind.name(), kind.name(), payload.clone())
        .priority(priority)
        .max_retries(2)
        .backoff(Duration::from_secs(5), Duration::from_secs(120))
        .timeout(t)
}

/// The parallel workflow: for each input, the video step then transcription and slide
/// analysis side by side; all inputs in one group. Returns the group and every job.
pub async fn enqueue_parallel(
    queue: &Queue,
    inputs: Vec<WorkflowInput>,
    priority: Priority,
) -> Result<(GroupId, Vec<JobId>), video2doc_queue::QueueError> {
    let mut jobs = Vec::new();
    for w in &inputs {
        let payload = serde_json::to_value(w).expect("inputs serialize");
        let base = jobs.len();
        jobs.push(job_for(Kind::Video, &payload, priority, &w.input));
        jobs.push(job_for(Kind::Audio, &payload, priority, &w.input).depends_on(Dep::Batch(base)));
        jobs.push(job_for(Kind::Image, &payload, priority, &w.input).depends_on(Dep::Batch(base)));
    }
    let (group, out) = queue
        .enqueue_group(&format!("parallel: {} files", inputs.len()), jobs)
        .await?;
    Ok((group, out.into_iter().map(|e| e.id).collect()))
}

/// One task of one kind, on its own queue.
pub async fn enqueue_task(
    queue: &Queue,
    kind: Kind,
    input: WorkflowInput,
    priority: Priority,
) -> Result<JobId, video2doc_queue::QueueError> {
    let payload = serde_json::to_value(&input).expect("inputs serialize");
    Ok(queue
        .enqueue(job_for(kind, &payload, priority, &input.input))
        .await?
        .id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflow::paths::PathMap;

    fn input(path: &str) -> WorkflowInput {
        WorkflowInput {
            input: PathBuf::from(path),
            out_dir: PathBuf::from("/mnt/share/docs"),
            settings: StageOptions::new(PathBuf::from("model.bin")),
        }
    }

    #[test]
    fn a_worker_finds_the_input_through_its_mount_or_names_path_and_host() {
        let here = tempfile::tempdir().unwrap();
        std::fs::write(here.path().join("talk.mp4"), b"x").unwrap();
        let mount = PathMapping(vec![PathMap {
            from: "/mnt/share".into(),
            to: here.path().to_string_lossy().into_owned(),
        }]);
        let models = tempfile::tempdir().unwrap();
        let place = |shared: bool| Place {
            paths: mount.clone(),
            shared_host: shared.then(|| "lab-2".to_string()),
            models: models.path().to_path_buf(),
            current: Arc::new(RwLock::new(PathBuf::from("/nonexistent/ggml-base.bin"))),
            serving: Arc::new(RwLock::new(Serving::default())),
        };
        let w = locate(input("/mnt/share/talk.mp4"), &place(true)).unwrap();
        assert_eq!(w.input, here.path().join("talk.mp4"));
        assert_eq!(w.out_dir, here.path().join("docs"));

        let e = locate(input("/mnt/share/missing.mp4"), &place(true)).unwrap_err();
        assert!(!e.retryable);
        let missing = here.path().join("missing.mp4");
        assert!(
            e.message.contains(&missing.display().to_string())
                && e.message.contains("/mnt/share/missing.mp4")
                && e.message.contains("lab-2"),
            "{}",
            e.message
        );
        // Not shared: the stages report a missing input in their own words.
        assert!(locate(input("/mnt/share/missing.mp4"), &place(false)).is_ok());
    }

    #[test]
    fn a_worker_uses_its_own_copy_of_a_model_named_elsewhere() {
        let models = tempfile::tempdir().unwrap();
        let here = models.path().join("ggml-base.bin");
        let chosen = models.path().join("ggml-tiny.en.bin");
        let current = Arc::new(RwLock::new(chosen.clone()));
        let place = |shared: bool| Place {
            paths: PathMapping::default(),
            shared_host: shared.then(|| "lab-2".to_string()),
            models: models.path().to_path_buf(),
            current: current.clone(),
            serving: Arc::new(RwLock::new(Serving::default())),
        };
        let elsewhere = Path::new("/home/alice/.local/share/video2doc/models/ggml-base.bin");
        // Not here yet, and no model chosen here either: named in this machine's models
        // folder, for the stage to report.
        assert_eq!(place(true).model(elsewhere), here);
        std::fs::write(&here, b"model").unwrap();
        assert_eq!(place(true).model(elsewhere), here);
        // A local queue does not look for a file of the same name.
        assert_eq!(place(false).model(elsewhere), elsewhere);
        // The model the settings name, once installed, serves a job whose own is not
        // here (a file dropped before any model existed).
        std::fs::write(&chosen, b"model").unwrap();
        assert_eq!(place(false).model(elsewhere), chosen);
        assert_eq!(place(false).model(&here), here, "its own model first");
    }

    #[cfg(unix)]
    #[test]
    fn a_shared_job_reaches_only_the_folders_this_machine_serves() {
        let d = tempfile::tempdir().unwrap();
        let share = d.path().join("share");
        std::fs::create_dir_all(share.join("docs")).unwrap();
        std::fs::write(share.join("talk.mp4"), b"x").unwrap();
        let secret = d.path().join("home/.ssh/id_ed25519");
        std::fs::create_dir_all(secret.parent().unwrap()).unwrap();
        std::fs::write(&secret, b"key").unwrap();
        std::os::unix::fs::symlink(&secret, share.join("link.mp4")).unwrap();
        let models = d.path().join("models");
        std::fs::create_dir_all(&models).unwrap();
        let serving = Serving {
            roots: vec![share.clone()],
            summary_endpoint: Some(crate::document::summary::Endpoint {
                base_url: "https://llm.example/v1".into(),
                model: "m".into(),
                api_key: Some("own-key".into()),
                prompt: None,
                timeout_s: 30,
                context: 8192,
            }),
            ..Serving::default()
        };
        let place = Place {
            paths: PathMapping::default(),
            shared_host: Some("lab-2".into()),
            models: models.clone(),
            current: Arc::new(RwLock::new(models.join("ggml-base.bin"))),
            serving: Arc::new(RwLock::new(serving)),
        };
        let job = |input: &Path, out: &Path| {
            let mut settings = StageOptions::new(secret.clone());
            settings.summary_endpoint = Some(crate::document::summary::Endpoint {
                base_url: "http://127.0.0.1:6379/".into(),
                model: "m".into(),
                api_key: None,
                prompt: None,
                timeout_s: 30,
                context: 8192,
            });
            // A job that names a program to run as its local model's worker.
            settings.summary.local = Some(crate::document::summary::LocalModel {
                program: "/bin/sh".into(),
                model: secret.clone(),
                context: 4096,
                threads: 1,
            });
            WorkflowInput {
                input: input.to_path_buf(),
                out_dir: out.to_path_buf(),
                settings,
            }
        };
        let ok = locate(
            job(&share.join("talk.mp4"), &share.join("docs/new")),
            &place,
        )
        .unwrap();
        // The endpoint and its key are this machine's; the job's URL is not used.
        let e = ok.settings.summary_endpoint.unwrap();
        assert_eq!(
            (e.base_url.as_str(), e.api_key.as_deref()),
            ("https://llm.example/v1", Some("own-key"))
        );
        // A model named by path outside the models folder is never loaded.
        assert_ne!(ok.settings.transcribe.model, secret);
        // Nor is a job's local model or the program it names: this machine has none.
        assert_eq!(ok.settings.summary.local, None);
        std::fs::create_dir_all(models.join("llm")).unwrap();
        std::fs::write(models.join("llm/own.gguf"), b"GGUF").unwrap();
        let ok = locate(
            job(&share.join("talk.mp4"), &share.join("docs/new")),
            &place,
        )
        .unwrap();
        let local = ok.settings.summary.local.unwrap();
        assert_eq!(local.model, models.join("llm/own.gguf"));
        assert_ne!(local.program, PathBuf::from("/bin/sh"));

        let escapes = [
            (secret.clone(), share.join("docs")),
            (share.join("link.mp4"), share.join("docs")),
            (
                share.join("docs/../../home/.ssh/id_ed25519"),
                share.join("docs"),
            ),
            (share.join("talk.mp4"), PathBuf::from("/etc")),
            (share.join("talk.mp4"), share.join("docs/../../elsewhere")),
        ];
        for (input, out) in escapes {
            let e = locate(job(&input, &out), &place).unwrap_err();
            assert!(!e.retryable);
            assert!(
                e.message.contains("shared_roots") && e.message.contains("lab-2"),
                "{}",
                e.message
            );
        }

        // An earlier step's work folder is taken only from this machine's work root.
        let root = d.path().join("work");
        std::fs::create_dir_all(&root).unwrap();
        let forged = work_for(
            Some(json!(share.display().to_string())),
            &root,
            &share.join("talk.mp4"),
        );
        assert!(
            !matches!(&forged, Ok(p) if !p.starts_with(&root)),
            "a forged work folder was used: {forged:?}"
        );
        let own = root.join("0123456789abcdef");
        std::fs::create_dir_all(&own).unwrap();
        let again = work_for(
            Some(json!(own.display().to_string())),
            &root,
            &share.join("talk.mp4"),
        )
        .unwrap();
        assert_eq!(again, own);
    }

    #[test]
    fn a_job_stored_by_an_older_version_still_decodes() {
        // A payload as the version of 2026-11-30 stored it (before voice activity,
        // Chinese script, subtitle styles, slide presets; with its summary endpoint).
        let old = json!({
            "input": "/videos/talk.mp4",
            "out_dir": "/videos/notes",
            "settings": {
                "formats": ["md", "srt"],
                "transcribe": {
                    "model": "/models/ggml-base.bin", "language": null, "translate": false,
                    "initial_prompt": null, "word_timestamps": false, "threads": 0,
                    "flash_attn": false, "trim_short_audio": false, "own_windows": false
                },
                "chunks": { "chunk_s": 600, "overlap_s": 5 },
                "frame_fps": 1.0,
                "summary_endpoint": { "base_url": "http://localhost:11434/v1", "model": "m", "api_key": "sk-old" }
            }
        });
        let w: WorkflowInput = serde_json::from_value(old).expect("an old payload decodes");
        assert_eq!(w.input, PathBuf::from("/videos/talk.mp4"));
        assert!(w.settings.transcribe.vad, "new options take their defaults");
        assert_eq!(
            w.settings.slide_sensitivity,
            crate::media::slides::Sensitivity::Slides
        );
    }
}
