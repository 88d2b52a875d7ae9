//! How fast the window's queue list is built: `Core::items` (one row per video, its five
//! stages, overall state, progress and ETA) over N complete workflows (default 10,000,
//! i.e. 50,000 jobs) in a real sled store, against the same run's baseline: the queue's
//! own listing of every job (`Queue::list`), which reads the same records. The last line
//! printed is JSON with both times and `ratio` (items over the baseline).
//!
//! `cargo bench -p video2doc-core --bench items` (`V2D_BENCH_ITEMS` sets N).

use std::time::Instant;

use serde_json::json;
use video2doc_core::app::items::ItemFilter;
use video2doc_core::app::{Core, CoreDirs};
use video2doc_core::pipeline::{StageOptions, WorkerCommand};
use video2doc_core::workflow::{self, WorkflowInput};
use video2doc_queue::Priority;

fn main() {
    let n: usize = std::env::var("V2D_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let dir = tempfile::tempdir().unwrap();
    let dirs = CoreDirs {
        data: dir.path().join("data"),
        config: dir.path().join("config"),
    };
    let worker = WorkerCommand {
        program: "unused".into(),
        args: Vec::new(),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let core = Core::open(dirs, worker).unwrap();
    let settings = StageOptions::new(dir.path().join("model.bin"));
    let t = Instant::now();
    rt.block_on(async {
        for i in 0..n {
            let input = WorkflowInput {
                input: dir.path().join(format!("lecture {i}.mp4")),
                out_dir: dir.path().join("out"),
                settings: settings.clone(),
            };
            workflow::enqueue_complete(core.queue(), input, Priority::Normal, false)
                .await
                .unwrap();
        }
    });
    eprintln!(
        "enqueued {n} workflows in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let best = |f: &dyn Fn() -> usize| {
        (0..3)
            .map(|_| {
                let t = Instant::now();
                let count = f();
                (t.elapsed().as_secs_f64(), count)
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .unwrap()
    };
    let (baseline_s, jobs) = best(&|| core.queue().list(None, None, usize::MAX).unwrap().len());
    let (items_s, rows) = best(&|| {
        core.items(&ItemFilter {
            limit: Some(n),
            ..ItemFilter::default()
        })
        .unwrap()
        .len()
    });
    assert_eq!(jobs, 5 * n);
    assert_eq!(rows, n);
    println!(
        "{}",
        json!({
            "items": n,
            "jobs": jobs,
            "items_s": items_s,
            "baseline_list_jobs_s": baseline_s,
            "ratio": items_s / baseline_s,
        })
    );
}
