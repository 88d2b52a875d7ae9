//! The media pipeline on a generated 10-minute lecture with the test model, release
//! build. The last line printed is JSON:
//!
//! - `transcribe_overhead`: our transcription stage (worker process, chunking, word
//!   times) over a bare whisper-rs `full()` in this process, same 60 s of audio, same
//!   model and threads (target <= 1.05);
//! - `frames_per_s`: frames analysed per second by the slide stage;
//! - `rtf`: pipeline wall time over the media's duration;
//! - `overlap`: pipeline wall time over its slowest stage alone (target <= 1.15: audio
//!   and frames are worked on side by side); transcription alone and the pipeline run
//!   in turns, `V2D_BENCH_ROUNDS` times (2), the fastest of each counted;
//!   `overlap_base` the same with the app's default model (base; the multilingual
//!   test model), where a slide's reading is a smaller share of the work;
//! - `peak_rss_mb`: the most memory this process or any worker child held;
//! - `quiet_cost`: a minute of speech with 85 s of silence and noise in it, over the
//!   minute alone (target <= 1.3);
//! - `slide_image_accuracy`: over the generated slide set (joined parts with offsets,
//!   transitions, variable frame rate, camera shots, a screen recording), the slides
//!   found whose image shows their own slide and no other, over the slides there are
//!   (or were found, when more; target 1.0);
//! - `ocr_ms_per_slide`: reading one generated 1280x720 slide (the testkit's eight:
//!   English, code, Chinese, mixed, small print, light and dark) with the PP-OCRv4 test
//!   models on one thread, as the pipeline reads them beside transcription (median);
//!   `ocr_cer` the character error rate of their bodies, `ocr_titles` the share of
//!   titles read exactly. The pipeline above reads its slides' text too (`overlap`
//!   includes it, and the transcriber's waits for the slides' words);
//! - `keyword_recall_plain` / `keyword_recall_with_slides`: on the testkit's jargon
//!   lecture (six slides of terms, each narrated with its terms), the share of the terms
//!   the transcript spells right, without and with the slides' words given to the
//!   transcriber (same run, same model).
//!
//! - `der`: the diarization error rate over generated meetings of two, three and four
//!   espeak-ng voices (pauses, overlapping speech; 250 ms collar; target <= 0.15), and
//!   `speakers_found` how many of the three meetings got the right number of speakers;
//!   `diarize_rtf` the diarization's time over the meetings' length (two threads, the
//!   machine otherwise idle); `speakers_cost` a four-voice meeting through the pipeline
//!   with speakers told apart over without (same run, the fastest of two each);
//!   `diarize_long_*` the four-voice meeting repeated to `V2D_BENCH_SPEAKER_MINUTES`
//!   (60): time over length, speakers found, and the memory the run added (the
//!   process's high-water mark, reset before it, less what it held).
//!
//! `cargo bench -p video2doc-core --bench pipeline` (`V2D_BENCH_MINUTES` shortens it;
//! `V2D_BENCH_LOG=info` prints the stages' log on stderr).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use video2doc_core::media::ocr::{Detail, OcrModels, Reader};
use video2doc_core::media::transcribe::{transcribe, WorkerRequest, SAMPLE_RATE};
use video2doc_core::pipeline::{self, StageOptions, WorkerCommand};

#[path = "../tests/slide_set/mod.rs"]
mod slide_set;

const THREADS: usize = 2;

use video2doc_testkit::model;

fn ok(cmd: &mut Command) {
    let o = cmd.output().expect("tool runs");
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A number from the environment variable `name`, else `default`.
fn env_number<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// Transcription alone and the whole pipeline, in fresh work folders under `root`, in
/// turns, `rounds` times, the fastest of each kept (this machine's noise only adds
/// time). Seconds: transcription alone, the pipeline; and the pipeline's output.
fn side_by_side(
    root: &Path,
    input: &Path,
    info: &video2doc_core::media::probe::MediaInfo,
    settings: &StageOptions,
    worker: &WorkerCommand,
    rounds: usize,
) -> (f64, f64, pipeline::Outputs) {
    let cancel = Arc::new(AtomicBool::new(false));
    let quiet = |_: &str, _: f32, _: &str| {};
    let (mut audio_alone, mut wall) = (f64::MAX, f64::MAX);
    let mut out = None;
    for round in 0..rounds.max(1) {
        let work_a = root.join(format!("work-audio-{round}"));
        std::fs::create_dir_all(&work_a).unwrap();
        let t = Instant::now();
        let pcm = pipeline::audio_stage(input, info, &work_a, &cancel, &quiet).unwrap();
        pipeline::transcript_stage(pcm.as_deref(), &work_a, settings, worker, &cancel, &quiet)
            .unwrap();
        audio_alone = audio_alone.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        out = Some(
            pipeline::process(
                input,
                &root.join(format!("out-{round}")),
                &root.join(format!("work-all-{round}")),
                settings,
                worker,
                &cancel,
                &quiet,
            )
            .unwrap(),
        );
        wall = wall.min(t.elapsed().as_secs_f64());
    }
    (audio_alone, wall, out.expect("a round ran"))
}

/// ffmpeg, quiet, overwriting its output.
fn ffmpeg() -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-hide_banner", "-loglevel", "error", "-y"]);
    c
}

const LECTURE: &[&str] = &[
    "Today we talk about how plants turn light into chemical energy.",
    "Chlorophyll in the leaves absorbs red and blue light and reflects green light.",
    "In the light reactions, water is split and oxygen is released into the air.",
    "The energy is stored in two carrier molecules that move to the next stage.",
    "In the Calvin cycle, carbon dioxide from the air is fixed into sugar.",
    "Temperature, light intensity and water all limit how fast this happens.",
];

/// A narrated lecture of `minutes` minutes with a new slide every minute.
fn lecture(dir: &Path, minutes: u64) -> PathBuf {
    let secs = minutes * 60;
    let text_file = dir.join("lecture.txt");
    let mut text = String::new();
    // espeak speaks ~150 words a minute; 20 sentences a minute is plenty.
    for i in 0..(minutes * 24) as usize {
        text.push_str(LECTURE[i % LECTURE.len()]);
        text.push(' ');
    }
    std::fs::write(&text_file, text).unwrap();
    let wav = dir.join("lecture.wav");
    ok(Command::new("espeak-ng")
        .args(["-v", "en-us", "-s", "150", "-w"])
        .arg(&wav)
        .arg("-f")
        .arg(&text_file));
    let mut filters = Vec::new();
    for m in 0..minutes {
        let (a, b) = (m * 60, (m + 1) * 60);
        filters.push(format!(
            "drawtext=text='Part {}':fontsize=48:fontcolor=black:x=60:y=60:enable='between(t,{a},{b})'",
            m + 1
        ));
        filters.push(format!(
            "drawtext=text='{}':fontsize=28:fontcolor=black:x=60:y=180:enable='between(t,{a},{b})'",
            LECTURE[m as usize % LECTURE.len()].replace(',', "\\,")
        ));
    }
    let out = dir.join("lecture.mp4");
    ok(ffmpeg()
        .args(["-f", "lavfi", "-i"])
        .arg(format!(
            "color=c=white:s=1280x720:d={secs}:r=10,{}",
            filters.join(",")
        ))
        .arg("-i")
        .arg(&wav)
        .args(["-af", "apad", "-t", &secs.to_string()])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "aac",
        ])
        .arg(&out));
    out
}

fn peak_rss_mb() -> f64 {
    let own = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .unwrap_or(0.0);
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct we own.
    let children = if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) } == 0 {
        ru.ru_maxrss as f64
    } else {
        0.0
    };
    own.max(children) / 1024.0
}

/// whisper-rs `full()` in this process: the baseline of the transcription stage.
fn bare_whisper(model: &Path, pcm: &[f32]) -> f64 {
    use whisper_rs::{FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters};
    let t = Instant::now();
    let ctx = WhisperContext::new_with_params(model, WhisperContextParameters::default()).unwrap();
    let mut state = ctx.create_state().unwrap();
    let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
    params.set_n_threads(THREADS as i32);
    params.set_language(Some("en"));
    params.set_print_progress(false);
    params.set_print_realtime(false);
    state.full(params, pcm).unwrap();
    std::hint::black_box(state.full_n_segments());
    t.elapsed().as_secs_f64()
}

/// Right images over the slides expected (or found, when more) across the slide set.
fn slide_image_accuracy(dir: &Path) -> f64 {
    use video2doc_core::media::slides::Sensitivity;
    let parts = [(0, 4.3), (1, 2.0), (5, 0.5), (2, 5.6), (3, 4.2)];
    let set = [
        (
            slide_set::joined(dir, &parts),
            Sensitivity::Slides,
            slide_set::LOOKS,
            vec![0, 1, 2, 3],
        ),
        (
            slide_set::transitions(dir),
            Sensitivity::Slides,
            slide_set::LOOKS,
            vec![0, 1, 2, 3, 4],
        ),
        (
            slide_set::variable_rate(dir, &parts),
            Sensitivity::Slides,
            slide_set::LOOKS,
            vec![0, 1, 2, 3],
        ),
        (
            slide_set::with_camera(dir),
            Sensitivity::Slides,
            slide_set::LOOKS,
            vec![0, 1, 2],
        ),
        (
            slide_set::screen_recording(dir),
            Sensitivity::Screen,
            slide_set::SCREEN,
            vec![0, 1, 2, 3],
        ),
    ];
    let (mut right, mut total) = (0, 0);
    for (n, (video, sensitivity, looks, expected)) in set.iter().enumerate() {
        let info = video2doc_core::media::probe::probe(video).unwrap();
        let mut settings = StageOptions::new(PathBuf::from("unused.bin"));
        settings.slide_sensitivity = *sensitivity;
        let work = dir.join(format!("slide-set-{n}"));
        let found = pipeline::slides_stage(
            video,
            &info,
            &work,
            &settings,
            &AtomicBool::new(false),
            &|_: &str, _: f32, _: &str| {},
        )
        .unwrap();
        right += slide_set::check_looks(&found, looks, expected);
        total += found.len().max(expected.len());
    }
    right as f64 / total as f64
}

/// (median ms per slide, body CER, share of exact titles) over the testkit's slides.
fn ocr_bench(dir: &Path, models: &OcrModels) -> (f64, f64, f64) {
    use video2doc_testkit::slides::{cer, slide_png, slide_set};
    let reader = Reader::load(&models.det, &models.rec, 1).unwrap();
    let stop = AtomicBool::new(false);
    let (mut ms, mut errors, mut chars, mut titles) = (Vec::new(), 0.0, 0usize, 0usize);
    let set = slide_set();
    for slide in &set {
        let png = slide_png(dir, slide);
        let img = image::open(&png).unwrap().to_rgb8();
        reader
            .read(&img, slide.name, Detail::Slides, &stop)
            .unwrap();
        let t = Instant::now();
        let read = reader
            .read(&img, slide.name, Detail::Slides, &stop)
            .unwrap();
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        titles += usize::from(read.title.as_deref().map(squeeze) == Some(squeeze(slide.title)));
        let want = slide.body.join("\n");
        let n = squeeze(&want).chars().count();
        errors += cer(&read.body(), &want) * n as f64;
        chars += n;
    }
    ms.sort_by(f64::total_cmp);
    (
        ms[ms.len() / 2],
        errors / chars as f64,
        titles as f64 / set.len() as f64,
    )
}

/// Keyword recall on the jargon lecture without and with the slides' words.
fn keyword_recall(dir: &Path, settings: &StageOptions, worker: &WorkerCommand) -> (f64, f64) {
    use video2doc_testkit::slides::{jargon_lecture, jargon_slides, keyword_recall};
    let slides = jargon_slides();
    let (video, _) = jargon_lecture(dir, "jargon.mp4", &slides);
    let terms: Vec<&str> = slides
        .iter()
        .flat_map(|s| s.terms.iter().copied())
        .collect();
    let recall = |name: &str, read: bool| {
        let mut settings = settings.clone();
        if !read {
            settings.ocr = None;
        }
        let work = dir.join(format!("jargon-{name}"));
        let info = video2doc_core::media::probe::probe(&video).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        let out = pipeline::process(
            &video,
            &work.join("out"),
            &work.join("work"),
            &settings,
            worker,
            &Arc::new(AtomicBool::new(false)),
            &|_: &str, _: f32, _: &str| {},
        )
        .unwrap();
        assert!(out.slides > 0 && info.duration_s > 0.0);
        let json =
            std::fs::read_to_string(&out.files[&video2doc_core::document::export::Format::Json])
                .unwrap();
        let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
        let text: Vec<&str> = doc["segments"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|s| s["text"].as_str())
            .collect();
        keyword_recall(&text.join(" "), &terms)
    };
    (recall("plain", false), recall("slides", true))
}

/// (DER over all meetings, meetings with the right count, diarization time over audio)
/// on three generated meetings of 2, 3 and 4 voices, `turns` turns each.
fn speaker_bench(dir: &Path, turns: usize) -> (f64, usize, f64) {
    use video2doc_core::media::speakers::{Diarizer, SpeakerCount, SpeakerModels};
    use video2doc_testkit::meetings::{der, meeting};
    let (segmentation, voiceprint) = video2doc_testkit::speaker_models();
    let models = SpeakerModels {
        segmentation,
        voiceprint,
    };
    let diarizer = Diarizer::load(&models, THREADS).unwrap();
    let (mut weighted, mut speech_ms, mut total_ms, mut right, mut busy) =
        (0.0, 0u64, 0u64, 0usize, 0.0);
    for voices in [2usize, 3, 4] {
        let m = meeting(
            dir,
            &format!("meeting{voices}"),
            voices,
            turns,
            100 + voices as u64,
        );
        let pcm = dir.join(format!("meeting{voices}.f32"));
        video2doc_core::media::process::extract_audio(
            &m.wav,
            &pcm,
            &AtomicBool::new(false),
            |_| {},
        )
        .unwrap();
        let t = Instant::now();
        let d = diarizer
            .run(
                &pcm,
                SpeakerCount::Auto,
                &AtomicBool::new(false),
                &mut |_| {},
            )
            .unwrap();
        busy += t.elapsed().as_secs_f64();
        let hyp: Vec<(u64, u64, u32)> = d
            .turns
            .iter()
            .map(|t| (t.start_ms, t.end_ms, t.speaker))
            .collect();
        let e = der(&m.turns, &hyp);
        let speech: u64 = m.turns.iter().map(|t| t.end_ms - t.start_ms).sum();
        println!(
            "meeting of {voices} voices, {:.0} s: {} speakers found, DER {e:.3}",
            m.duration_ms as f64 / 1000.0,
            d.voices.len()
        );
        weighted += e * speech as f64;
        speech_ms += speech;
        total_ms += m.duration_ms;
        right += usize::from(d.voices.len() == voices);
    }
    (
        weighted / speech_ms.max(1) as f64,
        right,
        busy / (total_ms as f64 / 1000.0),
    )
}

/// The speakers of a long recording (the four-voice meeting repeated to `minutes`):
/// (seconds, speakers found, the most memory the diarization added in MB).
fn long_diarization(dir: &Path, minutes: u64) -> (f64, usize, f64) {
    use video2doc_core::media::speakers::{Diarizer, SpeakerCount, SpeakerModels};
    let pcm = dir.join("meeting4.f32");
    let one = std::fs::read(&pcm).unwrap();
    let long = dir.join("long.f32");
    let want = (minutes * 60 * SAMPLE_RATE as u64 * 4) as usize;
    {
        use std::io::Write;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&long).unwrap());
        let mut written = 0;
        while written < want {
            let n = one.len().min(want - written);
            f.write_all(&one[..n - n % 4]).unwrap();
            written += n - n % 4;
        }
    }
    let (segmentation, voiceprint) = video2doc_testkit::speaker_models();
    let diarizer = Diarizer::load(
        &SpeakerModels {
            segmentation,
            voiceprint,
        },
        THREADS,
    )
    .unwrap();
    // The high-water mark of this process's memory starts again from here (Linux).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = rss_now_mb();
    let t = Instant::now();
    let d = diarizer
        .run(
            &long,
            SpeakerCount::Auto,
            &AtomicBool::new(false),
            &mut |_| {},
        )
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&long);
    (secs, d.voices.len(), (hwm_mb() - before).max(0.0))
}

/// A field of /proc/self/status in MB.
fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rss_now_mb() -> f64 {
    status_mb("VmRSS:")
}

fn hwm_mb() -> f64 {
    status_mb("VmHWM:")
}

/// A four-voice meeting through the pipeline with and without speakers (the fastest of
/// two each, in turns): the ratio.
fn speakers_cost(dir: &Path, settings: &StageOptions, worker: &WorkerCommand) -> f64 {
    use video2doc_core::media::speakers::SpeakerModels;
    let m = video2doc_testkit::meetings::meeting(dir, "costed", 4, 24, 7);
    let (segmentation, voiceprint) = video2doc_testkit::speaker_models();
    let mut with = settings.clone();
    with.ocr = None;
    with.speaker_models = Some(SpeakerModels {
        segmentation,
        voiceprint,
    });
    let mut without = with.clone();
    without.speaker_models = None;
    let (mut a, mut b) = (f64::MAX, f64::MAX);
    for round in 0..2 {
        for (name, s, best) in [("with", &with, &mut a), ("without", &without, &mut b)] {
            let work = dir.join(format!("cost-{name}-{round}"));
            let t = Instant::now();
            pipeline::process(
                &m.wav,
                &work.join("out"),
                &work.join("work"),
                s,
                worker,
                &Arc::new(AtomicBool::new(false)),
                &|_: &str, _: f32, _: &str| {},
            )
            .unwrap();
            *best = best.min(t.elapsed().as_secs_f64());
        }
    }
    println!(
        "a four-voice meeting of {:.0} s: {a:.1} s with speakers, {b:.1} s without",
        m.duration_ms as f64 / 1000.0
    );
    a / b
}

fn main() {
    // The stages' own log on stderr, when asked (`V2D_BENCH_LOG=info`): how long the
    // transcription waited for the slides' words, for one.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("V2D_BENCH_LOG"))
        .with_writer(std::io::stderr)
        .init();
    let minutes: u64 = env_number("V2D_BENCH_MINUTES", 10);
    let dir = tempfile::tempdir().unwrap();
    let model = model();
    let worker = WorkerCommand {
        program: PathBuf::from(env!("CARGO_BIN_EXE_video2doc-worker")),
        args: Vec::new(),
    };
    let mut settings = StageOptions::new(model.clone());
    settings.transcribe.language = Some("en".into());
    settings.transcribe.threads = THREADS;
    let (det, rec) = video2doc_testkit::slides::ocr_models();
    let ocr_models = OcrModels { det, rec };
    settings.ocr = Some(ocr_models.clone());
    let t = Instant::now();
    let input = lecture(dir.path(), minutes);
    println!(
        "generated a {minutes}-minute lecture in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let info = video2doc_core::media::probe::probe(&input).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));

    // Transcription overhead on the first 60 s.
    let pcm_path = dir.path().join("bench.f32");
    video2doc_core::media::process::extract_audio(
        &input,
        &pcm_path,
        &AtomicBool::new(false),
        |_| {},
    )
    .unwrap();
    let minute = 60 * SAMPLE_RATE as u64;
    let pcm = video2doc_core::media::transcribe::read_pcm(&pcm_path, 0, Some(minute)).unwrap();
    let mut opts = settings.transcribe.clone();
    opts.word_timestamps = true;
    let request = WorkerRequest {
        options: opts,
        pcm: pcm_path.clone(),
        offset_samples: 0,
        len_samples: Some(minute),
        slide_words: None,
        slide_patience: None,
    };
    let (mut bare, mut ours) = (f64::MAX, f64::MAX);
    for _ in 0..2 {
        bare = bare.min(bare_whisper(&model, &pcm));
        let t = Instant::now();
        transcribe(&worker.program, &[], &request, &cancel, |_| {}, |_| {}).unwrap();
        ours = ours.min(t.elapsed().as_secs_f64());
    }
    let overhead = ours / bare;
    println!("transcription of 60 s: bare whisper-rs {bare:.2} s, our stage {ours:.2} s ({overhead:.3}x)");

    // The same minute with quiet in it: its first half, 60 s of silence, its second
    // half, 25 s of pink noise (ffmpeg's), against the minute alone.
    let noise_path = dir.path().join("noise.f32");
    ok(ffmpeg()
        .args([
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=r=16000:c=pink:a=0.08",
            "-t",
            "25",
            "-f",
            "f32le",
            "-ac",
            "1",
        ])
        .arg(&noise_path));
    let noise = video2doc_core::media::transcribe::read_pcm(&noise_path, 0, None).unwrap();
    let half = pcm.len() / 2;
    let mut with_quiet = pcm[..half].to_vec();
    with_quiet.extend(std::iter::repeat_n(0.0f32, 60 * SAMPLE_RATE));
    with_quiet.extend_from_slice(&pcm[half..]);
    with_quiet.extend_from_slice(&noise);
    let quiet_path = dir.path().join("quiet.f32");
    let bytes: Vec<u8> = with_quiet.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&quiet_path, bytes).unwrap();
    let quiet_request = WorkerRequest {
        pcm: quiet_path,
        len_samples: None,
        ..request.clone()
    };
    let (mut alone, mut quieted) = (f64::MAX, f64::MAX);
    for _ in 0..2 {
        let t = Instant::now();
        transcribe(&worker.program, &[], &request, &cancel, |_| {}, |_| {}).unwrap();
        alone = alone.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        transcribe(
            &worker.program,
            &[],
            &quiet_request,
            &cancel,
            |_| {},
            |_| {},
        )
        .unwrap();
        quieted = quieted.min(t.elapsed().as_secs_f64());
    }
    let quiet_cost = quieted / alone;
    println!("the minute alone {alone:.2} s; with 85 s of silence and noise {quieted:.2} s (quiet_cost {quiet_cost:.3})");

    // The slides alone (the same whatever the model), in a fresh work folder.
    let work_f = dir.path().join("work-frames");
    std::fs::create_dir_all(&work_f).unwrap();
    let t = Instant::now();
    pipeline::slides_stage(
        &input,
        &info,
        &work_f,
        &settings,
        &cancel,
        &|_: &str, _: f32, _: &str| {},
    )
    .unwrap();
    let frames_alone = t.elapsed().as_secs_f64();
    let rounds: usize = env_number("V2D_BENCH_ROUNDS", 2);
    let side = |name: &str, settings: &StageOptions| {
        side_by_side(
            &dir.path().join(name),
            &input,
            &info,
            settings,
            &worker,
            rounds,
        )
    };
    let (audio_alone, wall, out) = side("tiny", &settings);
    let frames = info.duration_s * settings.frame_fps as f64;
    let frames_per_s = frames / frames_alone;
    println!(
        "alone: audio + transcription {audio_alone:.1} s; slides {frames_alone:.1} s ({} slides, {frames_per_s:.0} frames/s)",
        out.slides
    );
    // The same with the app's default model (base), where the reading of a slide is a
    // smaller share of the work than beside tiny.en.
    let base = video2doc_testkit::multilingual_model();
    let overlap_base = {
        let mut settings = settings.clone();
        settings.transcribe.model = base;
        let (audio, wall, _) = side("base", &settings);
        println!("base model: audio + transcription {audio:.1} s, pipeline {wall:.1} s");
        wall / audio.max(frames_alone)
    };
    let rtf = wall / info.duration_s;
    let overlap = wall / audio_alone.max(frames_alone);
    println!(
        "pipeline: {wall:.1} s for {:.0} s of media ({} slides, {} segments): rtf {rtf:.3}, overlap {overlap:.3} ({overlap_base:.3} with base)",
        info.duration_s, out.slides, out.segments
    );
    let slides_dir = dir.path().join("slide-set");
    std::fs::create_dir_all(&slides_dir).unwrap();
    let accuracy = slide_image_accuracy(&slides_dir);
    println!("slide set: image accuracy {accuracy:.3}");
    let ocr_dir = dir.path().join("ocr");
    std::fs::create_dir_all(&ocr_dir).unwrap();
    let (ocr_ms, ocr_cer, ocr_titles) = ocr_bench(&ocr_dir, &ocr_models);
    println!("slide text: {ocr_ms:.0} ms a slide (one thread), body CER {ocr_cer:.4}, titles {ocr_titles:.3}");
    let (recall_plain, recall_slides) = keyword_recall(dir.path(), &settings, &worker);
    println!(
        "keyword recall: {recall_plain:.3} without the slides' words, {recall_slides:.3} with them"
    );
    let meetings = dir.path().join("meetings");
    std::fs::create_dir_all(&meetings).unwrap();
    let (der, speakers_found, diarize_rtf) = speaker_bench(&meetings, 30);
    println!("speakers: DER {der:.3}, right count in {speakers_found} of 3, diarization rtf {diarize_rtf:.3}");
    let speakers_cost = speakers_cost(&meetings, &settings, &worker);
    // Before the long diarization, which starts this process's high-water mark again.
    let rss = peak_rss_mb();
    let long_minutes: u64 = env_number("V2D_BENCH_SPEAKER_MINUTES", 60);
    let (long_s, long_found, long_mb) = long_diarization(&meetings, long_minutes);
    println!("speakers of {long_minutes} minutes: {long_s:.1} s, {long_found} found, {long_mb:.0} MB more memory");
    println!(
        "{}",
        json!({
            "der": (der * 1000.0).round() / 1000.0,
            "speakers_found": speakers_found,
            "diarize_rtf": (diarize_rtf * 1000.0).round() / 1000.0,
            "speakers_cost": (speakers_cost * 1000.0).round() / 1000.0,
            "diarize_long_minutes": long_minutes,
            "diarize_long_rtf": (long_s / (long_minutes as f64 * 60.0) * 1000.0).round() / 1000.0,
            "diarize_long_speakers": long_found,
            "diarize_long_added_mb": long_mb.round(),
            "transcribe_overhead": (overhead * 1000.0).round() / 1000.0,
            "quiet_cost": (quiet_cost * 1000.0).round() / 1000.0,
            "slide_image_accuracy": (accuracy * 1000.0).round() / 1000.0,
            "ocr_ms_per_slide": ocr_ms.round(),
            "ocr_cer": (ocr_cer * 10000.0).round() / 10000.0,
            "ocr_titles": (ocr_titles * 1000.0).round() / 1000.0,
            "keyword_recall_plain": (recall_plain * 1000.0).round() / 1000.0,
            "keyword_recall_with_slides": (recall_slides * 1000.0).round() / 1000.0,
            "frames_per_s": frames_per_s.round(),
            "rtf": (rtf * 1000.0).round() / 1000.0,
            "overlap": (overlap * 1000.0).round() / 1000.0,
            "overlap_base": (overlap_base * 1000.0).round() / 1000.0,
            "peak_rss_mb": rss.round(),
            "media_s": info.duration_s.round(),
            "slides": out.slides,
            "segments": out.segments,
            "bare_whisper_60s_s": (bare * 100.0).round() / 100.0,
            "our_transcribe_60s_s": (ours * 100.0).round() / 100.0,
            "audio_alone_s": (audio_alone * 10.0).round() / 10.0,
            "frames_alone_s": (frames_alone * 10.0).round() / 10.0,
            "pipeline_s": (wall * 10.0).round() / 10.0,
        })
    );
}
