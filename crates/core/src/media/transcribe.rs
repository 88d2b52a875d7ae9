//! Speech to text with whisper.cpp (whisper-rs), run in a child process: the worker
//! (`worker_main`, entered by the same program in a worker mode) streams segments and
//! progress back as JSON lines, so that a native crash or out-of-memory in whisper.cpp
//! fails the job but never takes the app or the queue down.

use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::media::process::{self, ProcessError};
use crate::media::vocabulary::SlidesSoFar;

/// Samples per second of the audio whisper reads.
pub const SAMPLE_RATE: usize = 16_000;

/// How to transcribe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscribeOptions {
    /// A ggml Whisper model file.
    pub model: PathBuf,
    /// A language code ("en", "zh"); `None` detects it.
    pub language: Option<String>,
    /// Translate to English instead of transcribing.
    #[serde(default)]
    pub translate: bool,
    #[serde(default)]
    pub initial_prompt: Option<String>,
    /// The end of the text transcribed before this audio (the chunk before), carried
    /// after the prompt so that the text continues; dropped when this audio turns out
    /// to be in another language than `context_language` (whisper then copies it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_language: Option<String>,
    /// How Chinese is written out (whisper writes what it was trained on most, often
    /// traditional characters): steered by a prompt in that script when the language
    /// is Chinese and no prompt was given.
    #[serde(default)]
    pub chinese_script: ChineseScript,
    #[serde(default)]
    pub word_timestamps: bool,
    /// Only speech is transcribed ([`crate::media::voice`]): silence and steady noise are left
    /// out, and times mapped back.
    #[serde(default = "yes")]
    pub vad: bool,
    /// CPU threads (0: all cores).
    #[serde(default)]
    pub threads: usize,
    /// whisper.cpp's flash attention (faster on some CPUs and GPUs; turns off DTW).
    #[serde(default)]
    pub flash_attn: bool,
    /// Audio shorter than whisper's 30 s window is encoded with a context sized to it
    /// instead of padded to a full window (see [`audio_ctx_for`]): a 5 s clip in a third
    /// of the time, but tiny.en's words change with the context's size (even 1496 of
    /// 1500 frames), and on the tests' 5 s clip it found fewer words, so it is off by
    /// default: whisper hears what it was trained on, a padded 30 s window.
    #[serde(default)]
    pub trim_short_audio: bool,
    /// The final, shorter window of longer audio is encoded with a context sized to it
    /// too (everything else stays whisper.cpp's own windowing): ~23% faster on the speed
    /// bench's lectures, but with tiny.en one keyword of 123 fewer than with the window
    /// padded, so it is off by default.
    #[serde(default)]
    pub trim_final_window: bool,
}

/// The encoder context for `samples` of audio: whisper's 1500 frames cover 30 s; a
/// short clip gets its share plus a margin (whisper needs some silence after speech).
pub fn audio_ctx_for(samples: usize) -> Option<i32> {
    let full = 30 * SAMPLE_RATE;
    if samples >= full {
        return None;
    }
    let frames = (samples as f64 / full as f64 * 1500.0).ceil() as i32;
    Some((frames + 128).clamp(256, 1500))
}

/// A timed word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    pub p: f32,
    /// When the word is spoken by dynamic time warping (more exact than its start and
    /// end), while the worker places words; not kept.
    #[serde(skip)]
    pub at_ms: Option<u64>,
}

/// A timed piece of transcript.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub start_ms: u64,
    pub end_ms: u64,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<Word>,
    /// The language it was heard in ("en", "zh"), when it was detected or given: a
    /// recording that switches languages has segments of each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Who said it (a number of the document's `speakers`), when speakers were told
    /// apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speaker: Option<u32>,
}

impl Segment {
    /// Text heard from `start_ms` to `end_ms`, without word times, language or speaker.
    pub fn new(start_ms: u64, end_ms: u64, text: impl Into<String>) -> Segment {
        Segment {
            start_ms,
            end_ms,
            text: text.into(),
            words: Vec::new(),
            language: None,
            speaker: None,
        }
    }
}

fn yes() -> bool {
    true
}

/// The characters Chinese is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChineseScript {
    /// Simplified characters (mainland China, Singapore).
    #[default]
    Simplified,
    /// Traditional characters (Taiwan, Hong Kong).
    Traditional,
    /// Whatever whisper writes, unsteered.
    AsHeard,
}

impl TranscribeOptions {
    /// What is wrong with the options a caller gave, in plain words: a language that is
    /// not a language code, a prompt whisper cannot take (a NUL, or too long).
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if let Some(l) = &self.language {
            if let Some(why) = language_problem(l) {
                p.push(why);
            }
        }
        if let Some(prompt) = &self.initial_prompt {
            if prompt.contains('\0') {
                p.push("the prompt has a NUL character".into());
            }
            if prompt.chars().count() > MAX_PROMPT_CHARS {
                p.push(format!(
                    "the prompt has {} characters; whisper reads at most {MAX_PROMPT_CHARS}",
                    prompt.chars().count()
                ));
            }
        }
        p
    }
}

/// The longest prompt taken (whisper keeps the last ~224 tokens of it).
pub const MAX_PROMPT_CHARS: usize = 2_000;

/// Why `l` is not a language whisper takes (a 2-3 letter code such as `en`, `zh`, `yue`,
/// or `auto`), or `None`.
pub fn language_problem(l: &str) -> Option<String> {
    let code = (2..=3).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase());
    (!code && l != "auto").then(|| {
        format!(
            "{:?} is not a language code: use a code such as en or zh, or leave it empty to detect it",
            l.chars().take(40).collect::<String>()
        )
    })
}

impl ChineseScript {
    /// A prompt in the script: whisper continues in the script it is shown.
    fn prompt(self) -> Option<&'static str> {
        match self {
            ChineseScript::Simplified => Some("以下是普通话的句子。"),
            ChineseScript::Traditional => Some("以下是普通話的句子。"),
            ChineseScript::AsHeard => None,
        }
    }
}

/// What the worker is asked: a range of a 16 kHz mono f32le PCM file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkerRequest {
    pub options: TranscribeOptions,
    pub pcm: PathBuf,
    pub offset_samples: u64,
    /// `None`: to the end of the file.
    pub len_samples: Option<u64>,
    /// The words on the slides, as the slide stage writes them
    /// ([`crate::media::vocabulary`]): each window's prompt starts with the terms of the
    /// slides shown during it, waited for when the slides are not read yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slide_words: Option<PathBuf>,
    /// The share of its time the worker may spend waiting for them, all waits together
    /// (`None`: each window waits until its slides are known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slide_patience: Option<f32>,
}

/// The first line a worker is sent: the model to have loaded by the time the request
/// (the second line) comes. A worker can so be started ahead of its audio ([`prewarm`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preload {
    pub preload: PathBuf,
    #[serde(default)]
    pub flash_attn: bool,
}

impl Preload {
    fn of(o: &TranscribeOptions) -> Preload {
        Preload {
            preload: o.model.clone(),
            flash_attn: o.flash_attn,
        }
    }

    fn line(&self) -> String {
        serde_json::to_string(self).expect("preloads serialize")
    }
}

/// How long a worker started ahead waits for its request before it ends.
const REQUEST_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// One line the worker prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum WorkerLine {
    Progress {
        percent: i32,
    },
    Segment {
        segment: Segment,
    },
    Done {
        language: Option<String>,
    },
    /// How long the transcription waited for the slides' words (before `Done`).
    SlideWait {
        ms: u64,
        waits: u32,
    },
    Error {
        message: String,
    },
}

/// Why transcription failed.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("{}", missing_model(path))]
    ModelMissing { path: PathBuf },
    #[error("transcription of {pcm} failed: {message}")]
    Failed { pcm: PathBuf, message: String },
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("{0}")]
    Cpu(String),
}

/// What to do about a missing model, naming the exact command: the catalogue model the
/// settings name is downloaded; another file is imported.
fn missing_model(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    match crate::media::models::catalogue::find(&file) {
        Some(e) if file == e.file_name() => format!(
            "the Whisper model {} is not installed yet ({}): download it in Settings > Models, or run `video2doc models download {}` ({} MB)",
            e.name,
            path.display(),
            e.name,
            e.size_mib
        ),
        _ => format!(
            "the Whisper model {} is missing: import it with `video2doc models import FILE`, or choose a model in Settings > Models",
            path.display()
        ),
    }
}

/// Why this computer's processor cannot run the speech recognition as built, if it
/// cannot. Builds are portable (`GGML_NATIVE=OFF`), which on x86-64 means whisper.cpp
/// uses AVX, AVX2, FMA and F16C: a processor without them would crash with an illegal
/// instruction, so the app says so instead.
pub fn cpu_problem() -> Option<String> {
    #[cfg(target_arch = "x86_64")]
    {
        let missing: Vec<&str> = [
            ("AVX", std::is_x86_feature_detected!("avx")),
            ("AVX2", std::is_x86_feature_detected!("avx2")),
            ("FMA", std::is_x86_feature_detected!("fma")),
            ("F16C", std::is_x86_feature_detected!("f16c")),
        ]
        .into_iter()
        .filter(|(_, has)| !has)
        .map(|(name, _)| name)
        .collect();
        if !missing.is_empty() {
            return Some(format!(
                "this computer's processor lacks {}, which Video2Doc's speech recognition needs \
                 (processors from about 2013 on have them); transcription cannot run here",
                missing.join(", ")
            ));
        }
    }
    None
}

/// The result of transcribing one range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    pub language: Option<String>,
    pub segments: Vec<Segment>,
    /// The speakers the segments name, when they were told apart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub speakers: Vec<crate::media::speakers::Speaker>,
    /// Where it was recognised: `cpu`, or a GPU (`vulkan: <device>`); see
    /// [`crate::media::device`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
}

/// Transcribes a range of `pcm` in a worker process (`program args...`), calling
/// `on_segment` as segments arrive and `on_progress` with 0..=100.
pub fn transcribe(
    program: &Path,
    args: &[&str],
    request: &WorkerRequest,
    cancel: &Arc<AtomicBool>,
    mut on_segment: impl FnMut(&Segment),
    mut on_progress: impl FnMut(i32),
) -> Result<Transcript, TranscribeError> {
    if !request.options.model.is_file() {
        return Err(TranscribeError::ModelMissing {
            path: request.options.model.clone(),
        });
    }
    if let Some(problem) = cpu_problem() {
        return Err(TranscribeError::Cpu(problem));
    }
    let line = serde_json::to_string(request).expect("requests serialize");
    let mut segments = Vec::new();
    let mut done = None;
    let mut failure = None;
    process::run_worker(
        program,
        args,
        &Preload::of(&request.options).line(),
        &line,
        cancel,
        |l| match serde_json::from_str::<WorkerLine>(l) {
            Ok(WorkerLine::Segment { segment }) => {
                on_segment(&segment);
                segments.push(segment);
            }
            Ok(WorkerLine::Progress { percent }) => on_progress(percent),
            Ok(WorkerLine::Done { language }) => done = Some(language),
            Ok(WorkerLine::SlideWait { ms, waits }) => {
                tracing::info!(
                    waited_ms = ms,
                    waits,
                    "the transcription waited for the slides' words"
                )
            }
            Ok(WorkerLine::Error { message }) => failure = Some(message),
            Err(_) => tracing::debug!(line = l, "worker output"),
        },
    )
    .map_err(|e| match (e, &failure) {
        (ProcessError::Worker { .. }, Some(m)) => TranscribeError::Failed {
            pcm: request.pcm.clone(),
            message: m.clone(),
        },
        (ProcessError::Worker { message }, None) => TranscribeError::Failed {
            pcm: request.pcm.clone(),
            message: format!("the whisper worker crashed ({message})"),
        },
        (e, _) => TranscribeError::Process(e),
    })?;
    match done {
        Some(language) => Ok(Transcript {
            language,
            segments,
            speakers: Vec::new(),
            device: None,
        }),
        None => Err(TranscribeError::Failed {
            pcm: request.pcm.clone(),
            message: failure.unwrap_or_else(|| "the worker ended without a result".into()),
        }),
    }
}

/// Starts a worker that loads `options`' model now, for the next [`transcribe`] with the
/// same model and program to take: its start and model load then overlap whatever comes
/// before (decoding the audio). Nothing happens when the model is missing or the
/// processor cannot run it ([`transcribe`] says why); an unused worker ends by itself.
pub fn prewarm(program: &Path, args: &[&str], options: &TranscribeOptions) {
    if !options.model.is_file() || cpu_problem().is_some() {
        return;
    }
    if let Err(e) = process::start_worker(program, args, &Preload::of(options).line()) {
        tracing::debug!(error = %e, "the transcription worker could not be started ahead");
    }
}

/// Reads `len` samples (or to the end) of a f32le PCM file from `offset`.
pub fn read_pcm(path: &Path, offset: u64, len: Option<u64>) -> std::io::Result<Vec<f32>> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset * 4))?;
    let mut bytes = Vec::new();
    match len {
        Some(n) => {
            f.take(n * 4).read_to_end(&mut bytes)?;
        }
        None => {
            f.read_to_end(&mut bytes)?;
        }
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// `[BLANK_AUDIO]`, `(music)`, `[ Silence ]`: whisper's notes, not words.
pub fn is_annotation(text: &str) -> bool {
    let t = text.trim();
    t.is_empty()
        || (t.starts_with('[') && t.ends_with(']') && !t[1..t.len() - 1].contains(['[', ']']))
        || (t.starts_with('(') && t.ends_with(')') && !t[1..t.len() - 1].contains(['(', ')']))
}

fn emit(out: &mut impl Write, line: &WorkerLine) {
    let s = serde_json::to_string(line).expect("lines serialize");
    let _ = writeln!(out, "{s}");
    let _ = out.flush();
}

/// The worker's entry point: reads its lines from stdin (a [`Preload`], then the
/// [`WorkerRequest`]; or the request alone), transcribes, prints [`WorkerLine`]s to
/// stdout. Returns the process exit code.
pub fn worker_main() -> i32 {
    // If the app dies (even by SIGKILL), its worker goes with it.
    #[cfg(target_os = "linux")]
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets this process's parent-death signal.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
    let (tx, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut out = std::io::stdout().lock();
    let Ok(Ok(first)) = lines.recv() else {
        return 2;
    };
    let (preloaded, line) = match serde_json::from_str::<Preload>(&first) {
        Ok(p) => {
            let ctx = load_model(&p.preload, p.flash_attn, false);
            match lines.recv_timeout(REQUEST_WAIT) {
                Ok(Ok(line)) => (Some((p, ctx)), line),
                // Started ahead and never asked: nothing to do.
                _ => return 0,
            }
        }
        Err(_) => (None, first),
    };
    let req: WorkerRequest = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            emit(
                &mut out,
                &WorkerLine::Error {
                    message: format!("bad request: {e}"),
                },
            );
            return 2;
        }
    };
    let problems = req.options.problems();
    if !problems.is_empty() {
        emit(
            &mut out,
            &WorkerLine::Error {
                message: problems.join("; "),
            },
        );
        return 2;
    }
    match run_whisper(&req, preloaded, &mut out) {
        Ok(language) => {
            emit(&mut out, &WorkerLine::Done { language });
            0
        }
        Err(message) => {
            emit(&mut out, &WorkerLine::Error { message });
            1
        }
    }
}

/// Loads a model; with `dtw`, word times by dynamic time warping over the alignment
/// heads of the model's size (as published for the standard models): when only the
/// speech of a recording is decoded, each word is placed back in the recording by this
/// time. It costs ~20% of the decoding, so it is asked for only then.
fn load_model(
    model: &Path,
    flash_attn: bool,
    dtw: bool,
) -> Result<whisper_rs::WhisperContext, String> {
    // A GPU build: the device chosen must start, or whisper.cpp would fall back to the
    // processor in silence (and the job would say it ran on the GPU).
    #[cfg(any(feature = "vulkan", feature = "metal", feature = "cuda"))]
    {
        let found = crate::media::device::ggml_devices();
        match found.first() {
            None => {
                return Err(format!(
                    "no {} device could be started for whisper.cpp",
                    crate::media::device::BACKEND
                ))
            }
            Some(d) => eprintln!(
                "whisper runs on {} ({}; {} of {} MiB free)",
                d.description,
                if d.integrated {
                    "integrated"
                } else {
                    "discrete"
                },
                d.free >> 20,
                d.total >> 20
            ),
        }
    }
    let mut cparams = whisper_rs::WhisperContextParameters::default();
    cparams.flash_attn(flash_attn);
    if let Some(preset) = crate::media::models::catalogue::ggml_info(model)
        .ok()
        .and_then(|i| dtw_preset(&i))
        .filter(|_| dtw && !flash_attn)
    {
        cparams.dtw_parameters(whisper_rs::DtwParameters {
            mode: whisper_rs::DtwMode::ModelPreset {
                model_preset: preset,
            },
            ..Default::default()
        });
    }
    whisper_rs::WhisperContext::new_with_params(model, cparams).map_err(|e| {
        format!(
            "the model {} could not be loaded ({e}); it may be damaged: download or import it again",
            model.display()
        )
    })
}

/// The alignment heads of a model, by its shape.
fn dtw_preset(i: &crate::media::models::catalogue::GgmlInfo) -> Option<whisper_rs::DtwModelPreset> {
    use whisper_rs::DtwModelPreset as P;
    Some(
        match (i.n_audio_layer, i.n_text_layer, i.multilingual, i.n_mels) {
            (4, 4, false, _) => P::TinyEn,
            (4, 4, true, _) => P::Tiny,
            (6, 6, false, _) => P::BaseEn,
            (6, 6, true, _) => P::Base,
            (12, 12, false, _) => P::SmallEn,
            (12, 12, true, _) => P::Small,
            (24, 24, false, _) => P::MediumEn,
            (24, 24, true, _) => P::Medium,
            (32, 4, true, 128) => P::LargeV3Turbo,
            (32, 32, true, 128) => P::LargeV3,
            (32, 32, true, 80) => P::LargeV2,
            _ => return None,
        },
    )
}

/// Mel frames (10 ms) of whisper's 30 s window.
const WINDOW_FRAMES: i32 = 3000;

/// What the encoder-begin callback follows while whisper.cpp walks its 30 s windows.
/// It can stop whisper.cpp before a window that starts where a segment ended, recording
/// where, so that the rest is decoded by another call: a final window shorter than 30 s
/// (with `tail`), to be decoded with an encoder context sized to it; or wherever `stop`
/// says (the slides shown change, so the prompt does). Everything else (the text carried
/// from window to window, the seek, the fallbacks) stays whisper.cpp's own.
#[derive(Default)]
struct TailWatch<'a> {
    encodes: usize,
    /// Segments when the previous window was about to be encoded.
    segments: i32,
    /// Where whisper.cpp was stopped (mel frames), if it was.
    tail_at: Option<i32>,
    /// The audio's end (mel frames).
    end: i32,
    /// Stop before a final window shorter than 30 s.
    tail: bool,
    /// Whether to stop before the window starting at this frame.
    stop: Option<&'a mut dyn FnMut(i32) -> bool>,
}

/// The encoder-begin callback (see [`TailWatch`]).
unsafe extern "C" fn watch_tail(
    _ctx: *mut whisper_rs_sys::whisper_context,
    state: *mut whisper_rs_sys::whisper_state,
    user_data: *mut std::ffi::c_void,
) -> bool {
    // SAFETY: user_data points at the TailWatch owned by `run_whisper`, alive and not
    // otherwise borrowed for the whole `full()` call that invokes this callback; `state`
    // is the state that call runs on.
    let (w, n, end) = unsafe {
        let w = &mut *(user_data as *mut TailWatch<'_>);
        let n = whisper_rs_sys::whisper_full_n_segments_from_state(state);
        let end = whisper_rs_sys::whisper_n_len_from_state(state);
        (w, n, end)
    };
    w.encodes += 1;
    w.end = end;
    if w.encodes > 1 && n > w.segments {
        // The previous window ended on a timestamp that closed its last segment, and
        // whisper.cpp seeks to that timestamp: the next window starts where it ended.
        // SAFETY: n - 1 is a valid segment index of this state.
        let seek =
            unsafe { whisper_rs_sys::whisper_full_get_segment_t1_from_state(state, n - 1) } as i32;
        let short_tail = w.tail && seek < end && end - seek < WINDOW_FRAMES;
        // Stopped elsewhere only after a finished sentence: a call started inside one
        // (after a window cut mid-word) lost the rest of it and what followed.
        // SAFETY: as above; the text is a NUL-terminated string owned by the state.
        let sentence_ended = || unsafe {
            let text = whisper_rs_sys::whisper_full_get_segment_text_from_state(state, n - 1);
            !text.is_null()
                && crate::media::chunks::ends_sentence(
                    std::ffi::CStr::from_ptr(text).to_string_lossy().trim_end(),
                )
        };
        let stop = w
            .stop
            .as_mut()
            .is_some_and(|stop| sentence_ended() && stop(seek));
        if seek > 0 && (short_tail || stop) {
            w.tail_at = Some(seek);
            return false;
        }
    }
    w.segments = n;
    true
}

/// What one `full()` call is asked, besides the shared options.
struct Pass<'a, 's> {
    /// Where to start (mel frames from the start of the audio).
    from: i32,
    audio_ctx: Option<i32>,
    language: &'a str,
    prompt: Option<&'a str>,
    /// Forget the text before (whisper.cpp does so for a final window under 5 s).
    no_context: bool,
    /// The call continues speech already heard: its windows are never dropped as
    /// silence. whisper.cpp drops a window whose first token looks like no speech (and
    /// whose words are unsure); a fresh call starting inside speech, without whisper's
    /// own tokens before it, looked so and lost 12 s of speech (tiny.en, jargon).
    continues: bool,
    watch: Option<&'a mut TailWatch<'s>>,
    /// What share of the request's audio this call covers, as (where it starts, how
    /// much), for the progress reported.
    share: (f32, f32),
    /// The prompt as tokens (instead of `prompt`).
    prompt_tokens: Option<&'a [i32]>,
    /// Where the tokens decoded go (text and timestamps, as whisper.cpp carries them
    /// from window to window).
    heard: Option<&'a mut Vec<i32>>,
}

/// The bytes of characters not yet complete at the end of what was decoded, carried into
/// the next segment and word (and the next pass) so that text is decoded once whole.
#[derive(Default, Clone)]
struct TextCarry {
    segment: crate::media::token_text::Utf8Carry,
    word: crate::media::token_text::Utf8Carry,
    /// Where the word waiting for the rest of its character started.
    word_start_ms: Option<u64>,
}

fn threads_of(o: &TranscribeOptions) -> usize {
    if o.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    } else {
        o.threads
    }
}

/// The language spoken in the first 30 s of `audio` (one encoder pass, as whisper.cpp's
/// own detection costs), `None` when it cannot tell.
fn detect_language(
    state: &mut whisper_rs::WhisperState,
    audio: &[f32],
    threads: usize,
) -> Result<Option<String>, String> {
    let head = &audio[..audio.len().min(30 * SAMPLE_RATE)];
    if head.len() < SAMPLE_RATE / 2 {
        return Ok(None);
    }
    state
        .pcm_to_mel(head, threads)
        .map_err(|e| format!("whisper could not read the audio: {e}"))?;
    let (id, _) = state
        .lang_detect(0, threads)
        .map_err(|e| format!("whisper could not detect the language: {e}"))?;
    Ok(whisper_rs::get_lang_str(id).map(str::to_string))
}

/// Runs whisper over `audio` as `pass` says and returns the segments it made, with
/// absolute times (`at_ms` is where `audio` starts).
fn decode(
    ctx: &whisper_rs::WhisperContext,
    state: &mut whisper_rs::WhisperState,
    o: &TranscribeOptions,
    audio: &[f32],
    at_ms: u64,
    pass: Pass<'_, '_>,
    carry: &mut TextCarry,
) -> Result<Vec<Segment>, String> {
    use whisper_rs::{FullParams, SamplingStrategy};
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    let threads = threads_of(o);
    params.set_n_threads(threads as i32);
    params.set_translate(o.translate);
    params.set_language(Some(pass.language));
    if let Some(p) = pass.prompt {
        // (A NUL would make whisper-rs panic; callers' prompts are checked, this is the
        // worker's own guard.)
        params.set_initial_prompt(&p.replace('\0', ""));
    }
    if let Some(tokens) = pass.prompt_tokens.filter(|t| !t.is_empty()) {
        params.set_tokens(tokens);
    }
    params.set_no_context(pass.no_context);
    if pass.continues {
        params.set_no_speech_thold(1.0);
    }
    params.set_offset_ms(pass.from * 10);
    params.set_token_timestamps(o.word_timestamps);
    if let Some(ctx) = pass.audio_ctx {
        params.set_audio_ctx(ctx);
    }
    params.set_print_progress(false);
    params.set_print_realtime(false);
    params.set_print_special(false);
    params.set_print_timestamps(false);
    let (share_at, share) = pass.share;
    params.set_progress_callback_safe(move |p: i32| {
        let mut o = std::io::stdout().lock();
        let percent = (share_at * 100.0 + p as f32 * share).round() as i32;
        emit(&mut o, &WorkerLine::Progress { percent });
    });
    if let Some(watch) = pass.watch {
        // SAFETY: the callback only touches the TailWatch, which outlives the call below
        // and is not used elsewhere until it returns.
        unsafe {
            params.set_start_encoder_callback(Some(watch_tail));
            params.set_start_encoder_callback_user_data(
                watch as *mut TailWatch<'_> as *mut std::ffi::c_void,
            );
        }
    }
    state
        .full(params, audio)
        .map_err(|e| format!("whisper failed: {e}"))?;
    let eot = ctx.token_eot();
    let beg = ctx.token_beg();
    let mut heard = pass.heard;
    let mut out = Vec::new();
    for seg in state.as_iter() {
        if let Some(heard) = heard.as_deref_mut() {
            heard.extend(
                (0..seg.n_tokens())
                    .filter_map(|i| seg.get_token(i).map(|t| t.token_id()))
                    .filter(|&id| id < eot || id > beg),
            );
        }
        let bytes = seg.to_bytes().map_err(|e| e.to_string())?;
        let text = carry.segment.push(bytes).trim().to_string();
        let mut words = Vec::new();
        if o.word_timestamps {
            for i in 0..seg.n_tokens() {
                let Some(tok) = seg.get_token(i) else {
                    continue;
                };
                if tok.token_id() >= eot {
                    continue;
                }
                let d = tok.token_data();
                let start_ms = at_ms + d.t0.max(0) as u64 * 10;
                let t = carry.word.push(tok.to_bytes().unwrap_or_default());
                if t.is_empty() {
                    if carry.word.is_pending() {
                        carry.word_start_ms.get_or_insert(start_ms);
                    }
                    continue;
                }
                words.push(Word {
                    start_ms: carry.word_start_ms.take().unwrap_or(start_ms),
                    end_ms: at_ms + d.t1.max(0) as u64 * 10,
                    text: t,
                    p: d.p,
                    at_ms: (d.t_dtw >= 0).then(|| at_ms + d.t_dtw as u64 * 10),
                });
            }
        }
        // whisper's annotations for silence and noise are not speech.
        if is_annotation(&text) {
            continue;
        }
        out.push(Segment {
            start_ms: at_ms + seg.start_timestamp().max(0) as u64 * 10,
            end_ms: at_ms + seg.end_timestamp().max(0) as u64 * 10,
            text,
            words,
            language: None,
            speaker: None,
        });
    }
    Ok(out)
}

/// A segment decoded from compacted speech, in the recording's time (`start_ms`: where
/// the request's audio starts): split where its words fall in different speech
/// regions, so that no segment stretches over a pause left out.
fn to_recording(seg: Segment, c: &crate::media::voice::Compacted, start_ms: u64) -> Vec<Segment> {
    let at = |ms: u64| start_ms + c.original_ms(ms);
    if seg.words.is_empty() {
        return vec![Segment {
            start_ms: at(seg.start_ms),
            end_ms: at(seg.end_ms),
            ..seg
        }];
    }
    // No word of a segment lies in a piece the segment (by whisper's own segment times,
    // which hold better than a word's) neither starts nor ends in.
    let first_piece = c.piece_of(seg.start_ms);
    let last_piece = c.piece_of(seg.end_ms.saturating_sub(300)).max(first_piece);
    let mut groups: Vec<(usize, Vec<Word>)> = Vec::new();
    for w in seg.words {
        // Whisper often starts a word's time early, in the silence before it: the word
        // belongs where it ends.
        // Punctuation belongs to the word before it, wherever it is timed.
        let mark = w.text.trim().chars().all(|ch| !ch.is_alphanumeric());
        let piece = match groups.last() {
            Some((p, _)) if mark => *p,
            _ => c
                .piece_of(
                    w.at_ms
                        .unwrap_or_else(|| w.end_ms.saturating_sub(1).max(w.start_ms)),
                )
                .clamp(first_piece, last_piece),
        };
        let w = Word {
            start_ms: start_ms + c.original_ms_in(w.start_ms, piece),
            end_ms: start_ms + c.original_ms_in(w.end_ms, piece),
            ..w
        };
        match groups.last_mut() {
            Some((p, ws)) if *p == piece => ws.push(w),
            _ => groups.push((piece, vec![w])),
        }
    }
    if groups.len() == 1 {
        let words = groups.pop().map(|g| g.1).unwrap_or_default();
        return vec![Segment {
            start_ms: words.first().map_or(at(seg.start_ms), |w| w.start_ms),
            end_ms: words.last().map_or(at(seg.end_ms), |w| w.end_ms),
            words,
            ..seg
        }];
    }
    groups
        .into_iter()
        .map(|(_, words)| Segment {
            start_ms: words.first().map_or(0, |w| w.start_ms),
            end_ms: words.last().map_or(0, |w| w.end_ms),
            text: words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<String>()
                .trim()
                .to_string(),
            words,
            language: seg.language.clone(),
            speaker: None,
        })
        .filter(|s| !is_annotation(&s.text))
        .collect()
}

/// Transcribes `req`, with the model loaded ahead when it is the one asked for.
fn run_whisper(
    req: &WorkerRequest,
    preloaded: Option<(Preload, Result<whisper_rs::WhisperContext, String>)>,
    out: &mut impl Write,
) -> Result<Option<String>, String> {
    let o = &req.options;
    let recording = read_pcm(&req.pcm, req.offset_samples, req.len_samples)
        .map_err(|e| format!("could not read the audio {}: {e}", req.pcm.display()))?;
    let start_ms = req.offset_samples * 1000 / SAMPLE_RATE as u64;
    // Only the speech goes to whisper: silence and steady noise are left out (whisper
    // invents words there), and times are mapped back to the recording.
    let speech = if o.vad {
        let regions = crate::media::voice::speech_regions(&recording);
        match crate::media::voice::Compacted::of(&recording, &regions) {
            None => {
                tracing::debug!("no speech in this audio");
                return Ok(None);
            }
            // Mostly speech: whisper hears it all, as it is.
            Some(c) if c.speech_fraction(recording.len()) > 0.9 => None,
            Some(c) => Some(c),
        }
    } else {
        None
    };
    let audio: &[f32] = speech.as_ref().map_or(&recording, |c| &c.audio);
    let at_ms = if speech.is_some() { 0 } else { start_ms };
    // Loops and made-up credits are dropped before anything is sent (so neither the
    // document nor the text carried into the next chunk holds them).
    let mut guard = crate::media::repeats::LoopGuard::default();
    let mut send = |segment: Segment| {
        let mapped = match &speech {
            None => vec![segment],
            Some(c) => to_recording(segment, c, start_ms),
        };
        for mut segment in mapped {
            if guard.admit(&mut segment) {
                emit(out, &WorkerLine::Segment { segment });
            }
        }
    };
    // Words are placed back by their DTW times when only the speech is decoded.
    let dtw = speech.is_some();
    let ctx = match preloaded {
        Some((p, ctx)) if p == Preload::of(o) && !dtw => ctx?,
        _ => load_model(&o.model, o.flash_attn, dtw)?,
    };
    let mut state = ctx
        .create_state()
        .map_err(|e| format!("whisper state: {e}"))?;
    // English-only models know one language; "auto" would only waste a detection pass.
    // Otherwise the language is found first (on the first 30 s, as whisper.cpp would),
    // so that what is prompted fits it.
    let detected_first = match o.language.as_deref() {
        _ if !ctx.is_multilingual() => None,
        Some(_) => None,
        None => detect_language(&mut state, audio, threads_of(o))?,
    };
    let language: &str = match o.language.as_deref() {
        _ if !ctx.is_multilingual() => "en",
        Some(l) => l,
        None => detected_first.as_deref().unwrap_or("auto"),
    };
    let short = audio_ctx_for(audio.len());
    // The text before continues only in its own language: whisper would otherwise copy
    // it (in its language) instead of hearing this audio.
    let context = o.context.as_deref().filter(|_| {
        o.context_language.is_none() || o.context_language.as_deref() == Some(language)
    });
    if o.context.is_some() && context.is_none() {
        tracing::debug!(before = ?o.context_language, now = language, "the language changed; the text before is not carried");
    }
    let script = match (language, o.initial_prompt.is_none()) {
        ("zh", true) => o.chinese_script.prompt(),
        _ => None,
    };
    let mut carry = TextCarry::default();
    let language_of = |state: &whisper_rs::WhisperState| {
        // An English-only model detects nothing: its language id is meaningless.
        if ctx.is_multilingual() {
            whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_string)
        } else {
            Some("en".to_string())
        }
    };
    if let Some(feed) = &req.slide_words {
        let mut slides = SlidesSoFar::open(feed, crate::media::vocabulary::STALE)
            .with_patience(req.slide_patience);
        let head: Vec<&str> = [o.initial_prompt.as_deref(), script]
            .into_iter()
            .flatten()
            .collect();
        let to_recording_ms =
            |ms: u64| start_ms + speech.as_ref().map_or(ms, |c| c.original_ms(ms));
        let run = SlidePasses {
            ctx: &ctx,
            o,
            audio,
            at_ms,
            language,
            head: &head,
            to_recording_ms: &to_recording_ms,
        };
        run.decode(&mut state, &mut slides, context, &mut carry, &mut send)?;
        let (waited, waits) = slides.waited();
        emit(
            out,
            &WorkerLine::SlideWait {
                ms: waited.as_millis() as u64,
                waits,
            },
        );
        return Ok(language_of(&state));
    }
    let prompt: Vec<&str> = [o.initial_prompt.as_deref(), script, context]
        .into_iter()
        .flatten()
        .collect();
    let prompt = (!prompt.is_empty()).then(|| prompt.join(" "));
    let mut watch = TailWatch::default();
    let first = Pass {
        from: 0,
        audio_ctx: short.filter(|_| o.trim_short_audio),
        language,
        prompt: prompt.as_deref(),
        no_context: false,
        continues: false,
        watch: (o.trim_final_window && short.is_none()).then_some({
            watch.tail = true;
            &mut watch
        }),
        share: (0.0, 1.0),
        prompt_tokens: None,
        heard: None,
    };
    for segment in decode(&ctx, &mut state, o, audio, at_ms, first, &mut carry)? {
        send(segment);
    }
    let detected = if ctx.is_multilingual() {
        whisper_rs::get_lang_str(state.full_lang_id_from_state()).map(str::to_string)
    } else {
        None
    };
    if let Some(from) = watch.tail_at {
        // The final, shorter window as whisper.cpp would decode it (the text before
        // carried in the state, forgotten under 5 s as whisper.cpp does), with a context
        // sized to it, in the language the windows before were decoded in.
        let frames = (watch.end - from).max(0) as usize;
        let tail = Pass {
            from,
            audio_ctx: audio_ctx_for(frames * SAMPLE_RATE / 100),
            language: detected.as_deref().unwrap_or(language),
            prompt: None,
            no_context: watch.end - from <= 500,
            continues: false,
            watch: None,
            share: (0.0, 1.0),
            prompt_tokens: None,
            heard: None,
        };
        for segment in decode(&ctx, &mut state, o, audio, at_ms, tail, &mut carry)? {
            send(segment);
        }
    }
    // An English-only model detects nothing: its language id is meaningless.
    Ok(if ctx.is_multilingual() {
        detected
    } else {
        Some("en".to_string())
    })
}

/// Samples in a mel frame (10 ms).
const FRAME: usize = SAMPLE_RATE / 100;

/// The longest stretch one call decodes with one prompt when slides are followed
/// (mel frames): the slides' terms stay within whisper's 224 tokens of prompt, and the
/// mel spectrogram of each call (computed over all the audio it is given) stays short.
const PASS_FRAMES: i32 = 6_000;

/// Whether a segment (of decoded audio, where pauses are short) holds far fewer words
/// than its time takes to say: whisper skipped speech there. Speech runs about four
/// syllables a second; a Latin letter counts a third of one, a Chinese character one.
fn skipped_speech(s: &Segment) -> bool {
    let seconds = s.end_ms.saturating_sub(s.start_ms) as f32 / 1000.0;
    let syllables: f32 = s
        .text
        .chars()
        .map(|c| match c {
            c if crate::document::is_cjk(c) => 1.0,
            c if c.is_alphanumeric() => 1.0 / 3.0,
            _ => 0.0,
        })
        .sum();
    seconds >= 6.0 && syllables / seconds < 2.0
}

/// The most tokens of prompt whisper.cpp keeps (half its text context, less one).
const MAX_PROMPT_TOKENS: usize = 223;

/// Decoding prompted by the slides shown ([`crate::media::vocabulary`]).
struct SlidePasses<'a> {
    ctx: &'a whisper_rs::WhisperContext,
    o: &'a TranscribeOptions,
    /// What whisper hears (the speech only, or the whole recording).
    audio: &'a [f32],
    /// Where `audio`'s times start, as segments are sent.
    at_ms: u64,
    language: &'a str,
    /// What every prompt starts with (the caller's prompt, the script's).
    head: &'a [&'a str],
    /// A time in `audio` (ms) as a time in the recording.
    to_recording_ms: &'a dyn Fn(u64) -> u64,
}

impl SlidePasses<'_> {
    /// The recording's time span of the window starting at frame `f` of the audio.
    fn window(&self, f: i32) -> (u64, u64) {
        let total = (self.audio.len() / FRAME) as i32;
        let end = (f + WINDOW_FRAMES).min(total).max(f);
        (
            (self.to_recording_ms)(f as u64 * 10),
            (self.to_recording_ms)(end as u64 * 10),
        )
    }

    /// Decodes the audio in passes, each prompted with the terms of the slides shown
    /// during its first window and the text decoded before it: a pass runs until a
    /// window (starting where a segment ended) shows other slides, or for
    /// [`PASS_FRAMES`], and the next begins there. The windows and the seek stay
    /// whisper.cpp's own, so no audio is encoded twice; the wait for a window's slides
    /// happens before it is encoded.
    fn decode(
        &self,
        state: &mut whisper_rs::WhisperState,
        slides: &mut SlidesSoFar,
        context: Option<&str>,
        carry: &mut TextCarry,
        send: &mut dyn FnMut(Segment),
    ) -> Result<(), String> {
        let total = (self.audio.len() / FRAME) as i32;
        // Room for every token the text can make (a token holds at least a byte): told
        // too little room, whisper.cpp answers with the count needed, which whisper-rs
        // takes for a length (a long prompt crashed the worker).
        let tokenize = |text: &str| {
            let text = text.replace('\0', "");
            self.ctx
                .tokenize(&text, text.len() + 1)
                .map_err(|e| format!("whisper could not read the prompt: {e}"))
        };
        // What was decoded before, as whisper.cpp carries it between its windows (its
        // tokens, timestamps included): a prompt of plain text instead made tiny.en
        // fall back to sampling so often that decoding took 60% longer.
        let mut heard: Vec<i32> = match context {
            Some(c) => tokenize(c)?,
            None => Vec::new(),
        };
        let mut from = 0i32;
        while from < total {
            let (a, b) = self.window(from);
            let shown = slides.during(a, b);
            let terms = slides.terms(&shown);
            let prompt_of = |terms: Option<&str>| -> Result<Vec<i32>, String> {
                let head: Vec<&str> = self.head.iter().copied().chain(terms).collect();
                let mut prompt = tokenize(&head.join(" "))?;
                // whisper.cpp keeps the last 223 tokens of a prompt: the terms go first
                // and stay; the text before fills the rest.
                let room = MAX_PROMPT_TOKENS.saturating_sub(prompt.len());
                prompt.extend_from_slice(&heard[heard.len().saturating_sub(room)..]);
                Ok(prompt)
            };
            tracing::debug!(from_ms = a, slides = ?shown, terms = ?terms, "a pass");
            let begin = from as usize * FRAME;
            let end =
                (begin + (PASS_FRAMES + 2 * WINDOW_FRAMES) as usize * FRAME).min(self.audio.len());
            let before = carry.clone();
            let mut run = |prompt: &[i32], carry: &mut TextCarry| {
                let mut decoded = Vec::new();
                let mut stop = |seek: i32| {
                    seek >= PASS_FRAMES || {
                        let (a, b) = self.window(from + seek);
                        slides.during(a, b) != shown
                    }
                };
                let mut watch = TailWatch {
                    stop: Some(&mut stop),
                    ..TailWatch::default()
                };
                let pass = Pass {
                    from: 0,
                    audio_ctx: None,
                    language: self.language,
                    prompt: None,
                    // The text before is in the prompt: whisper.cpp's own would repeat it.
                    no_context: true,
                    continues: from > 0,
                    watch: Some(&mut watch),
                    share: (
                        begin as f32 / self.audio.len() as f32,
                        (end - begin) as f32 / self.audio.len() as f32,
                    ),
                    prompt_tokens: Some(prompt),
                    heard: Some(&mut decoded),
                };
                let at_ms = self.at_ms + from as u64 * 10;
                let slice = &self.audio[begin..end];
                let segments = decode(self.ctx, state, self.o, slice, at_ms, pass, carry)?;
                Ok::<_, String>((segments, decoded, watch.tail_at))
            };
            let mut result = run(&prompt_of(terms.as_deref())?, carry)?;
            // A prompt can make whisper skip speech: a long segment with a few words (the
            // rest of its time lost). Then the pass is decoded again as whisper would
            // without the slides.
            if terms.is_some() && result.0.iter().any(skipped_speech) {
                tracing::debug!(
                    from_ms = a,
                    "speech skipped with the slides' terms; decoded again without"
                );
                *carry = before;
                result = run(&prompt_of(None)?, carry)?;
            }
            let (segments, decoded, stopped) = result;
            for segment in segments {
                send(segment);
            }
            heard.extend(decoded);
            heard.drain(..heard.len().saturating_sub(MAX_PROMPT_TOKENS));
            from = match stopped {
                Some(seek) => from + seek,
                None => (end / FRAME) as i32,
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_audio_gets_a_context_sized_to_it() {
        assert_eq!(audio_ctx_for(30 * SAMPLE_RATE), None);
        assert_eq!(audio_ctx_for(40 * SAMPLE_RATE), None);
        // 10 s: a third of the window, plus the margin.
        assert_eq!(audio_ctx_for(10 * SAMPLE_RATE), Some(500 + 128));
        assert_eq!(audio_ctx_for(SAMPLE_RATE / 2), Some(256));
    }

    #[test]
    fn annotations_are_not_speech() {
        assert!(is_annotation("[BLANK_AUDIO]"));
        assert!(is_annotation(" (music) "));
        assert!(is_annotation(""));
        assert!(!is_annotation("[0:05] hello"));
        assert!(!is_annotation("Plants (mostly) grow."));
    }
}
