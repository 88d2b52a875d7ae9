//! Speakers end to end with the real test models (pyannote segmentation-3.0 and the
//! d-vector encoder): generated meetings of two, three and four espeak-ng voices, with
//! pauses and overlapping speech, told apart with the diarization error rate measured
//! and the right number of speakers found; one voice found as one speaker, its documents
//! unlabelled; and a meeting through the whole pipeline, labelled in every format, with
//! each sentence given to the voice that said it.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use video2doc_core::document::export::Format;
use video2doc_core::media::process::extract_audio;
use video2doc_core::media::speakers::{Diarization, Diarizer, SpeakerCount, SpeakerModels};
use video2doc_core::media::transcribe::Segment;
use video2doc_core::pipeline::{process, StageOptions};
use video2doc_testkit::meetings::{der, meeting, Meeting};

mod common;
use common::{model, schema_errors, text_of, worker_command};

fn models() -> SpeakerModels {
    let (segmentation, voiceprint) = video2doc_testkit::speaker_models();
    SpeakerModels {
        segmentation,
        voiceprint,
    }
}

fn pcm_of(dir: &Path, m: &Meeting) -> PathBuf {
    let pcm = dir.join("meeting.f32");
    extract_audio(&m.wav, &pcm, &AtomicBool::new(false), |_| {}).unwrap();
    pcm
}

fn diarize(dir: &Path, m: &Meeting, count: SpeakerCount) -> Diarization {
    let d = Diarizer::load(&models(), 2).unwrap();
    d.run(&pcm_of(dir, m), count, &AtomicBool::new(false), &mut |_| {})
        .unwrap()
}

fn hyp(d: &Diarization) -> Vec<(u64, u64, u32)> {
    d.turns
        .iter()
        .map(|t| (t.start_ms, t.end_ms, t.speaker))
        .collect()
}

#[test]
fn meetings_of_two_three_and_four_voices_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for voices in [2usize, 3, 4] {
        let m = meeting(dir.path(), &format!("m{voices}"), voices, 14, voices as u64);
        let auto = diarize(dir.path(), &m, SpeakerCount::Auto);
        let e = der(&m.turns, &hyp(&auto));
        let given = diarize(dir.path(), &m, SpeakerCount::Exactly(voices as u32));
        let e_given = der(&m.turns, &hyp(&given));
        report.push(format!(
            "{voices} voices, {:.0} s: {} found, DER {e:.3} (given the number: {e_given:.3})",
            m.duration_ms as f64 / 1000.0,
            auto.voices.len()
        ));
        assert_eq!(auto.voices.len(), voices, "{report:?}\n{auto:?}");
        assert_eq!(given.voices.len(), voices, "{report:?}");
        assert!(e <= 0.15, "{report:?}");
        assert!(e_given <= 0.15, "{report:?}");
        // Numbered in the order they first speak; every turn names a listed voice.
        assert_eq!(auto.turns[0].speaker, 1);
        assert!(auto
            .turns
            .iter()
            .all(|t| auto.voices.iter().any(|v| v.id == t.speaker)));
    }
    eprintln!("{}", report.join("\n"));
}

#[test]
fn one_voice_is_one_speaker() {
    let dir = tempfile::tempdir().unwrap();
    let m = meeting(dir.path(), "alone", 1, 6, 9);
    let d = diarize(dir.path(), &m, SpeakerCount::Auto);
    assert_eq!(d.voices.len(), 1, "{d:?}");
    let e = der(&m.turns, &hyp(&d));
    assert!(e <= 0.15, "DER {e:.3}");
}

#[test]
fn a_cancelled_diarization_stops() {
    let dir = tempfile::tempdir().unwrap();
    let m = meeting(dir.path(), "short", 2, 3, 1);
    let d = Diarizer::load(&models(), 1).unwrap();
    let r = d.run(
        &pcm_of(dir.path(), &m),
        SpeakerCount::Auto,
        &AtomicBool::new(true),
        &mut |_| {},
    );
    assert!(matches!(
        r,
        Err(video2doc_core::media::speakers::SpeakerError::Cancelled)
    ));
}

/// The meeting through the whole pipeline: its documents and JSON segments.
fn documents(
    m: &Meeting,
    root: &Path,
    count: SpeakerCount,
) -> (
    video2doc_core::pipeline::Outputs,
    Vec<Segment>,
    serde_json::Value,
) {
    let mut settings = StageOptions::new(model());
    settings.formats = Format::ALL.to_vec();
    settings.transcribe.threads = 2;
    settings.speakers = count;
    settings.speaker_models = Some(models());
    let out = process(
        &m.wav,
        &root.join("out"),
        &root.join("work"),
        &settings,
        &worker_command(),
        &Arc::new(AtomicBool::new(false)),
        &|_: &str, _: f32, _: &str| {},
    )
    .unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&text_of(Format::Json, &out.files[&Format::Json])).unwrap();
    let problems = schema_errors(&json);
    assert!(problems.is_empty(), "{problems:?}");
    let segments = serde_json::from_value(json["segments"].clone()).unwrap();
    (out, segments, json)
}

#[test]
fn a_meeting_is_labelled_in_every_format_and_each_sentence_goes_to_its_voice() {
    let dir = tempfile::tempdir().unwrap();
    let m = meeting(dir.path(), "standup", 2, 8, 5);
    let (out, segments, json) = documents(&m, dir.path(), SpeakerCount::Auto);
    assert_eq!(json["speakers"].as_array().unwrap().len(), 2, "{json}");
    assert_eq!(json["speakers"][0]["name"], "Speaker 1");
    // Each reference turn: the words heard during it mostly belong to one speaker, and
    // turns of the same voice to the same speaker, of different voices to different.
    let mut voice_speaker: Vec<Option<u32>> = vec![None; 2];
    for t in &m.turns {
        let mut votes = std::collections::BTreeMap::<u32, usize>::new();
        for s in &segments {
            for w in &s.words {
                let mid = (w.start_ms + w.end_ms) / 2;
                if mid > t.start_ms + 300 && mid + 300 < t.end_ms {
                    *votes
                        .entry(s.speaker.expect("every word has a speaker"))
                        .or_default() += 1;
                }
            }
        }
        let total: usize = votes.values().sum();
        let Some((&who, &n)) = votes.iter().max_by_key(|(_, n)| **n) else {
            continue;
        };
        assert!(n * 10 >= total * 8, "turn {t:?}: {votes:?}");
        match voice_speaker[t.voice] {
            None => voice_speaker[t.voice] = Some(who),
            Some(s) => assert_eq!(s, who, "voice {} spoke as two speakers", t.voice),
        }
    }
    assert_ne!(voice_speaker[0], voice_speaker[1]);
    // Every format names the speakers.
    for f in Format::ALL {
        let text = text_of(f, &out.files[&f]);
        let want = match f {
            Format::Vtt => "<v Speaker 1>",
            Format::Json => "\"speaker\": 1",
            _ => "Speaker 1:",
        };
        assert!(text.contains(want), "{f:?} has no {want:?}:\n{text}");
        assert!(text.contains("Speaker 2"), "{f:?} names one speaker only");
    }
    // A subtitle cue never holds two speakers.
    let vtt = text_of(Format::Vtt, &out.files[&Format::Vtt]);
    for cue in vtt.split("\n\n").filter(|c| c.contains("-->")) {
        assert!(cue.matches("<v ").count() == 1, "{cue}");
    }
}

#[test]
fn one_voice_gets_no_labels_and_off_lists_no_speakers() {
    let dir = tempfile::tempdir().unwrap();
    let m = meeting(dir.path(), "monologue", 1, 4, 3);
    let (out, _, json) = documents(&m, &dir.path().join("auto"), SpeakerCount::Auto);
    assert_eq!(json["speakers"].as_array().map(Vec::len), Some(1));
    for f in [
        Format::Md,
        Format::Txt,
        Format::Srt,
        Format::Vtt,
        Format::Html,
    ] {
        let text = text_of(f, &out.files[&f]);
        assert!(!text.contains("Speaker 1"), "{f:?}:\n{text}");
    }
    let (_, segments, json) = documents(&m, &dir.path().join("off"), SpeakerCount::Off);
    assert!(json.get("speakers").is_none(), "{json}");
    assert!(segments.iter().all(|s| s.speaker.is_none()));
}
