//! The transcription worker as its own small program, for tests and for tools; the
//! `video2doc` CLI and the desktop app enter the same code with a `worker` argument.

fn main() {
    std::process::exit(video2doc_core::media::transcribe::worker_main());
}
