//! Work beside transcription: how many threads the CPU-bound readers (slide text,
//! speakers) use, and how those threads give way to whisper's.

/// Threads for work beside transcription. Where such a thread yields to other work
/// (Linux), one per core: they run only on cores nothing else wants, so while the
/// transcription waits, they have them all. Elsewhere one, so that the work slows
/// transcription by no more than a core.
pub fn background_threads() -> usize {
    if cfg!(target_os = "linux") {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    } else {
        1
    }
}

/// Lets the calling thread run only when a core is otherwise idle (Linux: SCHED_IDLE,
/// for this thread only).
pub fn yield_to_others() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: a plain system call on this thread (pid 0); failure only leaves the
        // policy as it was.
        unsafe {
            libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
        }
    }
}

/// A thread pool for rten whose threads all yield to other work.
pub fn yielding_pool(threads: usize) -> std::sync::Arc<rten::ThreadPool> {
    let pool = std::sync::Arc::new(rten::ThreadPool::with_num_threads(threads.max(1)));
    // On two cores, work that takes a core from whisper's threads slows them more than
    // its own share.
    for _ in 0..threads.max(1) {
        pool.run(yield_to_others);
    }
    pool
}
