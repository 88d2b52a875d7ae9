//! The desktop app's executable: the transcription worker when started as one (the
//! queue runs whisper in a child process of this same binary), otherwise the window.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    if std::env::args().nth(1).as_deref() == Some("worker") {
        std::process::exit(video2doc_core::worker_main());
    }
    std::process::exit(video2doc_desktop::run());
}
