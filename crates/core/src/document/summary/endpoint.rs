//! An OpenAI-compatible chat endpoint (Ollama, a llama.cpp server, OpenAI) as a
//! [`Writer`]. It is not held to a grammar: the prompt shows the JSON wanted, and the
//! reply is read leniently. Its tokens are estimated (a CJK character as one token,
//! other text as a token per three characters), on the safe side of most tokenizers.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::plan::{Ask, WriteError, Writer};
use crate::document::is_cjk;
use crate::net::{Http, NetError};

/// An OpenAI-compatible chat endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// e.g. `http://localhost:11434/v1`
    pub base_url: String,
    pub model: String,
    #[serde(default)]
    pub api_key: Option<String>,
    /// Extra instructions added to every request (kept for settings written before
    /// templates; the template's instructions come first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// The model's context in tokens: requests are planned to fit it.
    #[serde(default = "default_context")]
    pub context: u32,
}

fn default_timeout() -> u64 {
    120
}

fn default_context() -> u32 {
    8192
}

/// Why the endpoint could not be used.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("the summary endpoint {url} could not be used: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: NetError,
    },
    #[error("the summary endpoint {url} answered with something that is not a chat completion: {reason}")]
    BadAnswer { url: String, reason: String },
}

/// The tokens of `text`, estimated.
pub fn estimate_tokens(text: &str) -> usize {
    let (mut cjk, mut other) = (0usize, 0usize);
    for c in text.chars() {
        if is_cjk(c) {
            cjk += 1;
        } else {
            other += 1;
        }
    }
    cjk + other.div_ceil(3)
}

/// The endpoint, asked through `http`.
pub struct EndpointWriter<'a> {
    pub endpoint: &'a Endpoint,
    pub http: &'a Http,
}

impl Writer for EndpointWriter<'_> {
    fn model(&self) -> String {
        self.endpoint.model.clone()
    }

    fn context(&self) -> usize {
        self.endpoint.context.max(512) as usize
    }

    fn count(&mut self, texts: &[&str]) -> Result<Vec<usize>, WriteError> {
        Ok(texts.iter().map(|t| estimate_tokens(t)).collect())
    }

    fn write(&mut self, ask: &Ask, tokens: &mut dyn FnMut(usize)) -> Result<String, WriteError> {
        let system = match &self.endpoint.prompt {
            Some(extra) if !extra.trim().is_empty() => {
                format!("{}\n\n{}", ask.system, extra.trim())
            }
            _ => ask.system.clone(),
        };
        let content = complete(self.http, self.endpoint, &system, &ask.user, ask.max_tokens)?;
        tokens(ask.max_tokens);
        Ok(content)
    }
}

/// One chat completion: the reply's text.
pub fn complete(
    http: &Http,
    ep: &Endpoint,
    system: &str,
    user: &str,
    max_tokens: usize,
) -> Result<String, EndpointError> {
    let url = format!("{}/chat/completions", ep.base_url.trim_end_matches('/'));
    let mut headers = Vec::new();
    if let Some(key) = &ep.api_key {
        headers.push(("Authorization", format!("Bearer {key}")));
    }
    let body = serde_json::json!({
        "model": ep.model,
        "messages": [
            { "role": "system", "content": system },
            { "role": "user", "content": user },
        ],
        "temperature": 0.2,
        "max_tokens": max_tokens,
    });
    let v = http
        .post_json(
            &url,
            &headers,
            &body,
            Duration::from_secs(ep.timeout_s.max(1)),
        )
        .map_err(|e| match e {
            NetError::BadAnswer { reason, .. } => EndpointError::BadAnswer {
                url: url.clone(),
                reason,
            },
            source => EndpointError::Unreachable {
                url: url.clone(),
                source,
            },
        })?;
    v["choices"][0]["message"]["content"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| EndpointError::BadAnswer {
            url: url.clone(),
            reason: "no choices[0].message.content".into(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_estimated_on_the_safe_side() {
        assert_eq!(estimate_tokens("光合作用"), 4);
        assert_eq!(estimate_tokens("abcdef"), 2);
        assert_eq!(estimate_tokens(""), 0);
    }
}
