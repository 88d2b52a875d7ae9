//! The local summary of a one-hour lecture (generated, three topics) with the test
//! model: `summary_s` (chapters and the whole, every request through the worker),
//! prompt and generated tokens per second, the worker's peak memory, and how far the
//! largest request came to the context. Baseline from the same run: the built-in
//! summary of the same transcript (`builtin_s`). The last line printed is JSON.
//!
//! `cargo bench -p video2doc-llm --bench summary` (`V2D_BENCH_MINUTES` sets the
//! length; `VIDEO2DOC_TEST_LLM` the model, by default Qwen2.5-Coder 0.5B Instruct).

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use video2doc_core::document::summary::local::LocalWriter;
use video2doc_core::document::summary::plan::{self, Brief, Writer};
use video2doc_core::document::summary::{self, LocalModel, Material, SummaryOptions, Template};
use video2doc_core::media::transcribe::Segment;
use video2doc_testkit::transcripts;

fn main() {
    let minutes: u64 = std::env::var("V2D_BENCH_MINUTES")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(60);
    let model = std::env::var_os("VIDEO2DOC_TEST_LLM")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/llm/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf")
        });
    assert!(
        model.is_file(),
        "{} is missing: run scripts/fetch-test-model.sh",
        model.display()
    );
    let g = transcripts::lecture(minutes, 21);
    let segments: Vec<Segment> = g
        .lines
        .iter()
        .map(|l| Segment::new(l.start_ms, l.end_ms, &l.text))
        .collect();
    let m = Material {
        segments: &segments,
        sections: &[],
        duration_ms: g.duration_ms,
        speakers: &[],
    };
    let cancel = Arc::new(AtomicBool::new(false));

    let t = Instant::now();
    let built_in = summary::write(
        &m,
        &SummaryOptions::default(),
        None,
        Some("en"),
        &cancel,
        &mut |_| {},
    )
    .unwrap();
    let builtin_s = t.elapsed().as_secs_f64();

    let local = LocalModel {
        program: PathBuf::from(env!("CARGO_BIN_EXE_video2doc-llm")),
        model: model.clone(),
        context: 8192,
        // The bench runs alone: every core.
        threads: std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
    };
    let t = Instant::now();
    let mut w = LocalWriter::start(&local, &cancel).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let brief = Brief {
        template: Template::Lecture,
        instructions: Template::Lecture.default_prompt().into(),
        language: "en".into(),
    };
    let (chapters, s) = plan::write_notes(&mut w, &m, &brief, &cancel, &mut |step| {
        eprint!("\r{:>5.1}/{} {}      ", step.done, step.total, step.what);
    })
    .unwrap();
    eprintln!();
    let summary_s = t.elapsed().as_secs_f64();
    let st = w.stats.clone();
    for c in &chapters {
        eprintln!(
            "{} - {} {}: {}",
            c.start_ms / 1000,
            c.end_ms / 1000,
            c.title,
            c.summary
        );
    }
    eprintln!("overview: {:?}\npoints: {:?}", s.overview, s.points);
    println!(
        "{}",
        json!({
            "bench": "summary",
            "model": model.file_name().unwrap().to_string_lossy(),
            "minutes": minutes,
            "words": segments.iter().map(|s| s.text.split_whitespace().count()).sum::<usize>(),
            "chapters": chapters.len(),
            "builtin_chapters": built_in.chapters.len(),
            "requests": st.requests,
            "load_s": load_s,
            "summary_s": summary_s,
            "builtin_s": builtin_s,
            "summary_vs_builtin": summary_s / builtin_s.max(1e-9),
            "prompt_tokens": st.prompt_tokens,
            "tokens": st.tokens,
            "prompt_tokens_per_s": st.prompt_tokens as f64 / (st.prompt_ms as f64 / 1000.0).max(1e-9),
            "tokens_per_s": st.tokens as f64 / (st.generate_ms as f64 / 1000.0).max(1e-9),
            "peak_rss_mb": st.peak_rss_kb.map(|k| k as f64 / 1024.0),
            "most_tokens_asked": st.most_tokens_asked,
            "context": w.context(),
        })
    );
}
