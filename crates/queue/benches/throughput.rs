//! Queue throughput and latency, on a real sled store in a temporary directory.
//!
//! `cargo bench -p video2doc-queue --bench throughput` prints one line per figure and,
//! as its last line, a JSON object: `enqueue_per_s`, `process_per_s`, `status_p50_us`,
//! `status_p99_us` (with 100k jobs stored), `recover_ms` (reopening 100k jobs of which
//! 1000 were running), and the same-run baseline they are compared with: the same
//! durable enqueue from one caller at a time, so that every enqueue pays its own flush
//! (`baseline_serial_enqueue_per_s`, what the queue would do without group commit),
//! with the ratios against it. `raw_sled_writes_per_s` (a bare sled insert + flush)
//! shows what the disk allows.
//!
//! Sizes can be lowered for a quick look: `V2D_BENCH_JOBS` (default 20000) and
//! `V2D_BENCH_STORED` (default 100000).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use video2doc_queue::store::{self, Space};
use video2doc_queue::{now_ms, JobContext, JobId, NewJob, Queue, QueueConfig, State};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The default configuration: concurrency is the number of CPUs, as users get it.
fn config() -> QueueConfig {
    QueueConfig::default()
}

fn sample_job(i: usize) -> NewJob {
    NewJob::new(
        "noop",
        "video",
        json!({ "input": format!("/home/user/Videos/lecture-{i:06}.mp4"), "formats": ["md", "srt"] }),
    )
}

/// Context: a bare sled write made durable on its own (insert, then flush), the way a
/// store without group commit acknowledges; same record size as a queued job.
fn raw_writes_per_s(n: usize) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let db = sled::open(dir.path()).unwrap();
    let record = serde_json::to_vec(&sample_job(0)).unwrap();
    let start = Instant::now();
    for i in 0..n as u64 {
        db.insert(i.to_be_bytes(), record.as_slice()).unwrap();
        db.flush().unwrap();
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// Durable enqueues from 64 concurrent callers, each waiting for its acknowledgement.
async fn enqueue_per_s(q: &Queue, n: usize) -> (f64, Vec<JobId>) {
    let callers = 64;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let q = q.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (c..n).step_by(callers) {
                ids.push(q.enqueue(sample_job(i)).await.unwrap().id);
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.extend(t.await.unwrap());
    }
    (n as f64 / start.elapsed().as_secs_f64(), ids)
}

/// Jobs claimed, run (a handler that does nothing) and recorded durably, per second.
async fn process_per_s(q: &Queue, ids: &[JobId]) -> f64 {
    let done = Arc::new(AtomicUsize::new(0));
    let d = done.clone();
    q.register("noop", move |_ctx: JobContext| {
        let d = d.clone();
        async move {
            d.fetch_add(1, Ordering::Relaxed);
            Ok(json!(null))
        }
    });
    let mut rx = q.subscribe();
    let start = Instant::now();
    q.start().unwrap();
    let mut finished = 0;
    while finished < ids.len() {
        if let Some(video2doc_queue::Event::State(c)) = rx.recv().await {
            if c.to == State::Succeeded {
                finished += 1;
            }
        }
    }
    ids.len() as f64 / start.elapsed().as_secs_f64()
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let jobs = env("V2D_BENCH_JOBS", 20_000);
    // The running jobs of the recovery figure are taken from jobs added after the run.
    let stored = env("V2D_BENCH_STORED", 100_000).max(jobs + 1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();

    let raw = raw_writes_per_s(2_000.min(jobs));
    println!("raw sled: insert+flush per write: {raw:.0}/s");
    let serial_dir = tempfile::tempdir().unwrap();
    let baseline = rt.block_on(async {
        let q = Queue::open(serial_dir.path(), config()).unwrap();
        let n = 2_000.min(jobs);
        let start = Instant::now();
        for i in 0..n {
            q.enqueue(sample_job(i)).await.unwrap();
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        q.close().await;
        rate
    });
    println!(
        "baseline: {} durable enqueues, one caller (a flush each): {baseline:.0}/s",
        2_000.min(jobs)
    );

    let dir = tempfile::tempdir().unwrap();
    let (enq, proc_rate) = rt.block_on(async {
        let q = Queue::open(dir.path(), config()).unwrap();
        let (enq, ids) = enqueue_per_s(&q, jobs).await;
        println!("enqueue: {jobs} durable enqueues from 64 callers: {enq:.0}/s");
        let p = process_per_s(&q, &ids).await;
        println!("process: {jobs} jobs run and recorded: {p:.0}/s");
        q.close().await;
        (enq, p)
    });

    // Fill to `stored` jobs (in batches, as a folder import does), 1000 of them running.
    let (p50, p99, recover_ms) = rt.block_on(async {
        let q = Queue::open(dir.path(), config()).unwrap();
        let mut all: Vec<JobId> = Vec::with_capacity(stored);
        all.extend(
            q.list(None, None, usize::MAX)
                .unwrap()
                .into_iter()
                .map(|s| s.id),
        );
        while all.len() < stored {
            let n = (stored - all.len()).min(1000);
            let batch: Vec<NewJob> = (0..n).map(|i| sample_job(all.len() + i)).collect();
            all.extend(
                q.enqueue_batch(batch)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.id),
            );
        }
        let store_ref = q.store().clone();
        let pending: Vec<JobId> = all[all.len() - 1000..].to_vec();
        for id in &pending {
            store::transact(store_ref.as_ref(), |t| {
                video2doc_queue::transition::claim(t, *id, now_ms(), 7)
            })
            .unwrap();
        }
        store_ref.flush().unwrap();
        println!(
            "stored: {} jobs ({} bytes of job records)",
            all.len(),
            store_ref
                .scan(Space::Jobs, &[], None, usize::MAX)
                .unwrap()
                .iter()
                .map(|(_, v)| v.len())
                .sum::<usize>()
        );

        // Status lookups at random over every stored job.
        let mut lat = Vec::with_capacity(20_000);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = all[(x % all.len() as u64) as usize];
            let t = Instant::now();
            let job = q.get(id).unwrap();
            lat.push(t.elapsed().as_nanos() as u64);
            std::hint::black_box(job);
        }
        lat.sort_unstable();
        let p50 = percentile(&lat, 0.50) as f64 / 1000.0;
        let p99 = percentile(&lat, 0.99) as f64 / 1000.0;
        println!(
            "status: p50 {p50:.1} us, p99 {p99:.1} us over {} jobs",
            all.len()
        );
        drop(store_ref);
        // Dropping without close leaves the 1000 running, as a crash would.
        drop(q);
        tokio::time::sleep(Duration::from_millis(50)).await;

        let t = Instant::now();
        let q = Queue::open(dir.path(), config()).unwrap();
        let recover_ms = t.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(q.recovered(), 1000);
        println!(
            "recover: reopened {} jobs, {} running put back, in {recover_ms:.0} ms",
            all.len(),
            q.recovered()
        );
        q.close().await;
        (p50, p99, recover_ms)
    });

    // The figures of the Celery + Redis design this queue replaces, from its issue.
    let (celery_enq, celery_proc, celery_p99_us) = (1_100.0, 540.0, 500.0);
    let out = json!({
        "enqueue_per_s": enq.round(),
        "process_per_s": proc_rate.round(),
        "status_p50_us": (p50 * 10.0).round() / 10.0,
        "status_p99_us": (p99 * 10.0).round() / 10.0,
        "recover_ms": recover_ms.round(),
        "jobs": jobs,
        "stored": stored,
        "baseline_serial_enqueue_per_s": baseline.round(),
        "raw_sled_writes_per_s": raw.round(),
        "enqueue_vs_baseline": ((enq / baseline) * 10.0).round() / 10.0,
        "process_vs_baseline": ((proc_rate / baseline) * 10.0).round() / 10.0,
        "enqueue_vs_celery": ((enq / celery_enq) * 10.0).round() / 10.0,
        "process_vs_celery": ((proc_rate / celery_proc) * 10.0).round() / 10.0,
        "status_p99_vs_celery": ((celery_p99_us / p99) * 10.0).round() / 10.0,
    });
    println!("{out}");
}
