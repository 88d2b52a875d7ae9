//! video2doc-core: the domain of Video2Doc, in plain Rust with no window or IPC types.
//! The CLI (`crates/cli`), the HTTP API (`crates/server`) and the desktop shell
//! (`src-tauri`) call it, importing from this root.
//!
//! The layers, each using only those below it:
//!
//! - [`app`]: [`Core`], the one API the faces call (submit, items, control, health),
//!   with the settings, the items view, intake of dropped files, watched folders, logs
//!   and private files.
//! - [`workflow`]: the stages as queue jobs ([`Kind`]: video, audio, image, summary,
//!   export) and the complete workflow; path mapping for shared-queue workers.
//! - [`pipeline`]: the stages from a video to its documents over a work folder,
//!   cached by the settings they were made with.
//! - [`document`]: what comes out: the document model, the summary, the exporters.
//! - [`media`]: what goes in: probing, the processes (ffmpeg, the transcription
//!   worker), transcription, slides and their text (OCR), models.
//!
//! Cross-cutting: [`net`] (the one HTTP client), [`error_class`] (the error contract
//! every face maps), [`file_lock`] (turns across processes).

pub mod app;
pub mod document;
pub mod error_class;
pub mod file_lock;
pub mod library;
pub mod media;
pub mod net;
pub mod pipeline;
pub mod private;
pub mod workflow;

// What the faces use, from one place.
pub use app::intake::{Accepted, ImportReport, Rejected};
pub use app::items::{ItemDetail, ItemFilter, ItemKey, ItemRow, StageRow};
pub use app::logging;
pub use app::settings::{AppSettings, SettingsError};
pub use app::speakers::RememberedVoice;
pub use app::watch::{
    AfterSuccess, FolderWatcher, OutputPlace, WatchEvent, WatchTiming, WatchedFolder,
};
pub use app::{
    kind_named, queue_named, AppHealth, Core, CoreDirs, CoreError, JobInfo, JobStatus,
    ProcessOptions,
};
pub use document::export::Format;
pub use error_class::ErrorClass;
pub use media::device::DeviceSetting;
pub use media::models;
pub use media::speakers::SpeakerCount;
pub use media::transcribe::worker_main;
pub use media::MEDIA_EXTENSIONS;
pub use pipeline::WorkerCommand;
/// The queue's types that Core's API speaks in, so that the faces depend on core alone.
pub use video2doc_queue::{
    Event, FailureKind, GroupId, JobId, Priority, QueueError, Rejection, State, Stats, StoreError,
    WorkerInfo, WorkerRecord,
};
pub use workflow::{CompleteWorkflow, Kind};
