//! The app's HTTP client against HTTPS servers on loopback whose certificate authority
//! this test makes (rcgen) and the client trusts the way the system's store is read
//! (`SSL_CERT_FILE`): model downloads complete, resumed after a dropped connection, a
//! stall and a crash, through a redirect to another host and through a proxy;
//! refused with a clear error for a wrong checksum, an untrusted certificate and a
//! refusing proxy; and the summary endpoint over HTTPS.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use video2doc_core::media::models::catalogue::ModelError;
use video2doc_core::media::models::download::{fetch, Checksum, Event, Persistence};
use video2doc_core::net::{Http, NetError, ProxyChoice};

/// A certificate authority and a server identity it signed.
struct Authority {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

/// Names the test servers answer to: the loopback address, `localhost` (the "CDN" a
/// redirect goes to) and a name only the test proxy knows.
const NAMES: &[&str] = &["127.0.0.1", "localhost", "models.example.test"];

fn authority(name: &str) -> Authority {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    let ca = rcgen::CertifiedIssuer::self_signed(params, ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf =
        rcgen::CertificateParams::new(NAMES.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
    Authority {
        ca_pem: ca.pem(),
        chain: vec![leaf.der().clone(), ca.der().clone()],
        key: leaf_key.serialize_der(),
    }
}

/// The authority every test trusts: written to a file that `SSL_CERT_FILE` names
/// before any client exists, as an organisation's CA in the system store would be.
fn trusted() -> &'static Authority {
    static CA: OnceLock<(Authority, tempfile::TempDir)> = OnceLock::new();
    &CA.get_or_init(|| {
        let a = authority("Video2Doc test CA");
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ca.pem");
        std::fs::write(&file, &a.ca_pem).unwrap();
        // SAFETY (edition 2021: set_var is safe): set once, before the first client
        // reads the store, by the OnceLock.
        std::env::set_var("SSL_CERT_FILE", &file);
        (a, dir)
    })
    .0
}

/// How the model route behaves.
#[derive(Default)]
struct Behaviour {
    /// Responses that end after half their bytes.
    drop_first: AtomicUsize,
    /// Responses that send half their bytes, then go silent for 3 s, then close.
    stall_first: AtomicUsize,
}

/// What the server saw.
#[derive(Default)]
struct Seen {
    /// `Range` starts asked of the model route, 0 for none.
    ranges: Mutex<Vec<u64>>,
    /// Request lines, in order.
    requests: Mutex<Vec<String>>,
    /// Request bodies of POSTs.
    bodies: Mutex<Vec<String>>,
}

struct Server {
    port: u16,
    seen: Arc<Seen>,
}

/// An HTTPS server with the routes `/model.bin` (honours Range, 416 past the end),
/// `/moved` (302 to `https://localhost:PORT/model.bin`) and `/v1/chat/completions`.
fn https_server(identity: &Authority, body: Arc<Vec<u8>>, behaviour: Arc<Behaviour>) -> Server {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            identity.chain.clone(),
            PrivateKeyDer::Pkcs8(identity.key.clone().into()),
        )
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Seen::default());
    let s = seen.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let (config, body, behaviour, seen) =
                (config.clone(), body.clone(), behaviour.clone(), s.clone());
            std::thread::spawn(move || {
                let conn = rustls::ServerConnection::new(config).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let _ = serve(&mut tls, port, &body, &behaviour, &seen);
            });
        }
    });
    Server { port, seen }
}

fn serve(
    tls: &mut rustls::StreamOwned<rustls::ServerConnection, TcpStream>,
    port: u16,
    body: &[u8],
    behaviour: &Behaviour,
    seen: &Seen,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *tls);
    let mut request = String::new();
    reader.read_line(&mut request)?;
    let (mut range, mut length) = (None::<u64>, 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse().ok();
        }
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut posted = vec![0u8; length];
    reader.read_exact(&mut posted)?;
    seen.requests
        .lock()
        .unwrap()
        .push(request.trim().to_string());
    let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
    if path == "/moved" {
        write!(
            tls,
            "HTTP/1.1 302 Found\r\nLocation: https://localhost:{port}/model.bin\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )?;
        return tls.flush();
    }
    if path == "/v1/chat/completions" {
        seen.bodies
            .lock()
            .unwrap()
            .push(String::from_utf8_lossy(&posted).into_owned());
        // Fits both requests of a short recording: its one chapter, then the whole.
        let reply = r#"{"choices":[{"message":{"role":"assistant","content":"{\"title\": \"光合作用\", \"summary\": \"植物把光能变成糖。\", \"abstract\": \"讲光合作用。\", \"points\": [\"光合作用把光能变成糖\", \"Light is energy\"]}"}}]}"#;
        write!(
            tls,
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
            reply.len()
        )?;
        return tls.flush();
    }
    let from = range.unwrap_or(0);
    seen.ranges.lock().unwrap().push(from);
    if from as usize >= body.len() {
        write!(
            tls,
            "HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            body.len()
        )?;
        return tls.flush();
    }
    let rest = &body[from as usize..];
    let head = if range.is_some() {
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
    tls.write_all(head.as_bytes())?;
    let take = |n: &AtomicUsize| {
        n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1))
            .is_ok()
    };
    if take(&behaviour.drop_first) {
        tls.write_all(&rest[..rest.len() / 2])?;
        tls.flush()?;
        // Close without TLS's close_notify, as a broken connection does.
        return tls.sock.shutdown(std::net::Shutdown::Both);
    }
    if take(&behaviour.stall_first) {
        tls.write_all(&rest[..rest.len() / 2])?;
        tls.flush()?;
        std::thread::sleep(Duration::from_secs(3));
        return tls.sock.shutdown(std::net::Shutdown::Both);
    }
    tls.write_all(rest)?;
    tls.flush()
}

/// An HTTP proxy on loopback that tunnels `CONNECT host:port` to 127.0.0.1:port
/// (it resolves every name to this machine), or answers 403 when `refuse`. Returns its
/// URL and the CONNECT targets it was asked for.
fn proxy(refuse: bool) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let targets = Arc::new(Mutex::new(Vec::new()));
    let t = targets.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let t = t.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut first = String::new();
                reader.read_line(&mut first).unwrap();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
                t.lock().unwrap().push(target.clone());
                if refuse {
                    let _ =
                        client.write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
                    return;
                }
                let port = target.rsplit(':').next().unwrap_or("443");
                let upstream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .unwrap();
                let (mut up_r, mut up_w) = (upstream.try_clone().unwrap(), upstream);
                let mut down_w = client.try_clone().unwrap();
                let pump = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut reader, &mut up_w);
                    let _ = up_w.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut up_r, &mut down_w);
                let _ = down_w.shutdown(std::net::Shutdown::Both);
                let _ = pump.join();
            });
        }
    });
    (url, targets)
}

fn body() -> Arc<Vec<u8>> {
    Arc::new(
        (0..3_000_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect(),
    )
}

fn sha256(b: &[u8]) -> Checksum {
    Checksum::Sha256(format!("{:x}", Sha256::digest(b)))
}

fn direct() -> Http {
    trusted();
    Http::new(ProxyChoice::Direct, Duration::from_secs(1)).unwrap()
}

fn quick() -> Persistence {
    Persistence {
        attempts: 3,
        first_pause: Duration::from_millis(50),
        most_bytes: None,
    }
}

fn get(
    http: &Http,
    url: &str,
    dest: &Path,
    checksum: &Checksum,
) -> (Result<std::path::PathBuf, ModelError>, Vec<Event>) {
    let mut events = Vec::new();
    let r = fetch(
        http,
        url,
        dest,
        checksum,
        &quick(),
        &AtomicBool::new(false),
        |e| events.push(e),
    );
    (r, events)
}

#[test]
fn a_download_over_https_completes_and_is_verified() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let (r, events) = get(&direct(), &url, &dest, &sha256(&b));
    assert_eq!(r.unwrap(), dest);
    assert_eq!(std::fs::read(&dest).unwrap(), *b);
    assert!(!dir.path().join("ggml-test.bin.part").exists());
    assert!(events.contains(&Event::Progress {
        done: 3_000_000,
        total: Some(3_000_000)
    }));
}

#[test]
fn a_dropped_connection_and_a_stall_are_resumed_in_the_same_download() {
    let b = body();
    let behaviour = Arc::new(Behaviour::default());
    behaviour.drop_first.store(1, Ordering::SeqCst);
    behaviour.stall_first.store(1, Ordering::SeqCst);
    let s = https_server(trusted(), b.clone(), behaviour);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let (r, events) = get(&direct(), &url, &dest, &sha256(&b));
    r.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), *b);
    // The first response broke at half, the second (from there) stalled at half of the
    // rest, the third finished it.
    assert_eq!(
        *s.seen.ranges.lock().unwrap(),
        vec![0, 1_500_000, 2_250_000]
    );
    let retries: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Retrying { .. }))
        .collect();
    assert_eq!(retries.len(), 2, "{events:?}");
    assert!(
        format!("{:?}", retries[1]).contains("stopped sending"),
        "{retries:?}"
    );
}

#[test]
fn a_complete_part_left_by_a_crash_is_verified_not_asked_for_forever() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    std::fs::write(dir.path().join("ggml-test.bin.part"), &*b).unwrap();
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let (r, _) = get(&direct(), &url, &dest, &sha256(&b));
    r.unwrap();
    assert_eq!(*s.seen.ranges.lock().unwrap(), vec![3_000_000], "one 416");
    assert_eq!(std::fs::read(&dest).unwrap(), *b);

    // A part longer than the file (the file changed on the server) starts again.
    let dest2 = dir.path().join("ggml-other.bin");
    let mut longer = b.to_vec();
    longer.extend_from_slice(b"trailing bytes");
    std::fs::write(dir.path().join("ggml-other.bin.part"), &longer).unwrap();
    let (r, _) = get(&direct(), &url, &dest2, &sha256(&b));
    r.unwrap();
    assert_eq!(std::fs::read(&dest2).unwrap(), *b);
}

#[test]
fn a_download_larger_than_the_model_can_be_is_stopped_before_the_disk_fills() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let r = fetch(
        &direct(),
        &url,
        &dest,
        &sha256(&b),
        &Persistence {
            most_bytes: Some(1_000_000),
            ..quick()
        },
        &AtomicBool::new(false),
        |_| {},
    );
    let e = r.unwrap_err();
    assert!(
        matches!(
            e,
            ModelError::TooLarge {
                limit: 1_000_000,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("ggml-test.bin"), "{e}");
    assert!(!dest.exists());
    let part = std::fs::metadata(dir.path().join("ggml-test.bin.part")).map(|m| m.len());
    assert!(part.is_err() || part.unwrap() == 0, "nothing kept");
}

#[test]
fn a_redirect_to_another_host_is_followed_and_resumes_there() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    std::fs::write(dir.path().join("ggml-test.bin.part"), &b[..1_000_000]).unwrap();
    let url = format!("https://127.0.0.1:{}/moved", s.port);
    let (r, _) = get(&direct(), &url, &dest, &sha256(&b));
    r.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), *b);
    let requests = s.seen.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[1].starts_with("GET /model.bin"));
    assert_eq!(
        *s.seen.ranges.lock().unwrap(),
        vec![1_000_000],
        "the range survives the redirect"
    );
}

#[test]
fn a_wrong_checksum_is_a_clear_error_and_nothing_is_installed() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let (r, _) = get(&direct(), &url, &dest, &Checksum::Sha256("0".repeat(64)));
    let e = r.unwrap_err();
    assert!(matches!(e, ModelError::Checksum { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("ggml-test.bin is damaged") && text.contains("SHA-256"),
        "{text}"
    );
    assert!(!dest.exists());
    assert!(!dir.path().join("ggml-test.bin.part").exists());
}

#[test]
fn an_untrusted_certificate_is_named_and_not_retried() {
    let b = body();
    let stranger = authority("Somebody else's CA");
    let s = https_server(&stranger, b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let (r, events) = get(&direct(), &url, &dest, &sha256(&b));
    let e = r.unwrap_err();
    let ModelError::Download {
        resumable, source, ..
    } = &e
    else {
        panic!("{e:?}")
    };
    assert!(matches!(source, NetError::Untrusted { .. }), "{source:?}");
    assert!(!resumable);
    let text = e.to_string();
    assert!(
        text.contains("the certificate of 127.0.0.1:")
            && text.contains("not trusted")
            && !text.contains("resume"),
        "{text}"
    );
    assert!(
        !events.iter().any(|e| matches!(e, Event::Retrying { .. })),
        "a certificate is not retried"
    );
    assert!(!dest.exists());
}

#[test]
fn a_download_goes_through_the_proxy_and_a_refusing_proxy_is_named() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    trusted();
    // Through the proxy: the name is one only the proxy can resolve.
    let (proxy_url, targets) = proxy(false);
    let http = Http::new(
        ProxyChoice::Url {
            url: proxy_url,
            no_proxy: vec![],
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let url = format!("https://models.example.test:{}/model.bin", s.port);
    let dest = dir.path().join("ggml-test.bin");
    let (r, _) = get(&http, &url, &dest, &sha256(&b));
    r.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), *b);
    assert_eq!(
        *targets.lock().unwrap(),
        vec![format!("models.example.test:{}", s.port)]
    );

    // NO_PROXY: straight to the server, the proxy not asked.
    let (proxy_url, targets) = proxy(false);
    let http = Http::new(
        ProxyChoice::Url {
            url: proxy_url,
            no_proxy: vec!["127.0.0.1".into()],
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let dest = dir.path().join("ggml-direct.bin");
    let (r, _) = get(
        &http,
        &format!("https://127.0.0.1:{}/model.bin", s.port),
        &dest,
        &sha256(&b),
    );
    r.unwrap();
    assert!(targets.lock().unwrap().is_empty());

    // A proxy that says no.
    let (proxy_url, _) = proxy(true);
    let http = Http::new(
        ProxyChoice::Url {
            url: proxy_url.clone(),
            no_proxy: vec![],
        },
        Duration::from_secs(5),
    )
    .unwrap();
    let dest = dir.path().join("ggml-refused.bin");
    let (r, _) = get(&http, &url, &dest, &sha256(&b));
    let e = r.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("the proxy") && text.contains("refused") && !text.contains("resume"),
        "{text}"
    );
    assert!(!dest.exists());
}

#[test]
fn two_downloads_of_one_file_at_once_make_one_download() {
    let b = body();
    let s = https_server(trusted(), b.clone(), Arc::default());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("ggml-test.bin");
    let url = format!("https://127.0.0.1:{}/model.bin", s.port);
    let checksum = sha256(&b);
    let waited = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                let r = fetch(
                    &direct(),
                    &url,
                    &dest,
                    &checksum,
                    &quick(),
                    &AtomicBool::new(false),
                    |e| match e {
                        Event::WaitingForOther => {
                            waited.fetch_add(1, Ordering::SeqCst);
                        }
                        // The one downloading holds on until the other is waiting.
                        Event::Progress { .. } => {
                            let until = std::time::Instant::now() + Duration::from_secs(20);
                            while waited.load(Ordering::SeqCst) == 0
                                && std::time::Instant::now() < until
                            {
                                std::thread::sleep(Duration::from_millis(5));
                            }
                        }
                        _ => {}
                    },
                );
                assert_eq!(r.unwrap(), dest);
            });
        }
    });
    assert_eq!(std::fs::read(&dest).unwrap(), *b);
    assert_eq!(s.seen.ranges.lock().unwrap().len(), 1, "one download");
    assert_eq!(waited.load(Ordering::SeqCst), 1);
}

#[test]
fn the_summary_endpoint_answers_over_https() {
    let s = https_server(trusted(), body(), Arc::default());
    trusted();
    let ep: video2doc_core::document::summary::Endpoint =
        serde_json::from_value(serde_json::json!({
            "base_url": format!("https://127.0.0.1:{}/v1", s.port),
            "model": "qwen2.5", "api_key": "secret", "timeout_s": 10
        }))
        .unwrap();
    let segments = vec![video2doc_core::media::transcribe::Segment {
        start_ms: 0,
        end_ms: 4_000,
        text: "植物利用光合作用。Plants make sugar.".into(),
        words: Vec::new(),
        language: None,
        speaker: None,
    }];
    let m = video2doc_core::document::summary::Material {
        segments: &segments,
        sections: &[],
        duration_ms: 4_000,
        speakers: &[],
    };
    let notes = video2doc_core::document::summary::write(
        &m,
        &Default::default(),
        Some(&ep),
        Some("zh"),
        &Arc::default(),
        &mut |_| {},
    )
    .unwrap();
    let summary = notes.summary;
    assert_eq!(summary.note, None);
    assert_eq!(summary.method, "endpoint");
    assert_eq!(summary.model.as_deref(), Some("qwen2.5"));
    assert_eq!(
        summary.points,
        vec!["光合作用把光能变成糖", "Light is energy"]
    );
    assert_eq!(notes.chapters[0].summary, "植物把光能变成糖。");
    let bodies = s.seen.bodies.lock().unwrap();
    assert!(bodies[0].contains("植物利用光合作用"), "{bodies:?}");
}
