//! The worker's protocol with the app: JSON, one object per line, UTF-8, in both
//! directions. This module holds the lines' types, the parsing of what comes in and the
//! writing of what goes out; what the requests do is the engine's.
//!
//! In (stdin):
//! - first, the load line: `{"model": "/abs/path.gguf", "context": 4096, "threads": 2}`;
//! - then requests, each with an `id`: `{"id": 1, "count": ["text", ...]}` or
//!   `{"id": 2, "messages": [{"role": "system", "content": "..."}, ...], "grammar": null,
//!   "max_tokens": 512, "temperature": 0.2, "seed": 0}`.
//!
//! Out (stdout): `{"ready": {...}}` or `{"error": {...}}` for the load line; then for
//! each request, in order, `{"id": 1, "counts": [...]}`, or zero or more
//! `{"id": 2, "progress": {...}}` and then `{"id": 2, "done": {...}}`, or
//! `{"id": n, "error": {"kind": ..., "message": ...}}` (id null when the line had none).
//! Blank lines in are ignored.

use std::io::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use thiserror::Error;

/// The context size used when the load line does not say one.
pub const DEFAULT_CONTEXT: u32 = 4096;

/// The first line: which model to load and how.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Load {
    /// The GGUF file.
    pub model: String,
    /// The context size wanted, in tokens; capped at the model's trained context.
    #[serde(default = "default_context")]
    pub context: u32,
    /// CPU threads; 0 or missing: the available parallelism, at most 8.
    #[serde(default)]
    pub threads: u32,
}

fn default_context() -> u32 {
    DEFAULT_CONTEXT
}

/// One request line after the load line.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub id: u64,
    pub body: RequestBody,
}

/// What a request asks.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestBody {
    /// The token count of each text, tokenized as plain text.
    Count(Vec<String>),
    Generate(Generate),
}

/// A completion of a chat.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Generate {
    pub messages: Vec<Message>,
    /// A GBNF grammar with a `root` rule that the output must follow.
    #[serde(default)]
    pub grammar: Option<String>,
    #[serde(default = "default_max_tokens")]
    pub max_tokens: u32,
    /// 0 (or less): greedy.
    #[serde(default = "default_temperature")]
    pub temperature: f32,
    #[serde(default)]
    pub seed: u32,
}

fn default_max_tokens() -> u32 {
    512
}

fn default_temperature() -> f32 {
    0.2
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Message {
    pub role: String,
    pub content: String,
}

#[derive(Deserialize)]
struct Count {
    count: Vec<String>,
}

/// A request line that cannot be taken: answered with an error of kind `request`.
#[derive(Debug, Error)]
pub enum RequestError {
    #[error("the line is not JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("the line is not a JSON object")]
    NotObject,
    #[error("the request has no `id` (a number from 0 to 2^64-1)")]
    NoId,
    #[error("the request has neither `count` nor `messages`")]
    Unknown,
    #[error("the {what} request is malformed: {source}")]
    Malformed {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// Parses the load line.
pub fn parse_load(line: &str) -> Result<Load, serde_json::Error> {
    serde_json::from_str(line)
}

/// Parses a request line; on failure, also the request's id when the line had one.
pub fn parse_request(line: &str) -> Result<Request, (Option<u64>, RequestError)> {
    let value: Value = serde_json::from_str(line).map_err(|e| (None, RequestError::NotJson(e)))?;
    let Value::Object(object) = &value else {
        return Err((None, RequestError::NotObject));
    };
    let id = object.get("id").and_then(Value::as_u64);
    let fail = |error| (id, error);
    let id = id.ok_or_else(|| fail(RequestError::NoId))?;
    let body = if object.contains_key("count") {
        let count: Count = serde_json::from_value(value).map_err(|source| {
            fail(RequestError::Malformed {
                what: "count",
                source,
            })
        })?;
        RequestBody::Count(count.count)
    } else if object.contains_key("messages") {
        let generate = serde_json::from_value(value).map_err(|source| {
            fail(RequestError::Malformed {
                what: "generate",
                source,
            })
        })?;
        RequestBody::Generate(generate)
    } else {
        return Err(fail(RequestError::Unknown));
    };
    Ok(Request { id, body })
}

/// The answer to the load line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadReply {
    Ready(Ready),
    Error(ErrorReply),
}

/// The model is loaded and the worker takes requests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ready {
    /// The model's `general.name`, or the file's stem.
    pub name: String,
    /// The context size in use, in tokens.
    pub context: u32,
    /// The context size the model was trained with.
    pub context_train: u32,
    /// Whether prompts are made with the model's chat template (else: plain text).
    pub chat_template: bool,
}

/// One line answering a request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reply {
    pub id: Option<u64>,
    #[serde(flatten)]
    pub body: ReplyBody,
}

impl Reply {
    pub fn error(id: Option<u64>, error: ErrorReply) -> Self {
        Reply {
            id,
            body: ReplyBody::Error(error),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyBody {
    Counts(Vec<usize>),
    Progress(Progress),
    Done(Done),
    Error(ErrorReply),
}

/// How far a generation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub prompt_tokens: usize,
    /// Tokens generated so far.
    pub tokens: usize,
}

/// A finished generation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Done {
    pub text: String,
    pub prompt_tokens: usize,
    pub tokens: usize,
    pub stopped: Stopped,
    /// Reading the prompt, in milliseconds.
    pub prompt_ms: u64,
    /// Generating the tokens, in milliseconds.
    pub generate_ms: u64,
    /// The worker's peak resident memory so far (None where unknown).
    pub peak_rss_kb: Option<u64>,
}

/// Why a generation stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stopped {
    /// The model ended its answer (an end-of-generation token).
    End,
    /// `max_tokens` were generated.
    Length,
}

/// A failure, as the app sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ErrorReply {
    pub kind: ErrorKind,
    pub message: String,
    /// For `too_long`: the prompt's tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prompt_tokens: Option<usize>,
    /// For `too_long`: the context size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<u32>,
}

impl ErrorReply {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ErrorReply {
            kind,
            message: message.into(),
            prompt_tokens: None,
            context: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The model could not be loaded (the worker then exits with code 2).
    Load,
    /// The prompt and `max_tokens` do not fit in the context.
    TooLong,
    /// The grammar could not be parsed.
    Grammar,
    /// llama.cpp failed while reading or generating.
    Decode,
    /// The line is not a request this worker knows.
    Request,
}

/// Writes one line to `out` and flushes it.
pub fn write_line(out: &mut impl Write, line: &impl Serialize) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, line)?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(line: &impl Serialize) -> String {
        let mut out = Vec::new();
        write_line(&mut out, line).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn load_line_defaults() {
        let load = parse_load(r#"{"model": "/m.gguf"}"#).unwrap();
        assert_eq!(
            load,
            Load {
                model: "/m.gguf".into(),
                context: 4096,
                threads: 0
            }
        );
        let load = parse_load(r#"{"model": "/m.gguf", "context": 256, "threads": 2}"#).unwrap();
        assert_eq!((load.context, load.threads), (256, 2));
        assert!(parse_load(r#"{"context": 256}"#).is_err());
    }

    #[test]
    fn requests() {
        let r = parse_request(r#"{"id": 1, "count": ["a", "b"]}"#).unwrap();
        assert_eq!(
            r,
            Request {
                id: 1,
                body: RequestBody::Count(vec!["a".into(), "b".into()])
            }
        );
        let r =
            parse_request(r#"{"id": 2, "messages": [{"role": "user", "content": "hi"}]}"#).unwrap();
        let RequestBody::Generate(g) = r.body else {
            panic!("not a generate request")
        };
        assert_eq!(
            (g.grammar, g.max_tokens, g.temperature, g.seed),
            (None, 512, 0.2, 0)
        );
        let r = parse_request(
            r#"{"id": 3, "messages": [], "grammar": "root ::= \"x\"", "max_tokens": 8, "temperature": 0, "seed": 7}"#,
        )
        .unwrap();
        let RequestBody::Generate(g) = r.body else {
            panic!("not a generate request")
        };
        assert_eq!(
            (g.grammar.as_deref(), g.max_tokens, g.temperature, g.seed),
            (Some("root ::= \"x\""), 8, 0.0, 7)
        );
    }

    #[test]
    fn bad_requests_keep_their_id() {
        assert!(matches!(
            parse_request("nope"),
            Err((None, RequestError::NotJson(_)))
        ));
        assert!(matches!(
            parse_request("[1]"),
            Err((None, RequestError::NotObject))
        ));
        assert!(matches!(
            parse_request(r#"{"count": []}"#),
            Err((None, RequestError::NoId))
        ));
        assert!(matches!(
            parse_request(r#"{"id": 4}"#),
            Err((Some(4), RequestError::Unknown))
        ));
        assert!(matches!(
            parse_request(r#"{"id": 5, "count": "a"}"#),
            Err((Some(5), RequestError::Malformed { what: "count", .. }))
        ));
        assert!(matches!(
            parse_request(r#"{"id": 6, "messages": [{"role": "user"}]}"#),
            Err((
                Some(6),
                RequestError::Malformed {
                    what: "generate",
                    ..
                }
            ))
        ));
    }

    #[test]
    fn replies_as_the_contract_writes_them() {
        let ready = LoadReply::Ready(Ready {
            name: "m".into(),
            context: 4096,
            context_train: 32768,
            chat_template: true,
        });
        assert_eq!(
            json(&ready),
            "{\"ready\":{\"name\":\"m\",\"context\":4096,\"context_train\":32768,\"chat_template\":true}}\n"
        );
        let error = LoadReply::Error(ErrorReply::new(ErrorKind::Load, "no"));
        assert_eq!(
            json(&error),
            "{\"error\":{\"kind\":\"load\",\"message\":\"no\"}}\n"
        );
        let counts = Reply {
            id: Some(1),
            body: ReplyBody::Counts(vec![12, 40]),
        };
        assert_eq!(json(&counts), "{\"id\":1,\"counts\":[12,40]}\n");
        let progress = Reply {
            id: Some(2),
            body: ReplyBody::Progress(Progress {
                prompt_tokens: 5,
                tokens: 16,
            }),
        };
        assert_eq!(
            json(&progress),
            "{\"id\":2,\"progress\":{\"prompt_tokens\":5,\"tokens\":16}}\n"
        );
        let done = Reply {
            id: Some(2),
            body: ReplyBody::Done(Done {
                text: "é".into(),
                prompt_tokens: 5,
                tokens: 1,
                stopped: Stopped::Length,
                prompt_ms: 3,
                generate_ms: 4,
                peak_rss_kb: None,
            }),
        };
        assert_eq!(
            json(&done),
            "{\"id\":2,\"done\":{\"text\":\"é\",\"prompt_tokens\":5,\"tokens\":1,\"stopped\":\"length\",\"prompt_ms\":3,\"generate_ms\":4,\"peak_rss_kb\":null}}\n"
        );
        let too_long = Reply {
            id: Some(3),
            body: ReplyBody::Error(ErrorReply {
                kind: ErrorKind::TooLong,
                message: "m".into(),
                prompt_tokens: Some(300),
                context: Some(256),
            }),
        };
        assert_eq!(
            json(&too_long),
            "{\"id\":3,\"error\":{\"kind\":\"too_long\",\"message\":\"m\",\"prompt_tokens\":300,\"context\":256}}\n"
        );
        let bad = Reply {
            id: None,
            body: ReplyBody::Error(ErrorReply::new(ErrorKind::Request, "x")),
        };
        assert_eq!(
            json(&bad),
            "{\"id\":null,\"error\":{\"kind\":\"request\",\"message\":\"x\"}}\n"
        );
    }
}
