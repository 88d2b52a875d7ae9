//! The shared Redis store against the embedded sled store, measured in the same run on
//! this machine: durable enqueue rate (64 concurrent callers) and processing rate of
//! no-op jobs (claim, run, record) with one and with two worker processes
//! (`queue-worker`) on one local redis-server (AOF, appendfsync always), and the same
//! on sled with one in-process queue as the baseline. Beside them, where Celery is set
//! up, Celery's figures (Celery + its Redis transport, what the old server design used)
//! on a fresh redis-server with the same settings, measured by `shared/celery_run.py`
//! between our runs: the same enqueue callers and payload, one and two worker processes
//! of the same number of slots (`--pool threads`), no-op tasks.
//!
//! `cargo bench -p video2doc-queue --features redis --bench shared`; `V2D_BENCH_JOBS`
//! sets the number of jobs per figure (default 2000). Celery is taken from
//! `V2D_CELERY_PYTHON` (a python with celery and redis) or else the venv that
//! `scripts/setup-celery-bench.sh` makes; without either its figures are null. Prints
//! one line per figure and, last, a JSON object with the figures and their ratios.

use video2doc_testkit::redis_server;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use video2doc_queue::index::{self, Index};
use video2doc_queue::store::{prefix_end, Space};
use video2doc_queue::{
    JobContext, NewJob, Queue, QueueConfig, RedisConfig, RedisStore, State, Store,
};

const QUEUE: &str = "bench";

fn jobs() -> usize {
    std::env::var("V2D_BENCH_JOBS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

fn job(i: usize) -> NewJob {
    NewJob::new(
        "noop",
        QUEUE,
        json!({ "input": format!("/mnt/share/lectures/lecture-{i:06}.mp4") }),
    )
}

/// Durable enqueues from 64 concurrent callers, each waiting for its acknowledgement.
async fn enqueue_per_s(q: &Queue, n: usize) -> f64 {
    let callers = 64;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            for i in (c..n).step_by(callers) {
                q.enqueue(job(i)).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn succeeded(store: &dyn Store) -> usize {
    let prefix = index::state_queue_prefix(State::Succeeded, QUEUE);
    store
        .scan_keys(
            Space::Index(Index::ByState),
            &prefix,
            prefix_end(&prefix).as_deref(),
            usize::MAX,
        )
        .unwrap()
        .len()
}

/// Resumes the paused queue and measures until `target` jobs succeeded.
async fn process_per_s(client: &Queue, n: usize, target: usize) -> f64 {
    let start = Instant::now();
    client.resume(Some(QUEUE)).await.unwrap();
    while succeeded(client.store().as_ref()) < target {
        assert!(
            start.elapsed() < Duration::from_secs(600),
            "jobs did not finish within 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn worker(url: &str, namespace: &str, dir: &std::path::Path, name: &str) -> Child {
    let concurrency = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    let mut c = Command::new(env!("CARGO_BIN_EXE_queue-worker"))
        .args(["--url", url, "--namespace", namespace])
        .arg("--data")
        .arg(dir.join(name))
        .args(["--concurrency", &concurrency.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("queue-worker runs");
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(c.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("ready"), "worker did not start: {line:?}");
    c
}

fn stop(mut workers: Vec<Child>) {
    for w in &mut workers {
        drop(w.stdin.take());
    }
    for mut w in workers {
        let _ = w.wait();
    }
}

/// One Redis run: enqueue `n` into a paused queue, then process with `workers` processes.
async fn redis_run(server: &redis_server::RedisServer, workers: usize, n: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let namespace = format!("bench-{workers}-{}", std::process::id());
    let store: Arc<dyn Store> = Arc::new(
        RedisStore::open(RedisConfig::new(server.url()).namespace(namespace.clone())).unwrap(),
    );
    let client = Queue::with_store(
        store,
        Some(dir.path().join("client")),
        QueueConfig::default(),
    )
    .unwrap();
    client.pause(Some(QUEUE)).await.unwrap();
    let enq = enqueue_per_s(&client, n).await;
    let procs: Vec<Child> = (0..workers)
        .map(|i| worker(&server.url(), &namespace, dir.path(), &format!("w{i}")))
        .collect();
    let proc_rate = process_per_s(&client, n, n).await;
    stop(procs);
    (enq, proc_rate)
}

async fn sled_run(n: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let q = Queue::open(dir.path(), QueueConfig::default()).unwrap();
    q.register("noop", |_ctx: JobContext| async { Ok(json!(null)) });
    q.pause(Some(QUEUE)).await.unwrap();
    let enq = enqueue_per_s(&q, n).await;
    q.start().unwrap();
    let proc_rate = process_per_s(&q, n, n).await;
    q.close().await;
    (enq, proc_rate)
}

/// The python that runs Celery: `V2D_CELERY_PYTHON`, or the venv of
/// `scripts/setup-celery-bench.sh` where it exists.
fn celery_python() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("V2D_CELERY_PYTHON") {
        return Some(PathBuf::from(p));
    }
    let venv =
        PathBuf::from(std::env::var_os("HOME")?).join(".cache/video2doc/celery-venv/bin/python");
    venv.is_file().then_some(venv)
}

/// Celery's figures with `workers` worker processes of `slots` threads each on `server`
/// (the JSON line of `celery_run.py`), or why there are none.
fn celery_run(
    python: &std::path::Path,
    server: &redis_server::RedisServer,
    workers: usize,
    slots: usize,
    n: usize,
) -> Result<serde_json::Value, String> {
    let script = video2doc_testkit::package_dir().join("benches/shared/celery_run.py");
    let out = Command::new(python)
        .arg(script)
        .args(["--url", &server.url()])
        .args(["--jobs", &n.to_string()])
        .args(["--workers", &workers.to_string()])
        .args(["--pool", "threads", "--concurrency", &slots.to_string()])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("could not run {}: {e}", python.display()))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(3).collect();
        return Err(format!(
            "celery_run.py failed ({}): {}",
            out.status,
            tail.join(" | ")
        ));
    }
    let line = stdout.lines().last().unwrap_or_default();
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("celery_run.py printed {line:?}: {e}"))?;
    if v["done"].as_u64() != Some(n as u64) || v["left_in_broker"].as_u64() != Some(0) {
        return Err(format!("Celery did not run each task once: {line}"));
    }
    Ok(v)
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some((a? / b? * 100.0).round() / 100.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let n = jobs();
    let server = redis_server::RedisServer::start();
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2);
    println!(
        "jobs per figure: {n}; CPUs: {cpus}; redis-server on loopback, AOF appendfsync always"
    );
    let (sled_enq, sled_proc) = sled_run(n).await;
    println!(
        "sled  (in-process, 1 queue):   enqueue {sled_enq:>8.0}/s   process {sled_proc:>8.0}/s"
    );
    // Celery on a redis-server of its own (same settings), run between ours so that
    // both see the same state of a shared machine.
    let celery = celery_python().map(|py| (py, redis_server::RedisServer::start()));
    let mut celery_error = None;
    let mut celery_figures = |workers: usize| -> Option<serde_json::Value> {
        let (py, server) = celery.as_ref()?;
        if celery_error.is_some() {
            return None;
        }
        match celery_run(py, server, workers, cpus, n) {
            Ok(v) => {
                println!(
                    "celery {} ({workers} worker process{}, threads pool of {cpus}): enqueue {:>8}/s   process {:>8}/s ({}/s from launch)",
                    v["celery"].as_str().unwrap_or("?"),
                    if workers == 1 { "" } else { "es" },
                    v["enqueue_per_s"],
                    v["process_per_s"],
                    v["process_from_launch_per_s"],
                );
                Some(v)
            }
            Err(e) => {
                println!("Celery figures left out: {e}");
                celery_error = Some(e);
                None
            }
        }
    };
    if celery.is_none() {
        println!(
            "Celery is not set up (no V2D_CELERY_PYTHON, no ~/.cache/video2doc/celery-venv: scripts/setup-celery-bench.sh makes it): its figures are null"
        );
    }
    let (r1_enq, r1_proc) = redis_run(&server, 1, n).await;
    println!("redis (1 worker process):      enqueue {r1_enq:>8.0}/s   process {r1_proc:>8.0}/s");
    let c1 = celery_figures(1);
    let (r2_enq, r2_proc) = redis_run(&server, 2, n).await;
    println!("redis (2 worker processes):    enqueue {r2_enq:>8.0}/s   process {r2_proc:>8.0}/s");
    let c2 = celery_figures(2);
    let fig = |v: &Option<serde_json::Value>, k: &str| v.as_ref().and_then(|v| v[k].as_f64());
    let c_enq = fig(&c1, "enqueue_per_s");
    let c1_proc = fig(&c1, "process_per_s");
    let c2_proc = fig(&c2, "process_per_s");
    let out = json!({
        "jobs": n,
        "cpus": cpus,
        "sled_enqueue_per_s": sled_enq.round(),
        "sled_process_per_s": sled_proc.round(),
        "redis_enqueue_per_s": r1_enq.round(),
        "redis_1_worker_process_per_s": r1_proc.round(),
        "redis_2_workers_enqueue_per_s": r2_enq.round(),
        "redis_2_workers_process_per_s": r2_proc.round(),
        "redis_vs_sled_enqueue": (r1_enq / sled_enq * 100.0).round() / 100.0,
        "redis_1_worker_vs_sled_process": (r1_proc / sled_proc * 100.0).round() / 100.0,
        "redis_2_workers_vs_sled_process": (r2_proc / sled_proc * 100.0).round() / 100.0,
        "celery_version": c1.as_ref().and_then(|v| v["celery"].as_str().map(str::to_owned)),
        "celery_enqueue_per_s": c_enq,
        "celery_2_workers_enqueue_per_s": fig(&c2, "enqueue_per_s"),
        "celery_process_1_per_s": c1_proc,
        "celery_process_2_per_s": c2_proc,
        "celery_process_1_from_launch_per_s": fig(&c1, "process_from_launch_per_s"),
        "celery_process_2_from_launch_per_s": fig(&c2, "process_from_launch_per_s"),
        "redis_vs_celery_enqueue": ratio(Some(r1_enq), c_enq),
        "redis_1_worker_vs_celery_process": ratio(Some(r1_proc), c1_proc),
        "redis_2_workers_vs_celery_process": ratio(Some(r2_proc), c2_proc),
    });
    println!("{out}");
}
