//! video2doc-core: the domain of Video2Doc. Media probing and extraction, Whisper
//! models and transcription, slide detection, summaries and documents. Plain Rust
//! with no window or IPC types; the CLI, the desktop shell and the HTTP API call it.

pub mod models;
