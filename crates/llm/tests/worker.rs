//! The worker as the app runs it: the real binary, real GGUF models, JSON lines over
//! stdin/stdout.
//!
//! Models: `VIDEO2DOC_TEST_LLM` (Qwen2.5-Coder 0.5B Instruct, Q4_K_M) and
//! `VIDEO2DOC_TEST_LLM_SMALL` (SmolLM2 135M Instruct, Q4_1), by default under
//! ~/.cache/video2doc/models/llm/. A missing model fails the test (scripts/fetch-test-model.sh
//! fetches them).

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};

use anyhow::{bail, ensure, Context, Result};
use serde_json::{json, Value};

const QWEN: (&str, &str) = (
    "VIDEO2DOC_TEST_LLM",
    "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
);
const SMOL: (&str, &str) = (
    "VIDEO2DOC_TEST_LLM_SMALL",
    "SmolLM2-135M-Instruct.Q4_1.gguf",
);

/// A JSON object with a title and a list of points (what the app asks summaries in).
/// Bounded, and ASCII (a character is at most one token): it always ends within 300 tokens.
const SUMMARY_GRAMMAR: &str = r#"root ::= "{" ws "\"title\":" ws string "," ws "\"points\":" ws "[" ws string ( "," ws string ){0,3} ws "]" ws "}"
string ::= "\"" [ !#-\[\]-~]{1,40} "\""
ws ::= [ \t\n]{0,2}
"#;

/// The test model named by `env`, else `file` in the default folder; missing: a failure.
fn model((env, file): (&str, &str)) -> PathBuf {
    let path = match std::env::var_os(env) {
        Some(path) => PathBuf::from(path),
        None => {
            let home = std::env::var_os("HOME").expect("HOME is set");
            Path::new(&home)
                .join(".cache/video2doc/models/llm")
                .join(file)
        }
    };
    assert!(
        path.is_file(),
        "the test model {} is missing (set {env}, or run scripts/fetch-test-model.sh)",
        path.display()
    );
    path
}

/// Held by each test that runs a model: one model at a time (the tests use two threads
/// each, and a machine may have no more cores).
static ONE_MODEL: Mutex<()> = Mutex::new(());

fn one_model() -> MutexGuard<'static, ()> {
    ONE_MODEL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running worker.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Worker {
    fn start() -> Result<Worker> {
        let mut child = Command::new(env!("CARGO_BIN_EXE_video2doc-llm"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the worker")?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Worker {
            child,
            stdin,
            stdout,
        })
    }

    /// A worker with `model` loaded at `context` tokens, and its `ready` object.
    fn load(model: &Path, context: u32) -> Result<(Worker, Value)> {
        let mut worker = Worker::start()?;
        worker.send(&json!({"model": model, "context": context, "threads": 2}))?;
        let reply = worker.recv()?;
        let ready = reply
            .get("ready")
            .with_context(|| format!("not ready: {reply}"))?
            .clone();
        Ok((worker, ready))
    }

    fn send(&mut self, line: &Value) -> Result<()> {
        self.send_raw(&line.to_string())
    }

    fn send_raw(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin closed")?;
        writeln!(stdin, "{line}").context("writing to the worker")?;
        stdin.flush()?;
        Ok(())
    }

    /// The next line, which must be a JSON object.
    fn recv(&mut self) -> Result<Value> {
        let mut line = String::new();
        ensure!(
            self.stdout.read_line(&mut line)? > 0,
            "the worker closed stdout"
        );
        let value: Value =
            serde_json::from_str(&line).with_context(|| format!("not JSON: {line:?}"))?;
        ensure!(value.is_object(), "not an object: {line}");
        Ok(value)
    }

    /// Sends a generate request; its progress lines and its last line (done or error).
    fn generate(&mut self, id: u64, request: Value) -> Result<(Vec<Value>, Value)> {
        let mut request = request;
        request["id"] = json!(id);
        self.send(&request)?;
        let mut progress = Vec::new();
        loop {
            let line = self.recv()?;
            ensure!(line["id"] == json!(id), "a line of another request: {line}");
            match line.get("progress") {
                Some(p) => progress.push(p.clone()),
                None => return Ok((progress, line)),
            }
        }
    }

    /// Generates and returns the done object, checking the progress lines on the way.
    fn done(&mut self, id: u64, request: Value) -> Result<Value> {
        let max_tokens = request["max_tokens"].as_u64();
        let (progress, last) = self.generate(id, request)?;
        let done = last
            .get("done")
            .with_context(|| format!("not done: {last}"))?
            .clone();
        let prompt_tokens = done["prompt_tokens"].as_u64().context("prompt_tokens")?;
        let tokens = done["tokens"].as_u64().context("tokens")?;
        ensure!(prompt_tokens > 0, "{done}");
        ensure!(!progress.is_empty(), "no progress line before done");
        ensure!(
            progress[0] == json!({"prompt_tokens": prompt_tokens, "tokens": 0}),
            "{progress:?}"
        );
        for (i, p) in progress.iter().enumerate().skip(1) {
            ensure!(
                p["tokens"] == json!(16 * i),
                "progress every 16 tokens: {progress:?}"
            );
        }
        ensure!(
            progress.len() as u64 == 1 + tokens / 16,
            "{} progress lines for {tokens} tokens",
            progress.len()
        );
        if let Some(max) = max_tokens {
            ensure!(tokens <= max, "{tokens} tokens for max_tokens {max}");
        }
        let stopped = done["stopped"].as_str().context("stopped")?;
        ensure!(stopped == "end" || stopped == "length", "{done}");
        ensure!(stopped == "end" || Some(tokens) == max_tokens, "{done}");
        ensure!(
            done["prompt_ms"].is_u64() && done["generate_ms"].is_u64(),
            "{done}"
        );
        if cfg!(target_os = "linux") {
            ensure!(
                done["peak_rss_kb"].as_u64().is_some_and(|kb| kb > 10_000),
                "{done}"
            );
        }
        eprintln!(
            "generated {tokens} tokens ({stopped}) after a prompt of {prompt_tokens}: {:.0} prompt tokens/s, {:.1} tokens/s, peak {} MB",
            per_second(prompt_tokens, &done["prompt_ms"]),
            per_second(tokens, &done["generate_ms"]),
            done["peak_rss_kb"].as_u64().unwrap_or(0) / 1024,
        );
        Ok(done)
    }

    /// Closes stdin and waits for the exit.
    fn finish(mut self) -> Result<ExitStatus> {
        drop(self.stdin.take());
        let mut rest = String::new();
        self.stdout.read_line(&mut rest)?;
        ensure!(rest.is_empty(), "a line after the end: {rest}");
        Ok(self.child.wait()?)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn per_second(n: u64, ms: &Value) -> f64 {
    n as f64 * 1000.0 / ms.as_u64().unwrap_or(0).max(1) as f64
}

/// Checks a grammar-bound answer: a JSON object with a title and a list of points.
fn check_summary(done: &Value) -> Result<()> {
    let text = done["text"].as_str().context("text")?;
    ensure!(
        done["stopped"] == "end",
        "the grammar should have ended the answer: {done}"
    );
    let summary: Value =
        serde_json::from_str(text).with_context(|| format!("the answer is not JSON: {text:?}"))?;
    ensure!(summary["title"].is_string(), "{summary}");
    let points = summary["points"]
        .as_array()
        .with_context(|| format!("no points: {summary}"))?;
    ensure!(
        !points.is_empty() && points.iter().all(Value::is_string),
        "{summary}"
    );
    Ok(())
}

fn summary_request() -> Value {
    json!({
        "messages": [
            {"role": "system", "content": "You summarise texts as JSON with a title and a few points."},
            {"role": "user", "content": "Summarise: The lecture explains how rivers shape valleys. Water erodes rock, carries sediment downstream and deposits it where the current slows, building deltas over thousands of years."},
        ],
        "grammar": SUMMARY_GRAMMAR,
        "max_tokens": 300,
        "temperature": 0.2,
        "seed": 7,
    })
}

fn has_cjk(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

#[test]
fn smollm2_loads_counts_and_follows_a_grammar() -> Result<()> {
    let _slot = one_model();
    let (mut worker, ready) = Worker::load(&model(SMOL), 4096)?;
    assert_eq!(ready["context"], 4096, "{ready}");
    let trained = ready["context_train"].as_u64().context("context_train")?;
    assert!(trained >= 4096, "{ready}");
    assert_eq!(ready["chat_template"], true, "{ready}");
    assert!(
        ready["name"].as_str().is_some_and(|n| !n.trim().is_empty()),
        "{ready}"
    );

    worker.send(&json!({"id": 1, "count": ["Hello, world.", "Hello, world. Rivers shape valleys over thousands of years.", ""]}))?;
    let reply = worker.recv()?;
    let counts: Vec<u64> =
        serde_json::from_value(reply["counts"].clone()).context(reply.to_string())?;
    assert_eq!(reply["id"], 1);
    assert_eq!(counts.len(), 3, "{reply}");
    assert!(counts[0] >= 3 && counts[0] < 13, "{reply}");
    assert!(counts[1] > counts[0], "{reply}");
    assert_eq!(counts[2], 0, "{reply}");

    let done = worker.done(2, summary_request())?;
    check_summary(&done)?;

    // Greedy, without a grammar, cut by max_tokens.
    let done = worker.done(
        3,
        json!({"messages": [{"role": "user", "content": "Write a long story about a river that flows to the sea."}], "max_tokens": 20, "temperature": 0}),
    )?;
    assert_eq!(done["tokens"], 20, "{done}");
    assert_eq!(done["stopped"], "length", "{done}");
    assert!(!done["text"].as_str().unwrap_or("").is_empty(), "{done}");

    // A grammar that does not parse: an error, and the worker goes on.
    let (_, last) = worker.generate(4, json!({"messages": [{"role": "user", "content": "Hi"}], "grammar": "root ::= (\"a\" | ", "max_tokens": 4}))?;
    assert_eq!(last["error"]["kind"], "grammar", "{last}");
    let (_, last) = worker.generate(5, json!({"messages": [{"role": "user", "content": "Hi"}], "grammar": "start ::= \"a\"", "max_tokens": 4}))?;
    assert_eq!(last["error"]["kind"], "grammar", "{last}");

    // Lines that are not requests: errors, and the worker goes on.
    worker.send_raw("this is not JSON")?;
    let reply = worker.recv()?;
    assert_eq!(
        reply,
        json!({"id": null, "error": {"kind": "request", "message": reply["error"]["message"]}})
    );
    worker.send(&json!({"id": 6, "summarise": true}))?;
    let reply = worker.recv()?;
    assert_eq!(
        (&reply["id"], &reply["error"]["kind"]),
        (&json!(6), &json!("request")),
        "{reply}"
    );
    worker.send(&json!({"id": 7, "messages": "hello"}))?;
    let reply = worker.recv()?;
    assert_eq!(
        (&reply["id"], &reply["error"]["kind"]),
        (&json!(7), &json!("request")),
        "{reply}"
    );

    worker.send(&json!({"id": 8, "count": ["still here"]}))?;
    let reply = worker.recv()?;
    assert_eq!(reply["id"], 8, "{reply}");
    assert!(
        reply["counts"][0].as_u64().is_some_and(|n| n > 0),
        "{reply}"
    );

    let status = worker.finish()?;
    assert_eq!(status.code(), Some(0), "{status}");
    Ok(())
}

#[test]
fn qwen_counts_chinese_and_answers_in_chinese() -> Result<()> {
    let _slot = one_model();
    let (mut worker, ready) = Worker::load(&model(QWEN), 4096)?;
    assert_eq!(ready["context"], 4096, "{ready}");
    assert_eq!(ready["context_train"], 32768, "{ready}");
    assert_eq!(ready["chat_template"], true, "{ready}");
    assert!(
        ready["name"].as_str().is_some_and(|n| !n.trim().is_empty()),
        "{ready}"
    );

    worker.send(&json!({"id": 1, "count": ["河流塑造山谷。", "河流塑造山谷。水侵蚀岩石，把泥沙带到下游，在水流变慢的地方沉积下来。"]}))?;
    let reply = worker.recv()?;
    let counts: Vec<u64> =
        serde_json::from_value(reply["counts"].clone()).context(reply.to_string())?;
    assert!(counts[0] >= 2, "{reply}");
    assert!(counts[1] > counts[0] + 5, "{reply}");

    let done = worker.done(
        2,
        json!({
            "messages": [
                {"role": "system", "content": "用中文回答。"},
                {"role": "user", "content": "用两句话说明河流如何塑造山谷。"},
            ],
            "max_tokens": 64,
            "temperature": 0.2,
            "seed": 7,
        }),
    )?;
    let text = done["text"].as_str().context("text")?;
    assert!(has_cjk(text), "no Chinese in the answer: {text:?}");
    assert!(!text.contains('\u{fffd}'), "a character was cut: {text:?}");

    let done = worker.done(3, summary_request())?;
    check_summary(&done)?;

    let status = worker.finish()?;
    assert_eq!(status.code(), Some(0), "{status}");
    Ok(())
}

#[test]
fn the_context_is_capped_at_the_trained_one() -> Result<()> {
    let _slot = one_model();
    let (worker, ready) = Worker::load(&model(SMOL), 1 << 20)?;
    assert_eq!(ready["context"], ready["context_train"], "{ready}");
    assert_eq!(worker.finish()?.code(), Some(0));
    Ok(())
}

#[test]
fn a_prompt_longer_than_the_context_is_refused_and_the_worker_goes_on() -> Result<()> {
    let _slot = one_model();
    let (mut worker, ready) = Worker::load(&model(SMOL), 256)?;
    assert_eq!(ready["context"], 256, "{ready}");

    let long = "The river carries sediment downstream. ".repeat(60);
    let (progress, last) = worker.generate(
        1,
        json!({"messages": [{"role": "user", "content": long}], "max_tokens": 16}),
    )?;
    assert!(progress.is_empty(), "{progress:?}");
    let error = &last["error"];
    assert_eq!(error["kind"], "too_long", "{last}");
    assert_eq!(error["context"], 256, "{last}");
    assert!(
        error["prompt_tokens"].as_u64().is_some_and(|p| p > 256),
        "{last}"
    );

    // Fits alone, but not with max_tokens.
    let (_, last) = worker.generate(
        2,
        json!({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 250}),
    )?;
    assert_eq!(last["error"]["kind"], "too_long", "{last}");

    let done = worker.done(
        3,
        json!({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 16, "temperature": 0}),
    )?;
    assert!(done["tokens"].as_u64().is_some_and(|t| t > 0), "{done}");

    // At the limit exactly: allowed.
    let prompt_tokens = done["prompt_tokens"].as_u64().context("prompt_tokens")?;
    let done = worker.done(
        4,
        json!({"messages": [{"role": "user", "content": "Say hello."}], "max_tokens": 256 - prompt_tokens, "temperature": 0}),
    )?;
    assert!(
        done["tokens"]
            .as_u64()
            .is_some_and(|t| t + prompt_tokens <= 256),
        "{done}"
    );

    let status = worker.finish()?;
    assert_eq!(status.code(), Some(0), "{status}");
    Ok(())
}

/// Loads `path` and expects a load error naming it and exit code 2.
fn expect_load_error(path: &Path) -> Result<String> {
    let mut worker = Worker::start()?;
    worker.send(&json!({"model": path, "context": 512}))?;
    let reply = worker.recv()?;
    let Some(error) = reply.get("error") else {
        bail!("not an error: {reply}")
    };
    ensure!(error["kind"] == "load", "{reply}");
    let message = error["message"].as_str().context("message")?.to_owned();
    ensure!(
        message.contains(&*path.to_string_lossy()),
        "the message does not name the file: {message}"
    );
    let status = worker.finish()?;
    // A code, hence no signal (an abort or a crash has none).
    ensure!(status.code() == Some(2), "{status}");
    Ok(message)
}

#[test]
fn files_that_are_no_model_are_load_errors() -> Result<()> {
    let _slot = one_model();
    let dir = std::env::temp_dir().join(format!("video2doc-llm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let missing = expect_load_error(&dir.join("missing.gguf"))?;
    assert!(missing.contains("No such file"), "{missing}");

    let text = dir.join("notes.gguf");
    std::fs::write(&text, "These are notes, not a model.\n")?;
    let message = expect_load_error(&text)?;
    assert!(message.contains("not a GGUF file"), "{message}");

    let small = std::fs::read(model(SMOL))?;
    let truncated = dir.join("truncated.gguf");
    std::fs::write(&truncated, &small[..1 << 20])?;
    let message = expect_load_error(&truncated)?;
    eprintln!("truncated: {message}");

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn a_malformed_load_line_is_a_load_error() -> Result<()> {
    let mut worker = Worker::start()?;
    worker.send_raw("{\"context\": 512}")?;
    let reply = worker.recv()?;
    assert_eq!(reply["error"]["kind"], "load", "{reply}");
    assert_eq!(worker.finish()?.code(), Some(2));
    Ok(())
}

#[test]
fn end_of_input_before_a_model_is_a_clean_exit() -> Result<()> {
    let worker = Worker::start()?;
    assert_eq!(worker.finish()?.code(), Some(0));
    Ok(())
}

#[test]
fn version() -> Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_video2doc-llm"))
        .arg("--version")
        .output()?;
    assert!(out.status.success(), "{:?}", out.status);
    let text = String::from_utf8(out.stdout)?;
    assert_eq!(
        text,
        format!("video2doc-llm {} (llama.cpp)\n", env!("CARGO_PKG_VERSION"))
    );
    Ok(())
}
