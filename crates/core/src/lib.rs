//! video2doc-core: the domain of Video2Doc. Media probing and extraction, Whisper
//! models and transcription, slide detection, summaries and documents. Plain Rust
//! with no window or IPC types; the CLI, the desktop shell and the HTTP API call it.
//!
//! - [`pipeline`]: the stages from a video to its documents, cached in a work folder.
//! - [`api`]: [`api::Core`], the one API the CLI, the HTTP API and the window call.
//! - [`settings`]: the user's settings, persisted in the config folder.
//! - [`probe`]: what a media file holds, and plain errors for files that are not media.
//! - [`process`]: the one module that starts external processes (ffprobe, ffmpeg, the
//!   transcription worker).
//! - [`transcribe`]: whisper.cpp in a worker process, streaming segments back.
//! - [`token_text`]: text from Whisper's byte-piece tokens, decoded once a character is
//!   whole.
//! - [`chunks`]: long audio in checkpointed chunks, stitched by word time.
//! - [`voice`], [`repeats`]: only speech goes to whisper; loops and made-up
//!   sentences are dropped.
//! - [`slides`]: the slide/scene detector over sampled frames.
//! - [`document`], [`export`]: the document model and its renderings.
//! - [`summary`]: built-in extractive summary, or an OpenAI-compatible endpoint.
//! - [`workflow`]: the five job kinds on the queue and the complete workflow.
//! - [`watch`]: watched folders that turn every new video into documents.
//! - [`models`]: the model catalogue, verified resumable downloads, imports, and
//!   reading faster-whisper models and converting them to ggml.
//! - [`net`]: the one HTTP client (TLS with the system's certificates, proxies, plain
//!   errors) that downloads and the summary endpoint use.

pub mod api;
pub mod chunks;
pub mod document;
pub mod error_class;
pub mod export;
pub mod intake;
pub mod items;
pub mod logging;
pub mod models;
pub mod net;
pub mod paths;
pub mod pipeline;
pub mod private;
pub mod probe;
pub mod process;
pub mod repeats;
pub mod settings;
pub mod slides;
pub mod summary;
pub mod token_text;
pub mod transcribe;
pub mod voice;
pub mod watch;
pub mod workflow;
