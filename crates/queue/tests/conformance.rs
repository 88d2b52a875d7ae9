//! The queue's conformance suite: every rule of the queue, run against every storage
//! backend (`memory`, `sled`, and with the `redis` feature `redis`, on a real
//! redis-server started per test), through the public API only. A new backend joins by
//! adding one line to the `backends!` invocation at the bottom.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;
use video2doc_queue::store::{self, Space};
use video2doc_queue::{
    now_ms, Dep, Event, FailureKind, JobContext, JobError, JobId, MemoryStore, NewJob, Payload,
    Priority, Queue, QueueConfig, QueueError, Rejection, SledStore, State, Store,
};

/// Which backend a test runs on.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Memory,
    Sled,
    #[cfg(feature = "redis")]
    Redis,
}

/// A backend's data that outlives one `Queue` (so that tests can "restart").
struct Backend {
    kind: Kind,
    dir: TempDir,
    memory: Arc<MemoryStore>,
    #[cfg(feature = "redis")]
    redis: Option<video2doc_testkit::redis_server::RedisServer>,
    /// Keys of this backend's queue live under this namespace (Redis).
    #[cfg(feature = "redis")]
    namespace: String,
}

impl Backend {
    fn new(kind: Kind) -> Backend {
        Backend {
            kind,
            dir: tempfile::tempdir().expect("temp dir"),
            memory: Arc::new(MemoryStore::new()),
            #[cfg(feature = "redis")]
            redis: (kind == Kind::Redis).then(video2doc_testkit::redis_server::RedisServer::start),
            #[cfg(feature = "redis")]
            namespace: format!("conformance-{:016x}", rand_id()),
        }
    }

    #[cfg(feature = "redis")]
    fn redis_store(&self) -> Result<video2doc_queue::RedisStore, video2doc_queue::StoreError> {
        let server = self.redis.as_ref().expect("a redis backend has a server");
        video2doc_queue::RedisStore::open(
            video2doc_queue::RedisConfig::new(server.url()).namespace(self.namespace.clone()),
        )
    }

    fn config() -> QueueConfig {
        QueueConfig {
            default_concurrency: 1,
            cancel_grace: Duration::from_millis(300),
            timeout_grace: Duration::from_millis(300),
            shutdown_grace: Duration::from_millis(300),
            inline_limit: 1024,
            ..QueueConfig::default()
        }
    }

    fn try_open(&self) -> Result<Queue, QueueError> {
        self.try_open_with(Backend::config())
    }

    fn try_open_with(&self, config: QueueConfig) -> Result<Queue, QueueError> {
        match self.kind {
            Kind::Memory => {
                let store: Arc<dyn Store> = self.memory.clone();
                Queue::with_store(store, Some(self.dir.path().join("files")), config)
            }
            Kind::Sled => Queue::open(self.dir.path(), config),
            #[cfg(feature = "redis")]
            Kind::Redis => {
                let store: Arc<dyn Store> = Arc::new(self.redis_store()?);
                Queue::with_store(store, Some(self.dir.path().join("files")), config)
            }
        }
    }

    fn open(&self) -> Queue {
        self.try_open().expect("queue opens")
    }

    fn files(&self) -> PathBuf {
        self.dir.path().join("files")
    }
}

#[cfg(feature = "redis")]
fn rand_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish()
}

/// Records the order in which jobs ran.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Value>>>);

impl Log {
    fn push(&self, v: Value) {
        self.0.lock().unwrap().push(v);
    }
    fn take(&self) -> Vec<Value> {
        self.0.lock().unwrap().clone()
    }
}

fn recording(q: &Queue, kind: &str) -> Log {
    let log = Log::default();
    let l = log.clone();
    q.register(kind, move |ctx: JobContext| {
        let l = l.clone();
        async move {
            l.push(ctx.payload.clone());
            Ok(ctx.payload)
        }
    });
    log
}

async fn wait_all(q: &Queue, ids: &[JobId]) -> Vec<State> {
    let mut out = Vec::new();
    for id in ids {
        let j = tokio::time::timeout(Duration::from_secs(30), q.wait(*id))
            .await
            .expect("job finished within 30 s")
            .expect("wait");
        out.push(j.state);
    }
    out
}

async fn until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out: {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// ---------------------------------------------------------------- ordering

async fn priorities_then_fifo(b: Backend) {
    let q = b.open();
    let log = recording(&q, "k");
    q.pause(Some("q")).await.unwrap();
    let order = [
        ("low1", Priority::Low),
        ("n1", Priority::Normal),
        ("c1", Priority::Critical),
        ("h1", Priority::High),
        ("n2", Priority::Normal),
        ("low2", Priority::Low),
        ("c2", Priority::Critical),
        ("h2", Priority::High),
        ("n3", Priority::Normal),
    ];
    let mut ids = Vec::new();
    for (name, p) in order {
        ids.push(
            q.enqueue(NewJob::new("k", "q", json!(name)).priority(p))
                .await
                .unwrap()
                .id,
        );
    }
    q.start().unwrap();
    q.resume(Some("q")).await.unwrap();
    wait_all(&q, &ids).await;
    assert_eq!(
        log.take(),
        vec![
            json!("c1"),
            json!("c2"),
            json!("h1"),
            json!("h2"),
            json!("n1"),
            json!("n2"),
            json!("n3"),
            json!("low1"),
            json!("low2")
        ]
    );
    q.close().await;
}

async fn priority_changes_while_pending(b: Backend) {
    let q = b.open();
    let log = recording(&q, "k");
    q.pause(Some("q")).await.unwrap();
    let a = q
        .enqueue(NewJob::new("k", "q", json!("a")))
        .await
        .unwrap()
        .id;
    let bb = q
        .enqueue(NewJob::new("k", "q", json!("b")))
        .await
        .unwrap()
        .id;
    let c = q
        .enqueue(NewJob::new("k", "q", json!("c")))
        .await
        .unwrap()
        .id;
    q.set_priority(c, Priority::High).await.unwrap();
    q.set_priority(a, Priority::Low).await.unwrap();
    assert_eq!(q.get(c).unwrap().priority, Priority::High);
    q.start().unwrap();
    q.resume(Some("q")).await.unwrap();
    wait_all(&q, &[a, bb, c]).await;
    assert_eq!(log.take(), vec![json!("c"), json!("b"), json!("a")]);
    // A finished job's priority cannot change.
    let err = q.set_priority(a, Priority::Critical).await.unwrap_err();
    assert!(
        matches!(err, QueueError::Rejected(Rejection::WrongState { .. })),
        "{err}"
    );
    q.close().await;
}

async fn delayed_jobs_wait_for_their_time(b: Backend) {
    let q = b.open();
    let log = recording(&q, "k");
    q.start().unwrap();
    let at = now_ms() + 700;
    let late = q
        .enqueue(NewJob::new("k", "q", json!("late")).run_at(at))
        .await
        .unwrap()
        .id;
    let now = q
        .enqueue(NewJob::new("k", "q", json!("now")))
        .await
        .unwrap()
        .id;
    wait_all(&q, &[now]).await;
    assert_eq!(q.get(late).unwrap().state, State::Pending);
    let done = q.wait(late).await.unwrap();
    assert_eq!(done.state, State::Succeeded);
    assert!(done.started_at.unwrap() >= at, "started before its run-at");
    assert_eq!(log.take(), vec![json!("now"), json!("late")]);
    q.close().await;
}

/// A held job (alone, and one behind a dependency) waits through a restart until its
/// name is released; another name releases nothing; the release is an event.
async fn held_jobs_wait_for_their_release(b: Backend) {
    let ids = {
        let q = b.open();
        let _log = recording(&q, "k");
        q.start().unwrap();
        let first = q
            .enqueue(NewJob::new("k", "q", json!("first")))
            .await
            .unwrap()
            .id;
        let held = q
            .enqueue(NewJob::new("k", "q", json!("held")).held_until("model"))
            .await
            .unwrap()
            .id;
        let behind = q
            .enqueue(
                NewJob::new("k", "q", json!("behind"))
                    .depends_on(Dep::Job(first))
                    .held_until("model"),
            )
            .await
            .unwrap()
            .id;
        wait_all(&q, &[first]).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        for id in [held, behind] {
            let j = q.get(id).unwrap();
            assert_eq!(j.state, State::Pending, "{:?}", j.history);
            assert_eq!(j.held_for(), Some("model"));
        }
        q.close().await;
        (held, behind)
    };
    let q = b.open();
    let log = recording(&q, "k");
    let mut events = q.subscribe();
    q.start().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(log.take().is_empty(), "held jobs stay held after a restart");
    assert_eq!(q.release("something else").await.unwrap(), 0);
    assert_eq!(q.release("model").await.unwrap(), 2);
    assert_eq!(
        wait_all(&q, &[ids.0, ids.1]).await,
        vec![State::Succeeded; 2]
    );
    let mut ran = log.take();
    ran.sort_by_key(|v| v.to_string());
    assert_eq!(ran, vec![json!("behind"), json!("held")]);
    assert_eq!(q.get(ids.0).unwrap().held_for(), None);
    let mut released_events = 0;
    while released_events < 2 {
        let e = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("the release events arrive")
            .expect("events flow");
        if let Event::State(c) = e {
            released_events += usize::from(c.note.contains("no longer held"));
        }
    }
    q.close().await;
}

// ---------------------------------------------------------------- retries

async fn retryable_errors_retry_with_backoff(b: Backend) {
    let q = b.open();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    q.register("flaky", move |_ctx: JobContext| {
        let c = c.clone();
        async move {
            if c.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(JobError::retryable("the disk was busy"))
            } else {
                Ok(json!("ok"))
            }
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(
            NewJob::new("flaky", "q", json!(null))
                .max_retries(3)
                .backoff(Duration::from_millis(100), Duration::from_secs(5)),
        )
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Succeeded);
    assert_eq!(job.attempts, 3);
    assert_eq!(job.retries_used, 2);
    // Each retry waited its backoff: base 100 ms, then 200 ms; jitter keeps at least half.
    let failed: Vec<_> = job
        .history
        .iter()
        .filter(|h| h.state == State::Pending && h.note.contains("retry"))
        .map(|h| h.at)
        .collect();
    let starts: Vec<_> = job
        .history
        .iter()
        .filter(|h| h.state == State::Running)
        .map(|h| h.at)
        .collect();
    assert_eq!(failed.len(), 2, "history: {:?}", job.history);
    assert_eq!(starts.len(), 3);
    assert!(starts[1] - failed[0] >= 50, "first backoff too short");
    assert!(starts[2] - failed[1] >= 100, "second backoff too short");
    q.close().await;
}

async fn bad_input_is_not_retried(b: Backend) {
    let q = b.open();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    q.register("strict", move |_ctx: JobContext| {
        c.fetch_add(1, Ordering::SeqCst);
        async move {
            Err(JobError::fatal(
                "/tmp/notes.txt is not a video: no audio or video stream",
            ))
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("strict", "q", json!(null)).max_retries(5))
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Failed);
    assert_eq!(job.attempts, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let e = job.error.unwrap();
    assert_eq!(e.kind, FailureKind::Error);
    assert!(e.message.contains("/tmp/notes.txt is not a video"));
    assert!(!e.retryable);
    q.close().await;
}

async fn retries_stop_at_the_maximum(b: Backend) {
    let q = b.open();
    q.register("down", |_ctx: JobContext| async {
        Err(JobError::retryable("the service is down"))
    });
    q.start().unwrap();
    let id = q
        .enqueue(
            NewJob::new("down", "q", json!(null))
                .max_retries(2)
                .backoff(Duration::from_millis(10), Duration::from_millis(20)),
        )
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Failed);
    assert_eq!(job.attempts, 3);
    assert_eq!(job.error.unwrap().message, "the service is down");
    q.close().await;
}

async fn manual_retry_runs_a_failed_job_again(b: Backend) {
    let q = b.open();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    q.register("once", move |_ctx: JobContext| {
        let n = c.fetch_add(1, Ordering::SeqCst);
        async move {
            if n == 0 {
                Err(JobError::fatal("first time fails"))
            } else {
                Ok(json!(n))
            }
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("once", "q", json!(null)))
        .await
        .unwrap()
        .id;
    assert_eq!(q.wait(id).await.unwrap().state, State::Failed);
    q.retry(id).await.unwrap();
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Succeeded);
    assert_eq!(job.attempts, 2);
    assert_eq!(q.result(id).unwrap(), Some(json!(1)));
    // Retrying a job that succeeded is refused.
    assert!(matches!(
        q.retry(id).await.unwrap_err(),
        QueueError::Rejected(Rejection::WrongState { .. })
    ));
    q.close().await;
}

// ---------------------------------------------------------------- timeouts, cancel

async fn timeouts_fire_the_token(b: Backend) {
    let q = b.open();
    q.register("slow", |ctx: JobContext| async move {
        tokio::select! {
            _ = ctx.token().cancelled() => Err(JobError::fatal("stopped")),
            _ = tokio::time::sleep(Duration::from_secs(30)) => Ok(json!("late")),
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("slow", "q", json!(null)).timeout(Duration::from_millis(200)))
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Failed);
    let e = job.error.unwrap();
    assert_eq!(e.kind, FailureKind::Timeout);
    assert!(e.message.contains("timed out after"), "{}", e.message);
    assert!(!e.message.contains("abandoned"));
    q.close().await;
}

async fn a_job_that_ignores_its_timeout_is_abandoned(b: Backend) {
    let q = b.open();
    q.register("stubborn", |_ctx: JobContext| async move {
        tokio::time::sleep(Duration::from_secs(60)).await;
        Ok(json!("never"))
    });
    let log = recording(&q, "k");
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("stubborn", "q", json!(null)).timeout(Duration::from_millis(150)))
        .await
        .unwrap()
        .id;
    let next = q
        .enqueue(NewJob::new("k", "q", json!("next")))
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Failed);
    let e = job.error.unwrap();
    assert_eq!(e.kind, FailureKind::Timeout);
    assert!(e.message.contains("abandoned"), "{}", e.message);
    // The slot is free again: the next job of the queue runs.
    assert_eq!(wait_all(&q, &[next]).await, vec![State::Succeeded]);
    assert_eq!(log.take(), vec![json!("next")]);
    q.close().await;
}

async fn cancel_a_pending_job(b: Backend) {
    let q = b.open();
    let log = recording(&q, "k");
    q.pause(None).await.unwrap();
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("k", "q", json!("x")))
        .await
        .unwrap()
        .id;
    q.cancel(id).await.unwrap();
    assert_eq!(q.get(id).unwrap().state, State::Cancelled);
    q.resume(None).await.unwrap();
    let other = q
        .enqueue(NewJob::new("k", "q", json!("y")))
        .await
        .unwrap()
        .id;
    wait_all(&q, &[other]).await;
    assert_eq!(log.take(), vec![json!("y")]);
    q.close().await;
}

async fn cancel_a_running_job_within_a_second(b: Backend) {
    let q = b.open();
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    // This handler never looks at its token: cancellation must still end it.
    q.register("deaf", move |_ctx: JobContext| {
        let s = s.clone();
        async move {
            s.notify_one();
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok(json!("never"))
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("deaf", "q", json!(null)))
        .await
        .unwrap()
        .id;
    started.notified().await;
    let t0 = Instant::now();
    q.cancel(id).await.unwrap();
    let job = q.wait(id).await.unwrap();
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "took {:?}",
        t0.elapsed()
    );
    assert_eq!(job.state, State::Cancelled);
    assert!(job.error.is_none() || job.error.unwrap().message.contains("cancel"));
    q.close().await;
}

async fn cancel_kills_child_processes(b: Backend) {
    let q = b.open();
    let (tx, rx) = tokio::sync::oneshot::channel::<u32>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    q.register("child", move |ctx: JobContext| {
        let tx = tx.clone();
        async move {
            let mut child = tokio::process::Command::new("sleep")
                .arg("60")
                .spawn()
                .map_err(|e| JobError::fatal(format!("spawn: {e}")))?;
            let pid = child.id().unwrap();
            ctx.register_child(pid);
            if let Some(tx) = tx.lock().unwrap().take() {
                let _ = tx.send(pid);
            }
            let status = child
                .wait()
                .await
                .map_err(|e| JobError::fatal(e.to_string()))?;
            Err(JobError::fatal(format!("child ended: {status}")))
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("child", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let pid = rx.await.unwrap();
    q.cancel(id).await.unwrap();
    assert_eq!(q.wait(id).await.unwrap().state, State::Cancelled);
    // The child is gone (killed, and reaped by its waiting parent task).
    until("child killed", || {
        !std::path::Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .map(|s| s.contains(") Z"))
                .unwrap_or(true)
    })
    .await;
    q.close().await;
}

// ---------------------------------------------------------------- queues

async fn pause_is_persisted_across_restarts(b: Backend) {
    {
        let q = b.open();
        q.pause(Some("video")).await.unwrap();
        q.set_concurrency("video", 3).await.unwrap();
        q.close().await;
    }
    let q = b.open();
    assert!(q.is_paused(Some("video")));
    assert!(!q.is_paused(None));
    let log = recording(&q, "k");
    q.start().unwrap();
    let paused = q
        .enqueue(NewJob::new("k", "video", json!("v")))
        .await
        .unwrap()
        .id;
    let free = q
        .enqueue(NewJob::new("k", "audio", json!("a")))
        .await
        .unwrap()
        .id;
    wait_all(&q, &[free]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(q.get(paused).unwrap().state, State::Pending);
    let w = q.workers();
    let video = w.iter().find(|w| w.queue == "video").unwrap();
    assert!(video.paused);
    assert_eq!(video.concurrency, 3);
    q.pause(None).await.unwrap();
    q.close().await;

    let q = b.open();
    assert!(q.is_paused(None));
    let log2 = recording(&q, "k");
    q.start().unwrap();
    q.resume(Some("video")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(q.get(paused).unwrap().state, State::Pending, "all paused");
    q.resume(None).await.unwrap();
    wait_all(&q, &[paused]).await;
    assert_eq!(log.take(), vec![json!("a")]);
    assert_eq!(log2.take(), vec![json!("v")]);
    q.close().await;
}

async fn pause_lets_running_jobs_finish(b: Backend) {
    let q = b.open();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let started = Arc::new(AtomicUsize::new(0));
    let (g, s) = (gate.clone(), started.clone());
    q.register("gated", move |_ctx: JobContext| {
        let (g, s) = (g.clone(), s.clone());
        async move {
            s.fetch_add(1, Ordering::SeqCst);
            g.acquire().await.unwrap().forget();
            Ok(json!(null))
        }
    });
    q.start().unwrap();
    let first = q
        .enqueue(NewJob::new("gated", "q", json!(1)))
        .await
        .unwrap()
        .id;
    let second = q
        .enqueue(NewJob::new("gated", "q", json!(2)))
        .await
        .unwrap()
        .id;
    until("first started", || started.load(Ordering::SeqCst) == 1).await;
    q.pause(Some("q")).await.unwrap();
    gate.add_permits(1);
    assert_eq!(wait_all(&q, &[first]).await, vec![State::Succeeded]);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(started.load(Ordering::SeqCst), 1);
    assert_eq!(q.get(second).unwrap().state, State::Pending);
    q.resume(Some("q")).await.unwrap();
    gate.add_permits(1);
    assert_eq!(wait_all(&q, &[second]).await, vec![State::Succeeded]);
    q.close().await;
}

async fn concurrency_is_per_queue_and_changes_at_runtime(b: Backend) {
    let q = b.open();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(Mutex::new(BTreeMap::<String, usize>::new()));
    let (r, p) = (running.clone(), peak.clone());
    q.register("busy", move |ctx: JobContext| {
        let (r, p) = (r.clone(), p.clone());
        async move {
            let queue = ctx.queue.clone();
            let n = r.fetch_add(1, Ordering::SeqCst) + 1;
            {
                let mut p = p.lock().unwrap();
                let e = p.entry(queue.clone()).or_default();
                *e = (*e).max(n);
            }
            tokio::time::sleep(Duration::from_millis(60)).await;
            r.fetch_sub(1, Ordering::SeqCst);
            Ok(json!(null))
        }
    });
    q.set_concurrency("wide", 3).await.unwrap();
    q.start().unwrap();
    let mut ids = Vec::new();
    for i in 0..9 {
        ids.push(
            q.enqueue(NewJob::new("busy", "wide", json!(i)))
                .await
                .unwrap()
                .id,
        );
    }
    wait_all(&q, &ids).await;
    assert_eq!(peak.lock().unwrap()["wide"], 3);
    q.set_concurrency("wide", 1).await.unwrap();
    peak.lock().unwrap().clear();
    let mut ids = Vec::new();
    for i in 0..4 {
        ids.push(
            q.enqueue(NewJob::new("busy", "wide", json!(i)))
                .await
                .unwrap()
                .id,
        );
    }
    wait_all(&q, &ids).await;
    assert_eq!(peak.lock().unwrap()["wide"], 1);
    q.close().await;
}

// ---------------------------------------------------------------- workflows

async fn workflow_failure_propagates_and_retry_revives(b: Backend) {
    let q = b.open();
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let f = fail.clone();
    q.register("extract", move |_ctx: JobContext| {
        let f = f.load(Ordering::SeqCst);
        async move {
            if f {
                Err(JobError::fatal("lecture.mp4 has no audio or video stream"))
            } else {
                Ok(json!({"frames": 3}))
            }
        }
    });
    q.register("use", |ctx: JobContext| async move {
        let inputs: Vec<Value> = ctx.deps.values().cloned().collect();
        Ok(json!({ "inputs": inputs }))
    });
    q.pause(None).await.unwrap();
    q.start().unwrap();
    let (gid, jobs) = q
        .enqueue_group(
            "complete",
            vec![
                NewJob::new("extract", "video", json!(null)),
                NewJob::new("use", "audio", json!(null)).depends_on(Dep::Batch(0)),
                NewJob::new("use", "image", json!(null)).depends_on(Dep::Batch(0)),
                NewJob::new("use", "summary", json!(null))
                    .depends_on(Dep::Batch(1))
                    .depends_on(Dep::Batch(2)),
            ],
        )
        .await
        .unwrap();
    let ids: Vec<JobId> = jobs.iter().map(|e| e.id).collect();
    assert_eq!(q.get(ids[3]).unwrap().state, State::Blocked);
    assert_eq!(q.group(gid).unwrap().state, State::Pending);
    q.resume(None).await.unwrap();
    wait_all(&q, &ids).await;
    let root = q.get(ids[0]).unwrap();
    assert_eq!(root.state, State::Failed);
    for id in &ids[1..] {
        let j = q.get(*id).unwrap();
        assert_eq!(j.state, State::Failed, "{id}");
        let e = j.error.unwrap();
        assert_eq!(e.kind, FailureKind::Upstream);
        assert_eq!(e.upstream, Some(ids[0]));
        assert!(
            e.message
                .contains(&format!("upstream: job {} (extract)", ids[0]))
                && e.message.contains("lecture.mp4 has no audio"),
            "{}",
            e.message
        );
        assert_eq!(j.attempts, 0, "a downstream job never ran");
    }
    let g = q.group(gid).unwrap();
    assert_eq!(g.state, State::Failed);
    assert_eq!(g.total, 4);

    // Retrying a downstream job retries where the failure began, and revives the rest.
    fail.store(false, Ordering::SeqCst);
    q.retry(ids[3]).await.unwrap();
    assert_eq!(
        wait_all(&q, &ids).await,
        vec![State::Succeeded; 4],
        "all revived"
    );
    let summary = q.result(ids[3]).unwrap().unwrap();
    assert_eq!(summary["inputs"].as_array().unwrap().len(), 2);
    let g = q.group(gid).unwrap();
    assert_eq!(g.state, State::Succeeded);
    assert_eq!(g.progress, 1.0);

    // A dependency on a job that already failed fails at once.
    q.retry(ids[0]).await.unwrap_err();
    fail.store(true, Ordering::SeqCst);
    let lone = q
        .enqueue(NewJob::new("extract", "video", json!(null)))
        .await
        .unwrap()
        .id;
    q.wait(lone).await.unwrap();
    let late = q
        .enqueue(NewJob::new("use", "audio", json!(null)).depends_on(Dep::Job(lone)))
        .await
        .unwrap()
        .id;
    let late = q.get(late).unwrap();
    assert_eq!(late.state, State::Failed);
    assert_eq!(late.error.unwrap().upstream, Some(lone));
    q.close().await;
}

async fn cancelling_a_workflow_job_cancels_nothing_else_running(b: Backend) {
    let q = b.open();
    let log = recording(&q, "k");
    q.pause(None).await.unwrap();
    q.start().unwrap();
    let (gid, jobs) = q
        .enqueue_group(
            "chain",
            vec![
                NewJob::new("k", "q", json!(0)),
                NewJob::new("k", "q", json!(1)).depends_on(Dep::Batch(0)),
            ],
        )
        .await
        .unwrap();
    let other = q
        .enqueue(NewJob::new("k", "q", json!("other")))
        .await
        .unwrap()
        .id;
    q.cancel(jobs[0].id).await.unwrap();
    q.resume(None).await.unwrap();
    wait_all(&q, &[other, jobs[0].id, jobs[1].id]).await;
    assert_eq!(q.get(jobs[1].id).unwrap().state, State::Failed);
    assert_eq!(q.group(gid).unwrap().state, State::Cancelled);
    assert_eq!(log.take(), vec![json!("other")]);
    q.close().await;
}

// ---------------------------------------------------------------- identity

async fn dedup_keys_return_the_live_job(b: Backend) {
    let q = b.open();
    recording(&q, "k");
    q.pause(None).await.unwrap();
    q.start().unwrap();
    let first = q
        .enqueue(NewJob::new("k", "q", json!(1)).dedup_key("/videos/a.mp4"))
        .await
        .unwrap();
    let again = q
        .enqueue(NewJob::new("k", "q", json!(2)).dedup_key("/videos/a.mp4"))
        .await
        .unwrap();
    assert!(first.created);
    assert!(!again.created);
    assert_eq!(first.id, again.id);
    q.resume(None).await.unwrap();
    wait_all(&q, &[first.id]).await;
    let later = q
        .enqueue(NewJob::new("k", "q", json!(3)).dedup_key("/videos/a.mp4"))
        .await
        .unwrap();
    assert!(later.created, "a finished job no longer holds its key");
    assert_ne!(later.id, first.id);
    wait_all(&q, &[later.id]).await;
    q.close().await;
}

async fn late_results_of_a_lost_lease_are_rejected(b: Backend) {
    let q = b.open();
    let id = q
        .enqueue(NewJob::new("k", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let store = q.store().clone();
    let first = store::transact(store.as_ref(), |t| {
        video2doc_queue::transition::claim(t, id, now_ms(), 11)
    })
    .unwrap();
    assert_eq!(first.state, State::Running);
    // The attempt is declared lost (the process "crashed"); another attempt claims it.
    store::transact(store.as_ref(), |t| {
        video2doc_queue::transition::recover(t, id, now_ms())
    })
    .unwrap();
    store::transact(store.as_ref(), |t| {
        video2doc_queue::transition::claim(t, id, now_ms(), 12)
    })
    .unwrap();
    let late = store::transact(store.as_ref(), |t| {
        video2doc_queue::transition::finish(
            t,
            id,
            11,
            video2doc_queue::Outcome::Succeeded(Payload::Inline(json!("stale"))),
            now_ms(),
            0.5,
        )
    });
    let err = late.unwrap_err();
    assert!(
        err.to_string().contains("no longer holds its lease"),
        "{err}"
    );
    let job = q.get(id).unwrap();
    assert_eq!(job.state, State::Running);
    assert_eq!(job.lease, Some(12));
    assert_eq!(job.attempts, 2);
    q.close().await;
}

async fn crashed_jobs_rerun_then_die(b: Backend) {
    let id;
    {
        let q = b.open();
        id = q
            .enqueue(NewJob::new("k", "q", json!(null)))
            .await
            .unwrap()
            .id;
        let store = q.store().clone();
        store::transact(store.as_ref(), |t| {
            video2doc_queue::transition::claim(t, id, now_ms(), 1)
        })
        .unwrap();
        store.flush().unwrap();
        drop(store);
        q.close().await; // not started: the running record stays as a crash leaves it
    }
    {
        let q = b.open();
        assert_eq!(q.recovered(), 1);
        let j = q.get(id).unwrap();
        assert_eq!(j.state, State::Pending);
        assert_eq!(j.crashes, 1);
        assert_eq!(j.attempts, 1);
        let store = q.store().clone();
        store::transact(store.as_ref(), |t| {
            video2doc_queue::transition::claim(t, id, now_ms(), 2)
        })
        .unwrap();
        store.flush().unwrap();
        drop(store);
        q.close().await;
    }
    let q = b.open();
    let j = q.get(id).unwrap();
    assert_eq!(j.state, State::Dead, "two crashes in a row");
    assert_eq!(j.attempts, 2);
    assert_eq!(j.error.unwrap().kind, FailureKind::Crashed);
    // A dead job can be retried by hand.
    recording(&q, "k");
    q.start().unwrap();
    q.retry(id).await.unwrap();
    assert_eq!(q.wait(id).await.unwrap().state, State::Succeeded);
    q.close().await;
}

async fn closing_releases_running_jobs_for_the_next_start(b: Backend) {
    let id;
    {
        let q = b.open();
        let started = Arc::new(tokio::sync::Notify::new());
        let s = started.clone();
        q.register("long", move |ctx: JobContext| {
            let s = s.clone();
            async move {
                s.notify_one();
                ctx.token().cancelled().await;
                Err(JobError::retryable("interrupted"))
            }
        });
        q.start().unwrap();
        id = q
            .enqueue(NewJob::new("long", "q", json!(null)))
            .await
            .unwrap()
            .id;
        started.notified().await;
        q.close().await;
    }
    let q = b.open();
    assert_eq!(q.recovered(), 0, "a clean close leaves nothing to recover");
    let j = q.get(id).unwrap();
    assert_eq!(j.state, State::Pending);
    assert_eq!(j.crashes, 0);
    q.register("long", |_ctx: JobContext| async { Ok(json!("done")) });
    q.start().unwrap();
    assert_eq!(q.wait(id).await.unwrap().state, State::Succeeded);
    q.close().await;
}

async fn jobs_without_a_handler_or_that_panic_fail_cleanly(b: Backend) {
    let q = b.open();
    q.register("boom", |_ctx: JobContext| async {
        if now_ms() > 0 {
            panic!("index out of range");
        }
        Ok(json!(null))
    });
    let log = recording(&q, "k");
    q.start().unwrap();
    let unknown = q
        .enqueue(NewJob::new("nobody", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let boom = q
        .enqueue(NewJob::new("boom", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let fine = q
        .enqueue(NewJob::new("k", "q", json!("fine")))
        .await
        .unwrap()
        .id;
    wait_all(&q, &[unknown, boom, fine]).await;
    let u = q.get(unknown).unwrap();
    assert_eq!(u.state, State::Failed);
    assert_eq!(u.error.unwrap().kind, FailureKind::NoHandler);
    let p = q.get(boom).unwrap();
    assert_eq!(p.state, State::Failed);
    assert!(p.error.unwrap().message.contains("index out of range"));
    assert_eq!(log.take(), vec![json!("fine")]);
    q.close().await;
}

// ---------------------------------------------------------------- data

/// On an exclusive store large values live in files; on a shared one, inline.
async fn large_payloads_and_results_live_in_files(b: Backend) {
    let q = b.open();
    q.register("echo", |ctx: JobContext| async move {
        let s = ctx.payload["text"].as_str().unwrap().to_uppercase();
        Ok(json!({ "text": s }))
    });
    q.start().unwrap();
    let big = "word ".repeat(10_000);
    let id = q
        .enqueue(NewJob::new("echo", "q", json!({ "text": big })))
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Succeeded);
    if q.store().shared().is_some() {
        // A shared store keeps them inline: other machines cannot read this one's files.
        assert!(matches!(job.payload, Payload::Inline(_)));
        assert!(matches!(job.result, Some(Payload::Inline(_))));
        assert!(!b.files().join(id.to_string()).exists());
        assert_eq!(
            q.result(id).unwrap().unwrap()["text"].as_str().unwrap(),
            big.to_uppercase()
        );
        assert_eq!(q.purge_finished(now_ms() + 1).unwrap(), 1);
        q.close().await;
        return;
    }
    let Payload::File(p) = &job.payload else {
        panic!("large payload stored inline")
    };
    assert!(p.starts_with(b.files()));
    let Some(Payload::File(r)) = &job.result else {
        panic!("large result stored inline")
    };
    assert!(r.exists());
    let raw = q
        .store()
        .get(Space::Jobs, &id.0.to_be_bytes())
        .unwrap()
        .unwrap();
    assert!(raw.len() < 8 * 1024, "the record holds {} bytes", raw.len());
    assert_eq!(
        q.result(id).unwrap().unwrap()["text"]
            .as_str()
            .unwrap()
            .len(),
        big.len()
    );
    // Purging the job removes its files.
    assert_eq!(q.purge_finished(now_ms() + 1).unwrap(), 1);
    assert!(!r.exists() && !p.exists());
    assert!(matches!(
        q.get(id).unwrap_err(),
        QueueError::Rejected(Rejection::NotFound(_))
    ));
    q.close().await;
}

async fn events_arrive_in_commit_order(b: Backend) {
    let q = b.open();
    q.register("steps", |ctx: JobContext| async move {
        ctx.progress(0.5, "half", "half way");
        Ok(json!(null))
    });
    let mut rx = q.subscribe();
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("steps", "q", json!(null)))
        .await
        .unwrap()
        .id;
    q.wait(id).await.unwrap();
    let mut states = Vec::new();
    let mut progress = false;
    // Events leave after the flush, so they may trail the record `wait` saw.
    while states
        .last()
        .is_none_or(|(_, to): &(Option<State>, State)| !to.is_terminal())
    {
        let e = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("events arrive")
            .expect("the bus is open");
        match e {
            Event::State(c) if c.id == id => states.push((c.from, c.to)),
            Event::Progress {
                id: pid,
                progress: p,
                ..
            } if pid == id => {
                assert_eq!(p.fraction, 0.5);
                progress = true;
            }
            _ => {}
        }
    }
    assert_eq!(
        states,
        vec![
            (None, State::Pending),
            (Some(State::Pending), State::Running),
            (Some(State::Running), State::Succeeded)
        ]
    );
    assert!(progress);
    q.close().await;
}

async fn progress_is_persisted_while_running(b: Backend) {
    let q = b.open();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let g = gate.clone();
    q.register("prog", move |ctx: JobContext| {
        let g = g.clone();
        async move {
            ctx.progress(0.25, "transcribe", "chunk 1 of 4");
            g.acquire().await.unwrap().forget();
            Ok(json!(null))
        }
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("prog", "q", json!(null)))
        .await
        .unwrap()
        .id;
    until("progress stored", || {
        q.get(id).unwrap().progress.fraction == 0.25
    })
    .await;
    let p = q.progress(id).unwrap();
    assert_eq!(p.stage, "transcribe");
    assert_eq!(
        q.list(Some(State::Running), None, 10).unwrap()[0]
            .progress
            .message,
        "chunk 1 of 4"
    );
    gate.add_permits(1);
    q.wait(id).await.unwrap();
    q.close().await;
}

/// A note a running job adds (a fallback it took) stays in its history, between the
/// attempt's start and its end.
async fn notes_join_the_history_of_a_running_job(b: Backend) {
    let q = b.open();
    q.register("noted", move |ctx: JobContext| async move {
        ctx.note("the GPU failed; the rest ran on the CPU");
        Ok(json!(null))
    });
    q.start().unwrap();
    let id = q
        .enqueue(NewJob::new("noted", "q", json!(null)))
        .await
        .unwrap()
        .id;
    let job = q.wait(id).await.unwrap();
    assert_eq!(job.state, State::Succeeded);
    let notes: Vec<(&str, State)> = job
        .history
        .iter()
        .map(|h| (h.note.as_str(), h.state))
        .collect();
    let at = notes
        .iter()
        .position(|n| n.0 == "the GPU failed; the rest ran on the CPU")
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert_eq!(notes[at].1, State::Running);
    assert_eq!(notes[at - 1].0, "attempt 1 started", "{notes:?}");
    assert_eq!(notes[at + 1].0, "attempt 1 succeeded", "{notes:?}");
    q.close().await;
}

// ---------------------------------------------------------------- damaged records

/// What a record looks like when it does not decode: damage, or a newer build's state.
const UNDECODABLE: &[u8] = br#"{"id": 1, "state": "frozen", "kind": "#;

/// Replaces a job's stored record with bytes that do not decode; its index entries stay.
fn damage(q: &Queue, id: JobId) {
    store::transact(q.store().as_ref(), |t| {
        t.insert(Space::Jobs, &id.0.to_be_bytes(), UNDECODABLE)
    })
    .unwrap();
    q.store().flush().unwrap();
}

/// Whether a job's record sits in the quarantine with exactly the bytes it had.
fn set_aside_unchanged(q: &Queue, id: JobId) -> bool {
    let mut key = b"jobs/".to_vec();
    key.extend_from_slice(&id.0.to_be_bytes());
    q.store().get(Space::Quarantine, &key).unwrap().as_deref() == Some(UNDECODABLE)
}

/// Issue 17 (M2): a ready job whose record does not decode is set aside; the jobs behind
/// it in its queue and in the queues after it still run, listings still work, the jobs
/// waiting for it fail saying why, and health counts and names it.
async fn an_undecodable_ready_job_does_not_stop_the_others(b: Backend) {
    let q = b.open();
    let log = recording(&q, "k");
    q.pause(None).await.unwrap();
    let bad = q
        .enqueue(NewJob::new("k", "audio", json!("bad")))
        .await
        .unwrap()
        .id;
    let same_queue = q
        .enqueue(NewJob::new("k", "audio", json!("a")))
        .await
        .unwrap()
        .id;
    let later_queue = q
        .enqueue(NewJob::new("k", "video", json!("v")))
        .await
        .unwrap()
        .id;
    let waiting = q
        .enqueue(NewJob::new("k", "video", json!("w")).depends_on(Dep::Job(bad)))
        .await
        .unwrap()
        .id;
    damage(&q, bad);
    q.start().unwrap();
    q.resume(None).await.unwrap();
    assert_eq!(
        wait_all(&q, &[same_queue, later_queue]).await,
        vec![State::Succeeded, State::Succeeded]
    );
    let mut ran = log.take();
    ran.sort_by_key(|v| v.to_string());
    assert_eq!(
        ran,
        vec![json!("a"), json!("v")],
        "the damaged job never ran"
    );
    assert_eq!(wait_all(&q, &[waiting]).await, vec![State::Failed]);
    let why = q.get(waiting).unwrap().error.unwrap();
    assert_eq!(why.kind, FailureKind::Upstream);
    assert!(why.message.contains("could not be read"), "{}", why.message);
    let listed: Vec<JobId> = q
        .list(None, None, 10)
        .unwrap()
        .iter()
        .map(|j| j.id)
        .collect();
    assert_eq!(listed, vec![waiting, later_queue, same_queue]);
    assert!(matches!(
        q.get(bad).unwrap_err(),
        QueueError::Rejected(Rejection::NotFound(_))
    ));
    assert!(
        set_aside_unchanged(&q, bad),
        "its bytes are kept as they were"
    );
    let h = q.health();
    assert_eq!(
        (h.quarantined, h.quarantined_jobs.clone()),
        (1, vec![bad]),
        "{h:?}"
    );
    assert!(h.ok, "a record set aside does not stop the queue: {h:?}");
    let aside = q.quarantined().unwrap();
    assert_eq!(aside.len(), 1);
    assert_eq!((aside[0].space.as_str(), aside[0].job), ("jobs", Some(bad)));
    assert_eq!(q.stats().unwrap().totals.values().sum::<u64>(), 3);
    q.close().await;
}

/// Issue 17 (M2): a running job whose record does not decode does not stop the queue from
/// opening (recovery on an exclusive store, the reaper on a shared one).
async fn an_undecodable_running_job_does_not_stop_the_opening(b: Backend) {
    let (bad, fine);
    {
        let q = b.open();
        bad = q
            .enqueue(NewJob::new("k", "q", json!("bad")))
            .await
            .unwrap()
            .id;
        fine = q
            .enqueue(NewJob::new("k", "q", json!("fine")))
            .await
            .unwrap()
            .id;
        store::transact(q.store().as_ref(), |t| {
            video2doc_queue::transition::claim(t, bad, now_ms(), 1)
        })
        .unwrap();
        damage(&q, bad);
        q.close().await;
    }
    let q = b
        .try_open()
        .expect("the queue opens despite the damaged record");
    assert!(set_aside_unchanged(&q, bad));
    assert_eq!(q.health().quarantined_jobs, vec![bad]);
    let log = recording(&q, "k");
    q.start().unwrap();
    assert_eq!(wait_all(&q, &[fine]).await, vec![State::Succeeded]);
    assert_eq!(log.take(), vec![json!("fine")]);
    q.close().await;
}

// ---------------------------------------------------------------- observation

async fn stats_workers_groups_and_health(b: Backend) {
    let q = b.open();
    q.register("ok", |_ctx: JobContext| async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(json!(null))
    });
    q.register("bad", |_ctx: JobContext| async {
        Err(JobError::fatal("nope"))
    });
    q.start().unwrap();
    let (gid, jobs) = q
        .enqueue_group(
            "parallel",
            vec![
                NewJob::new("ok", "audio", json!(1)),
                NewJob::new("ok", "image", json!(2)),
                NewJob::new("ok", "audio", json!(3)),
                NewJob::new("bad", "audio", json!(4)),
            ],
        )
        .await
        .unwrap();
    let ids: Vec<_> = jobs.iter().map(|e| e.id).collect();
    wait_all(&q, &ids).await;
    let g = q.group(gid).unwrap();
    assert_eq!(g.name, "parallel");
    assert_eq!(g.counts[&State::Succeeded], 3);
    assert_eq!(g.counts[&State::Failed], 1);
    assert_eq!(g.state, State::Failed);

    let s = q.stats().unwrap();
    assert_eq!(s.counts["audio"][&State::Succeeded], 2);
    assert_eq!(s.counts["audio"][&State::Failed], 1);
    assert_eq!(s.counts["image"][&State::Succeeded], 1);
    assert_eq!(s.totals[&State::Succeeded], 3);
    assert_eq!(s.finished_last_hour, 4);
    assert_eq!(s.throughput_per_minute.len(), 60);
    assert_eq!(s.throughput_per_minute.iter().sum::<u64>(), 4);
    assert!((s.failure_rate - 0.25).abs() < 1e-9);
    let ok = &s.kinds["ok"];
    assert_eq!(ok.succeeded, 3);
    assert!(ok.mean_ms >= 20.0 && ok.p95_ms >= 20, "{ok:?}");
    assert_eq!(s.kinds["bad"].failure_rate, 1.0);

    let before = q.snapshots(0).unwrap().len();
    q.snapshot_stats().unwrap();
    let snaps = q.snapshots(0).unwrap();
    assert_eq!(snaps.len(), before + 1);
    assert_eq!(snaps.last().unwrap().totals[&State::Succeeded], 3);

    // A worker lets go of its job just after the job's end is stored.
    until("an audio worker is idle", || {
        q.workers()
            .iter()
            .any(|w| w.queue == "audio" && w.running.is_empty())
    })
    .await;

    let h = q.health();
    assert!(h.ok, "{h:?}");
    assert!(h.store_writable);
    assert!(h.last_flush_at.is_some());
    assert!(h.flushes >= 1);
    if b.kind == Kind::Sled {
        assert!(h.free_disk_bytes.unwrap() > 0);
        assert!(h.store.contains("sled"));
    }
    let listed = q.list(Some(State::Failed), Some("audio"), 10).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].error.as_deref(), Some("nope"));
    assert_eq!(q.list(None, None, 2).unwrap().len(), 2);
    q.close().await;
}

async fn purge_keeps_unfinished_and_recent_jobs(b: Backend) {
    let q = b.open();
    recording(&q, "k");
    q.start().unwrap();
    let done = q.enqueue(NewJob::new("k", "q", json!(1))).await.unwrap().id;
    wait_all(&q, &[done]).await;
    q.pause(None).await.unwrap();
    let waiting = q.enqueue(NewJob::new("k", "q", json!(2))).await.unwrap().id;
    assert_eq!(q.purge_finished(0).unwrap(), 0, "nothing finished before 0");
    assert_eq!(q.purge_finished(now_ms() + 1).unwrap(), 1);
    assert!(q.get(done).is_err());
    assert_eq!(q.get(waiting).unwrap().state, State::Pending);
    assert_eq!(q.stats().unwrap().totals.get(&State::Succeeded), None);
    q.close().await;
}

async fn bad_names_are_rejected(b: Backend) {
    let q = b.open();
    let e = q
        .enqueue(NewJob::new("k", "", json!(null)))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        QueueError::Rejected(Rejection::InvalidQueueName(_))
    ));
    let e = q
        .enqueue(NewJob::new("k", "q", json!(null)).depends_on(Dep::Batch(3)))
        .await
        .unwrap_err();
    assert!(matches!(
        e,
        QueueError::Rejected(Rejection::BadDependency { .. })
    ));
    let e = q.cancel(JobId(987_654)).await.unwrap_err();
    assert!(e.to_string().contains("987654"), "{e}");
    q.close().await;
}

// ---------------------------------------------------------------- workers

async fn workers_register_with_a_heartbeat_and_leave_at_close(b: Backend) {
    let config = QueueConfig {
        lease: Duration::from_millis(600),
        ..Backend::config()
    };
    let q = b.try_open_with(config.clone()).unwrap();
    recording(&q, "k");
    assert!(
        q.registered_workers().unwrap().is_empty(),
        "not started: not registered"
    );
    q.set_concurrency("video", 3).await.unwrap();
    q.start().unwrap();
    let w = q.registered_workers().unwrap();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].pid, std::process::id());
    assert_eq!(w[0].host, q.host());
    assert_eq!(w[0].queues.get("video"), Some(&3));
    assert_eq!(w[0].kinds, vec!["k".to_string()]);
    assert_eq!(w[0].version, env!("CARGO_PKG_VERSION"));
    let first = w[0].heartbeat_at;
    // Alive past its first expiry: the heartbeat renews it.
    tokio::time::sleep(Duration::from_millis(900)).await;
    let w = q.registered_workers().unwrap();
    assert_eq!(w.len(), 1, "still registered after the first expiry");
    assert!(w[0].heartbeat_at > first);
    q.close().await;
    assert!(q_workers(&b, config).is_empty(), "a closed worker is gone");
}

fn q_workers(b: &Backend, config: QueueConfig) -> Vec<video2doc_queue::WorkerRecord> {
    let q = b.try_open_with(config).unwrap();
    q.registered_workers().unwrap()
}

async fn a_worker_of_another_schema_refuses_to_start(b: Backend) {
    let q = b.open();
    let forged = video2doc_queue::WorkerRecord {
        id: "00000000000000ff".into(),
        host: "lab-gpu-7".into(),
        pid: 4242,
        version: "9.0.0".into(),
        schema: 99,
        queues: BTreeMap::new(),
        default_concurrency: 1,
        kinds: Vec::new(),
        running: 0,
        started_at: now_ms(),
        heartbeat_at: now_ms(),
        expires_at: now_ms() + 60_000,
    };
    let key = format!(
        "{}{}",
        video2doc_queue::registry::WORKER_KEY_PREFIX,
        forged.id
    );
    let bytes = serde_json::to_vec(&forged).unwrap();
    store::transact(q.store().as_ref(), |t| {
        t.insert(Space::Meta, key.as_bytes(), &bytes)
    })
    .unwrap();
    let e = q.start().expect_err("another schema is refused");
    let msg = e.to_string();
    assert!(
        msg.contains("lab-gpu-7") && msg.contains("4242") && msg.contains("99"),
        "{msg}"
    );
    // Once that worker's registration expired, this one starts.
    let expired = video2doc_queue::WorkerRecord {
        expires_at: now_ms() - 1,
        ..forged
    };
    let bytes = serde_json::to_vec(&expired).unwrap();
    store::transact(q.store().as_ref(), |t| {
        t.insert(Space::Meta, key.as_bytes(), &bytes)
    })
    .unwrap();
    q.start().unwrap();
    q.close().await;
}

// ---------------------------------------------------------------- sled only

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_refuses_a_newer_schema() {
    let b = Backend::new(Kind::Sled);
    {
        let s = SledStore::open(&b.dir.path().join("queue")).unwrap();
        s.force_schema_version(99).unwrap();
    }
    let e = b.try_open().err().expect("a newer schema is refused");
    let msg = e.to_string();
    assert!(msg.contains("99") && msg.contains("newer"), "{msg}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sled_refuses_a_second_opener_naming_the_holder() {
    let b = Backend::new(Kind::Sled);
    let q = b.open();
    let e = b.try_open().err().expect("a second opener is refused");
    let msg = e.to_string();
    assert!(
        msg.contains(&std::process::id().to_string()),
        "names the holder: {msg}"
    );
    q.close().await;
    // Once the holder has gone, the directory opens again.
    b.open().close().await;
}

// ---------------------------------------------------------------- every backend

macro_rules! suite {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Backend::new(super::backends::$backend())).await;
                }
            )*
        }
    };
}

macro_rules! backends {
    ($($backend:ident => $kind:expr),* $(,)?) => {
        mod backends {
            $(pub fn $backend() -> super::Kind { $kind })*
        }
        $(
            suite!($backend:
                priorities_then_fifo,
                priority_changes_while_pending,
                delayed_jobs_wait_for_their_time,
                held_jobs_wait_for_their_release,
                retryable_errors_retry_with_backoff,
                bad_input_is_not_retried,
                retries_stop_at_the_maximum,
                manual_retry_runs_a_failed_job_again,
                timeouts_fire_the_token,
                a_job_that_ignores_its_timeout_is_abandoned,
                cancel_a_pending_job,
                cancel_a_running_job_within_a_second,
                cancel_kills_child_processes,
                pause_is_persisted_across_restarts,
                pause_lets_running_jobs_finish,
                concurrency_is_per_queue_and_changes_at_runtime,
                workflow_failure_propagates_and_retry_revives,
                cancelling_a_workflow_job_cancels_nothing_else_running,
                dedup_keys_return_the_live_job,
                late_results_of_a_lost_lease_are_rejected,
                crashed_jobs_rerun_then_die,
                closing_releases_running_jobs_for_the_next_start,
                jobs_without_a_handler_or_that_panic_fail_cleanly,
                large_payloads_and_results_live_in_files,
                events_arrive_in_commit_order,
                progress_is_persisted_while_running,
                notes_join_the_history_of_a_running_job,
                stats_workers_groups_and_health,
                purge_keeps_unfinished_and_recent_jobs,
                bad_names_are_rejected,
                workers_register_with_a_heartbeat_and_leave_at_close,
                a_worker_of_another_schema_refuses_to_start,
                an_undecodable_ready_job_does_not_stop_the_others,
                an_undecodable_running_job_does_not_stop_the_opening,
            );
        )*
    };
}

#[cfg(not(feature = "redis"))]
backends! {
    memory => super::Kind::Memory,
    sled => super::Kind::Sled,
}

#[cfg(feature = "redis")]
backends! {
    memory => super::Kind::Memory,
    sled => super::Kind::Sled,
    redis => super::Kind::Redis,
}
