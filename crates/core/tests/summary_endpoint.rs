//! The summary endpoint over real HTTP on loopback: a server that answers like an
//! OpenAI-compatible chat endpoint, and one that is too slow.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use video2doc_core::document::summary::{summarize, Endpoint};

/// Serves one request; returns the request body through the join handle.
fn serve_once(reply: &'static str, delay: Duration) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", listener.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut len = 0;
        let mut head = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
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
        std::thread::sleep(delay);
        let mut stream = stream;
        let _ = write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        );
        head + &String::from_utf8(body).unwrap()
    });
    (url, h)
}

fn endpoint(url: String, timeout_s: u64) -> Endpoint {
    serde_json::from_value(serde_json::json!({
        "base_url": url, "model": "llama3.2", "api_key": "secret", "timeout_s": timeout_s
    }))
    .unwrap()
}

#[test]
fn an_answering_endpoint_writes_the_summary() {
    let (url, h) = serve_once(
        r#"{"choices":[{"message":{"role":"assistant","content":"- Plants make sugar\n- Light is energy\n"}}]}"#,
        Duration::ZERO,
    );
    let s = summarize("Plants make sugar from light.", Some(&endpoint(url, 10)));
    let request = h.join().unwrap();
    assert!(
        request.starts_with("POST /v1/chat/completions"),
        "{request}"
    );
    assert!(request.contains("Bearer secret"));
    assert!(request.contains("Plants make sugar from light."));
    assert_eq!(s.points, vec!["Plants make sugar", "Light is energy"]);
    assert_eq!(s.method, "llama3.2");
    assert!(s.note.is_none());
}

#[test]
fn a_slow_endpoint_falls_back_to_the_built_in_summary() {
    let (url, _h) = serve_once(r#"{"choices":[]}"#, Duration::from_secs(4));
    let s = summarize(
        "Plants make sugar from light. Light is energy. Sugar is food for the plant.",
        Some(&endpoint(url, 1)),
    );
    assert_eq!(s.method, "built-in");
    assert!(
        s.note
            .as_deref()
            .unwrap()
            .contains("did not answer in time"),
        "{:?}",
        s.note
    );
    assert!(!s.points.is_empty());
}
