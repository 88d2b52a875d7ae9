//! The transcription worker built with whisper.cpp's Cuda backend: `devices` lists
//! what it can run on; otherwise it is the worker the app starts for a job
//! (video2doc-core `media::device`).

fn main() {
    std::process::exit(video2doc_core::media::device::gpu_worker_main());
}
