//! `summarize` with the real binary, the real local model (imported as a person would)
//! and its worker: a meeting's document gets meeting notes and every format again; the
//! built-in method needs no model; a model that cannot load leaves the built-in summary
//! with the reason; a template that does not exist is refused by name.

use std::path::{Path, PathBuf};

mod common;
use common::{run, video2doc};

/// The summary model the tests use (SmolLM2 135M Instruct: small and fast).
fn small_model() -> PathBuf {
    let p = std::env::var_os("VIDEO2DOC_TEST_LLM_SMALL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/llm/SmolLM2-135M-Instruct.Q4_1.gguf")
        });
    assert!(
        p.is_file(),
        "{} is missing: run scripts/fetch-test-model.sh",
        p.display()
    );
    p
}

/// The local model's worker sits beside the CLI once the workspace is built.
fn worker_is_built() {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_video2doc"));
    let llm = cli.with_file_name(format!("video2doc-llm{}", std::env::consts::EXE_SUFFIX));
    assert!(
        llm.is_file(),
        "{} is missing: build it (cargo build -p video2doc-llm, or test the workspace)",
        llm.display()
    );
}

/// A meeting's document as Video2Doc writes it: three speakers, a decision and two
/// action items said aloud.
fn meeting_document(dir: &Path) -> PathBuf {
    let g = video2doc_testkit::transcripts::meeting();
    let segments: Vec<serde_json::Value> = g
        .lines
        .iter()
        .map(|l| {
            serde_json::json!({
                "start_ms": l.start_ms, "end_ms": l.end_ms, "text": l.text, "speaker": l.speaker
            })
        })
        .collect();
    let doc = serde_json::json!({
        "schema": 1,
        "title": "planning",
        "source": dir.join("planning.mp4"),
        "duration_ms": g.duration_ms,
        "language": "en",
        "created": "2026-12-03T10:00:00Z",
        "model": "base",
        "summary": { "points": [], "method": "built-in", "note": null },
        "sections": [{
            "index": 1, "start_ms": 0, "end_ms": g.duration_ms, "image": null,
            "thumbnail": null, "text": g.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join(" ")
        }],
        "segments": segments,
        "speakers": [
            { "id": 1, "name": "Chair" }, { "id": 2, "name": "Bob" }, { "id": 3, "name": "Carol" }
        ],
    });
    let path = dir.join("planning.json");
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path
}

#[test]
fn a_meeting_gets_meeting_notes_from_the_local_model_in_every_format() {
    worker_is_built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let imported = run(video2doc(&data)
        .args(["models", "import"])
        .arg(small_model()));
    assert_eq!(imported["kind"], "summary", "{imported}");
    let doc = meeting_document(dir.path());
    let out = dir.path().join("out");
    let v = run(video2doc(&data)
        .arg("summarize")
        .arg(&doc)
        .arg("--out")
        .arg(&out)
        .args([
            "--method",
            "local",
            "--formats",
            "md,html,docx,pdf,srt,vtt,txt,json",
        ]));
    assert_eq!(v["summary"]["method"], "local", "{v}");
    assert_eq!(
        v["summary"]["template"], "meeting",
        "three speakers: meeting notes"
    );
    assert_eq!(v["summary"]["note"], serde_json::Value::Null);
    let written: Vec<PathBuf> = v["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect();
    assert_eq!(written.len(), 8, "{v}");
    let json = written
        .iter()
        .find(|p| p.extension().unwrap() == "json")
        .unwrap();
    let made: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_eq!(made["summary"]["method"], "local");
    let chapters = made["chapters"].as_array().expect("chapters[] in the JSON");
    assert_eq!(chapters.len(), 1, "a short meeting is one chapter");
    for c in chapters {
        assert!(c["title"].is_string() && c["start_ms"].is_u64() && c["end_ms"].is_u64());
        assert!(c["summary"].is_string());
    }
    // The lists the template asks for are lists, in the JSON and in the Markdown.
    let s = &made["summary"];
    for key in ["decisions", "action_items", "questions"] {
        assert!(s[key].is_null() || s[key].is_array(), "{key}: {s}");
    }
    let md = std::fs::read_to_string(
        written
            .iter()
            .find(|p| p.extension().unwrap() == "md")
            .unwrap(),
    )
    .unwrap();
    assert!(md.contains("## Summary"), "{md}");
    // The same document, again: it is the library's one entry, not a second copy.
    let again = run(video2doc(&data)
        .arg("summarize")
        .arg(&doc)
        .arg("--out")
        .arg(&out)
        .args(["--method", "builtin", "--template", "lecture"]));
    assert_eq!(again["summary"]["method"], "built-in");
    assert_eq!(again["summary"]["template"], "lecture");
    assert_eq!(again["id"], v["id"]);
}

#[test]
fn a_model_that_cannot_load_leaves_the_built_in_summary_with_the_reason() {
    worker_is_built();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A GGUF file cut short after its header: imported (the header reads), not loadable.
    let whole = std::fs::read(small_model()).unwrap();
    let cut = dir.path().join("cut-short.gguf");
    std::fs::write(&cut, &whole[..4 << 20]).unwrap();
    run(video2doc(&data).args(["models", "import"]).arg(&cut));
    let doc = meeting_document(dir.path());
    let v = run(video2doc(&data)
        .arg("summarize")
        .arg(&doc)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--method", "local"]));
    assert_eq!(v["summary"]["method"], "built-in");
    let note = v["summary"]["note"].as_str().unwrap();
    assert!(
        note.contains("cut-short.gguf") && note.contains("built-in summary"),
        "{note}"
    );
    let json = PathBuf::from(
        v["written"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .find(|p| p.ends_with(".json"))
            .unwrap(),
    );
    let made: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_eq!(made["summary"]["note"], note, "the document says why");
}

#[test]
fn an_unknown_template_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let doc = meeting_document(dir.path());
    let out = video2doc(&dir.path().join("data"))
        .arg("summarize")
        .arg(&doc)
        .arg("--out")
        .arg(dir.path().join("out"))
        .args(["--template", "minutes"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("\"minutes\"") && err.contains("lecture, meeting, abstract"),
        "{err}"
    );
}
