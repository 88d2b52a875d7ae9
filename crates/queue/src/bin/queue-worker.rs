//! A headless worker on a shared Redis queue with two trivial job kinds, for the tests
//! and the benchmark of the shared store (and as the smallest example of one):
//!
//! - `noop`: returns at once;
//! - `sleep` (`{"ms": N}`): sleeps N ms (stopping early when cancelled), logging
//!   `start <id> <attempt>` and `done <id> <attempt>` lines to `<data>/ran.log`.
//!
//! `queue-worker --url redis://127.0.0.1:6379/0 --namespace NS --data DIR
//! [--lease-ms N] [--concurrency N]`. Prints `ready` once started and runs until its
//! standard input closes, then closes the queue gracefully.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use video2doc_queue::{JobContext, JobError, Queue, QueueConfig, RedisConfig, RedisStore, Store};

struct Args {
    url: String,
    namespace: String,
    data: PathBuf,
    lease: Duration,
    concurrency: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        url: String::new(),
        namespace: "video2doc".into(),
        data: PathBuf::new(),
        lease: Duration::from_secs(30),
        concurrency: 2,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--namespace" => args.namespace = value()?,
            "--data" => args.data = PathBuf::from(value()?),
            "--lease-ms" => {
                args.lease =
                    Duration::from_millis(value()?.parse().map_err(|e| format!("--lease-ms: {e}"))?)
            }
            "--concurrency" => {
                args.concurrency = value()?
                    .parse()
                    .map_err(|e| format!("--concurrency: {e}"))?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.url.is_empty() || args.data.as_os_str().is_empty() {
        return Err("usage: queue-worker --url URL --data DIR [--namespace NS] [--lease-ms N] [--concurrency N]".into());
    }
    Ok(args)
}

fn log_line(path: &Path, line: &str) -> Result<(), JobError> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| JobError::retryable(format!("could not write {}: {e}", path.display())))?;
    // One write of the whole line: appends of one write do not interleave.
    f.write_all(format!("{line}\n").as_bytes())
        .map_err(|e| JobError::retryable(format!("could not write {}: {e}", path.display())))
}

#[tokio::main]
async fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        eprintln!("queue-worker: {e}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(&args.data)?;
    let store: Arc<dyn Store> = Arc::new(RedisStore::open(
        RedisConfig::new(&args.url).namespace(&args.namespace),
    )?);
    let config = QueueConfig {
        default_concurrency: args.concurrency,
        lease: args.lease,
        ..QueueConfig::default()
    };
    let q = Queue::with_store(store, Some(args.data.join("files")), config)?;
    q.register("noop", |_ctx: JobContext| async { Ok(json!(null)) });
    let log = args.data.join("ran.log");
    q.register("sleep", move |ctx: JobContext| {
        let log = log.clone();
        async move {
            let ms = ctx.payload["ms"].as_u64().unwrap_or(0);
            log_line(&log, &format!("start {} {}", ctx.id, ctx.attempt))?;
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                _ = ctx.token().cancelled() => return Err(JobError::retryable("stopped")),
            }
            log_line(&log, &format!("done {} {}", ctx.id, ctx.attempt))?;
            Ok(json!({ "pid": std::process::id() }))
        }
    });
    q.start()?;
    println!("ready {} {}", q.host(), std::process::id());
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            if line.is_err() {
                break;
            }
        }
        let _ = tx.send(());
    });
    let _ = rx.await;
    q.close().await;
    Ok(())
}
