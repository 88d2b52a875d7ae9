//! Summary templates: what kind of notes are written (lecture notes, meeting notes, a
//! short abstract), the instructions a language model is given for each (which the
//! person may rewrite), the JSON shapes asked of it for a chapter and for the whole,
//! and the language the notes are written in.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::shape::{self, Shape};

/// What kind of notes a summary is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Template {
    /// Meeting notes when two or more speakers were told apart, else lecture notes.
    #[default]
    Auto,
    /// Key points, and terms with their definitions.
    Lecture,
    /// Decisions, action items (with owner and due date when said), open questions.
    Meeting,
    /// A short abstract.
    Abstract,
}

impl Template {
    pub const ALL: [Template; 3] = [Template::Lecture, Template::Meeting, Template::Abstract];

    /// The template `Auto` stands for, given how many speakers were heard.
    pub fn resolve(self, speakers: usize) -> Template {
        match self {
            Template::Auto if speakers > 1 => Template::Meeting,
            Template::Auto => Template::Lecture,
            t => t,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Template::Auto => "auto",
            Template::Lecture => "lecture",
            Template::Meeting => "meeting",
            Template::Abstract => "abstract",
        }
    }

    /// The template called `name`.
    pub fn parse(name: &str) -> Option<Template> {
        [Template::Auto]
            .into_iter()
            .chain(Template::ALL)
            .find(|t| t.name() == name.trim().to_lowercase())
    }

    /// The instructions a model is given when the person has not written their own.
    pub fn default_prompt(self) -> &'static str {
        match self {
            Template::Auto | Template::Lecture => {
                "You write study notes of a recorded lecture or talk. Keep the facts, names, \
                 numbers and technical terms the speaker uses, and define each term as the \
                 speaker explains it. Leave out greetings, jokes and filler. Never add \
                 anything that was not said."
            }
            Template::Meeting => {
                "You write the minutes of a recorded meeting. A decision is something the \
                 people agreed on. An action item is a task someone said they or another \
                 person will do: give its owner and due date only when they were said. An \
                 open question is something raised and not settled. Never add anything that \
                 was not said."
            }
            Template::Abstract => {
                "You write a short abstract of a recording: what it is about and what it \
                 concludes, for someone deciding whether to watch it. Never add anything \
                 that was not said."
            }
        }
    }

    /// The shape asked for each chapter (or each part of a long chapter).
    pub fn chapter_shape(self) -> Shape {
        let mut fields = vec![
            ("title", Shape::Text("a title of at most eight words")),
            ("summary", Shape::Text("two or three sentences")),
            ("points", Shape::list(Shape::Text("a key point"), 6)),
        ];
        match self {
            Template::Meeting => fields.extend(meeting_fields()),
            Template::Abstract => {}
            Template::Auto | Template::Lecture => fields.push(terms_field()),
        }
        Shape::Object(fields)
    }

    /// The shape asked for the whole, from the chapters' notes.
    pub fn whole_shape(self) -> Shape {
        match self {
            Template::Abstract => Shape::Object(vec![(
                "abstract",
                Shape::Text("one paragraph of three to five sentences"),
            )]),
            _ => Shape::Object(vec![
                ("abstract", Shape::Text("two or three sentences")),
                ("points", Shape::list(Shape::Text("a key point"), 8)),
            ]),
        }
    }
}

fn terms_field() -> (&'static str, Shape) {
    (
        "terms",
        Shape::list(
            Shape::Object(vec![
                ("term", Shape::Text("a term")),
                ("definition", Shape::Text("its definition as said")),
            ]),
            6,
        ),
    )
}

fn meeting_fields() -> Vec<(&'static str, Shape)> {
    vec![
        ("decisions", Shape::list(Shape::Text("a decision"), 6)),
        (
            "action_items",
            Shape::list(
                Shape::Object(vec![
                    ("task", Shape::Text("the task")),
                    ("owner", Shape::Text("who does it, or empty")),
                    ("due", Shape::Text("when it is due, or empty")),
                ]),
                8,
            ),
        ),
        ("questions", Shape::list(Shape::Text("an open question"), 6)),
    ]
}

/// A term and its definition.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Term {
    pub term: String,
    pub definition: String,
}

/// A task someone will do.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionItem {
    pub task: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<String>,
}

/// What a model wrote about one chapter (or part of one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChapterNotes {
    pub title: String,
    pub summary: String,
    pub points: Vec<String>,
    pub terms: Vec<Term>,
    pub decisions: Vec<String>,
    pub action_items: Vec<ActionItem>,
    pub questions: Vec<String>,
}

impl ChapterNotes {
    /// The notes in a reply of [`Template::chapter_shape`].
    pub fn from_reply(v: &Value) -> ChapterNotes {
        let list = |key: &str| -> Vec<&Value> {
            v.get(key)
                .and_then(Value::as_array)
                .map(|a| a.iter().collect())
                .unwrap_or_default()
        };
        let some = |s: String| -> Option<String> {
            let t = s.trim();
            let none = t.is_empty()
                || [
                    "none",
                    "n/a",
                    "unknown",
                    "not said",
                    "empty",
                    "无",
                    "未提及",
                ]
                .contains(&t.to_lowercase().as_str());
            (!none).then(|| t.to_string())
        };
        ChapterNotes {
            title: shape::text(v, "title"),
            summary: shape::text(v, "summary"),
            points: shape::texts(v, "points"),
            terms: list("terms")
                .into_iter()
                .map(|t| Term {
                    term: shape::text(t, "term"),
                    definition: shape::text(t, "definition"),
                })
                .filter(|t| !t.term.is_empty())
                .collect(),
            decisions: shape::texts(v, "decisions"),
            action_items: list("action_items")
                .into_iter()
                .map(|a| ActionItem {
                    task: shape::text(a, "task"),
                    owner: some(shape::text(a, "owner")),
                    due: some(shape::text(a, "due")),
                })
                .filter(|a| !a.task.is_empty())
                .collect(),
            questions: shape::texts(v, "questions"),
        }
    }

    /// The notes as text, for the step that reads them.
    pub fn as_text(&self) -> String {
        let mut s = String::new();
        if !self.title.is_empty() {
            s.push_str(&format!("## {}\n", self.title));
        }
        if !self.summary.is_empty() {
            s.push_str(&format!("{}\n", self.summary));
        }
        for p in &self.points {
            s.push_str(&format!("- {p}\n"));
        }
        for t in &self.terms {
            s.push_str(&format!("- Term: {}: {}\n", t.term, t.definition));
        }
        for d in &self.decisions {
            s.push_str(&format!("- Decision: {d}\n"));
        }
        for a in &self.action_items {
            s.push_str(&format!("- Action: {}", a.task));
            if let Some(o) = &a.owner {
                s.push_str(&format!(" (owner: {o})"));
            }
            if let Some(d) = &a.due {
                s.push_str(&format!(" (due: {d})"));
            }
            s.push('\n');
        }
        for q in &self.questions {
            s.push_str(&format!("- Open question: {q}\n"));
        }
        s
    }

    /// Notes of several parts as one: the first title, the summaries joined, the lists
    /// concatenated without repeats.
    pub fn join(parts: Vec<ChapterNotes>) -> ChapterNotes {
        let mut out = ChapterNotes::default();
        for p in parts {
            if out.title.is_empty() {
                out.title = p.title;
            }
            if !p.summary.is_empty() {
                if !out.summary.is_empty() {
                    out.summary.push(' ');
                }
                out.summary.push_str(&p.summary);
            }
            extend_new(&mut out.points, p.points, |x| x.to_lowercase());
            extend_new(&mut out.terms, p.terms, |t| t.term.to_lowercase());
            extend_new(&mut out.decisions, p.decisions, |x| x.to_lowercase());
            extend_new(&mut out.action_items, p.action_items, |a| {
                a.task.to_lowercase()
            });
            extend_new(&mut out.questions, p.questions, |x| x.to_lowercase());
        }
        out
    }
}

/// Appends the items of `more` whose key is not yet in `list`.
pub fn extend_new<T, K: PartialEq>(list: &mut Vec<T>, more: Vec<T>, key: impl Fn(&T) -> K) {
    for m in more {
        let k = key(&m);
        if !list.iter().any(|x| key(x) == k) {
            list.push(m);
        }
    }
}

/// The name of a language code as a prompt says it ("zh" → "Simplified Chinese").
pub fn language_name(code: &str) -> String {
    let base = code.split(['-', '_']).next().unwrap_or(code).to_lowercase();
    let name = match base.as_str() {
        "en" => "English",
        "zh" => "Simplified Chinese (简体中文)",
        "ja" => "Japanese",
        "ko" => "Korean",
        "de" => "German",
        "fr" => "French",
        "es" => "Spanish",
        "it" => "Italian",
        "pt" => "Portuguese",
        "ru" => "Russian",
        "nl" => "Dutch",
        "ar" => "Arabic",
        "hi" => "Hindi",
        "tr" => "Turkish",
        "pl" => "Polish",
        "vi" => "Vietnamese",
        _ => return code.to_string(),
    };
    if code.eq_ignore_ascii_case("zh-TW") || code.eq_ignore_ascii_case("zh-Hant") {
        return "Traditional Chinese (繁體中文)".into();
    }
    name.to_string()
}

/// The instructions for `template`: the person's own when they wrote some, else the
/// default.
pub fn prompt_for(template: Template, prompts: &BTreeMap<Template, String>) -> String {
    prompts
        .get(&template)
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .unwrap_or(template.default_prompt())
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_is_meeting_notes_with_several_speakers() {
        assert_eq!(Template::Auto.resolve(3), Template::Meeting);
        assert_eq!(Template::Auto.resolve(1), Template::Lecture);
        assert_eq!(Template::Abstract.resolve(4), Template::Abstract);
        assert_eq!(Template::parse(" Meeting"), Some(Template::Meeting));
        assert_eq!(Template::parse("minutes"), None);
    }

    #[test]
    fn meeting_notes_are_read_with_owner_and_due_only_when_said() {
        let v: Value = serde_json::from_str(
            r#"{"title": "Budget", "summary": "We talked.", "points": ["- one", ""],
                "decisions": ["Ship on Friday"],
                "action_items": [{"task": "Write the report", "owner": "Li Wei", "due": "Monday"},
                                 {"task": "Book a room", "owner": "", "due": "none"}],
                "questions": ["Who pays?"]}"#,
        )
        .unwrap();
        let n = ChapterNotes::from_reply(&v);
        assert_eq!(n.points, vec!["one"]);
        assert_eq!(n.action_items[0].owner.as_deref(), Some("Li Wei"));
        assert_eq!(n.action_items[1].owner, None);
        assert_eq!(n.action_items[1].due, None);
        let joined = ChapterNotes::join(vec![n.clone(), n]);
        assert_eq!(joined.decisions.len(), 1);
        assert_eq!(joined.summary, "We talked. We talked.");
        assert!(joined
            .as_text()
            .contains("- Action: Write the report (owner: Li Wei) (due: Monday)"));
    }

    #[test]
    fn languages_are_named_for_the_prompt() {
        assert_eq!(language_name("zh"), "Simplified Chinese (简体中文)");
        assert_eq!(language_name("en-US"), "English");
        assert_eq!(language_name("xx"), "xx");
        let mut own = BTreeMap::new();
        own.insert(Template::Lecture, "  My words.  ".to_string());
        assert_eq!(prompt_for(Template::Lecture, &own), "My words.");
        assert_eq!(
            prompt_for(Template::Meeting, &own),
            Template::Meeting.default_prompt()
        );
    }
}
