//! video2doc-llm: the app's LLM worker. A separate program so that llama.cpp's ggml
//! never shares a binary with whisper.cpp's (each statically links its own).
//!
//! The app starts it with no arguments and speaks JSON lines over stdin/stdout (the
//! protocol module says which): the first line loads a model, then requests are answered
//! in order until stdin ends (exit 0). A model that cannot be loaded is answered with an
//! error line and exit code 2. The app cancels a request by killing the process. Nothing
//! but protocol lines goes to stdout; diagnostics go to stderr (llama.cpp's own log too,
//! with `VIDEO2DOC_LLM_LOG=1`).
//!
//! This module owns the process: arguments, the stdin loop, exit codes.

mod engine;
mod llama_log;
mod memory;
mod model_file;
mod prompt;
mod protocol;

use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Context as _;

use engine::{Engine, GenerateError};
use protocol::{ErrorKind, ErrorReply, LoadReply, Reply, ReplyBody, Request, RequestBody};

/// The exit code when the model cannot be loaded.
const EXIT_LOAD: u8 = 2;
/// The exit code for a wrong command line.
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        [] => {}
        ["--version" | "-V"] => {
            println!("video2doc-llm {} (llama.cpp)", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("usage: video2doc-llm [--version]\n(speaks JSON lines on stdin/stdout; see the crate's protocol module)");
            return ExitCode::from(EXIT_USAGE);
        }
    }
    match run() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("video2doc-llm: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the model the first line names, then answers requests until stdin ends.
fn run() -> anyhow::Result<ExitCode> {
    llama_log::install()?;
    let mut input = std::io::stdin().lock();
    let mut out = std::io::stdout().lock();

    let Some(line) = read_line(&mut input)? else {
        return Ok(ExitCode::SUCCESS);
    };
    let loaded = line
        .map_err(|e| format!("the load line is not UTF-8: {e}"))
        .and_then(|line| {
            protocol::parse_load(&line).map_err(|e| format!("the load line is malformed: {e}"))
        })
        .and_then(|load| Engine::load(&load).map_err(|e| e.to_string()));
    let mut engine = match loaded {
        Ok((engine, ready)) => {
            write(&mut out, &LoadReply::Ready(ready))?;
            engine
        }
        Err(message) => {
            write(
                &mut out,
                &LoadReply::Error(ErrorReply::new(ErrorKind::Load, message)),
            )?;
            return Ok(ExitCode::from(EXIT_LOAD));
        }
    };

    while let Some(line) = read_line(&mut input)? {
        let reply = match line {
            Ok(line) if line.trim().is_empty() => continue,
            Ok(line) => answer(&mut engine, &line, &mut out)?,
            Err(e) => Reply::error(
                None,
                ErrorReply::new(ErrorKind::Request, format!("the line is not UTF-8: {e}")),
            ),
        };
        write(&mut out, &reply)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The last line answering a request line (progress lines are written on the way).
fn answer(engine: &mut Engine, line: &str, out: &mut impl Write) -> anyhow::Result<Reply> {
    let Request { id, body } = match protocol::parse_request(line) {
        Ok(request) => request,
        Err((id, error)) => {
            let error = ErrorReply::new(ErrorKind::Request, error.to_string());
            return Ok(Reply::error(id, error));
        }
    };
    let id = Some(id);
    let body = match body {
        RequestBody::Count(texts) => ReplyBody::Counts(engine.count(&texts)),
        RequestBody::Generate(request) => {
            let progress = |p| {
                let line = Reply {
                    id,
                    body: ReplyBody::Progress(p),
                };
                protocol::write_line(out, &line)
            };
            match engine.generate(&request, progress) {
                Ok(done) => ReplyBody::Done(done),
                Err(error) => ReplyBody::Error(error_reply(error)?),
            }
        }
    };
    Ok(Reply { id, body })
}

/// What the app is told of a failed generation; Err for a failure that ends the worker.
fn error_reply(error: GenerateError) -> anyhow::Result<ErrorReply> {
    let Some(kind) = error.kind() else {
        return Err(anyhow::Error::new(error).context("generating"));
    };
    let mut reply = ErrorReply::new(kind, error.to_string());
    if let GenerateError::TooLong {
        prompt_tokens,
        context,
        ..
    } = error
    {
        reply.prompt_tokens = Some(prompt_tokens);
        reply.context = Some(context);
    }
    Ok(reply)
}

/// The next line of stdin without its line ending, None at the end; the inner error when
/// the line is not UTF-8.
fn read_line(
    input: &mut impl BufRead,
) -> anyhow::Result<Option<Result<String, std::string::FromUtf8Error>>> {
    let mut bytes = Vec::new();
    if input
        .read_until(b'\n', &mut bytes)
        .context("reading stdin")?
        == 0
    {
        return Ok(None);
    }
    while bytes.last().is_some_and(|b| matches!(b, b'\n' | b'\r')) {
        bytes.pop();
    }
    Ok(Some(String::from_utf8(bytes)))
}

/// Writes one protocol line to stdout.
fn write(out: &mut impl Write, line: &impl serde::Serialize) -> anyhow::Result<()> {
    protocol::write_line(out, line).context("writing to stdout")
}
