//! Chapters and summaries without a model: a two-hour generated lecture that changes
//! topic twice gets its chapters at the changes, each titled by its own words; a local
//! model that crashes, or is not there, leaves the built-in summary with the reason.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use video2doc_core::document::chapters;
use video2doc_core::document::summary::{self, LocalModel, Material, Method, SummaryOptions};
use video2doc_core::media::transcribe::Segment;
use video2doc_testkit::transcripts;

fn segments(g: &transcripts::Generated) -> Vec<Segment> {
    g.lines
        .iter()
        .map(|l| Segment {
            speaker: l.speaker,
            ..Segment::new(l.start_ms, l.end_ms, &l.text)
        })
        .collect()
}

#[test]
fn a_two_hour_lecture_gets_chapters_at_its_topic_changes() {
    let g = transcripts::lecture(120, 11);
    let segs = segments(&g);
    let spans = chapters::spans(&[], &segs, g.duration_ms);
    let starts: Vec<u64> = spans.iter().skip(1).map(|s| s.start_ms).collect();
    assert_eq!(
        starts.len(),
        g.topic_starts_ms.len(),
        "chapters start at {starts:?}, topics at {:?}",
        g.topic_starts_ms
    );
    for (found, truth) in starts.iter().zip(&g.topic_starts_ms) {
        assert!(
            found.abs_diff(*truth) <= 60_000,
            "a chapter starts at {found} ms, the topic at {truth} ms"
        );
    }
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &[],
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let n = summary::write(
        &m,
        &SummaryOptions::default(),
        None,
        Some("en"),
        &cancel,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(n.summary.method, "built-in");
    assert!(n.summary.note.is_none(), "built-in by choice says nothing");
    assert_eq!(n.chapters.len(), 3);
    let titles: Vec<String> = n.chapters.iter().map(|c| c.title.to_lowercase()).collect();
    let topics = [
        [
            "photosynthesis",
            "chlorophyll",
            "glucose",
            "leaf",
            "sunlight",
            "oxygen",
            "chloroplast",
            "calvin",
            "thylakoid",
            "stomata",
            "atp",
            "rubisco",
            "water",
            "plant",
            "light",
            "carbon",
            "dioxide",
            "energy",
            "enzyme",
        ]
        .as_slice(),
        [
            "roman", "senate", "caesar", "legion", "republic", "consul", "augustus", "empire",
            "carthage", "aqueduct", "forum", "tribune", "cicero", "province", "pompey", "civil",
            "war", "emperor", "julius",
        ]
        .as_slice(),
        [
            "neural",
            "network",
            "gradient",
            "descent",
            "training",
            "loss",
            "function",
            "backpropagation",
            "learning",
            "rate",
            "overfitting",
            "model",
            "weights",
            "regularization",
            "validation",
            "optimizer",
            "transformer",
            "embedding",
            "batch",
            "attention",
            "set",
        ]
        .as_slice(),
    ];
    for (title, words) in titles.iter().zip(topics) {
        assert!(
            words.iter().any(|w| title.contains(w)),
            "{title:?} is not about its topic"
        );
    }
    for c in &n.chapters {
        assert!(!c.summary.is_empty() && c.end_ms > c.start_ms);
    }
    assert_eq!(n.chapters[0].start_ms, 0);
    assert_eq!(n.chapters[2].end_ms, g.duration_ms);
}

#[test]
fn a_crashing_local_model_leaves_the_built_in_summary_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    // A worker that dies of a segmentation fault once it has read its first line.
    let worker = dir.path().join("crashing-llm");
    std::fs::write(
        &worker,
        "#!/bin/sh\nread line\necho 'GGML_ASSERT failed' >&2\nkill -SEGV $$\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&worker, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let model = dir.path().join("model.gguf");
    std::fs::write(&model, b"GGUF").unwrap();
    let g = transcripts::meeting();
    let segs = segments(&g);
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &[],
    };
    let opts = SummaryOptions {
        method: Method::Local,
        local: Some(LocalModel {
            program: worker.clone(),
            model,
            context: 4096,
            threads: 1,
        }),
        ..SummaryOptions::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let n = summary::write(&m, &opts, None, Some("en"), &cancel, &mut |_| {}).unwrap();
    assert_eq!(n.summary.method, "built-in");
    let note = n.summary.note.unwrap();
    assert!(
        note.starts_with("The local model could not write the summary"),
        "{note}"
    );
    assert!(
        note.contains("GGML_ASSERT failed") && note.contains("signal"),
        "{note}"
    );
    assert!(!n.summary.points.is_empty() && !n.chapters.is_empty());
}
