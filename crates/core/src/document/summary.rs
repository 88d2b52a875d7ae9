//! Summaries: a built-in extractive summary that works offline in English and Chinese,
//! and an optional OpenAI-compatible endpoint (Ollama, llama.cpp server, OpenAI). When
//! the endpoint is down or slow, the built-in summary is used and the document says so.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::document::{is_cjk, Summary};

/// An OpenAI-compatible chat endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    /// e.g. `http://localhost:11434/v1`
    pub base_url: String,
    pub model: String,
    #[serde(default)]
    pub api_key: Option<String>,
    #[serde(default = "default_prompt")]
    pub prompt: String,
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
}

fn default_prompt() -> String {
    "Summarise this transcript as 3 to 8 short bullet points, in the transcript's language. Reply with the bullet points only, one per line.".into()
}

fn default_timeout() -> u64 {
    120
}

/// Sentences of a transcript: split after `.`, `!`, `?` followed by a space, and after
/// `。`, `！`, `？` (Chinese has no spaces).
pub fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = text.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        cur.push(c);
        let next = chars.get(i + 1).copied();
        let end = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => next.is_none_or(char::is_whitespace),
            _ => false,
        };
        if end {
            let s = cur.trim().to_string();
            if !s.is_empty() {
                out.push(s);
            }
            cur.clear();
        }
    }
    let s = cur.trim().to_string();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

const STOP: &[&str] = &[
    "the", "a", "an", "and", "or", "but", "of", "to", "in", "on", "at", "for", "with", "is", "are",
    "was", "were", "be", "been", "it", "this", "that", "these", "those", "we", "you", "i", "he",
    "she", "they", "them", "our", "your", "as", "by", "from", "so", "if", "then", "there", "here",
    "what", "which", "who", "not", "no", "do", "does", "did", "have", "has", "had", "can", "will",
    "would", "just", "about", "into", "its", "also", "very", "um", "uh", "like", "okay", "ok",
    "yeah", "really", "going", "get", "got", "know", "see", "now",
];

/// Terms of a sentence: lowercased words without stop words; for CJK, character bigrams.
fn terms(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut cjk: Vec<char> = Vec::new();
    let flush_cjk = |cjk: &mut Vec<char>, out: &mut Vec<String>| {
        for w in cjk.windows(2) {
            out.push(w.iter().collect());
        }
        if cjk.len() == 1 {
            out.push(cjk[0].to_string());
        }
        cjk.clear();
    };
    for c in s.chars() {
        if is_cjk(c) && c.is_alphanumeric() {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            cjk.push(c);
        } else if c.is_alphanumeric() || c == '\'' {
            flush_cjk(&mut cjk, &mut out);
            word.extend(c.to_lowercase());
        } else {
            flush_cjk(&mut cjk, &mut out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_cjk(&mut cjk, &mut out);
    if !word.is_empty() {
        out.push(word);
    }
    out.retain(|w| !STOP.contains(&w.as_str()) && w.chars().count() > 1 || w.chars().all(is_cjk));
    out
}

/// The built-in extractive summary: the most central sentences (by the frequency of
/// their terms across the transcript), without near-repeats, in spoken order.
pub fn extractive(text: &str, max_points: usize) -> Vec<String> {
    let sents = sentences(text);
    if sents.is_empty() {
        return Vec::new();
    }
    let want = (sents.len() / 5)
        .clamp(3, max_points.max(1))
        .min(sents.len());
    let term_lists: Vec<Vec<String>> = sents.iter().map(|s| terms(s)).collect();
    let mut freq: HashMap<&str, f64> = HashMap::new();
    for ts in &term_lists {
        for t in ts.iter().collect::<HashSet<_>>() {
            *freq.entry(t.as_str()).or_default() += 1.0;
        }
    }
    let mut scored: Vec<(usize, f64)> = term_lists
        .iter()
        .enumerate()
        .map(|(i, ts)| {
            let n = ts.len() as f64;
            let score = if n == 0.0 {
                0.0
            } else {
                ts.iter().map(|t| freq[t.as_str()]).sum::<f64>() / (n + 4.0)
            };
            (i, score)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut chosen: Vec<usize> = Vec::new();
    for (i, _) in scored {
        if chosen.len() >= want {
            break;
        }
        let mine: HashSet<&String> = term_lists[i].iter().collect();
        let repeat = chosen.iter().any(|&j| {
            let other: HashSet<&String> = term_lists[j].iter().collect();
            let inter = mine.intersection(&other).count() as f64;
            let union = mine.union(&other).count().max(1) as f64;
            inter / union > 0.7
        });
        if !repeat && !term_lists[i].is_empty() {
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    chosen.into_iter().map(|i| sents[i].clone()).collect()
}

/// Why the endpoint could not summarise.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("the summary endpoint {url} could not be used: {source}")]
    Unreachable {
        url: String,
        #[source]
        source: crate::net::NetError,
    },
    #[error("the summary endpoint {url} answered with something that is not a chat completion: {reason}")]
    BadAnswer { url: String, reason: String },
}

/// Asks the endpoint for bullet points.
pub fn ask_endpoint(ep: &Endpoint, transcript: &str) -> Result<Vec<String>, EndpointError> {
    ask_endpoint_with(&crate::net::Http::from_environment(), ep, transcript)
}

/// [`ask_endpoint`] through `http`.
pub fn ask_endpoint_with(
    http: &crate::net::Http,
    ep: &Endpoint,
    transcript: &str,
) -> Result<Vec<String>, EndpointError> {
    let url = format!("{}/chat/completions", ep.base_url.trim_end_matches('/'));
    let mut headers = Vec::new();
    if let Some(key) = &ep.api_key {
        headers.push(("Authorization", format!("Bearer {key}")));
    }
    let body = serde_json::json!({
        "model": ep.model,
        "messages": [
            { "role": "system", "content": ep.prompt },
            { "role": "user", "content": transcript },
        ],
        "temperature": 0.2,
    });
    let v = http
        .post_json(
            &url,
            &headers,
            &body,
            Duration::from_secs(ep.timeout_s.max(1)),
        )
        .map_err(|e| match e {
            crate::net::NetError::BadAnswer { reason, .. } => EndpointError::BadAnswer {
                url: url.clone(),
                reason,
            },
            source => EndpointError::Unreachable {
                url: url.clone(),
                source,
            },
        })?;
    let content = v["choices"][0]["message"]["content"]
        .as_str()
        .ok_or_else(|| EndpointError::BadAnswer {
            url: url.clone(),
            reason: "no choices[0].message.content".into(),
        })?;
    let points: Vec<String> = content
        .lines()
        .map(|l| {
            l.trim()
                .trim_start_matches(['-', '*', '•'])
                .trim()
                .to_string()
        })
        .filter(|l| !l.is_empty())
        .collect();
    Ok(points)
}

/// The summary of a transcript: the endpoint's if one is set and answers, else the
/// built-in one (with a note saying why, when an endpoint was set).
pub fn summarize(transcript: &str, endpoint: Option<&Endpoint>) -> Summary {
    if let Some(ep) = endpoint {
        match ask_endpoint(ep, transcript) {
            Ok(points) if !points.is_empty() => {
                return Summary {
                    points,
                    method: ep.model.clone(),
                    note: None,
                }
            }
            Ok(_) => {
                return Summary {
                    points: extractive(transcript, 8),
                    method: "built-in".into(),
                    note: Some(format!(
                    "The summary endpoint ({}) gave an empty answer; this is the built-in summary.",
                    ep.base_url
                )),
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "summary endpoint failed; using the built-in summary");
                return Summary {
                    points: extractive(transcript, 8),
                    method: "built-in".into(),
                    note: Some(format!("{e}. This is the built-in summary instead.")),
                };
            }
        }
    }
    Summary {
        points: extractive(transcript, 8),
        method: "built-in".into(),
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences_split_in_english_and_chinese() {
        let s = sentences(
            "Dr. Smith arrived. He spoke! 光合作用很重要。植物需要阳光？Yes, 3.5 percent.",
        );
        assert_eq!(
            s,
            vec![
                "Dr.",
                "Smith arrived.",
                "He spoke!",
                "光合作用很重要。",
                "植物需要阳光？",
                "Yes, 3.5 percent."
            ]
        );
    }

    #[test]
    fn the_summary_picks_central_sentences_in_order() {
        let text = "Photosynthesis converts light into chemical energy. \
            The weather was nice today. \
            In photosynthesis, plants use light energy to make sugar. \
            Chlorophyll absorbs light for photosynthesis. \
            My cat likes boxes. \
            The energy from light is stored in sugar molecules. \
            Anyway, see you next week.";
        let s = extractive(text, 3);
        assert_eq!(s.len(), 3);
        assert!(
            s.iter()
                .all(|x| !x.contains("cat") && !x.contains("weather")),
            "{s:?}"
        );
        let pos: Vec<usize> = s.iter().map(|x| text.find(x.as_str()).unwrap()).collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]), "spoken order");
    }

    #[test]
    fn chinese_text_is_summarised() {
        let text =
            "光合作用是植物利用光能的过程。今天天气很好。植物通过光合作用把光能转化为化学能。\
            叶绿素吸收光能用于光合作用。我的猫喜欢盒子。光合作用产生氧气和糖。下周见。";
        let s = extractive(text, 3);
        assert_eq!(s.len(), 3);
        assert!(s.iter().all(|x| x.contains("光")), "{s:?}");
    }

    #[test]
    fn a_down_endpoint_falls_back_and_says_so() {
        let ep = Endpoint {
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "llama3".into(),
            api_key: None,
            prompt: default_prompt(),
            timeout_s: 2,
        };
        let s = summarize(
            "Plants make sugar from light. Light is energy. Sugar is food.",
            Some(&ep),
        );
        assert_eq!(s.method, "built-in");
        let note = s.note.unwrap();
        assert!(
            note.contains("127.0.0.1:9") && note.contains("built-in"),
            "{note}"
        );
        assert!(!s.points.is_empty());
    }
}
