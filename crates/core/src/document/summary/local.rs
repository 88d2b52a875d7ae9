//! The local model: a GGUF file run by llama.cpp in its own worker program,
//! `video2doc-llm`, so that a crash or an exhausted memory fails the summary, never the
//! app (llama.cpp and whisper.cpp each carry their own ggml, which cannot share one
//! program). The worker is spoken to in JSON lines ([`crate::media::process::Session`]):
//! it loads the model once, counts tokens and writes replies held to a grammar.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::plan::{Ask, WriteError, Writer};
use crate::media::process::{self, ProcessError, Session};

/// The name of the worker program (found beside the app, else on PATH).
pub const WORKER: &str = "video2doc-llm";

/// A local model and how to run it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocalModel {
    /// The worker program.
    pub program: PathBuf,
    /// The GGUF file.
    pub model: PathBuf,
    /// Tokens per request, prompt and reply (capped by the model's own).
    #[serde(default = "default_context")]
    pub context: u32,
    /// CPU threads (0: one less than the machine has, at least one and at most eight:
    /// llama.cpp's threads wait for each other spinning, and a thread that loses its core
    /// to another job (a transcription beside the summary) slows them all tenfold).
    #[serde(default)]
    pub threads: u32,
}

pub fn default_context() -> u32 {
    8192
}

impl LocalModel {
    /// `model` run by the worker found beside this program (or on PATH).
    pub fn new(model: PathBuf) -> LocalModel {
        LocalModel {
            program: process::tool_path(WORKER),
            model,
            context: default_context(),
            threads: 0,
        }
    }
}

/// Why the local model could not be used.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("the local model {path} is not there")]
    Missing { path: PathBuf },
    #[error("the local model {path} could not be loaded: {message}")]
    Load { path: PathBuf, message: String },
    #[error("the local model's worker failed: {source}")]
    Worker {
        #[source]
        source: ProcessError,
    },
    #[error("the local model's worker said something unexpected: {line}")]
    Protocol { line: String },
}

/// What the worker did, over a session.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalStats {
    pub requests: usize,
    /// The largest prompt plus its reply's token limit: never more than the context.
    pub most_tokens_asked: usize,
    pub prompt_tokens: usize,
    pub tokens: usize,
    pub prompt_ms: u64,
    pub generate_ms: u64,
    /// The worker's peak resident memory, when the system tells it.
    pub peak_rss_kb: Option<u64>,
}

/// A running worker with its model loaded.
pub struct LocalWriter {
    session: Session,
    name: String,
    context: usize,
    next_id: u64,
    pub stats: LocalStats,
}

impl LocalWriter {
    /// Starts the worker and loads the model; `cancel` stops it at once.
    pub fn start(m: &LocalModel, cancel: &Arc<AtomicBool>) -> Result<LocalWriter, LocalError> {
        if !m.model.is_file() {
            return Err(LocalError::Missing {
                path: m.model.clone(),
            });
        }
        let threads = match m.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get() as u32)
                .saturating_sub(1)
                .clamp(1, 8),
            n => n,
        };
        let first = json!({
            "model": m.model,
            "context": m.context,
            "threads": threads,
        })
        .to_string();
        let mut session = Session::start(&m.program, &[], &first, cancel)
            .map_err(|source| LocalError::Worker { source })?;
        let line = session.next_line().map_err(|source| match source {
            ProcessError::Ended { message, .. } => LocalError::Load {
                path: m.model.clone(),
                message,
            },
            source => LocalError::Worker { source },
        })?;
        let v: Value =
            serde_json::from_str(&line).map_err(|_| LocalError::Protocol { line: line.clone() })?;
        if let Some(e) = v.get("error") {
            return Err(LocalError::Load {
                path: m.model.clone(),
                message: e["message"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_string(),
            });
        }
        let ready = v
            .get("ready")
            .ok_or(LocalError::Protocol { line: line.clone() })?;
        let context = ready["context"]
            .as_u64()
            .ok_or(LocalError::Protocol { line: line.clone() })? as usize;
        let name = m
            .model
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        tracing::info!(model = %m.model.display(), context, "local model loaded");
        Ok(LocalWriter {
            session,
            name,
            context,
            next_id: 1,
            stats: LocalStats::default(),
        })
    }

    fn request(&mut self, mut body: Value) -> Result<u64, WriteError> {
        let id = self.next_id;
        self.next_id += 1;
        body["id"] = json!(id);
        self.session
            .send(&body.to_string())
            .map_err(worker_failed)?;
        Ok(id)
    }

    fn reply(&mut self, id: u64) -> Result<Value, WriteError> {
        let line = self.session.next_line().map_err(worker_failed)?;
        let v: Value = serde_json::from_str(&line).map_err(|_| {
            WriteError::Model(format!(
                "the local model's worker said something unexpected: {line}"
            ))
        })?;
        if v["id"].as_u64() != Some(id) {
            return Err(WriteError::Model(format!(
                "the local model's worker answered another request: {line}"
            )));
        }
        Ok(v)
    }
}

fn worker_failed(e: ProcessError) -> WriteError {
    match e {
        ProcessError::Cancelled => WriteError::Cancelled,
        e => WriteError::Model(LocalError::Worker { source: e }.to_string()),
    }
}

impl Writer for LocalWriter {
    fn model(&self) -> String {
        self.name.clone()
    }

    fn context(&self) -> usize {
        self.context
    }

    fn count(&mut self, texts: &[&str]) -> Result<Vec<usize>, WriteError> {
        let id = self.request(json!({ "count": texts }))?;
        let v = self.reply(id)?;
        let counts: Option<Vec<usize>> = v["counts"].as_array().map(|a| {
            a.iter()
                .filter_map(|n| n.as_u64().map(|n| n as usize))
                .collect()
        });
        match counts {
            Some(c) if c.len() == texts.len() => Ok(c),
            _ => Err(WriteError::Model(format!(
                "the local model's worker did not count: {v}"
            ))),
        }
    }

    fn write(&mut self, ask: &Ask, tokens: &mut dyn FnMut(usize)) -> Result<String, WriteError> {
        let id = self.request(json!({
            "messages": [
                { "role": "system", "content": ask.system },
                { "role": "user", "content": ask.user },
            ],
            "grammar": ask.shape.gbnf(),
            "max_tokens": ask.max_tokens,
            "temperature": 0.2,
            "seed": 7,
        }))?;
        loop {
            let v = self.reply(id)?;
            if let Some(p) = v.get("progress") {
                tokens(p["tokens"].as_u64().unwrap_or(0) as usize);
                continue;
            }
            if let Some(e) = v.get("error") {
                if e["kind"] == "too_long" {
                    return Err(WriteError::TooLong {
                        prompt_tokens: e["prompt_tokens"].as_u64().unwrap_or(0) as usize,
                        context: e["context"].as_u64().unwrap_or(self.context as u64) as usize,
                    });
                }
                return Err(WriteError::Model(format!(
                    "the local model failed: {}",
                    e["message"].as_str().unwrap_or("no reason given")
                )));
            }
            let done = v.get("done").ok_or_else(|| {
                WriteError::Model(format!(
                    "the local model's worker said something unexpected: {v}"
                ))
            })?;
            let prompt = done["prompt_tokens"].as_u64().unwrap_or(0) as usize;
            let s = &mut self.stats;
            s.requests += 1;
            s.most_tokens_asked = s.most_tokens_asked.max(prompt + ask.max_tokens);
            s.prompt_tokens += prompt;
            s.tokens += done["tokens"].as_u64().unwrap_or(0) as usize;
            s.prompt_ms += done["prompt_ms"].as_u64().unwrap_or(0);
            s.generate_ms += done["generate_ms"].as_u64().unwrap_or(0);
            if let Some(k) = done["peak_rss_kb"].as_u64() {
                s.peak_rss_kb = Some(s.peak_rss_kb.unwrap_or(0).max(k));
            }
            return Ok(done["text"].as_str().unwrap_or("").to_string());
        }
    }
}
