//! Several workers sharing one Redis store, on a real redis-server per test: leases
//! taken back after a worker died (and not before), measured on the server's clock (a
//! worker whose clock is a minute ahead takes no live job), cancels and pauses reaching
//! another worker, events of jobs run elsewhere with the host, records naming a local
//! file refused, and with worker processes
//! (`queue-worker`, separate data dirs): 50 jobs each run exactly once by two workers,
//! a SIGKILLed worker's job finished by the other, a Redis restart losing no
//! acknowledged job.

#![cfg(feature = "redis")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;
use video2doc_queue::store;
use video2doc_queue::{
    now_ms, Event, JobContext, JobError, JobId, NewJob, Queue, QueueConfig, RedisConfig,
    RedisStore, State, Store,
};
use video2doc_testkit::redis_server::RedisServer;

struct Shared {
    server: RedisServer,
    namespace: String,
    dir: TempDir,
}

fn config(lease: Duration) -> QueueConfig {
    QueueConfig {
        default_concurrency: 2,
        lease,
        poll_every: Duration::from_millis(100),
        cancel_grace: Duration::from_millis(300),
        shutdown_grace: Duration::from_millis(300),
        ..QueueConfig::default()
    }
}

impl Shared {
    fn new() -> Shared {
        Shared {
            server: RedisServer::start(),
            namespace: format!("shared-{}-{}", std::process::id(), now_ms()),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn store(&self) -> Arc<dyn Store> {
        Arc::new(
            RedisStore::open(
                RedisConfig::new(self.server.url())
                    .namespace(self.namespace.clone())
                    .retry_for(Duration::from_secs(20)),
            )
            .expect("redis store opens"),
        )
    }

    /// A worker in this process (`name` picks its files folder).
    fn queue(&self, name: &str, lease: Duration) -> Queue {
        Queue::with_store(
            self.store(),
            Some(self.dir.path().join(name)),
            config(lease),
        )
        .expect("queue opens")
    }

    /// A worker process with its own data dir.
    fn worker(&self, name: &str, lease_ms: u64) -> Worker {
        let data = self.dir.path().join(name);
        let mut child = Command::new(env!("CARGO_BIN_EXE_queue-worker"))
            .args(["--url", &self.server.url()])
            .args(["--namespace", &self.namespace])
            .arg("--data")
            .arg(&data)
            .args(["--lease-ms", &lease_ms.to_string()])
            .args(["--concurrency", "2"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("queue-worker runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(
            first.starts_with("ready"),
            "worker {name} did not start: {first:?}"
        );
        let stdin = child.stdin.take();
        Worker { child, stdin, data }
    }
}

struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    data: PathBuf,
}

impl Worker {
    /// `(what, job, attempt)` lines of its log: `start` and `done`.
    fn log(&self) -> Vec<(String, JobId, u32)> {
        let text = std::fs::read_to_string(self.data.join("ran.log")).unwrap_or_default();
        // Only complete lines: the worker may be writing the last one right now.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        complete
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                (
                    f[0].to_string(),
                    JobId(f[1].parse().unwrap()),
                    f[2].parse().unwrap(),
                )
            })
            .collect()
    }

    fn done(&self) -> Vec<JobId> {
        self.log()
            .into_iter()
            .filter(|(w, _, _)| w == "done")
            .map(|(_, id, _)| id)
            .collect()
    }

    /// Closes its input: it closes its queue and exits.
    fn stop(mut self) {
        self.stdin.take();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "worker exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the worker did not stop within 10 s of its input closing");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn wait_done(q: &Queue, id: JobId, within: Duration) -> video2doc_queue::JobRecord {
    tokio::time::timeout(within, q.wait(id))
        .await
        .unwrap_or_else(|_| panic!("job {id} finished within {within:?}: {:?}", q.get(id)))
        .expect("wait")
}

async fn until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < within, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A handler that runs until cancelled, counting its starts.
fn blocking(q: &Queue, starts: Arc<AtomicUsize>) {
    q.register("block", move |ctx: JobContext| {
        let starts = starts.clone();
        async move {
            starts.fetch_add(1, Ordering::SeqCst);
            ctx.token().cancelled().await;
            Err(JobError::retryable("stopped"))
        }
    });
}

// ---------------------------------------------------------------- in one process

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_died_is_taken_back_after_its_lease_and_not_before() {
    let s = Shared::new();
    let client = s.queue("client", Duration::from_secs(30));
    let id = client
        .enqueue(NewJob::new("k", "q", json!(null)))
        .await
        .unwrap()
        .id;
    // A worker claims it with a 700 ms lease, then dies (never renews, never finishes).
    let deadline = now_ms() + 700;
    store::transact(client.store().as_ref(), |t| {
        video2doc_queue::transition::claim_leased(t, id, now_ms(), 5, Some(deadline))
    })
    .unwrap();
    let ran = Arc::new(AtomicUsize::new(0));
    let a = s.queue("a", Duration::from_millis(600));
    let r = ran.clone();
    a.register("k", move |_ctx: JobContext| {
        let r = r.clone();
        async move {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(json!("rerun"))
        }
    });
    assert_eq!(a.recovered(), 0, "a live lease is not taken at open");
    a.start().unwrap();
    let job = wait_done(&a, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, State::Succeeded);
    assert_eq!(job.attempts, 2);
    assert_eq!(ran.load(Ordering::SeqCst), 1);
    let taken = job
        .history
        .iter()
        .find(|h| h.note.contains("stopped renewing its lease"))
        .expect("the history says why it ran again");
    assert!(
        taken.at >= deadline,
        "taken back at {} before the lease ran out at {deadline}",
        taken.at
    );
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_lease_is_renewed_and_never_taken_back() {
    let s = Shared::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for name in ["a", "b"] {
        let q = s.queue(name, Duration::from_millis(450));
        let r = runs.clone();
        q.register("long", move |_ctx: JobContext| {
            let r = r.clone();
            async move {
                r.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(2000)).await;
                Ok(json!(null))
            }
        });
        q.start().unwrap();
        workers.push(q);
    }
    let id = workers[0]
        .enqueue(NewJob::new("long", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let job = wait_done(&workers[1], id, Duration::from_secs(10)).await;
    assert_eq!(job.state, State::Succeeded);
    assert_eq!(job.attempts, 1, "{:?}", job.history);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    for q in workers {
        q.close().await;
    }
}

/// Issue 17 (M5): lease deadlines come from one clock (the server's), so a worker whose
/// clock is a minute ahead neither takes a live job from another worker nor forgets that
/// worker's registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_whose_clock_is_a_minute_ahead_takes_no_live_job() {
    let s = Shared::new();
    let lease = Duration::from_millis(900);
    let starts = Arc::new(AtomicUsize::new(0));
    let long = |q: &Queue| {
        let st = starts.clone();
        q.register("long", move |_ctx: JobContext| {
            let st = st.clone();
            async move {
                st.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(3000)).await;
                Ok(json!(null))
            }
        });
    };
    let a = s.queue("a", lease);
    long(&a);
    a.start().unwrap();
    let id = a
        .enqueue(NewJob::new("long", "q", json!(null)))
        .await
        .unwrap()
        .id;
    until("worker a started the job", Duration::from_secs(5), || {
        starts.load(Ordering::SeqCst) == 1
    })
    .await;
    let ahead = Queue::with_store(
        s.store(),
        Some(s.dir.path().join("ahead")),
        QueueConfig {
            clock: video2doc_queue::Clock::offset(60_000),
            ..config(lease)
        },
    )
    .unwrap();
    long(&ahead);
    ahead.start().unwrap();
    let job = wait_done(&a, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, State::Succeeded);
    assert_eq!(job.attempts, 1, "{:?}", job.history);
    assert_eq!(starts.load(Ordering::SeqCst), 1);
    assert_eq!(
        ahead.registered_workers().unwrap().len(),
        2,
        "the worker ahead still sees the other one"
    );
    let skew = ahead
        .health()
        .clock_skew_ms
        .expect("measured against the server");
    assert!((55_000..65_000).contains(&skew), "{skew}");
    let skew = a.health().clock_skew_ms.unwrap();
    assert!(skew.abs() < 5_000, "{skew}");
    ahead.close().await;
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancel_reaches_a_job_running_in_another_worker() {
    let s = Shared::new();
    let a = s.queue("a", Duration::from_secs(5));
    let starts = Arc::new(AtomicUsize::new(0));
    blocking(&a, starts.clone());
    a.start().unwrap();
    let b = s.queue("b", Duration::from_secs(5));
    let id = b
        .enqueue(NewJob::new("block", "q", json!(null)))
        .await
        .unwrap()
        .id;
    until("worker a started the job", Duration::from_secs(5), || {
        starts.load(Ordering::SeqCst) == 1
    })
    .await;
    let asked = Instant::now();
    b.cancel(id).await.unwrap();
    let job = wait_done(&b, id, Duration::from_secs(5)).await;
    assert_eq!(job.state, State::Cancelled);
    assert!(
        asked.elapsed() < Duration::from_millis(1500),
        "stopped in {:?}",
        asked.elapsed()
    );
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_jobs_run_elsewhere_arrive_with_the_host() {
    let s = Shared::new();
    let a = s.queue("a", Duration::from_secs(5));
    a.register("step", |ctx: JobContext| async move {
        ctx.progress(0.5, "half", "half way");
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok(json!(null))
    });
    a.start().unwrap();
    let watcher = s.queue("watcher", Duration::from_secs(5));
    let mut rx = watcher.subscribe();
    // The subscription is live once a relayed event arrives: wait for a queue setting.
    a.set_concurrency("other", 1).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if let Some(Event::Queue { .. }) = rx.recv().await {
                break;
            }
        }
    })
    .await
    .expect("the watcher receives the other worker's events");
    let id = a
        .enqueue(NewJob::new("step", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let mut states = Vec::new();
    let mut progress_host = None;
    tokio::time::timeout(Duration::from_secs(10), async {
        while states.last() != Some(&State::Succeeded) {
            match rx.recv().await.expect("bus open") {
                Event::State(c) if c.id == id => {
                    assert_eq!(c.host.as_deref(), Some(a.host()), "{c:?}");
                    states.push(c.to);
                }
                Event::Progress { id: p, host, .. } if p == id => progress_host = host,
                _ => {}
            }
        }
    })
    .await
    .expect("the job's events arrive");
    assert_eq!(
        states,
        vec![State::Pending, State::Running, State::Succeeded]
    );
    assert_eq!(progress_host.as_deref(), Some(a.host()));
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_from_another_process_stops_new_starts() {
    let s = Shared::new();
    let a = s.queue("a", Duration::from_secs(5));
    let ran = Arc::new(AtomicUsize::new(0));
    let r = ran.clone();
    a.register("k", move |_ctx: JobContext| {
        let r = r.clone();
        async move {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(json!(null))
        }
    });
    a.start().unwrap();
    let client = s.queue("client", Duration::from_secs(5));
    client.pause(Some("q")).await.unwrap();
    until("worker a sees the pause", Duration::from_secs(5), || {
        a.is_paused(Some("q"))
    })
    .await;
    let id = client
        .enqueue(NewJob::new("k", "q", json!(null)))
        .await
        .unwrap()
        .id;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(client.get(id).unwrap().state, State::Pending);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    client.resume(Some("q")).await.unwrap();
    assert_eq!(
        wait_done(&client, id, Duration::from_secs(5)).await.state,
        State::Succeeded
    );
    a.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_finished_while_redis_is_down_is_recorded_once_it_is_back() {
    let mut s = Shared::new();
    // The store gives up after 300 ms: the runtime's own retry has to record the end.
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::open(
            RedisConfig::new(s.server.url())
                .namespace(s.namespace.clone())
                .retry_for(Duration::from_millis(300)),
        )
        .unwrap(),
    );
    let q = Queue::with_store(
        store,
        Some(s.dir.path().join("a")),
        config(Duration::from_secs(20)),
    )
    .unwrap();
    let started = Arc::new(tokio::sync::Notify::new());
    let st = started.clone();
    q.register("work", move |_ctx: JobContext| {
        let st = st.clone();
        async move {
            st.notify_one();
            tokio::time::sleep(Duration::from_millis(700)).await;
            Ok(json!("kept"))
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("work", "q", json!(null)))
        .await
        .unwrap()
        .id;
    started.notified().await;
    // Down for 3 s: the job ends in the middle, with nobody to tell.
    s.server.restart_after(Duration::from_secs(3));
    let job = wait_done(&q, id, Duration::from_secs(30)).await;
    assert_eq!(job.state, State::Succeeded, "{:?}", job.history);
    assert_eq!(job.attempts, 1, "the work was kept, not redone");
    assert_eq!(q.result(id).unwrap(), Some(json!("kept")));
    q.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_runs_once_per_period_however_many_workers_share_the_store() {
    let s = Shared::new();
    let every = Duration::from_millis(1500);
    let mut workers = Vec::new();
    for name in ["a", "b", "c"] {
        let q = Queue::with_store(
            s.store(),
            Some(s.dir.path().join(name)),
            QueueConfig {
                maintenance_every: every,
                ..config(Duration::from_secs(5))
            },
        )
        .unwrap();
        q.start().unwrap();
        workers.push(q);
    }
    // Each worker tries at start and then every period; each period is claimed once.
    tokio::time::sleep(every * 2 + Duration::from_millis(700)).await;
    let snapshots = workers[0].snapshots(0).unwrap().len();
    assert!(
        (2..=3).contains(&snapshots),
        "{snapshots} statistics snapshots in 2.5 periods from 3 workers"
    );
    for q in workers {
        q.close().await;
    }
}

/// Issue 17 (H2, `Payload::File`): a record from the shared store that names a file makes
/// no worker read that file: the job fails saying why, and a stored result naming a file
/// is refused too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_payload_from_a_shared_store_is_refused_not_read() {
    use video2doc_queue::store::Txn;
    use video2doc_queue::Payload;
    let s = Shared::new();
    let secret = s.dir.path().join("secret.json");
    std::fs::write(&secret, br#"{"token": "s3cret"}"#).unwrap();
    let q = s.queue("a", Duration::from_secs(5));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sn = seen.clone();
    q.register("k", move |ctx: JobContext| {
        let sn = sn.clone();
        async move {
            sn.lock().unwrap().push(ctx.payload.clone());
            Ok(json!("ran"))
        }
    });
    let id = q
        .enqueue(NewJob::new("k", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let done = q
        .enqueue(NewJob::new("k", "q", json!(null)))
        .await
        .unwrap()
        .id;
    // A Redis writer rewrites one job's payload, and another's result, to name a local file.
    store::transact(q.store().as_ref(), |t| {
        let before = t.job(id)?;
        let mut after = before.clone();
        after.payload = Payload::File(secret.clone());
        t.put_job(Some(&before), &after)
    })
    .unwrap();
    q.start().unwrap();
    assert_eq!(
        wait_done(&q, done, Duration::from_secs(10)).await.state,
        State::Succeeded
    );
    let job = wait_done(&q, id, Duration::from_secs(10)).await;
    assert_eq!(job.state, State::Failed, "{:?}", job.history);
    let why = job.error.unwrap().message;
    assert!(why.contains("shared") && why.contains("file"), "{why}");
    assert_eq!(
        *seen.lock().unwrap(),
        vec![json!(null)],
        "the file was never read"
    );
    store::transact(q.store().as_ref(), |t| {
        let before = t.job(done)?;
        let mut after = before.clone();
        after.result = Some(Payload::File(secret.clone()));
        t.put_job(Some(&before), &after)
    })
    .unwrap();
    let e = q
        .result(done)
        .expect_err("a result naming a file is refused");
    assert!(!e.to_string().contains("s3cret"), "{e}");
    q.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_in_redis_is_refused() {
    let s = Shared::new();
    {
        let st =
            RedisStore::open(RedisConfig::new(s.server.url()).namespace(&s.namespace)).unwrap();
        st.force_schema_version(99).unwrap();
    }
    let e = RedisStore::open(RedisConfig::new(s.server.url()).namespace(&s.namespace))
        .err()
        .expect("a newer schema is refused");
    let msg = e.to_string();
    assert!(msg.contains("99") && msg.contains("newer"), "{msg}");
    // Another namespace on the same server is untouched.
    RedisStore::open(RedisConfig::new(s.server.url()).namespace("elsewhere")).unwrap();
}

#[test]
fn an_unreachable_server_is_a_clear_error_naming_it() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let started = Instant::now();
    let e = RedisStore::open(
        RedisConfig::new(format!("redis://:hunter2@127.0.0.1:{port}/3"))
            .open_within(Duration::from_millis(500)),
    )
    .err()
    .expect("nothing listens there");
    let msg = e.to_string();
    assert!(e.is_unavailable(), "{msg}");
    assert!(msg.contains(&format!("127.0.0.1:{port}/3")), "{msg}");
    assert!(!msg.contains("hunter2"), "the password is not shown: {msg}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A private CA and a server certificate for 127.0.0.1 it signed, made with the
/// `openssl` command (PEM files in `dir`): (ca, server cert, server key).
fn private_ca(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let run = |args: &[&str]| {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl command runs (Debian package openssl)");
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=video2doc test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    (
        dir.join("ca.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_works_with_a_private_ca_and_refuses_an_untrusted_server() {
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = private_ca(certs.path());
    let server = RedisServer::start_tls(cert, key);
    let url = server.url();
    assert!(url.starts_with("rediss://"));
    // The system's roots do not know this CA: no connection.
    let untrusted =
        RedisStore::open(RedisConfig::new(url.clone()).open_within(Duration::from_millis(300)));
    assert!(untrusted.is_err(), "an untrusted certificate is refused");
    // With its CA, a queue runs over TLS.
    let store: Arc<dyn Store> =
        Arc::new(RedisStore::open(RedisConfig::new(url).namespace("tls").ca_file(&ca)).unwrap());
    let dir = tempfile::tempdir().unwrap();
    let q = Queue::with_store(
        store,
        Some(dir.path().to_path_buf()),
        config(Duration::from_secs(5)),
    )
    .unwrap();
    q.register("k", |ctx: JobContext| async move { Ok(ctx.payload) });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("k", "q", json!("over tls")))
        .await
        .unwrap()
        .id;
    assert_eq!(
        wait_done(&q, id, Duration::from_secs(10)).await.state,
        State::Succeeded
    );
    assert_eq!(q.result(id).unwrap(), Some(json!("over tls")));
    q.close().await;
}

// ---------------------------------------------------------------- worker processes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_run_fifty_jobs_each_exactly_once() {
    let s = Shared::new();
    let client = s.queue("client", Duration::from_secs(30));
    let w1 = s.worker("w1", 5_000);
    let w2 = s.worker("w2", 5_000);
    until("both workers registered", Duration::from_secs(5), || {
        client.registered_workers().unwrap().len() == 2
    })
    .await;
    let jobs: Vec<_> = (0..50)
        .map(|i| NewJob::new("sleep", "q", json!({ "ms": 20, "i": i })))
        .collect();
    let ids: Vec<JobId> = client
        .enqueue_batch(jobs)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    for id in &ids {
        let j = wait_done(&client, *id, Duration::from_secs(30)).await;
        assert_eq!(j.state, State::Succeeded);
        assert_eq!(j.attempts, 1);
    }
    let (d1, d2) = (w1.done(), w2.done());
    let mut runs: BTreeMap<JobId, usize> = BTreeMap::new();
    for id in d1.iter().chain(&d2) {
        *runs.entry(*id).or_default() += 1;
    }
    assert_eq!(runs.len(), 50, "every job ran");
    assert!(
        runs.values().all(|n| *n == 1),
        "each exactly once: {runs:?}"
    );
    assert!(
        !d1.is_empty() && !d2.is_empty(),
        "both workers took jobs ({} and {})",
        d1.len(),
        d2.len()
    );
    w1.stop();
    w2.stop();
    until("workers unregistered", Duration::from_secs(5), || {
        client.registered_workers().unwrap().is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkilled_worker_s_job_is_finished_by_the_other_after_its_lease() {
    let s = Shared::new();
    let client = s.queue("client", Duration::from_secs(30));
    let lease_ms = 1_000;
    let mut workers = vec![s.worker("w1", lease_ms), s.worker("w2", lease_ms)];
    let id = client
        .enqueue(NewJob::new("sleep", "q", json!({ "ms": 1500 })))
        .await
        .unwrap()
        .id;
    until("a worker started the job", Duration::from_secs(5), || {
        workers.iter().any(|w| !w.log().is_empty())
    })
    .await;
    let holder = workers.iter().position(|w| !w.log().is_empty()).unwrap();
    let mut victim = workers.remove(holder);
    let survivor = workers.pop().unwrap();
    assert_eq!(client.get(id).unwrap().state, State::Running);
    let killed_at = Instant::now();
    victim.child.kill().unwrap(); // SIGKILL: no release, no unregistration
    victim.child.wait().unwrap();
    let job = wait_done(&client, id, Duration::from_secs(15)).await;
    assert_eq!(job.state, State::Succeeded, "{:?}", job.history);
    assert_eq!(job.attempts, 2, "{:?}", job.history);
    assert!(
        killed_at.elapsed() >= Duration::from_millis(lease_ms / 2),
        "taken back only once the lease could have run out"
    );
    assert_eq!(survivor.done(), vec![id], "the survivor finished it");
    assert!(
        victim.done().is_empty(),
        "the killed worker never finished it"
    );
    assert!(job
        .history
        .iter()
        .any(|h| h.note.contains("stopped renewing its lease")));
    survivor.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_loses_no_acknowledged_job() {
    let mut s = Shared::new();
    let client = s.queue("client", Duration::from_secs(30));
    let w1 = s.worker("w1", 5_000);
    let w2 = s.worker("w2", 5_000);
    let mut ids: Vec<JobId> = client
        .enqueue_batch(
            (0..40)
                .map(|i| NewJob::new("sleep", "q", json!({ "ms": 50, "i": i })))
                .collect(),
        )
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    until("some jobs done", Duration::from_secs(10), || {
        w1.done().len() + w2.done().len() >= 8
    })
    .await;
    // Kill -9 the server mid-run and start it again a second later on the same AOF.
    s.server.kill();
    let before = w1.done().len() + w2.done().len();
    assert!(
        before < 40,
        "the restart comes mid-run ({before} of 40 done)"
    );
    s.server.restart_after(Duration::from_secs(1));
    // Enqueued (and acknowledged) after the restart, while workers reconnect.
    for i in 0..10 {
        let e = client
            .enqueue(NewJob::new("sleep", "q", json!({ "ms": 10, "after": i })))
            .await
            .expect("enqueue after the restart");
        ids.push(e.id);
    }
    for id in &ids {
        let j = wait_done(&client, *id, Duration::from_secs(60)).await;
        assert_eq!(j.state, State::Succeeded, "job {id}: {:?}", j.history);
        let successes = j
            .history
            .iter()
            .filter(|h| h.state == State::Succeeded)
            .count();
        assert_eq!(successes, 1, "job {id} marked done once: {:?}", j.history);
    }
    let mut done: Vec<JobId> = w1.done().into_iter().chain(w2.done()).collect();
    done.sort();
    done.dedup();
    assert_eq!(done.len(), ids.len(), "every acknowledged job ran");
    w1.stop();
    w2.stop();
}
