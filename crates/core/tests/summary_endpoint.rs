//! The summary endpoint over real HTTP on loopback: a server that answers like an
//! OpenAI-compatible chat endpoint (each chapter, then the whole), one that answers
//! with prose instead of the JSON asked for, and one that is too slow.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use video2doc_core::document::summary::{self, Endpoint, Material, SummaryOptions};
use video2doc_core::media::transcribe::Segment;

/// Serves requests until the test ends, answering each with `reply(body)`; the request
/// heads and bodies are kept.
fn serve(reply: fn(&str) -> String, delay: Duration) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let kept = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                if line.to_ascii_lowercase().starts_with("content-length:") {
                    len = line[15..].trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" {
                    break;
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8(body).unwrap();
            std::thread::sleep(delay);
            let content = reply(&body);
            let answer = serde_json::json!({
                "choices": [{ "message": { "role": "assistant", "content": content } }]
            })
            .to_string();
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            kept.lock().unwrap().push(head + &body);
        }
    });
    (url, seen)
}

fn endpoint(url: String, timeout_s: u64) -> Endpoint {
    serde_json::from_value(serde_json::json!({
        "base_url": url, "model": "llama3.2", "api_key": "secret", "timeout_s": timeout_s
    }))
    .unwrap()
}

fn segments(text: &str) -> Vec<Segment> {
    summary::sentences(text)
        .into_iter()
        .enumerate()
        .map(|(i, t)| Segment {
            start_ms: i as u64 * 4_000,
            end_ms: i as u64 * 4_000 + 3_500,
            text: t,
            words: Vec::new(),
            language: None,
            speaker: None,
        })
        .collect()
}

fn notes(ep: &Endpoint, text: &str) -> summary::Notes {
    let segs = segments(text);
    let m = Material {
        segments: &segs,
        sections: &[],
        duration_ms: segs.len() as u64 * 4_000,
        speakers: &[],
    };
    let cancel = Arc::new(AtomicBool::new(false));
    summary::write(
        &m,
        &SummaryOptions::default(),
        Some(ep),
        Some("en"),
        &cancel,
        &mut |_| {},
    )
    .unwrap()
}

#[test]
fn an_answering_endpoint_writes_the_chapters_and_the_summary() {
    fn reply(body: &str) -> String {
        if body.contains("notes of the whole recording") {
            r#"{"abstract": "A talk on how plants make sugar.", "points": ["Plants make sugar", "Light is energy"]}"#.into()
        } else {
            r#"Here you are: {"title": "Sugar from light", "summary": "Plants turn light into sugar.", "points": ["Light is energy"], "terms": [{"term": "photosynthesis", "definition": "making sugar from light"}]}"#.into()
        }
    }
    let (url, seen) = serve(reply, Duration::ZERO);
    let n = notes(
        &endpoint(url, 10),
        "Plants make sugar from light. Light is energy.",
    );
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "a chapter, then the whole");
    assert!(
        requests[0].starts_with("POST /v1/chat/completions"),
        "{}",
        requests[0]
    );
    assert!(requests[0].contains("Bearer secret"));
    assert!(requests[0].contains("Plants make sugar from light."));
    assert!(
        requests[1].contains("Sugar from light"),
        "the whole is written from the chapters' notes"
    );
    assert_eq!(n.summary.method, "endpoint");
    assert_eq!(n.summary.model.as_deref(), Some("llama3.2"));
    assert_eq!(
        n.summary.points,
        vec!["Plants make sugar", "Light is energy"]
    );
    assert_eq!(
        n.summary.overview.as_deref(),
        Some("A talk on how plants make sugar.")
    );
    assert_eq!(n.summary.terms[0].term, "photosynthesis");
    assert!(n.summary.note.is_none());
    assert_eq!(n.chapters.len(), 1);
    assert_eq!(n.chapters[0].title, "Sugar from light");
    assert_eq!(n.chapters[0].summary, "Plants turn light into sugar.");
}

#[test]
fn prose_instead_of_json_falls_back_and_says_so() {
    let (url, _seen) = serve(|_| "Plants make sugar. That is all.".into(), Duration::ZERO);
    let n = notes(
        &endpoint(url, 10),
        "Plants make sugar from light. Light is energy. Sugar is food.",
    );
    assert_eq!(n.summary.method, "built-in");
    let note = n.summary.note.unwrap();
    assert!(
        note.contains("not the JSON asked for") && note.contains("built-in"),
        "{note}"
    );
    assert!(!n.summary.points.is_empty());
}

#[test]
fn a_slow_endpoint_falls_back_to_the_built_in_summary() {
    let (url, _seen) = serve(|_| String::new(), Duration::from_secs(4));
    let n = notes(
        &endpoint(url, 1),
        "Plants make sugar from light. Light is energy. Sugar is food for the plant.",
    );
    assert_eq!(n.summary.method, "built-in");
    let note = n.summary.note.unwrap();
    assert!(note.contains("did not answer in time"), "{note}");
    assert!(!n.summary.points.is_empty());
}
