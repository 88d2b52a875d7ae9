//! What goes in: media files and what is read from them. Probing (what a file holds),
//! the one place external processes start (ffprobe, ffmpeg, the transcription worker),
//! transcription in checkpointed chunks with voice activity and the loop guard, the
//! device it runs on (the CPU, or a GPU through a GPU worker), slide
//! detection over sampled frames, slide text (OCR) and the slides' words fed to the
//! transcriber, speakers (who spoke when), and the models (catalogue, downloads, imports, conversion). Nothing here
//! knows documents, the queue or the app.

pub mod chunks;
pub mod device;
pub mod idle;
pub mod models;
pub mod ocr;
pub mod probe;
pub mod process;
pub mod repeats;
pub mod slides;
pub mod speakers;
pub mod token_text;
pub mod transcribe;
pub mod vocabulary;
pub mod voice;

/// Extensions of the video and audio files the app takes.
pub const MEDIA_EXTENSIONS: &[&str] = &[
    "mp4", "mkv", "mov", "avi", "webm", "m4v", "wmv", "flv", "mpg", "mpeg", "ts", "mp3", "m4a",
    "wav", "flac", "ogg", "opus", "aac",
];

/// Whether the app takes files of this name (by extension).
pub fn is_supported(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
