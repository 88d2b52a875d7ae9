//! The model and its one context, for the worker's life: loading them, counting tokens,
//! and generating (reading the prompt, sampling, decoding token by token).
//!
//! The context borrows the model, and both live as long as the process: the model is
//! leaked so that the context can be kept in the same struct; each request starts from
//! an empty KV cache. Prompts are read in batches of [`BATCH`] tokens, only the last
//! token asking for logits (the logits buffer is n_ubatch × vocabulary × 4 bytes: ~150 MB
//! for 256 tokens of a 152k vocabulary, were they all asked).

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Instant;

use llama_cpp_2::context::params::LlamaContextParams;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::llama_backend::LlamaBackend;
use llama_cpp_2::llama_batch::{BatchAddError, LlamaBatch};
use llama_cpp_2::model::params::LlamaModelParams;
use llama_cpp_2::model::{LlamaChatTemplate, LlamaModel};
use llama_cpp_2::sampling::LlamaSampler;
use llama_cpp_2::{
    DecodeError, GrammarError, LlamaContextLoadError, LlamaCppError, LlamaModelLoadError,
};
use thiserror::Error;

use crate::model_file::{self, ModelFileError};
use crate::protocol::{Done, ErrorKind, Generate, Load, Progress, Ready, Stopped};
use crate::{llama_log, memory, prompt};

/// Tokens per decode call when reading a prompt (n_batch = n_ubatch).
const BATCH: usize = 256;
/// Generated tokens between two progress reports.
const PROGRESS_EVERY: usize = 16;
/// Threads used when the load line leaves it to the worker.
const MAX_AUTO_THREADS: usize = 8;
/// The repetition penalty's window, in tokens, and its factor.
const PENALTY_LAST_N: i32 = 64;
const PENALTY_REPEAT: f32 = 1.1;
const TOP_K: i32 = 40;
const TOP_P: f32 = 0.9;

/// Why the model could not be loaded (the worker then exits).
#[derive(Debug, Error)]
pub enum LoadError {
    #[error(transparent)]
    File(#[from] ModelFileError),
    #[error("the context size must be at least 1 token")]
    ZeroContext,
    #[error("llama.cpp's backend could not start: {0}")]
    Backend(#[source] LlamaCppError),
    #[error("llama.cpp could not load the model file {}: {}", path.display(), reason.as_deref().unwrap_or("no reason given (a damaged or truncated file, or an architecture this llama.cpp does not know)"))]
    Model {
        path: PathBuf,
        reason: Option<String>,
        #[source]
        source: LlamaModelLoadError,
    },
    #[error("llama.cpp could not make a context of {context} tokens for {}: {}", path.display(), reason.as_deref().unwrap_or("no reason given (out of memory?)"))]
    Context {
        path: PathBuf,
        context: u32,
        reason: Option<String>,
        #[source]
        source: LlamaContextLoadError,
    },
}

/// Why a generation failed; the worker goes on with the next request, except after
/// [`GenerateError::Report`].
#[derive(Debug, Error)]
pub enum GenerateError {
    #[error(transparent)]
    Prompt(#[from] prompt::PromptError),
    #[error("the prompt is empty")]
    EmptyPrompt,
    #[error("the prompt ({prompt_tokens} tokens) and max_tokens ({max_tokens}) do not fit in the context of {context} tokens")]
    TooLong {
        prompt_tokens: usize,
        max_tokens: u32,
        context: u32,
    },
    #[error("the grammar was refused: {}", grammar_reason(reason.as_deref(), source))]
    Grammar {
        reason: Option<String>,
        #[source]
        source: GrammarError,
    },
    #[error("llama.cpp failed to decode: {source}{}", reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default())]
    Decode {
        reason: Option<String>,
        #[source]
        source: DecodeError,
    },
    #[error("a token could not be added to the batch: {0}")]
    Batch(#[source] BatchAddError),
    #[error("the progress could not be reported: {0}")]
    Report(#[source] std::io::Error),
}

impl GenerateError {
    /// The kind the app is told, None for a failure that ends the worker.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            GenerateError::Prompt(_) | GenerateError::EmptyPrompt => Some(ErrorKind::Request),
            GenerateError::TooLong { .. } => Some(ErrorKind::TooLong),
            GenerateError::Grammar { .. } => Some(ErrorKind::Grammar),
            GenerateError::Decode { .. } | GenerateError::Batch(_) => Some(ErrorKind::Decode),
            GenerateError::Report(_) => None,
        }
    }
}

/// A loaded model with its context.
pub struct Engine {
    model: &'static LlamaModel,
    ctx: LlamaContext<'static>,
    batch: LlamaBatch<'static>,
    template: Option<LlamaChatTemplate>,
    /// The context size in use.
    context: u32,
    // Last: freed after the context.
    _backend: LlamaBackend,
}

impl Engine {
    /// Loads the model and makes its context, as the load line asks.
    pub fn load(load: &Load) -> Result<(Engine, Ready), LoadError> {
        let path = Path::new(&load.model);
        model_file::check(path)?;
        if load.context == 0 {
            return Err(LoadError::ZeroContext);
        }
        let backend = LlamaBackend::init().map_err(LoadError::Backend)?;

        llama_log::clear_errors();
        let params = LlamaModelParams::default().with_n_gpu_layers(0);
        let model = LlamaModel::load_from_file(&backend, path, &params).map_err(|source| {
            LoadError::Model {
                path: path.to_path_buf(),
                reason: llama_log::take_errors(),
                source,
            }
        })?;
        let model: &'static LlamaModel = Box::leak(Box::new(model));

        let context_train = model.n_ctx_train();
        let wanted = if context_train > 0 {
            load.context.min(context_train)
        } else {
            load.context
        };
        let threads = threads(load.threads);
        llama_log::clear_errors();
        let params = LlamaContextParams::default()
            .with_n_ctx(NonZeroU32::new(wanted))
            .with_n_batch(BATCH as u32)
            .with_n_ubatch(BATCH as u32)
            .with_n_threads(threads)
            .with_n_threads_batch(threads);
        let ctx = model
            .new_context(&backend, params)
            .map_err(|source| LoadError::Context {
                path: path.to_path_buf(),
                context: wanted,
                reason: llama_log::take_errors(),
                source,
            })?;
        // llama.cpp may round the size up; never use more than was asked.
        let context = ctx.n_ctx().min(wanted);

        let template = prompt::chat_template(model);
        let ready = Ready {
            name: name(model, path),
            context,
            context_train,
            chat_template: template.is_some(),
        };
        let engine = Engine {
            model,
            ctx,
            batch: LlamaBatch::new(BATCH, 1),
            template,
            context,
            _backend: backend,
        };
        Ok((engine, ready))
    }

    /// The number of tokens of each text, tokenized as plain text (no BOS, special-token
    /// text left as text).
    pub fn count(&self, texts: &[String]) -> Vec<usize> {
        let vocab = self.model.vocab();
        texts
            .iter()
            .map(|t| vocab.tokenize(t.as_bytes(), false, false).len())
            .collect()
    }

    /// Generates the answer to `request`, calling `report` once the prompt is read and
    /// then every [`PROGRESS_EVERY`] tokens.
    pub fn generate(
        &mut self,
        request: &Generate,
        mut report: impl FnMut(Progress) -> std::io::Result<()>,
    ) -> Result<Done, GenerateError> {
        let prompt = prompt::tokens(self.model, self.template.as_ref(), &request.messages)?;
        let prompt_tokens = prompt.len();
        if prompt.is_empty() {
            return Err(GenerateError::EmptyPrompt);
        }
        if prompt_tokens + request.max_tokens as usize > self.context as usize {
            return Err(GenerateError::TooLong {
                prompt_tokens,
                max_tokens: request.max_tokens,
                context: self.context,
            });
        }
        let mut sampler = self.sampler(request)?;

        // The prompt, in batches; only its last token's logits are computed.
        let started = Instant::now();
        self.ctx.clear_kv_cache();
        let chunks = prompt.len().div_ceil(BATCH);
        for (c, chunk) in prompt.chunks(BATCH).enumerate() {
            self.batch.clear();
            for (i, &token) in chunk.iter().enumerate() {
                let last = c + 1 == chunks && i + 1 == chunk.len();
                self.batch
                    .add(token, position(c * BATCH + i), &[0], last)
                    .map_err(GenerateError::Batch)?;
            }
            self.decode()?;
        }
        let mut logits_at = self.batch.n_tokens() - 1;
        let prompt_ms = millis(started);
        report(Progress {
            prompt_tokens,
            tokens: 0,
        })
        .map_err(GenerateError::Report)?;

        // The answer, token by token; bytes kept as they come (a character may span tokens).
        let started = Instant::now();
        let vocab = self.model.vocab();
        let max_tokens = request.max_tokens as usize;
        let mut bytes = Vec::new();
        let mut tokens = 0;
        let stopped = loop {
            if tokens == max_tokens {
                break Stopped::Length;
            }
            // `sample` also makes the sampler accept the token (grammar state, penalties).
            let token = sampler.sample(&self.ctx, logits_at);
            if vocab.is_eog(token) {
                break Stopped::End;
            }
            vocab.token_to_piece_into(token, &mut bytes, false, None);
            tokens += 1;
            if tokens % PROGRESS_EVERY == 0 {
                report(Progress {
                    prompt_tokens,
                    tokens,
                })
                .map_err(GenerateError::Report)?;
            }
            if tokens == max_tokens {
                break Stopped::Length;
            }
            self.batch.clear();
            let at = position(prompt_tokens + tokens - 1);
            self.batch
                .add(token, at, &[0], true)
                .map_err(GenerateError::Batch)?;
            self.decode()?;
            logits_at = 0;
        };
        Ok(Done {
            text: text(bytes),
            prompt_tokens,
            tokens,
            stopped,
            prompt_ms,
            generate_ms: millis(started),
            peak_rss_kb: memory::peak_rss_kb(),
        })
    }

    /// The sampling chain: the grammar (if any) first; then greedy at temperature 0, or
    /// repetition penalty, top-k 40, top-p 0.9, temperature and a seeded draw.
    fn sampler(&self, request: &Generate) -> Result<LlamaSampler, GenerateError> {
        let mut chain = Vec::new();
        if let Some(grammar) = &request.grammar {
            llama_log::clear_errors();
            let sampler = LlamaSampler::grammar(self.model, grammar, "root").map_err(|source| {
                GenerateError::Grammar {
                    reason: llama_log::take_errors(),
                    source,
                }
            })?;
            chain.push(sampler);
        }
        if request.temperature <= 0.0 {
            chain.push(LlamaSampler::greedy());
        } else {
            chain.extend([
                LlamaSampler::penalties(
                    self.model.n_vocab(),
                    PENALTY_LAST_N,
                    PENALTY_REPEAT,
                    0.0,
                    0.0,
                ),
                LlamaSampler::top_k(TOP_K),
                LlamaSampler::top_p(TOP_P, 1),
                LlamaSampler::temp(request.temperature),
                LlamaSampler::dist(request.seed),
            ]);
        }
        Ok(LlamaSampler::chain_simple(chain))
    }

    /// Runs the batch through the model.
    fn decode(&mut self) -> Result<(), GenerateError> {
        llama_log::clear_errors();
        self.ctx
            .decode(&mut self.batch)
            .map_err(|source| GenerateError::Decode {
                reason: llama_log::take_errors(),
                source,
            })
    }
}

/// Why llama.cpp refused a grammar: its own error line if it logged one, else what the
/// failure tells (its parser prints its errors to stderr, out of this worker's reach).
fn grammar_reason(logged: Option<&str>, error: &GrammarError) -> String {
    match (logged, error) {
        (Some(line), _) => line.to_owned(),
        (None, GrammarError::RootNotFound) => "it has no `root` rule".to_owned(),
        (None, GrammarError::NullGrammar) => {
            "llama.cpp could not parse it (its parser wrote why on stderr)".to_owned()
        }
        (None, error) => error.to_string(),
    }
}

/// The model's `general.name`, else the file's stem.
fn name(model: &LlamaModel, path: &Path) -> String {
    match model.meta_val_str("general.name") {
        Ok(name) if !name.trim().is_empty() => name.trim().to_owned(),
        _ => path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The threads to use: as asked, or (0) the available parallelism, at most 8.
fn threads(asked: u32) -> i32 {
    let n = match asked {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_AUTO_THREADS)),
        n => n as usize,
    };
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A token's position (a prompt and answer always fit in the context, far below i32::MAX).
fn position(index: usize) -> i32 {
    i32::try_from(index).expect("a position within the context")
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The answer's text: a character cut by the token limit is dropped, any other invalid
/// byte (a model can emit one) is replaced.
fn text(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let utf8 = error.utf8_error();
            let mut bytes = error.into_bytes();
            if utf8.error_len().is_none() {
                bytes.truncate(utf8.valid_up_to());
            }
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_keeps_whole_characters() {
        assert_eq!(text("摘要".as_bytes().to_vec()), "摘要");
        // The limit cut the last character: dropped.
        let mut cut = "摘要".as_bytes().to_vec();
        cut.pop();
        assert_eq!(text(cut), "摘");
        // An invalid byte in the middle: replaced.
        assert_eq!(text(vec![b'a', 0xff, b'b']), "a\u{fffd}b");
    }

    #[test]
    fn auto_threads_are_bounded() {
        assert!((1..=MAX_AUTO_THREADS as i32).contains(&threads(0)));
        assert_eq!(threads(3), 3);
    }
}
