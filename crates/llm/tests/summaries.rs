//! Summaries written by the real local model (the test GGUF models, run by this crate's
//! worker): a two-hour lecture in chapters within the model's context, meeting notes
//! with decisions and action items as lists, Chinese notes from a Chinese lecture, and
//! English notes from it when English is chosen.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use video2doc_core::document::summary::local::LocalWriter;
use video2doc_core::document::summary::plan::{self, Brief, Writer};
use video2doc_core::document::summary::{
    self, LocalModel, Material, Method, SummaryOptions, Template,
};
use video2doc_core::document::{is_cjk, Speaker};
use video2doc_core::media::transcribe::Segment;
use video2doc_testkit::transcripts;

/// One model at a time: each test's worker takes the machine's cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn model(var: &str, file: &str) -> PathBuf {
    let p = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(std::env::var("HOME").unwrap())
            .join(".cache/video2doc/models/llm")
            .join(file)
    });
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fetch-test-model.sh",
        p.display()
    );
    p
}

/// Qwen2.5-Coder 0.5B Instruct: Chinese and English.
fn qwen() -> PathBuf {
    model(
        "VIDEO2DOC_TEST_LLM",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    )
}

/// SmolLM2 135M Instruct: English, fast.
fn smol() -> PathBuf {
    model(
        "VIDEO2DOC_TEST_LLM_SMALL",
        "SmolLM2-135M-Instruct.Q4_1.gguf",
    )
}

fn local(model: PathBuf, context: u32) -> LocalModel {
    LocalModel {
        program: PathBuf::from(env!("CARGO_BIN_EXE_video2doc-llm")),
        model,
        context,
        // The test runs alone (one model at a time): both cores.
        threads: 2,
    }
}

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
fn a_two_hour_lecture_is_summarised_chapter_by_chapter_within_the_context() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let g = transcripts::lecture(120, 5);
    let segs = segments(&g);
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &[],
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let mut w = LocalWriter::start(&local(smol(), 4096), &cancel).unwrap();
    let brief = Brief {
        template: Template::Lecture,
        instructions: Template::Lecture.default_prompt().into(),
        language: "en".into(),
    };
    let mut steps = Vec::new();
    let (chapters, s) =
        plan::write_notes(&mut w, &m, &brief, &cancel, &mut |s| steps.push(s)).unwrap();
    assert_eq!(chapters.len(), 3, "{chapters:#?}");
    for (c, truth) in chapters.iter().skip(1).zip(&g.topic_starts_ms) {
        assert!(
            c.start_ms.abs_diff(*truth) <= 60_000,
            "{} vs {truth}",
            c.start_ms
        );
    }
    for c in &chapters {
        assert!(!c.title.trim().is_empty(), "every chapter is titled: {c:?}");
        assert!(
            !c.summary.trim().is_empty() || !c.points.is_empty(),
            "every chapter is summarised: {c:?}"
        );
    }
    assert!(
        s.overview.is_some() || !s.points.is_empty(),
        "the whole is summarised: {s:?}"
    );
    // The transcript is some 20,000 words: it went through in many requests, none over
    // the context.
    let stats = w.stats.clone();
    assert!(stats.prompt_tokens > 20_000, "{stats:?}");
    assert!(stats.requests > 6, "{stats:?}");
    assert!(stats.most_tokens_asked <= w.context(), "{stats:?}");
    // Memory stays that of the model and its context, whatever the length.
    let peak = stats.peak_rss_kb.expect("Linux tells the peak");
    assert!(peak < 1_000_000, "peak {peak} kB");
    for i in 1..=3 {
        let what = format!("chapter {i} of 3");
        assert!(
            steps.iter().any(|s| s.what.starts_with(&what)),
            "progress names {what}"
        );
    }
    assert!(
        steps.windows(2).all(|p| p[1].done >= p[0].done - 1e-3),
        "progress never goes back"
    );
}

#[test]
fn meeting_notes_list_decisions_and_action_items() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let g = transcripts::meeting();
    let segs = segments(&g);
    let speakers: Vec<Speaker> = ["Chair", "Bob", "Carol"]
        .iter()
        .enumerate()
        .map(|(i, n)| Speaker {
            id: i as u32 + 1,
            name: n.to_string(),
            speech_ms: 10_000,
        })
        .collect();
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &speakers,
    };
    let opts = SummaryOptions {
        method: Method::Local,
        local: Some(local(qwen(), 4096)),
        ..SummaryOptions::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let n = summary::write(&m, &opts, None, Some("en"), &cancel, &mut |_| {}).unwrap();
    assert_eq!(n.summary.note, None);
    assert_eq!(n.summary.method, "local");
    assert_eq!(
        n.summary.template,
        Some(Template::Meeting),
        "several speakers: meeting notes"
    );
    assert!(
        !n.summary.decisions.is_empty() || !n.summary.action_items.is_empty(),
        "{:#?}",
        n.summary
    );
    for a in &n.summary.action_items {
        assert!(!a.task.trim().is_empty());
    }
    let json = serde_json::to_value(&n.summary).unwrap();
    assert!(json["decisions"].is_array() || json["action_items"].is_array());
}

#[test]
fn a_chinese_lecture_gets_chinese_notes_and_english_when_chosen() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let g = transcripts::chinese_lecture();
    let segs = segments(&g);
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &[],
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let mut opts = SummaryOptions {
        method: Method::Local,
        local: Some(local(qwen(), 4096)),
        ..SummaryOptions::default()
    };
    let n = summary::write(&m, &opts, None, Some("zh"), &cancel, &mut |_| {}).unwrap();
    assert_eq!(n.summary.note, None);
    assert_eq!(n.summary.language.as_deref(), Some("zh"));
    let written: String = n
        .summary
        .overview
        .iter()
        .chain(&n.summary.points)
        .chain(n.chapters.iter().map(|c| &c.summary))
        .cloned()
        .collect();
    let cjk = written.chars().filter(|c| is_cjk(*c)).count();
    assert!(
        cjk * 2 > written.chars().filter(|c| c.is_alphanumeric()).count(),
        "mostly Chinese: {written}"
    );
    opts.language = Some("en".into());
    let n = summary::write(&m, &opts, None, Some("zh"), &cancel, &mut |_| {}).unwrap();
    assert_eq!(n.summary.language.as_deref(), Some("en"));
    let written: String = n
        .summary
        .overview
        .iter()
        .chain(&n.summary.points)
        .cloned()
        .collect();
    let latin = written.chars().filter(|c| c.is_ascii_alphabetic()).count();
    assert!(
        latin * 2 > written.chars().filter(|c| c.is_alphanumeric()).count(),
        "mostly English: {written}"
    );
}

#[test]
fn a_cancel_stops_the_model_at_once() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let g = transcripts::lecture(30, 3);
    let segs = segments(&g);
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &[],
    };
    let opts = SummaryOptions {
        method: Method::Local,
        local: Some(local(qwen(), 4096)),
        ..SummaryOptions::default()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let c = cancel.clone();
    let r = summary::write(&m, &opts, None, Some("en"), &cancel, &mut |s| {
        if s.done > 0.0 {
            c.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    });
    assert!(matches!(r, Err(summary::WriteError::Cancelled)), "{r:?}");
}
