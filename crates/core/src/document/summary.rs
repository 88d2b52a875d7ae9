//! Summaries and chapters. Three methods write them: a local model (a GGUF file run by
//! llama.cpp in its worker program, [`local`]), an OpenAI-compatible endpoint
//! ([`endpoint`]), or the built-in extractive summary ([`extractive`]), which needs
//! nothing. The models write hierarchically ([`plan`]) to a template ([`template`]), so
//! a recording of any length fits their context. When the chosen method cannot be used,
//! the built-in summary is written and the document says why.

pub mod endpoint;
pub mod extractive;
pub mod local;
pub mod plan;
pub mod shape;
pub mod template;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use endpoint::{Endpoint, EndpointError};
pub(crate) use extractive::terms;
pub use extractive::{extractive, sentences};
pub use local::LocalModel;
pub use plan::{Material, Step, WriteError, Writer};
pub use template::{ActionItem, Template, Term};

use crate::document::chapters::{self, Chapter};
use crate::document::{is_cjk, join_text, Summary};

/// Which method writes the summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The local model when one is chosen, else the endpoint when one is set, else the
    /// built-in summary.
    #[default]
    Auto,
    Local,
    Endpoint,
    #[serde(rename = "builtin", alias = "built-in")]
    BuiltIn,
}

impl Method {
    pub fn parse(s: &str) -> Option<Method> {
        match s.trim().to_lowercase().as_str() {
            "auto" => Some(Method::Auto),
            "local" => Some(Method::Local),
            "endpoint" => Some(Method::Endpoint),
            "builtin" | "built-in" => Some(Method::BuiltIn),
            _ => None,
        }
    }
}

/// How summaries are written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SummaryOptions {
    #[serde(default)]
    pub method: Method,
    #[serde(default)]
    pub template: Template,
    /// The person's own instructions per template (absent: the template's default).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prompts: BTreeMap<Template, String>,
    /// The language the notes are written in (absent: the recording's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The local model, when one is chosen and installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local: Option<LocalModel>,
}

/// A document's summary and chapters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Notes {
    pub summary: Summary,
    pub chapters: Vec<Chapter>,
}

/// The summary prompt settings written before templates held, word for word: it asked
/// for bullet points, not the JSON the templates ask for, so it is not added.
const FORMER_DEFAULT_PROMPT: &str = "Summarise this transcript as 3 to 8 short bullet points, in the transcript's language. Reply with the bullet points only, one per line.";

/// The language notes are written in: the chosen one, else the recording's, else the
/// one its text is mostly in.
pub fn notes_language(chosen: Option<&str>, recording: Option<&str>, text: &str) -> String {
    if let Some(l) = chosen
        .or(recording)
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        return l.to_string();
    }
    let (cjk, all) = text
        .chars()
        .filter(|c| c.is_alphanumeric())
        .fold((0, 0), |(c, a), ch| (c + usize::from(is_cjk(ch)), a + 1));
    if all > 0 && cjk * 3 >= all {
        "zh".into()
    } else {
        "en".into()
    }
}

/// The notes of `m`: chapters and a summary, by the method `opts` chooses, falling back
/// to the built-in summary (with the reason in its note). Only a cancel is an error.
pub fn write(
    m: &Material,
    opts: &SummaryOptions,
    endpoint: Option<&Endpoint>,
    recording_language: Option<&str>,
    cancel: &Arc<AtomicBool>,
    progress: &mut dyn FnMut(Step),
) -> Result<Notes, WriteError> {
    let text = join_text(m.segments.iter());
    let language = notes_language(opts.language.as_deref(), recording_language, &text);
    let template = opts.template.resolve(m.speakers.len());
    let brief = plan::Brief {
        template,
        instructions: template::prompt_for(template, &opts.prompts),
        language: language.clone(),
    };
    let endpoint = endpoint.map(|e| {
        let mut e = e.clone();
        if e.prompt.as_deref().map(str::trim) == Some(FORMER_DEFAULT_PROMPT) {
            e.prompt = None;
        }
        e
    });
    let chosen = match opts.method {
        Method::Auto if opts.local.is_some() => Method::Local,
        Method::Auto if endpoint.is_some() => Method::Endpoint,
        Method::Auto => Method::BuiltIn,
        m => m,
    };
    let tried = match chosen {
        Method::BuiltIn | Method::Auto => None,
        Method::Local => Some(match &opts.local {
            None => Err("no local summary model is chosen (Settings, Summary; or `models download` a summary model)".to_string()),
            Some(model) => match local::LocalWriter::start(model, cancel) {
                Err(e) => Err(e.to_string()),
                Ok(mut w) => {
                    let r = plan::write_notes(&mut w, m, &brief, cancel, progress);
                    tracing::info!(stats = ?w.stats, "local model done");
                    r.map(|n| ("local", w.model(), n)).map_err(|e| match e {
                        WriteError::Cancelled => "cancelled".to_string(),
                        e => e.to_string(),
                    })
                }
            },
        }),
        Method::Endpoint => Some(match &endpoint {
            None => Err("no summary endpoint is set".to_string()),
            Some(ep) => {
                let http = crate::net::Http::from_environment();
                let mut w = endpoint::EndpointWriter { endpoint: ep, http: &http };
                plan::write_notes(&mut w, m, &brief, cancel, progress)
                    .map(|n| ("endpoint", ep.model.clone(), n))
                    .map_err(|e| e.to_string())
            }
        }),
    };
    if cancel.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(WriteError::Cancelled);
    }
    let note = match tried {
        Some(Ok((method, model, (chapters, mut summary)))) => {
            summary.method = method.into();
            summary.model = Some(model);
            return Ok(Notes { summary, chapters });
        }
        Some(Err(reason)) => {
            let what = if chosen == Method::Local {
                "The local model"
            } else {
                "The summary endpoint"
            };
            tracing::warn!(%reason, "summary model failed; using the built-in summary");
            Some(format!("{what} could not write the summary: {reason}. This is the built-in summary instead."))
        }
        None => None,
    };
    // The built-in summary quotes the recording, so it is in the recording's language
    // whatever was chosen, and says so rather than label it otherwise.
    let written = notes_language(None, recording_language, &text);
    let untranslated = (written != language).then(|| {
        format!("The built-in summary quotes the recording, so it is in {written}, not {language}.")
    });
    let mut notes = built_in(m, template, &written);
    notes.summary.note = match (note, untranslated) {
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
        (a, b) => a.or(b),
    };
    Ok(notes)
}

/// The built-in notes: chapters titled by their slides or their distinctive words, each
/// summarised by its most central sentences, and the whole by its own.
pub fn built_in(m: &Material, template: Template, language: &str) -> Notes {
    let spans = chapters::spans(m.sections, m.segments, m.duration_ms);
    let texts: Vec<String> = spans
        .iter()
        .map(|s| join_text(chapters::said_in(m.segments, s)))
        .collect();
    let keywords = chapters::keyword_titles(&texts);
    let chapters = spans
        .iter()
        .zip(texts.iter().zip(keywords))
        .map(|(span, (text, words))| Chapter {
            title: span.slide_title.clone().unwrap_or(words),
            start_ms: span.start_ms,
            end_ms: span.end_ms,
            summary: join_sentences(&extractive(text, 2)),
            points: Vec::new(),
        })
        .collect();
    let all = join_text(m.segments.iter());
    Notes {
        summary: Summary {
            points: extractive(&all, 8),
            method: "built-in".into(),
            template: Some(template),
            language: Some(language.to_string()),
            ..Summary::default()
        },
        chapters,
    }
}

fn join_sentences(s: &[String]) -> String {
    let mut out = String::new();
    for x in s {
        let cjk = out.chars().last().is_some_and(is_cjk) || x.chars().next().is_some_and(is_cjk);
        if !out.is_empty() && !cjk {
            out.push(' ');
        }
        out.push_str(x);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::transcribe::Segment;

    fn segs(text: &str) -> Vec<Segment> {
        sentences(text)
            .into_iter()
            .enumerate()
            .map(|(i, t)| Segment {
                start_ms: i as u64 * 5_000,
                end_ms: i as u64 * 5_000 + 4_000,
                text: t,
                words: Vec::new(),
                language: None,
                speaker: None,
            })
            .collect()
    }

    #[test]
    fn a_down_endpoint_falls_back_and_says_so() {
        let ep = Endpoint {
            base_url: "http://127.0.0.1:9/v1".into(),
            model: "llama3".into(),
            api_key: None,
            prompt: None,
            timeout_s: 2,
            context: 8192,
        };
        let s = segs("Plants make sugar from light. Light is energy. Sugar is food.");
        let m = Material {
            segments: &s,
            sections: &[],
            duration_ms: 15_000,
            speakers: &[],
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let n = write(
            &m,
            &SummaryOptions::default(),
            Some(&ep),
            Some("en"),
            &cancel,
            &mut |_| {},
        )
        .unwrap();
        assert_eq!(n.summary.method, "built-in");
        let note = n.summary.note.unwrap();
        assert!(
            note.contains("127.0.0.1:9") && note.contains("built-in"),
            "{note}"
        );
        assert!(!n.summary.points.is_empty());
        assert_eq!(n.chapters.len(), 1);
    }

    #[test]
    fn a_missing_local_model_falls_back_and_says_so() {
        let s = segs("光合作用需要光。植物制造糖。糖是食物。");
        let m = Material {
            segments: &s,
            sections: &[],
            duration_ms: 15_000,
            speakers: &[],
        };
        let opts = SummaryOptions {
            method: Method::Local,
            local: Some(LocalModel::new("/nowhere/model.gguf".into())),
            ..SummaryOptions::default()
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let n = write(&m, &opts, None, None, &cancel, &mut |_| {}).unwrap();
        assert_eq!(n.summary.method, "built-in");
        assert_eq!(n.summary.language.as_deref(), Some("zh"));
        let note = n.summary.note.unwrap();
        assert!(
            note.contains("/nowhere/model.gguf") && note.contains("is not there"),
            "{note}"
        );
        let none = SummaryOptions {
            method: Method::Local,
            ..SummaryOptions::default()
        };
        let n = write(&m, &none, None, None, &cancel, &mut |_| {}).unwrap();
        assert!(n.summary.note.unwrap().contains("no local summary model"));
    }

    #[test]
    fn the_built_in_summary_records_the_language_it_quotes_not_the_one_chosen() {
        let s = vec![Segment {
            start_ms: 0,
            end_ms: 5_000,
            text: "Plants turn light into sugar. The leaves hold chlorophyll.".into(),
            words: Vec::new(),
            language: Some("en".into()),
            speaker: None,
        }];
        let m = Material {
            segments: &s,
            sections: &[],
            duration_ms: 5_000,
            speakers: &[],
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let zh = SummaryOptions {
            method: Method::BuiltIn,
            language: Some("zh".into()),
            ..SummaryOptions::default()
        };
        let n = write(&m, &zh, None, Some("en"), &cancel, &mut |_| {}).unwrap();
        assert_eq!(n.summary.language.as_deref(), Some("en"));
        let note = n.summary.note.unwrap();
        assert!(note.contains("in en, not zh"), "{note}");
        // Asked for the recording's own language: nothing to say.
        let en = SummaryOptions {
            language: Some("en".into()),
            ..zh
        };
        let n = write(&m, &en, None, Some("en"), &cancel, &mut |_| {}).unwrap();
        assert_eq!(n.summary.language.as_deref(), Some("en"));
        assert!(n.summary.note.is_none());
    }

    #[test]
    fn methods_and_languages_are_read() {
        assert_eq!(Method::parse("built-in"), Some(Method::BuiltIn));
        assert_eq!(Method::parse("LOCAL"), Some(Method::Local));
        assert_eq!(
            serde_json::to_string(&Method::BuiltIn).unwrap(),
            "\"builtin\""
        );
        assert_eq!(notes_language(Some("fr"), Some("en"), ""), "fr");
        assert_eq!(notes_language(None, None, "光合作用 is 重要"), "zh");
        assert_eq!(notes_language(None, None, "Light is energy"), "en");
    }
}
