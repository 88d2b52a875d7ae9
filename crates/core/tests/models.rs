//! Model downloads over real HTTP on loopback (a server that honours Range and can
//! drop the connection mid-file), checksum checks, and ggml import.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use sha1::{Digest, Sha1};
use video2doc_core::models::catalogue::{
    download, ggml_info, import_ggml, CatalogueEntry, ModelError,
};

/// Serves `body` to every request, honouring `Range: bytes=N-`; the first
/// `drop_first` responses stop after half the bytes. Returns the URL and the ranges asked.
fn server(body: Arc<Vec<u8>>, drop_first: usize) -> (String, Arc<std::sync::Mutex<Vec<u64>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/ggml-test.bin", listener.local_addr().unwrap());
    let ranges = Arc::new(std::sync::Mutex::new(Vec::new()));
    let r = ranges.clone();
    let served = Arc::new(AtomicUsize::new(0));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut from = 0u64;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    from = v.trim().trim_end_matches('-').parse().unwrap();
                }
            }
            r.lock().unwrap().push(from);
            let n = served.fetch_add(1, Ordering::SeqCst);
            let rest = &body[from as usize..];
            let head = if from > 0 {
                format!(
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {from}-{}/{}\r\nConnection: close\r\n\r\n",
                    rest.len(),
                    body.len() - 1,
                    body.len()
                )
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    rest.len()
                )
            };
            let _ = stream.write_all(head.as_bytes());
            let cut = if n < drop_first {
                rest.len() / 2
            } else {
                rest.len()
            };
            let _ = stream.write_all(&rest[..cut]);
        }
    });
    (url, ranges)
}

fn entry(url: String, body: &[u8]) -> CatalogueEntry {
    CatalogueEntry {
        name: "test".into(),
        size_mib: 3,
        sha1: format!("{:x}", Sha1::digest(body)),
        url,
        multilingual: false,
    }
}

fn body() -> Arc<Vec<u8>> {
    Arc::new(
        (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect(),
    )
}

#[test]
fn an_interrupted_download_resumes_and_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    let b = body();
    let (url, ranges) = server(b.clone(), 1);
    let e = entry(url, &b);
    let cancel = AtomicBool::new(false);
    let first = download(&e, dir.path(), &cancel, |_, _| {}).unwrap_err();
    assert!(matches!(first, ModelError::Download { .. }), "{first}");
    assert!(first.to_string().contains("resume"), "{first}");
    let part = dir.path().join("ggml-test.bin.part");
    assert_eq!(std::fs::metadata(&part).unwrap().len(), 1_500_000);
    let mut seen = Vec::new();
    let path = download(&e, dir.path(), &cancel, |d, t| seen.push((d, t))).unwrap();
    assert_eq!(
        *ranges.lock().unwrap(),
        vec![0, 1_500_000],
        "the second request resumed"
    );
    assert_eq!(std::fs::read(&path).unwrap(), *b);
    assert_eq!(seen.first().unwrap().0, 1_500_000);
    assert_eq!(seen.last().unwrap(), &(3_000_000, Some(3_000_000)));
    assert!(!part.exists());
}

#[test]
fn a_damaged_download_is_rejected_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let b = body();
    let (url, _) = server(b.clone(), 0);
    let mut e = entry(url, &b);
    e.sha1 = "0".repeat(40);
    let err = download(&e, dir.path(), &AtomicBool::new(false), |_, _| {}).unwrap_err();
    assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
    assert!(err.to_string().contains("damaged"));
    assert!(!dir.path().join("ggml-test.bin").exists());
    assert!(!dir.path().join("ggml-test.bin.part").exists());
}

#[test]
fn a_real_ggml_file_imports_and_other_files_do_not() {
    let model = std::env::var_os("VIDEO2DOC_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/ggml-tiny.en-test.bin")
        });
    let info = ggml_info(&model).unwrap();
    assert_eq!(
        (info.n_vocab, info.n_audio_layer, info.n_mels),
        (51864, 4, 80)
    );
    assert!(!info.multilingual);
    let dir = tempfile::tempdir().unwrap();
    let dest = import_ggml(&model, dir.path(), "tiny.en").unwrap();
    assert_eq!(dest.file_name().unwrap(), "ggml-tiny.en.bin");
    let notes = dir.path().join("notes.bin");
    std::fs::write(&notes, "these are not weights, just some text in a file").unwrap();
    let e = import_ggml(&notes, dir.path(), "x").unwrap_err();
    assert!(
        e.to_string().contains("notes.bin") && e.to_string().contains("not a ggml"),
        "{e}"
    );
}
