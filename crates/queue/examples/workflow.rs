//! A workflow shaped like Video2Doc's complete pipeline (video -> audio + image ->
//! summary -> export) run on the durable queue, with live events, then the queue's
//! statistics and health. The stages here only report progress and pass results
//! along; the real media stages live in video2doc-core.
//!
//! `cargo run -p video2doc-queue --example workflow -- [DATA_DIR]`

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;
use video2doc_queue::{Dep, Event, JobContext, NewJob, Queue, QueueConfig};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("video2doc-queue-demo"));
    let q = Queue::open(&dir, QueueConfig::default())?;
    for kind in ["video", "audio", "image", "summary", "export"] {
        q.register(kind, move |ctx: JobContext| async move {
            for step in 1..=4 {
                ctx.progress(step as f32 / 4.0, kind, &format!("step {step} of 4"));
                tokio::time::sleep(Duration::from_millis(60)).await;
            }
            Ok(json!({ "stage": kind, "inputs": ctx.deps.len() }))
        });
    }
    let mut events = q.subscribe();
    q.start()?;
    let (group, jobs) = q
        .enqueue_group(
            "complete",
            vec![
                NewJob::new("video", "video", json!({ "input": "lecture.mp4" })),
                NewJob::new("audio", "audio", json!(null)).depends_on(Dep::Batch(0)),
                NewJob::new("image", "image", json!(null)).depends_on(Dep::Batch(0)),
                NewJob::new("summary", "summary", json!(null))
                    .depends_on(Dep::Batch(1))
                    .depends_on(Dep::Batch(2)),
                NewJob::new("export", "export", json!(null)).depends_on(Dep::Batch(3)),
            ],
        )
        .await?;
    println!(
        "workflow {group} enqueued as jobs {:?}",
        jobs.iter().map(|j| j.id.0).collect::<Vec<_>>()
    );
    let last = jobs.last().expect("five jobs").id;
    while let Some(e) = events.recv().await {
        match e {
            Event::State(c) => {
                println!("job {} ({}) {:?} -> {}", c.id, c.kind, c.from, c.to);
                if c.id == last && c.to.is_terminal() {
                    break;
                }
            }
            Event::Progress { id, progress, .. } => {
                println!(
                    "job {id} {:>3.0}% {}",
                    progress.fraction * 100.0,
                    progress.message
                )
            }
            Event::Queue { .. } => {}
        }
    }
    let status = q.group(group)?;
    println!(
        "workflow {}: {} ({} jobs)",
        status.name, status.state, status.total
    );
    println!("stats: {}", serde_json::to_string(&q.stats()?)?);
    println!("health: {}", serde_json::to_string_pretty(&q.health())?);
    println!("the queue's data is in {}", dir.display());
    q.close().await;
    Ok(())
}
