//! The pipeline from one video to its documents, as stages that each read and write a
//! work folder: probe, audio, transcript (with its speakers), slides, summary, export. The work folder is
//! keyed by the input's content hash; each stage's result records the settings it was
//! made with and is reused when they match, so a retry re-runs only what failed and
//! processing the same file again with the same settings reuses finished stages.
//!
//! The stages are plain functions, so the queue can run them as separate jobs;
//! [`process`] runs them all, transcription and frame analysis side by side.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::document::export::{self, safe_stem, DocFolder, ExportError, Format};
use crate::document::summary::{self, Endpoint, Material, Notes, SummaryOptions};
use crate::document::{Document, Section, ShownSlide, DOCUMENT_SCHEMA};
use crate::media::chunks::{ChunkPlan, ChunkedRun};
use crate::media::device::{self, DeviceSetting, GpuRun, Placement};
use crate::media::ocr::{self, OcrModels, SlideText};
use crate::media::probe::{self, MediaInfo, ProbeError};
use crate::media::process::{self, ProcessError};
use crate::media::slides::SlideDetector;
use crate::media::speakers::{self, Diarization, SpeakerCount, SpeakerModels};
use crate::media::transcribe::{Segment, TranscribeError, TranscribeOptions, Transcript};
use crate::media::vocabulary::{self, FeedWriter, SlideWords};

/// How to turn a video into documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageOptions {
    pub formats: Vec<Format>,
    pub transcribe: TranscribeOptions,
    pub chunks: ChunkPlan,
    /// Frames sampled per second for slide detection.
    pub frame_fps: f32,
    pub summary_endpoint: Option<Endpoint>,
    /// How the chapters and the summary are written: method, template, language, and
    /// the local model (always this machine's own: a job's is never used).
    #[serde(default)]
    pub summary: SummaryOptions,
    /// How readily a change of picture makes a slide.
    #[serde(default)]
    pub slide_sensitivity: crate::media::slides::Sensitivity,
    /// How subtitles (SRT, VTT) are cut into cues.
    #[serde(default)]
    pub subtitles: crate::document::export::SubtitleStyle,
    /// The text models that read what is written on the slides; none: slides are
    /// pictures only.
    #[serde(default)]
    pub ocr: Option<OcrModels>,
    /// The share of its time the transcription may spend waiting for the slides' words
    /// (`None`: every window waits until its slides are read). See
    /// [`SlidesSoFar::with_patience`](crate::media::vocabulary::SlidesSoFar::with_patience).
    #[serde(default = "default_slide_patience")]
    pub slide_patience: Option<f32>,
    /// How many speakers to tell apart.
    #[serde(default)]
    pub speakers: SpeakerCount,
    /// The networks that tell speakers apart; none: the transcript is not divided by
    /// speaker.
    #[serde(default)]
    pub speaker_models: Option<SpeakerModels>,
    /// Where speech is recognised: `auto`, `cpu` or `gpu`. The GPU worker itself is
    /// always the running machine's own ([`crate::media::device`]).
    #[serde(default)]
    pub device: DeviceSetting,
}

/// Waits for slides' words within a tenth of the transcription's time: a reader that
/// falls behind (a busy machine, a slow disk) costs the transcription at most that, and
/// its words reach the speech from the window after.
fn default_slide_patience() -> Option<f32> {
    Some(0.1)
}

impl StageOptions {
    pub fn new(model: PathBuf) -> StageOptions {
        StageOptions {
            formats: vec![Format::Md, Format::Html, Format::Srt, Format::Json],
            transcribe: TranscribeOptions {
                model,
                language: None,
                translate: false,
                initial_prompt: None,
                context: None,
                context_language: None,
                chinese_script: Default::default(),
                vad: true,
                // Word times cut subtitles into readable cues (and place chunk seams).
                word_timestamps: true,
                threads: 0,
                flash_attn: false,
                trim_short_audio: false,
                trim_final_window: false,
            },
            chunks: ChunkPlan::default(),
            frame_fps: 1.0,
            slide_sensitivity: Default::default(),
            summary_endpoint: None,
            summary: SummaryOptions::default(),
            subtitles: Default::default(),
            ocr: None,
            slide_patience: default_slide_patience(),
            speakers: SpeakerCount::Auto,
            speaker_models: None,
            device: DeviceSetting::Auto,
        }
    }
}

/// The program and arguments that start a transcription worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerCommand {
    pub program: PathBuf,
    pub args: Vec<String>,
}

impl WorkerCommand {
    /// The arguments as the process functions take them.
    pub fn arg_strs(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }
}

/// Why a stage failed. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error(transparent)]
    Transcribe(#[from] TranscribeError),
    #[error(transparent)]
    Tool(#[from] ProcessError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("the work folder {path} could not be used: {source}")]
    Work {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} could not be read: {source}")]
    Input {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cancelled")]
    Cancelled,
}

impl From<vocabulary::FeedError> for PipelineError {
    fn from(e: vocabulary::FeedError) -> Self {
        PipelineError::Work {
            path: e.path,
            source: e.source,
        }
    }
}

/// A stage's progress report.
pub trait StageProgress: Sync {
    fn stage(&self, stage: &str, fraction: f32, message: &str);
    fn segment(&self, _segment: &Segment) {}
    /// Something worth keeping about how the stage ran (a job keeps it in its history;
    /// elsewhere it is logged).
    fn note(&self, note: &str) {
        tracing::info!(note, "stage note");
    }
}

impl<F: Fn(&str, f32, &str) + Sync> StageProgress for F {
    fn stage(&self, stage: &str, fraction: f32, message: &str) {
        self(stage, fraction, message)
    }
}

/// The sha256 of a file's content, streamed.
pub fn content_hash(path: &Path) -> Result<String, PipelineError> {
    let err = |source| PipelineError::Input {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("{:x}", h.finalize()))
}

/// The work folder of an input: `<root>/<first 16 hex of its content hash>`.
pub fn work_dir(root: &Path, input: &Path) -> Result<PathBuf, PipelineError> {
    let hash = content_hash(input)?;
    let dir = root.join(&hash[..16]);
    std::fs::create_dir_all(&dir).map_err(|source| PipelineError::Work {
        path: dir.clone(),
        source,
    })?;
    Ok(dir)
}

/// A stage result with the settings it was made with.
#[derive(Serialize, Deserialize)]
struct Cached<T> {
    key: String,
    value: T,
}

fn key_of(v: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(v).expect("settings serialize");
    format!("{:x}", Sha256::digest(bytes))
}

/// A stored stage result whatever settings it was made with (for showing, not reuse).
pub(crate) fn stored_value<T: DeserializeOwned>(path: &Path) -> Option<T> {
    #[derive(Deserialize)]
    struct Stored<T> {
        value: T,
    }
    let s: Stored<T> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    Some(s.value)
}

fn load<T: DeserializeOwned>(path: &Path, key: &str) -> Option<T> {
    let c: Cached<T> = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    (c.key == key).then_some(c.value)
}

/// One job at a time per stage of a work folder: two jobs on the same content (the same
/// file twice, two copies of it) take turns, and the second finds the first's result
/// instead of writing the same files at the same time. Held until dropped.
struct StageLock(#[allow(dead_code)] std::fs::File);

fn lock_stage(
    work: &Path,
    stage: &str,
    cancel: Option<&AtomicBool>,
) -> Result<StageLock, PipelineError> {
    let path = work.join(format!(".lock-{stage}"));
    std::fs::create_dir_all(work).map_err(|source| PipelineError::Work {
        path: work.to_path_buf(),
        source,
    })?;
    let waiting = || {
        tracing::info!(work = %work.display(), stage, "another job works on this content; waiting for it");
    };
    match crate::file_lock::lock_exclusive(
        &path,
        std::time::Duration::from_millis(100),
        cancel,
        waiting,
    ) {
        Ok(file) => Ok(StageLock(file)),
        Err(crate::file_lock::LockError::Cancelled) => Err(PipelineError::Cancelled),
        Err(crate::file_lock::LockError::Io(source)) => Err(PipelineError::Work { path, source }),
    }
}

fn store<T: Serialize>(path: &Path, key: &str, value: &T) -> Result<(), PipelineError> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "{}-{}.part",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let bytes = serde_json::to_vec(&Cached {
        key: key.to_string(),
        value,
    })
    .expect("stage results serialize");
    std::fs::write(&tmp, bytes)
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| PipelineError::Work {
            path: path.to_path_buf(),
            source,
        })
}

/// Stage 1: what the file holds.
pub fn probe_stage(input: &Path, work: &Path) -> Result<MediaInfo, PipelineError> {
    let _lock = lock_stage(work, "probe", None)?;
    let path = work.join("probe.json");
    if let Some(info) = load::<MediaInfo>(&path, "probe-1") {
        if info.path == input {
            return Ok(info);
        }
    }
    let info = probe::probe(input)?;
    store(&path, "probe-1", &info)?;
    Ok(info)
}

/// Probes `input` (so a missing or broken file fails in plain words before anything
/// else), then opens its work folder with that probe recorded: one probe per file.
pub fn open_work(root: &Path, input: &Path) -> Result<(PathBuf, MediaInfo), PipelineError> {
    let info = probe::probe(input)?;
    let work = work_dir(root, input)?;
    let _lock = lock_stage(&work, "probe", None)?;
    store(&work.join("probe.json"), "probe-1", &info)?;
    Ok((work, info))
}

/// Stage 2: 16 kHz mono audio (none for a video without sound).
pub fn audio_stage(
    input: &Path,
    info: &MediaInfo,
    work: &Path,
    cancel: &AtomicBool,
    progress: &dyn StageProgress,
) -> Result<Option<PathBuf>, PipelineError> {
    if info.audio.is_none() {
        return Ok(None);
    }
    let _lock = lock_stage(work, "audio", Some(cancel))?;
    let pcm = work.join("audio.f32");
    let done = work.join("audio.done");
    if done.is_file() && pcm.is_file() {
        return Ok(Some(pcm));
    }
    let total = info.duration_s.max(0.001);
    process::extract_audio(input, &pcm, cancel, |s| {
        progress.stage("audio", (s / total).min(1.0) as f32, "extracting audio")
    })
    .map_err(|e| match e {
        ProcessError::Cancelled => PipelineError::Cancelled,
        e => e.into(),
    })?;
    std::fs::write(&done, b"").map_err(|source| PipelineError::Work {
        path: done.clone(),
        source,
    })?;
    Ok(Some(pcm))
}

fn transcript_key(settings: &StageOptions) -> String {
    // Slide text read or not changes what the transcriber is prompted with.
    let slide_words = settings.ocr.as_ref().map(OcrModels::identity);
    key_of(&(
        &settings.transcribe,
        &settings.chunks,
        slide_words,
        "transcript-2",
    ))
}

/// The transcript made earlier with these settings, with its speakers when they are
/// wanted, if both are there (then the audio need not be decoded again).
pub fn cached_transcript(work: &Path, settings: &StageOptions) -> Option<Transcript> {
    let t = load::<Transcript>(&work.join("transcript.json"), &transcript_key(settings))?;
    let who = match speakers_key(settings) {
        Some(key) => Some(load::<Diarization>(&work.join("speakers.json"), &key)?),
        None => None,
    };
    Some(with_speakers(t, who.as_ref()))
}

/// The transcript's segments given to their speakers, split where the speaker changes,
/// and the speakers listed (one speaker heard is listed; documents then show no labels).
fn with_speakers(mut t: Transcript, who: Option<&Diarization>) -> Transcript {
    let Some(d) = who.filter(|d| !d.voices.is_empty()) else {
        return t;
    };
    t.segments = speakers::attribute(&t.segments, &d.turns);
    t.speakers = d.speakers();
    t
}

fn speakers_key(settings: &StageOptions) -> Option<String> {
    if settings.speakers == SpeakerCount::Off {
        return None;
    }
    let models = settings.speaker_models.as_ref()?;
    Some(key_of(&(
        settings.speakers,
        models.identity(),
        "speakers-1",
    )))
}

/// Who spoke when in the decoded audio (cached); `None` when speakers are not wanted
/// or their models are not installed. A diarization that fails for any reason but a
/// cancel leaves the transcript undivided (logged), never fails the job.
pub fn speakers_stage(
    pcm: &Path,
    work: &Path,
    settings: &StageOptions,
    cancel: &AtomicBool,
    progress: &dyn StageProgress,
) -> Result<Option<Diarization>, PipelineError> {
    let (Some(key), Some(models)) = (speakers_key(settings), settings.speaker_models.as_ref())
    else {
        return Ok(None);
    };
    let _lock = lock_stage(work, "speakers", Some(cancel))?;
    let path = work.join("speakers.json");
    if let Some(d) = load::<Diarization>(&path, &key) {
        return Ok(Some(d));
    }
    let run =
        speakers::Diarizer::load(models, crate::media::idle::background_threads()).and_then(|d| {
            d.run(pcm, settings.speakers, cancel, &mut |f| {
                progress.stage("speakers", f, "telling speakers apart")
            })
        });
    match run {
        Ok(d) => {
            tracing::info!(
                speakers = d.voices.len(),
                turns = d.turns.len(),
                "speakers told apart"
            );
            store(&path, &key, &d)?;
            Ok(Some(d))
        }
        Err(speakers::SpeakerError::Cancelled) => Err(PipelineError::Cancelled),
        Err(e) => {
            tracing::warn!(error = %e, "speakers could not be told apart; the transcript is not divided");
            // A model that cannot run will not run next time either: the undivided
            // result is kept (until the models change); a read error is tried again.
            if !matches!(e, speakers::SpeakerError::Audio { .. }) {
                store(&path, &key, &Diarization::default())?;
            }
            Ok(None)
        }
    }
}

/// Names the transcript's speakers whose voices are remembered in the book at `book`
/// (this machine's; a book that cannot be read names no one, logged).
pub fn name_known_voices(t: &mut Transcript, work: &Path, book: &Path) {
    if t.speakers.is_empty() || !book.is_file() {
        return;
    }
    let Some(d) = stored_value::<Diarization>(&work.join("speakers.json")) else {
        return;
    };
    let book = match speakers::book::VoiceBook::load(book) {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "remembered voices not used");
            return;
        }
    };
    for (voice, name) in d.voices.iter().zip(book.names(&d.voices)) {
        if let (Some(name), Some(s)) = (name, t.speakers.iter_mut().find(|s| s.id == voice.id)) {
            tracing::info!(speaker = voice.id, %name, "a remembered voice");
            s.name = name;
        }
    }
}

/// The transcript in a work folder with its speakers (as first numbered), once both
/// are made, whatever settings made them.
pub fn labelled_transcript(work: &Path) -> Option<Transcript> {
    let t = stored_value::<Transcript>(&work.join("transcript.json"))?;
    Some(with_speakers(t, stored_voices(work).as_ref()))
}

/// The voices told apart in a work folder, if any were.
pub fn stored_voices(work: &Path) -> Option<Diarization> {
    stored_value::<Diarization>(&work.join("speakers.json"))
}

/// Stage 3: the transcript (chunked, checkpointed) and, beside it, who spoke when; the
/// decoded audio is removed once both are made.
pub fn transcript_stage(
    pcm: Option<&Path>,
    work: &Path,
    settings: &StageOptions,
    worker: &WorkerCommand,
    cancel: &Arc<AtomicBool>,
    progress: &dyn StageProgress,
) -> Result<Transcript, PipelineError> {
    let Some(pcm) = pcm else {
        return Ok(Transcript {
            language: settings.transcribe.language.clone(),
            segments: Vec::new(),
            speakers: Vec::new(),
            device: None,
        });
    };
    // The job's progress is the transcription's; once it is done, the speakers' (when
    // they are still being told apart).
    let transcribed = AtomicBool::new(false);
    let after = |stage: &str, f: f32, message: &str| {
        if transcribed.load(std::sync::atomic::Ordering::Relaxed) {
            progress.stage(stage, f, message);
        }
    };
    let (said, who) = std::thread::scope(|s| {
        let who = s.spawn(|| speakers_stage(pcm, work, settings, cancel, &after));
        let said = words_stage(pcm, work, settings, worker, cancel, progress);
        transcribed.store(true, std::sync::atomic::Ordering::Relaxed);
        if said.is_err() {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        (
            said,
            who.join().expect("the speakers thread does not panic"),
        )
    });
    let said = said?;
    let who = who?;
    // The decoded audio (about 230 MB an hour) is not needed once transcribed; it is
    // decoded again if other transcription settings are ever asked for.
    if pcm.starts_with(work) {
        let _ = std::fs::remove_file(work.join("audio.done"));
        let _ = std::fs::remove_file(pcm);
    }
    Ok(with_speakers(said, who.as_ref()))
}

/// What was said, without speakers (cached).
fn words_stage(
    pcm: &Path,
    work: &Path,
    settings: &StageOptions,
    worker: &WorkerCommand,
    cancel: &Arc<AtomicBool>,
    progress: &dyn StageProgress,
) -> Result<Transcript, PipelineError> {
    let _lock = lock_stage(work, "transcript", Some(cancel))?;
    let key = transcript_key(settings);
    let path = work.join("transcript.json");
    if let Some(t) = load::<Transcript>(&path, &key) {
        return Ok(t);
    }
    let checkpoints = work.join(format!("chunks-{}", &key[..12]));
    let words = slide_words_path(work, settings).filter(|p| p.is_file());
    // Lines as they come, for the window; a resumed run keeps the lines it had.
    let live = LiveLines::open(work, checkpoints.is_dir());
    let args = worker.arg_strs();
    let gpu = match device::place(settings.device, &settings.transcribe.model) {
        Placement::Gpu(plan) => Some(GpuRun::new(plan)),
        Placement::Cpu { note } => {
            if let Some(note) = note {
                progress.note(&note);
            }
            None
        }
    };
    let run = ChunkedRun {
        pcm,
        checkpoints: &checkpoints,
        plan: settings.chunks,
        options: &settings.transcribe,
        worker: &worker.program,
        worker_args: &args,
        gpu: gpu.as_ref(),
        // The slides' words, when their reading was announced (a video with slides,
        // read here or by a stage running beside).
        slide_words: words.as_deref(),
        slide_patience: settings.slide_patience,
    };
    let t = run
        .run(
            cancel,
            |s| {
                live.push(s);
                progress.segment(s)
            },
            |p| progress.stage("transcribe", p, "transcribing"),
        )
        .map_err(|e| match e {
            TranscribeError::Process(ProcessError::Cancelled) => PipelineError::Cancelled,
            e => e.into(),
        });
    if let Some(why) = gpu.as_ref().and_then(GpuRun::failure) {
        progress.note(&format!(
            "the GPU ({}) failed, so the transcription ran on the CPU: {why}",
            gpu.as_ref()
                .map(|g| g.plan.device.label())
                .unwrap_or_default()
        ));
    }
    let t = t?;
    store(&path, &key, &t)?;
    Ok(t)
}

/// The transcript file a running transcription appends each segment to, one JSON line
/// each, so that a window can show lines as they come.
const LIVE_TRANSCRIPT: &str = "transcript-live.jsonl";

struct LiveLines(std::sync::Mutex<Option<std::fs::File>>);

impl LiveLines {
    fn open(work: &Path, resume: bool) -> LiveLines {
        let path = work.join(LIVE_TRANSCRIPT);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(resume)
            .write(true)
            .truncate(!resume)
            .open(&path);
        if let Err(e) = &file {
            tracing::warn!(path = %path.display(), error = %e, "live transcript not written");
        }
        LiveLines(std::sync::Mutex::new(file.ok()))
    }

    fn push(&self, s: &Segment) {
        use std::io::Write;
        let mut guard = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = guard.as_mut() {
            let mut line =
                serde_json::to_vec(&(s.start_ms, s.end_ms, &s.text)).expect("serializes");
            line.push(b'\n');
            if f.write_all(&line).is_err() {
                *guard = None;
            }
        }
    }
}

/// The transcript of a work folder so far: the finished one, or the lines a running
/// transcription has written.
pub fn transcript_so_far(work: &Path) -> Vec<Segment> {
    if let Some(t) = stored_value::<Transcript>(&work.join("transcript.json")) {
        return t.segments;
    }
    let text = std::fs::read_to_string(work.join(LIVE_TRANSCRIPT)).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<(u64, u64, String)>(l).ok())
        .map(|(start_ms, end_ms, text)| Segment::new(start_ms, end_ms, text))
        .collect()
}

/// The slide thumbnails of a work folder so far, in order: (index, thumbnail, image).
pub fn slides_so_far(work: &Path) -> Vec<(usize, PathBuf, PathBuf)> {
    let dir = work.join("slides");
    let mut out: Vec<(usize, PathBuf, PathBuf)> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix("slide-")?.strip_suffix("-thumb.jpg")?;
            let index: usize = n.parse().ok()?;
            Some((index, e.path(), dir.join(format!("slide-{n}.jpg"))))
        })
        .collect();
    out.sort();
    out
}

/// Deletes work folders under `root` untouched for `keep` (their documents are in the
/// output folders; a work folder only speeds up processing the same file again).
/// Returns how many were deleted.
pub fn sweep_work(root: &Path, keep: std::time::Duration) -> usize {
    let Ok(entries) = std::fs::read_dir(root) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut n = 0;
    for e in entries.flatten() {
        let p = e.path();
        if !p.is_dir() {
            continue;
        }
        // The newest file inside says when the folder was last used.
        let newest = std::fs::read_dir(&p)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|f| f.metadata().ok()?.modified().ok())
            .chain(e.metadata().ok().and_then(|m| m.modified().ok()))
            .max();
        let old = newest.is_some_and(|t| now.duration_since(t).unwrap_or_default() > keep);
        if old && std::fs::remove_dir_all(&p).is_ok() {
            n += 1;
        }
    }
    n
}

/// A slide found in the video, with its images in the work folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlideImage {
    pub start_ms: u64,
    pub end_ms: u64,
    pub frame_ms: u64,
    pub image: PathBuf,
    pub thumbnail: PathBuf,
    /// What is written on it, when read (kept beside the image, not in slides.json).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<SlideText>,
}

/// Where a slide image's reading is kept: `slide-001.text.json` beside `slide-001.jpg`.
pub fn slide_text_path(image: &Path) -> PathBuf {
    image.with_extension("text.json")
}

/// The key of the slides found with these settings.
fn slides_key(settings: &StageOptions) -> String {
    key_of(&(
        settings.frame_fps.to_bits(),
        settings.slide_sensitivity,
        "slides-2",
    ))
}

/// Where the slides' words are fed to the transcription
/// ([`crate::media::vocabulary`]), when slide text is read.
pub fn slide_words_path(work: &Path, settings: &StageOptions) -> Option<PathBuf> {
    let models = settings.ocr.as_ref()?;
    let key = key_of(&(slides_key(settings), models.identity(), "slide-words-1"));
    Some(work.join(format!("slide-words-{}.jsonl", &key[..12])))
}

/// Says, before transcription starts, that the slides of `info`'s video will be read
/// (when they will): its transcription then waits for their words where it needs them.
pub fn expect_slide_words(
    work: &Path,
    info: &MediaInfo,
    settings: &StageOptions,
) -> Result<(), PipelineError> {
    match slide_words_path(work, settings) {
        Some(path) if info.video.is_some() => Ok(vocabulary::expect(&path)?),
        _ => Ok(()),
    }
}

/// Stage 4: the slides, with full-resolution keyframes and thumbnails, and (with text
/// models) what is written on them. Each slide is saved and read as soon as it is final
/// (the next one has begun), and its words fed to the transcription running beside.
pub fn slides_stage(
    input: &Path,
    info: &MediaInfo,
    work: &Path,
    settings: &StageOptions,
    cancel: &AtomicBool,
    progress: &dyn StageProgress,
) -> Result<Vec<SlideImage>, PipelineError> {
    if info.video.is_none() {
        return Ok(Vec::new());
    }
    let key = slides_key(settings);
    let _lock = lock_stage(work, "slides", Some(cancel))?;
    let words_path = slide_words_path(work, settings);
    let mut reading = SlideReading {
        settings,
        cancel,
        reader: None,
        feed: None,
        told: 0,
    };
    if let Some(p) = words_path
        .as_deref()
        .filter(|p| !vocabulary::is_complete(p))
    {
        reading.feed = Some(FeedWriter::create(p)?);
    }
    let path = work.join("slides.json");
    if let Some(mut s) = load::<Vec<SlideImage>>(&path, &key) {
        if s.iter().all(|s| s.image.is_file()) {
            let n = s.len();
            for (i, slide) in s.iter_mut().enumerate() {
                progress.stage("slides", i as f32 / n as f32, "reading slide text");
                reading.read(slide, None)?;
            }
            reading.finish()?;
            return Ok(s);
        }
    }
    let config = settings.slide_sensitivity.config();
    let mut detector = SlideDetector::new(config.clone());
    let total_ms = (info.duration_s * 1000.0).max(1.0);
    let fps = settings
        .slide_sensitivity
        .frames_per_s(settings.frame_fps)
        .max(0.1);
    let dir = work.join("slides");
    std::fs::create_dir_all(&dir).map_err(|source| PipelineError::Work {
        path: dir.clone(),
        source,
    })?;
    let mut out: Vec<SlideImage> = Vec::new();
    // The slide on screen, read before it closes (so that transcription need not wait
    // for the slide after it to begin).
    let mut early: Option<EarlyReading> = None;
    let open_image = dir.join("open.jpg");
    let mut failed = None;
    process::sample_frames(input, fps, 320, 180, cancel, |f| {
        let t = f.t_ms;
        progress.stage(
            "slides",
            (t as f64 / total_ms).min(1.0) as f32 * 0.95,
            "finding slides",
        );
        detector.push(f);
        if failed.is_some() {
            return;
        }
        // Nothing else before the run on screen (or, between runs, before now).
        let through = detector.open_since().unwrap_or(t);
        // Before anything that takes time (a picture saved, a slide read), the
        // transcription is told how far it need not wait: it waits only where a slide is
        // still being read, not for the reading of a later one.
        let mut step = || -> Result<(), PipelineError> {
            // Closed slides: saved and read now (not read again when the picture is the
            // one read while it was open: then its words are told first).
            while out.len() < detector.found().len() {
                let i = out.len();
                let s = &detector.found()[i];
                let known = EarlyReading::take_for(&mut early, s, &config);
                if let Some(text) = &known {
                    reading.publish(s.start_ms, s.end_ms, text.as_ref())?;
                    if i + 1 == detector.found().len() {
                        reading.through(through)?;
                    }
                }
                let mut image = save_slide(input, &dir, i, s)?;
                reading.read(&mut image, known)?;
                out.push(image);
            }
            // The last closed slide grows when the same slide comes back after a blip.
            if let (Some(last), Some(s)) = (out.last_mut(), detector.found().last()) {
                if last.end_ms != s.end_ms {
                    last.end_ms = s.end_ms;
                    reading.publish(last.start_ms, last.end_ms, last.text.as_ref())?;
                }
            }
            // Only a transcription waiting for the slides' words needs the rest now.
            if reading.feed.is_none() {
                return Ok(());
            }
            // Transcription need not wait before the run on screen, whatever is shown
            // (or not yet a slide): told every 10 s of the recording.
            if through >= reading.told + 10_000 {
                reading.through(through)?;
            }
            // The slide on screen: read once it has lasted, its span told as it goes on.
            if let Some((s, hash)) = detector.open_slide() {
                match &mut early {
                    Some(e) if e.start_ms == s.start_ms => {
                        if t >= e.end_ms + 10_000 {
                            e.end_ms = t;
                            reading.publish(e.start_ms, t, e.text.as_ref())?;
                        }
                    }
                    _ => {
                        reading.through(through)?;
                        process::extract_frame(input, s.frame_ms, &open_image)?;
                        let text = reading.read_image(&open_image)?;
                        reading.publish(s.start_ms, t, text.as_ref())?;
                        early = Some(EarlyReading {
                            start_ms: s.start_ms,
                            end_ms: t,
                            hash,
                            text,
                        });
                    }
                }
            }
            Ok(())
        };
        if let Err(e) = step() {
            failed = Some(e);
        }
    })
    .map_err(|e| match e {
        ProcessError::Cancelled => PipelineError::Cancelled,
        e => e.into(),
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    let found = detector.finish(total_ms as u64);
    for (i, s) in found.iter().enumerate() {
        match out.get_mut(i) {
            Some(image) if image.frame_ms == s.frame_ms => {
                if image.end_ms != s.end_ms {
                    image.end_ms = s.end_ms;
                    reading.publish(image.start_ms, image.end_ms, image.text.as_ref())?;
                }
            }
            // Its picture changed once it was read (the same slide came back more
            // complete): read again.
            Some(image) => {
                let mut again = save_slide(input, &dir, i, s)?;
                reading.read(&mut again, None)?;
                *image = again;
            }
            None => {
                let known = EarlyReading::take_for(&mut early, s, &config);
                let mut image = save_slide(input, &dir, i, s)?;
                reading.read(&mut image, known)?;
                out.push(image);
            }
        }
        progress.stage(
            "slides",
            0.95 + 0.05 * (i + 1) as f32 / found.len() as f32,
            "saving slides",
        );
    }
    let _ = std::fs::remove_file(&open_image);
    let _ = std::fs::remove_file(slide_text_path(&open_image));
    reading.finish()?;
    let pictures: Vec<SlideImage> = out
        .iter()
        .map(|s| SlideImage {
            text: None,
            ..s.clone()
        })
        .collect();
    store(&path, &key, &pictures)?;
    if settings.ocr.is_some() && !out.is_empty() {
        progress.stage("slides", 1.0, "slide text read");
    }
    Ok(out)
}

/// Saves slide `i` (`s`) of `input` as its full image and thumbnail in `dir`.
fn save_slide(
    input: &Path,
    dir: &Path,
    i: usize,
    s: &crate::media::slides::Slide,
) -> Result<SlideImage, PipelineError> {
    let image = dir.join(format!("slide-{:03}.jpg", i + 1));
    let thumbnail = dir.join(format!("slide-{:03}-thumb.jpg", i + 1));
    process::extract_frame(input, s.frame_ms, &image)?;
    let img = image::open(&image).map_err(|e| PipelineError::Work {
        path: image.clone(),
        source: std::io::Error::other(e),
    })?;
    img.thumbnail(320, 320)
        .to_rgb8()
        .save(&thumbnail)
        .map_err(|e| PipelineError::Work {
            path: thumbnail.clone(),
            source: std::io::Error::other(e),
        })?;
    Ok(SlideImage {
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        frame_ms: s.frame_ms,
        image,
        thumbnail,
        text: None,
    })
}

/// A slide read while it is on screen.
struct EarlyReading {
    start_ms: u64,
    /// Until when it has been told to the transcription.
    end_ms: u64,
    hash: u64,
    text: Option<SlideText>,
}

impl EarlyReading {
    /// The reading of `early`, taken when it is of `closed` (the same start and picture).
    fn take_for(
        early: &mut Option<EarlyReading>,
        closed: &crate::media::slides::Slide,
        config: &crate::media::slides::DetectorConfig,
    ) -> Option<Option<SlideText>> {
        early
            .take_if(|e| e.start_ms == closed.start_ms && config.same_picture(e.hash, closed.hash))
            .map(|e| e.text)
    }
}

/// Reads what is written on slides (when text models are set), each reading kept beside
/// its image and reused while the image and the models are the same, and feeds each
/// slide's words to the transcription. A slide that cannot be read (or models that
/// cannot be loaded) stays a picture, with a warning: the document does not fail for
/// its slide text.
struct SlideReading<'a> {
    settings: &'a StageOptions,
    cancel: &'a AtomicBool,
    /// The reader, once loaded (`Some(None)`: it could not be).
    reader: Option<Option<ocr::Reader>>,
    feed: Option<FeedWriter>,
    /// Until when (ms) the feed has said that nothing else is shown.
    told: u64,
}

impl SlideReading<'_> {
    /// Reads `slide` (or takes `known`, its reading made while it was on screen) and
    /// feeds its words.
    fn read(
        &mut self,
        slide: &mut SlideImage,
        known: Option<Option<SlideText>>,
    ) -> Result<(), PipelineError> {
        let Some(models) = &self.settings.ocr else {
            return Ok(());
        };
        if self.cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(PipelineError::Cancelled);
        }
        match known {
            Some(text) => {
                if let (Some(t), Ok(bytes)) = (&text, std::fs::read(&slide.image)) {
                    let key = self.text_key(models, &bytes);
                    store(&slide_text_path(&slide.image), &key, t)?;
                }
                slide.text = text;
            }
            None => slide.text = self.read_text(models, &slide.image)?,
        }
        self.publish(slide.start_ms, slide.end_ms, slide.text.as_ref())
    }

    /// What is written on the picture at `image`, read now (`None` without text models).
    fn read_image(&mut self, image: &Path) -> Result<Option<SlideText>, PipelineError> {
        match &self.settings.ocr {
            Some(models) => self.read_text(models, image),
            None => Ok(None),
        }
    }

    /// Tells the transcription that every slide before `ms` has been fed (unless it
    /// was told so already).
    fn through(&mut self, ms: u64) -> Result<(), PipelineError> {
        let Some(feed) = &mut self.feed else {
            return Ok(());
        };
        if ms <= self.told {
            return Ok(());
        }
        self.told = ms;
        Ok(feed.through(ms)?)
    }

    /// Feeds the words of a slide shown `start_ms..end_ms` to the transcription.
    fn publish(
        &mut self,
        start_ms: u64,
        end_ms: u64,
        text: Option<&SlideText>,
    ) -> Result<(), PipelineError> {
        let Some(feed) = &mut self.feed else {
            return Ok(());
        };
        let all = text.map(|t| {
            let lines: Vec<&str> = t.lines.iter().map(|l| l.text.as_str()).collect();
            lines.join("\n")
        });
        Ok(feed.slide(SlideWords {
            start_ms,
            end_ms,
            words: all.as_deref().map(ocr::vocabulary).unwrap_or_default(),
        })?)
    }

    fn text_key(&self, models: &OcrModels, bytes: &[u8]) -> String {
        key_of(&(
            format!("{:x}", Sha256::digest(bytes)),
            models.identity(),
            self.settings.slide_sensitivity,
            "slide-text-1",
        ))
    }

    /// What is written on the picture at `image`: its reading kept beside it when the
    /// picture and the models are the same, else read now and kept; `None` when it
    /// cannot be read.
    fn read_text(
        &mut self,
        models: &OcrModels,
        image: &Path,
    ) -> Result<Option<SlideText>, PipelineError> {
        let Ok(bytes) = std::fs::read(image) else {
            return Ok(None);
        };
        let key = self.text_key(models, &bytes);
        let path = slide_text_path(image);
        if let Some(t) = load::<SlideText>(&path, &key) {
            return Ok(Some(t));
        }
        let reader = self.reader.get_or_insert_with(|| {
            ocr::Reader::load(
                &models.det,
                &models.rec,
                crate::media::idle::background_threads(),
            )
            .map_err(|e| tracing::warn!(error = %e, "slide text is not read"))
            .ok()
        });
        let Some(reader) = reader.as_ref() else {
            return Ok(None);
        };
        let img = match image::load_from_memory(&bytes) {
            Ok(img) => img.to_rgb8(),
            Err(e) => {
                tracing::warn!(image = %image.display(), error = %e, "slide image not read");
                return Ok(None);
            }
        };
        let name = image.display().to_string();
        // Screen recordings carry small interface text: read finer.
        let detail = match self.settings.slide_sensitivity {
            crate::media::slides::Sensitivity::Screen => ocr::Detail::Screen,
            _ => ocr::Detail::Slides,
        };
        // A panic in the runtime (a model it cannot run) costs this slide's text only.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            reader.read(&img, &name, detail, self.cancel)
        }));
        match read {
            Ok(Ok(t)) => {
                store(&path, &key, &t)?;
                Ok(Some(t))
            }
            Ok(Err(ocr::OcrError::Cancelled)) => Err(PipelineError::Cancelled),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "slide text not read");
                Ok(None)
            }
            Err(_) => {
                tracing::warn!(image = %name, "the text model failed on this slide");
                Ok(None)
            }
        }
    }

    /// Ends the feed: every slide is known.
    fn finish(self) -> Result<(), PipelineError> {
        match self.feed {
            Some(feed) => Ok(feed.finish()?),
            None => Ok(()),
        }
    }
}

/// The slides as the document will place them (their work-folder images stand in for
/// the document's copies): what chapters are made from.
fn shown_slides(slides: &[SlideImage]) -> Vec<ShownSlide> {
    slides
        .iter()
        .map(|s| shown(s, s.image.clone(), s.thumbnail.clone()))
        .collect()
}

/// A slide as a document shows it, with its picture and thumbnail at `image` and
/// `thumbnail`.
fn shown(s: &SlideImage, image: PathBuf, thumbnail: PathBuf) -> ShownSlide {
    ShownSlide {
        start_ms: s.start_ms,
        end_ms: s.end_ms,
        image: Some(image),
        thumbnail: Some(thumbnail),
        title: s.text.as_ref().and_then(|t| t.title.clone()),
        slide_text: s.text.as_ref().map(SlideText::body),
    }
}

/// What the notes of a work folder are made from and with: the key they are kept under.
fn notes_key(
    transcript: &Transcript,
    slides: &[SlideImage],
    duration_ms: u64,
    settings: &StageOptions,
) -> String {
    let slides: Vec<(u64, u64, Option<&String>, Option<String>)> = slides
        .iter()
        .map(|s| {
            let text = s.text.as_ref();
            (
                s.start_ms,
                s.end_ms,
                text.and_then(|t| t.title.as_ref()),
                text.map(SlideText::body),
            )
        })
        .collect();
    // A model file replaced under the same name writes other notes.
    let model_stamp = settings.summary.local.as_ref().and_then(|l| {
        let m = std::fs::metadata(&l.model).ok()?;
        Some((m.len(), m.modified().ok()?))
    });
    key_of(&(
        &transcript.segments,
        &transcript.speakers,
        &transcript.language,
        slides,
        duration_ms,
        &settings.summary_endpoint,
        &settings.summary,
        model_stamp,
        "notes-1",
    ))
}

/// Stage 5: the chapters and the summary, written by the method the settings choose
/// ([`summary::write`]), with progress per chapter. Kept per settings; notes that fell
/// back to the built-in summary are kept for the export but written again by the next
/// summary stage (the model may work next time).
pub fn summary_stage(
    transcript: &Transcript,
    slides: &[SlideImage],
    duration_ms: u64,
    work: &Path,
    settings: &StageOptions,
    cancel: &Arc<AtomicBool>,
    progress: &dyn StageProgress,
) -> Result<Notes, PipelineError> {
    let _lock = lock_stage(work, "summary", Some(cancel))?;
    let key = notes_key(transcript, slides, duration_ms, settings);
    let path = work.join("summary.json");
    if let Some(n) = load::<Notes>(&path, &key).filter(|n| n.summary.note.is_none()) {
        return Ok(n);
    }
    let sections =
        Document::sections_from(&shown_slides(slides), &transcript.segments, duration_ms);
    let m = Material {
        segments: &transcript.segments,
        sections: &sections,
        duration_ms,
        speakers: &transcript.speakers,
    };
    let notes = summary::write(
        &m,
        &settings.summary,
        settings.summary_endpoint.as_ref(),
        transcript.language.as_deref(),
        cancel,
        &mut |step| {
            let fraction = (step.done / step.total.max(1) as f32).clamp(0.0, 1.0);
            progress.stage("summary", fraction, &step.what)
        },
    )
    .map_err(|_| PipelineError::Cancelled)?;
    store(&path, &key, &notes)?;
    progress.stage("summary", 1.0, "summarised");
    Ok(notes)
}

/// The notes the summary stage kept for these settings (a fallback too), else written
/// now: for the export, which comes after the summary stage.
pub fn notes_for_export(
    transcript: &Transcript,
    slides: &[SlideImage],
    duration_ms: u64,
    work: &Path,
    settings: &StageOptions,
    cancel: &Arc<AtomicBool>,
) -> Result<Notes, PipelineError> {
    let key = notes_key(transcript, slides, duration_ms, settings);
    if let Some(n) = load::<Notes>(&work.join("summary.json"), &key) {
        return Ok(n);
    }
    let silent = |_: &str, _: f32, _: &str| {};
    summary_stage(
        transcript,
        slides,
        duration_ms,
        work,
        settings,
        cancel,
        &silent,
    )
}

/// What one input produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outputs {
    pub input: PathBuf,
    pub folder: PathBuf,
    pub files: BTreeMap<Format, PathBuf>,
    pub slides: usize,
    pub segments: usize,
    pub language: Option<String>,
    /// The name the files share (`<stem>.md`...).
    #[serde(default)]
    pub stem: String,
    /// The document written (for the library; not part of a job's result).
    #[serde(skip)]
    pub document: Option<Box<Document>>,
}

/// Stage 6: the documents, in `<out_root>/<safe stem>/<safe stem>.<ext>` with the
/// slide images in `slides/` beside them.
pub fn export_stage(
    input: &Path,
    info: &MediaInfo,
    transcript: &Transcript,
    slides: &[SlideImage],
    notes: Notes,
    out_root: &Path,
    settings: &StageOptions,
) -> Result<Outputs, PipelineError> {
    let stem_raw = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = safe_stem(&stem_raw);
    // Its own folder: `stem`, or `stem (2)`... when another input of that name has one.
    let folder = DocFolder::claim(out_root, &stem, input).map_err(ExportError::from)?;
    let mut placed = Vec::new();
    if !slides.is_empty() || folder.path().join("slides").exists() {
        let slide_dir = folder.subfolder("slides").map_err(ExportError::from)?;
        let mut names = Vec::new();
        for s in slides {
            let name = s.image.file_name().expect("slide images have names");
            let thumb = s.thumbnail.file_name().expect("thumbnails have names");
            let (name, thumb) = (name.to_string_lossy(), thumb.to_string_lossy());
            let img = slide_dir
                .copy_in(&s.image, &name)
                .map_err(ExportError::from)?;
            let th = slide_dir
                .copy_in(&s.thumbnail, &thumb)
                .map_err(ExportError::from)?;
            names.extend([name.into_owned(), thumb.into_owned()]);
            placed.push(shown(s, img, th));
        }
        // Slides of an earlier, longer run of this input are not this run's.
        slide_dir
            .remove_stale(&names, |n| n.starts_with("slide-") && n.ends_with(".jpg"))
            .map_err(ExportError::from)?;
    }
    let duration_ms = (info.duration_s * 1000.0) as u64;
    let sections: Vec<Section> =
        Document::sections_from(&placed, &transcript.segments, duration_ms);
    let doc = Document {
        schema: DOCUMENT_SCHEMA,
        title: stem_raw.clone(),
        source: input.to_path_buf(),
        duration_ms,
        language: transcript.language.clone(),
        created: now_rfc3339(),
        model: settings
            .transcribe
            .model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned()),
        summary: notes.summary,
        chapters: notes.chapters,
        sections,
        segments: transcript.segments.clone(),
        speakers: transcript.speakers.clone(),
    };
    let files = export::export(&doc, &folder, &stem, &settings.formats, &settings.subtitles)?;
    Ok(Outputs {
        input: input.to_path_buf(),
        folder: folder.path().to_path_buf(),
        files,
        slides: slides.len(),
        segments: transcript.segments.len(),
        language: transcript.language.clone(),
        stem,
        document: Some(Box::new(doc)),
    })
}

/// UTC now as RFC 3339 (seconds).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    crate::document::rfc3339(secs)
}

/// Runs every stage for one input: probe and audio, then transcription and slide
/// analysis side by side, then summary and export.
pub fn process(
    input: &Path,
    out_root: &Path,
    work_root: &Path,
    settings: &StageOptions,
    worker: &WorkerCommand,
    cancel: &Arc<AtomicBool>,
    progress: &dyn StageProgress,
) -> Result<Outputs, PipelineError> {
    let span = tracing::info_span!("process", input = %input.display());
    let _g = span.enter();
    let (work, info) = open_work(work_root, input)?;
    if info.audio.is_some() && !settings.transcribe.model.is_file() {
        return Err(TranscribeError::ModelMissing {
            path: settings.transcribe.model.clone(),
        }
        .into());
    }
    progress.stage("probe", 1.0, "probed");
    expect_slide_words(&work, &info, settings)?;
    let (transcript, slides) = std::thread::scope(|s| {
        let frames = s.spawn(|| slides_stage(input, &info, &work, settings, cancel, progress));
        let transcript = match cached_transcript(&work, settings).filter(|_| info.audio.is_some()) {
            Some(t) => Ok(t),
            None => audio_stage(input, &info, &work, cancel, progress).and_then(|pcm| {
                transcript_stage(pcm.as_deref(), &work, settings, worker, cancel, progress)
            }),
        };
        if transcript.is_err() {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let slides = frames.join().expect("the slides thread does not panic");
        (transcript, slides)
    });
    let transcript = transcript?;
    let slides = slides?;
    progress.stage("summary", 0.0, "summarising");
    let duration_ms = (info.duration_s * 1000.0) as u64;
    let notes = summary_stage(
        &transcript,
        &slides,
        duration_ms,
        &work,
        settings,
        cancel,
        progress,
    )?;
    progress.stage("export", 0.0, "writing documents");
    let out = export_stage(
        input,
        &info,
        &transcript,
        &slides,
        notes,
        out_root,
        settings,
    )?;
    progress.stage("export", 1.0, "done");
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_work_folders_are_swept_and_recent_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let old = root.path().join("aaaa");
        let recent = root.path().join("bbbb");
        for d in [&old, &recent] {
            std::fs::create_dir_all(d).unwrap();
            std::fs::write(d.join("transcript.json"), "{}").unwrap();
        }
        let long_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(10 * 86_400);
        let f = std::fs::File::options()
            .write(true)
            .open(old.join("transcript.json"))
            .unwrap();
        f.set_modified(long_ago).unwrap();
        std::fs::File::open(&old)
            .unwrap()
            .set_modified(long_ago)
            .unwrap();
        assert_eq!(
            sweep_work(root.path(), std::time::Duration::from_secs(7 * 86_400)),
            1
        );
        assert!(!old.exists() && recent.exists());
        assert_eq!(
            sweep_work(&root.path().join("missing"), std::time::Duration::ZERO),
            0
        );
    }

    #[test]
    fn rfc3339_has_the_right_shape() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
