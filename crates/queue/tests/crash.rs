//! Kill test: a child process (this same test binary, in child mode) runs a busy queue
//! on a sled store and is killed with SIGKILL at a random moment, round after round.
//! The child logs every enqueue and completion the queue acknowledged; after each kill
//! the parent reopens the store and checks that nothing acknowledged was lost, that
//! every job is in exactly one state with exactly its index entries, and that attempt
//! counts never go backwards. At the end every job must finish.
#![cfg(unix)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::json;
use video2doc_queue::index::{self, Index};
use video2doc_queue::store::{self, Space};
use video2doc_queue::{
    Dep, Event, JobContext, JobError, JobId, JobRecord, NewJob, Priority, Queue, QueueConfig,
    State, Store,
};

const CHILD_ENV: &str = "VIDEO2DOC_CRASH_CHILD";
const TEST_NAME: &str = "sigkill_rounds_lose_nothing_acknowledged";

fn config() -> QueueConfig {
    QueueConfig {
        default_concurrency: 3,
        ..QueueConfig::default()
    }
}

fn register(q: &Queue) {
    q.register("work", |ctx: JobContext| async move {
        let ms = ctx.payload["ms"].as_u64().unwrap_or(5);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(json!({ "slept": ms }))
    });
    q.register("flaky", |ctx: JobContext| async move {
        if ctx.attempt == 1 {
            Err(JobError::retryable("first attempts fail"))
        } else {
            Ok(json!("ok"))
        }
    });
}

/// Appends lines to the acknowledgement log. Each line is one `write` to a file
/// opened for append, so it survives SIGKILL of the writer.
struct AckLog(std::sync::Mutex<std::fs::File>);

impl AckLog {
    fn line(&self, s: String) {
        let mut f = self.0.lock().unwrap();
        f.write_all(format!("{s}\n").as_bytes()).unwrap();
    }
}

/// Child mode: enqueue and run jobs until killed.
fn child(dir: &Path) -> ! {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let q = Queue::open(&dir.join("data"), config()).expect("child opens the queue");
        register(&q);
        let log = Arc::new(AckLog(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.join("acks.log"))
                .unwrap(),
        )));
        // Completions are acknowledged by their event, which leaves only after the flush.
        let mut rx = q.subscribe();
        let l = log.clone();
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                if let Event::State(c) = e {
                    if c.to == State::Succeeded {
                        l.line(format!("D {}", c.id));
                    }
                }
            }
        });
        q.start().unwrap();
        let mut producers = Vec::new();
        for p in 0..2u64 {
            let (q, log) = (q.clone(), log.clone());
            producers.push(tokio::spawn(async move {
                for i in 0..40u64 {
                    let ms = rand::rng().random_range(0..25);
                    let job = match i % 4 {
                        0 => NewJob::new("flaky", "b", json!(null))
                            .max_retries(2)
                            .backoff(Duration::from_millis(5), Duration::from_millis(20)),
                        1 => NewJob::new("work", "a", json!({ "ms": ms })).priority(Priority::High),
                        _ => NewJob::new("work", "a", json!({ "ms": ms })),
                    };
                    if i % 10 == 9 {
                        let (_, jobs) = q
                            .enqueue_group(
                                "chain",
                                vec![
                                    NewJob::new("work", "a", json!({ "ms": ms })),
                                    NewJob::new("work", "b", json!({ "ms": 1 }))
                                        .depends_on(Dep::Batch(0)),
                                ],
                            )
                            .await
                            .unwrap();
                        for e in jobs {
                            log.line(format!("E {}", e.id));
                        }
                    } else {
                        let e = q.enqueue(job).await.unwrap();
                        log.line(format!("E {} p{p}", e.id));
                    }
                }
            }));
        }
        for p in producers {
            p.await.unwrap();
        }
        // Keep working until the parent kills us.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
    std::process::exit(3)
}

struct Acks {
    enqueued: BTreeSet<u64>,
    done: BTreeSet<u64>,
}

fn read_acks(dir: &Path) -> Acks {
    let text = std::fs::read_to_string(dir.join("acks.log")).unwrap_or_default();
    let mut acks = Acks {
        enqueued: BTreeSet::new(),
        done: BTreeSet::new(),
    };
    for line in text.lines() {
        // A torn last line (killed mid-write) is not an acknowledgement.
        let mut parts = line.split_whitespace();
        let (Some(tag), Some(id)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(id) = id.parse() else { continue };
        match tag {
            "E" => acks.enqueued.insert(id),
            "D" => acks.done.insert(id),
            _ => false,
        };
    }
    acks
}

/// Every job in the store, and a check that the indexes hold exactly what the
/// records imply.
fn check_store(store: &dyn Store) -> BTreeMap<u64, JobRecord> {
    let mut jobs = BTreeMap::new();
    for (k, v) in store.scan(Space::Jobs, &[], None, usize::MAX).unwrap() {
        let job: JobRecord = serde_json::from_slice(&v).expect("a job record parses");
        assert_eq!(index::id_from_key(&k), Some(job.id));
        jobs.insert(job.id.0, job);
    }
    let mut expected: BTreeMap<Index, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for job in jobs.values() {
        for (ix, key, _) in index::entries(job) {
            expected.entry(ix).or_default().insert(key);
        }
    }
    for ix in Index::ALL {
        let found: BTreeSet<Vec<u8>> = store
            .scan_keys(Space::Index(ix), &[], None, usize::MAX)
            .unwrap()
            .into_iter()
            .collect();
        let want = expected.remove(&ix).unwrap_or_default();
        if found != want {
            let missing: Vec<_> = want
                .difference(&found)
                .filter_map(|k| index::id_from_key(k))
                .collect();
            let extra: Vec<_> = found
                .difference(&want)
                .filter_map(|k| index::id_from_key(k))
                .collect();
            for id in missing.iter().take(3) {
                eprintln!(
                    "missing {id}: {:?}",
                    jobs.get(&id.0)
                        .map(|j| (j.state, j.waiting_until, j.ready_at, &j.history))
                );
            }
            panic!(
                "index {} disagrees with the records: missing {missing:?}, extra {extra:?}",
                ix.name()
            );
        }
    }
    jobs
}

fn parent_round(dir: &Path, round: usize) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // Let it open the store (or finish recovering) before the random kill.
    let wait = rand::rng().random_range(80..700);
    std::thread::sleep(Duration::from_millis(wait));
    if let Ok(Some(status)) = child.try_wait() {
        panic!("round {round}: the child exited early: {status}");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

#[test]
fn sigkill_rounds_lose_nothing_acknowledged() {
    if let Some(dir) = std::env::var_os(CHILD_ENV) {
        child(&PathBuf::from(dir));
    }
    let rounds: usize = std::env::var("VIDEO2DOC_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    assert!(rounds >= 20 || std::env::var_os("VIDEO2DOC_CRASH_ROUNDS").is_some());
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut attempts: BTreeMap<u64, u32> = BTreeMap::new();
    let mut checked_done = 0;
    let rt = tokio::runtime::Runtime::new().unwrap();
    for round in 0..rounds {
        parent_round(dir, round);
        let acks = read_acks(dir);
        let q = Queue::open(&dir.join("data"), config()).expect("the store reopens after a kill");
        eprintln!("round {round}");
        let jobs = check_store(q.store().as_ref());
        for id in &acks.enqueued {
            assert!(
                jobs.contains_key(id),
                "round {round}: acknowledged job {id} was lost"
            );
        }
        for id in &acks.done {
            let j = &jobs[id];
            assert_eq!(
                j.state,
                State::Succeeded,
                "round {round}: job {id} was acknowledged done but is {}",
                j.state
            );
        }
        checked_done = acks.done.len();
        for (id, j) in &jobs {
            let before = attempts.insert(*id, j.attempts).unwrap_or(0);
            assert!(
                j.attempts >= before,
                "round {round}: job {id} attempts went from {before} to {}",
                j.attempts
            );
            assert!(
                j.state != State::Running,
                "round {round}: job {id} still running after recovery"
            );
        }
        rt.block_on(q.close());
    }
    assert!(checked_done > 0, "no completion was ever acknowledged");

    // Finally, everything finishes.
    rt.block_on(async {
        let q = Queue::open(&dir.join("data"), config()).unwrap();
        register(&q);
        let ids: Vec<JobId> = check_store(q.store().as_ref())
            .keys()
            .map(|id| JobId(*id))
            .collect();
        q.start().unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        for id in &ids {
            let left = deadline.saturating_duration_since(Instant::now());
            let j = tokio::time::timeout(left, q.wait(*id))
                .await
                .expect("every job finishes")
                .unwrap();
            match j.state {
                State::Succeeded => {}
                State::Dead => assert!(j.crashes >= 2, "job {id} dead after {} crashes", j.crashes),
                State::Failed => {
                    let e = j.error.clone().unwrap();
                    // Only a chain whose first job died fails, as its upstream.
                    assert!(e.upstream.is_some(), "job {id} failed: {}", e.message);
                }
                s => panic!("job {id} ended {s}"),
            }
        }
        let final_jobs = check_store(q.store().as_ref());
        let read = read_acks(dir);
        assert!(read.enqueued.iter().all(|id| final_jobs.contains_key(id)));
        assert!(store::load_job(q.store().as_ref(), JobId(u64::MAX))
            .unwrap()
            .is_none());
        eprintln!(
            "{} rounds, {} jobs, {} succeeded",
            rounds,
            final_jobs.len(),
            final_jobs
                .values()
                .filter(|j| j.state == State::Succeeded)
                .count()
        );
        q.close().await;
    });
}
