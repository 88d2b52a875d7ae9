//! Chinese end to end with the multilingual test model and real Mandarin speech
//! (recorded syllables): the keywords are heard, every format is free of U+FFFD (the
//! mark of a character cut between tokens), and a recording that switches from English
//! to Chinese keeps both languages, each segment saying which it is in.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use video2doc_core::document::export::Format;
use video2doc_core::media::chunks::ChunkPlan;
use video2doc_core::pipeline::{process, StageOptions};

mod common;
use common::{
    ffmpeg, mandarin_wav, multilingual_model, schema_errors, speech_wav, text_of, worker_command,
    Quiet, MANDARIN,
};

/// The app's settings with the multilingual model and no language given (detected).
fn settings() -> StageOptions {
    let mut s = StageOptions::new(multilingual_model());
    s.formats = Format::ALL.to_vec();
    s.transcribe.language = None;
    s.transcribe.threads = 2;
    s
}

#[test]
fn chinese_speech_is_heard_and_no_format_has_a_broken_character() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("zh.wav");
    mandarin_wav(&wav, MANDARIN);
    let video = dir.path().join("讲座.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "color=c=white:s=320x240:d=15:r=5",
        "-i",
        wav.to_str().unwrap(),
        "-af",
        "apad",
        "-t",
        "15",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        video.to_str().unwrap(),
    ]);
    let out = process(
        &video,
        &dir.path().join("out"),
        &dir.path().join("work"),
        &settings(),
        &worker_command(),
        &Arc::new(AtomicBool::new(false)),
        &Quiet,
    )
    .unwrap();
    assert_eq!(out.language.as_deref(), Some("zh"));
    assert_eq!(out.files.len(), Format::ALL.len());
    for (format, path) in &out.files {
        let text = text_of(*format, path);
        assert!(
            !text.contains('\u{FFFD}'),
            "{format:?} has a broken character: {text}"
        );
        for keyword in ["北京", "人工智能"] {
            assert!(text.contains(keyword), "{format:?} lacks {keyword}: {text}");
        }
        // In simplified characters (the default): 学习, not 學習.
        assert!(
            text.contains("学习") && !text.contains("學習"),
            "{format:?}: {text}"
        );
    }
    // Subtitles: cues of at most two lines of ~21 Chinese characters, none overlapping.
    let srt = text_of(Format::Srt, &out.files[&Format::Srt]);
    let mut last_end = String::new();
    for cue in srt.split("\n\n").filter(|c| !c.trim().is_empty()) {
        let lines: Vec<&str> = cue.lines().collect();
        let (start, end) = lines[1].split_once(" --> ").unwrap();
        assert!(start >= last_end.as_str(), "overlap in {srt}");
        last_end = end.to_string();
        assert!(lines.len() - 2 <= 2, "{cue}");
        for l in &lines[2..] {
            assert!(
                l.chars().count() <= 21 && !l.contains(' '),
                "{l:?} in {srt}"
            );
        }
    }
    eprintln!("{srt}");
    let json: serde_json::Value =
        serde_json::from_str(&text_of(Format::Json, &out.files[&Format::Json])).unwrap();
    let languages: Vec<&str> = json["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["language"].as_str().unwrap_or("none"))
        .collect();
    assert!(languages.iter().all(|l| *l == "zh"), "{languages:?}");
    let errors = schema_errors(&json);
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn english_then_chinese_is_transcribed_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let english = speech_wav(
        dir.path(),
        "Good morning everyone. Today we talk about photosynthesis and chlorophyll. \
         Plants turn sunlight into sugar in their leaves. After this part of the lecture \
         my colleague continues in Chinese.",
        "en-us",
        150,
    );
    let chinese = dir.path().join("zh.wav");
    mandarin_wav(&chinese, MANDARIN);
    let both = dir.path().join("bilingual.wav");
    ffmpeg(&[
        "-i",
        english.to_str().unwrap(),
        "-f",
        "lavfi",
        "-t",
        "3",
        "-i",
        "anullsrc=r=16000:cl=mono",
        "-i",
        chinese.to_str().unwrap(),
        "-filter_complex",
        "[0:a]aresample=16000,aformat=channel_layouts=mono[a];[2:a]aresample=16000,aformat=channel_layouts=mono[c];[a][1:a][c]concat=n=3:v=0:a=1",
        "-ar",
        "16000",
        both.to_str().unwrap(),
    ]);
    // Chunks shorter than the app's 10 minutes, so that this short recording has a
    // chunk of each language; each chunk detects its own.
    let mut s = settings();
    s.chunks = ChunkPlan {
        chunk_s: 20,
        overlap_s: 5,
    };
    let out = process(
        &both,
        &dir.path().join("out"),
        &dir.path().join("work"),
        &s,
        &worker_command(),
        &Arc::new(AtomicBool::new(false)),
        &Quiet,
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&text_of(Format::Json, &out.files[&Format::Json])).unwrap();
    let segments = json["segments"].as_array().unwrap();
    let said_in = |lang: &str| -> String {
        segments
            .iter()
            .filter(|s| s["language"] == lang)
            .map(|s| s["text"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let en = said_in("en").to_lowercase();
    let zh = said_in("zh");
    assert!(
        en.contains("photosynthesis"),
        "English: {en:?} in {segments:#?}"
    );
    assert!(zh.contains("北京"), "Chinese: {zh:?} in {segments:#?}");
    for (format, path) in &out.files {
        assert!(!text_of(*format, path).contains('\u{FFFD}'), "{format:?}");
    }
}
