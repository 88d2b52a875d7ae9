//! Recordings with quiet in them, as lectures and meetings are: speech, a minute of
//! silence, speech, background noise; and twenty minutes with one sentence a minute.
//! Nothing may be heard in the quiet, every sentence exactly once at its time.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use video2doc_core::document::export::Format;
use video2doc_core::media::transcribe::Segment;
use video2doc_core::pipeline::{process, StageOptions};

mod common;
use common::{ffmpeg, model, speech_wav, worker_command, Quiet};

/// `text` spoken, then padded with silence to `seconds` (16 kHz mono WAV).
fn spoken_for(dir: &Path, name: &str, text: &str, seconds: u32) -> PathBuf {
    let sub = dir.join(format!("{name}-raw"));
    std::fs::create_dir_all(&sub).unwrap();
    let raw = speech_wav(&sub, text, "en-us", 150);
    let out = dir.join(format!("{name}.wav"));
    ffmpeg(&[
        "-i",
        raw.to_str().unwrap(),
        "-af",
        &format!("aresample=16000,apad=whole_dur={seconds}"),
        "-ac",
        "1",
        "-t",
        &seconds.to_string(),
        out.to_str().unwrap(),
    ]);
    out
}

fn joined(dir: &Path, parts: &[PathBuf], name: &str) -> PathBuf {
    let list: String = parts
        .iter()
        .map(|p| format!("file '{}'\n", p.display()))
        .collect();
    let list_path = dir.join(format!("{name}.txt"));
    std::fs::write(&list_path, list).unwrap();
    let out = dir.join(format!("{name}.wav"));
    ffmpeg(&[
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
        list_path.to_str().unwrap(),
        "-c",
        "copy",
        out.to_str().unwrap(),
    ]);
    out
}

fn transcript(input: &Path, dir: &Path) -> Vec<Segment> {
    let mut s = StageOptions::new(model());
    s.formats = vec![Format::Json];
    s.transcribe.language = Some("en".into());
    s.transcribe.threads = 2;
    let out = process(
        input,
        &dir.join("out"),
        &dir.join("work"),
        &s,
        &worker_command(),
        &Arc::new(AtomicBool::new(false)),
        &Quiet,
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out.files[&Format::Json]).unwrap()).unwrap();
    serde_json::from_value(json["segments"].clone()).unwrap()
}

fn shown(segments: &[Segment]) -> String {
    segments
        .iter()
        .map(|s| {
            format!(
                "[{:.1}-{:.1}] {}",
                s.start_ms as f64 / 1e3,
                s.end_ms as f64 / 1e3,
                s.text
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn silence_and_noise_give_no_text_and_both_speeches_are_heard() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // 0-8 s speech, 8-68 s silence, 68-76 s speech, 76-101 s pink noise.
    let first = spoken_for(
        d,
        "a",
        "Good morning everyone. Today we talk about the weather in London.",
        8,
    );
    let silence = d.join("silence.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "anullsrc=r=16000:cl=mono",
        "-t",
        "60",
        silence.to_str().unwrap(),
    ]);
    let second = spoken_for(
        d,
        "b",
        "The red car stopped at the station near the river.",
        8,
    );
    let noise = d.join("noise.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=r=16000:c=pink:a=0.08",
        "-t",
        "25",
        "-ac",
        "1",
        noise.to_str().unwrap(),
    ]);
    let talk = joined(d, &[first, silence, second, noise], "talk");
    let segments = transcript(&talk, d);
    let text = shown(&segments);
    let all = text.to_lowercase();
    for keyword in ["weather", "london", "car", "station", "river"] {
        assert!(all.contains(keyword), "{keyword} not heard:\n{text}");
    }
    for s in &segments {
        let (a, b) = (s.start_ms, s.end_ms);
        let in_speech = (b <= 9_000) || (a >= 67_000 && b <= 77_500);
        assert!(in_speech, "text in the quiet:\n{text}");
    }
}

/// Twenty minutes, a sentence at the start of each: every sentence once, within 2 s of
/// its minute, nothing in between; `same` says the same sentence every minute (which is
/// no loop to remove).
fn a_sentence_a_minute(same: bool) {
    const WORDS: [&str; 20] = [
        "apple", "river", "garden", "window", "pencil", "orange", "mountain", "bottle", "planet",
        "yellow", "doctor", "rabbit", "candle", "market", "silver", "teacher", "bridge", "castle",
        "summer", "violin",
    ];
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let parts: Vec<PathBuf> = WORDS
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let text = if same {
                "Please remember to submit your homework before Friday.".to_string()
            } else {
                format!("The word for this minute is {w}.")
            };
            spoken_for(d, &format!("m{i:02}"), &text, 60)
        })
        .collect();
    let recording = joined(d, &parts, "hour");
    let segments = transcript(&recording, d);
    let text = shown(&segments);
    let mut words_heard = 0;
    let heard: Vec<&Segment> = segments
        .iter()
        .filter(|s| !s.text.trim().is_empty())
        .collect();
    for (i, w) in WORDS.iter().enumerate() {
        let minute = i as u64 * 60_000;
        let here: Vec<&&Segment> = heard
            .iter()
            .filter(|s| s.start_ms + 2_000 >= minute && s.start_ms <= minute + 8_000)
            .collect();
        let said = here
            .iter()
            .map(|s| s.text.to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        // The sentence once, whole (its recurring words, which the small test model hears
        // reliably); the minute's own word is counted below.
        for key in if same {
            ["remember", "friday"]
        } else {
            ["word", "minute"]
        } {
            assert_eq!(said.matches(key).count(), 1, "minute {i}: {said:?}\n{text}");
        }
        words_heard += usize::from(same || said.contains(w));
        assert!(
            here.first()
                .is_some_and(|s| s.start_ms.abs_diff(minute) <= 2_000),
            "minute {i} starts late:\n{text}"
        );
    }
    assert!(
        words_heard >= 16,
        "{words_heard} of 20 words heard:\n{text}"
    );
    // Nothing but those sentences.
    for s in &heard {
        let offset = s.start_ms % 60_000;
        assert!(
            offset <= 8_000 || offset >= 58_000,
            "text between the sentences:\n{text}"
        );
    }
}

#[test]
fn twenty_minutes_of_a_sentence_a_minute_keep_every_sentence_once() {
    a_sentence_a_minute(false);
}

#[test]
fn the_same_sentence_every_minute_is_not_taken_for_a_loop() {
    a_sentence_a_minute(true);
}

#[test]
fn a_phrase_over_long_noise_ends_up_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let phrase = spoken_for(d, "p", "The codeword for this minute is now.", 5);
    let noise = d.join("noise.wav");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=r=16000:c=brown:a=0.15",
        "-t",
        "90",
        "-ac",
        "1",
        noise.to_str().unwrap(),
    ]);
    let talk = joined(d, &[phrase.clone(), noise, phrase], "loop");
    let segments = transcript(&talk, d);
    let text = shown(&segments);
    let all = text.to_lowercase();
    assert_eq!(
        all.matches("minute").count(),
        2,
        "once at each of its two times:\n{text}"
    );
    for s in &segments {
        assert!(
            s.end_ms <= 6_000 || s.start_ms >= 94_000,
            "text in the noise:\n{text}"
        );
    }
}
