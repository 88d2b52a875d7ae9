//! The shape of the JSON a language model is asked for: as a GBNF grammar that holds a
//! local model to it token by token, as the skeleton shown in the prompt (for endpoints,
//! which are not held), and the lenient reading of what came back: the first JSON
//! object in the reply, closed if the reply was cut off at its token limit.

use serde_json::Value;

/// A JSON value's shape.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// A string; the text is what the prompt's skeleton says it holds.
    Text(&'static str),
    /// A list of at most `max` items.
    List { item: Box<Shape>, max: usize },
    /// An object with these keys, in this order.
    Object(Vec<(&'static str, Shape)>),
}

impl Shape {
    pub fn list(item: Shape, max: usize) -> Shape {
        Shape::List {
            item: Box::new(item),
            max,
        }
    }

    /// A GBNF grammar (llama.cpp's) whose `root` is this shape, with nothing around it.
    pub fn gbnf(&self) -> String {
        let mut rules = Vec::new();
        let root = self.rule(&mut rules, "root");
        let mut out = format!("root ::= {root}\n");
        for (name, body) in rules {
            out.push_str(&format!("{name} ::= {body}\n"));
        }
        out.push_str(STRING_RULES);
        out
    }

    /// Adds the rules this shape needs and returns the expression that matches it.
    fn rule(&self, rules: &mut Vec<(String, String)>, path: &str) -> String {
        match self {
            Shape::Text(_) => "str".into(),
            Shape::List { item, max } => {
                let inner = item.rule(rules, &format!("{path}-item"));
                let name = format!("{path}-list");
                let more = max.saturating_sub(1);
                let body =
                    format!("\"[\" ws ( {inner} ( \",\" ws {inner} ){{0,{more}}} )? ws \"]\"");
                rules.push((name.clone(), body));
                name
            }
            Shape::Object(fields) => {
                let mut parts = Vec::new();
                for (i, (key, shape)) in fields.iter().enumerate() {
                    let value = shape.rule(rules, &format!("{path}-{}", key.replace('_', "-")));
                    let sep = if i == 0 { "" } else { "\",\" ws " };
                    parts.push(format!("{sep}\"\\\"{key}\\\":\" ws {value} ws"));
                }
                let name = format!("{path}-obj");
                rules.push((
                    name.clone(),
                    format!("\"{{\" ws {} \"}}\"", parts.join(" ")),
                ));
                name
            }
        }
    }

    /// The skeleton shown in a prompt: `{"title": "<a short title>", "points": ["<...>"]}`.
    pub fn skeleton(&self) -> String {
        match self {
            Shape::Text(what) => format!("\"<{what}>\""),
            Shape::List { item, .. } => format!("[{}, ...]", item.skeleton()),
            Shape::Object(fields) => {
                let inner: Vec<String> = fields
                    .iter()
                    .map(|(k, s)| format!("\"{k}\": {}", s.skeleton()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

/// Strings: no raw control characters, the usual escapes, at most 600 characters (a
/// model that loops inside a string is cut there, not at its token limit).
const STRING_RULES: &str = r#"str ::= "\"" chr{0,600} "\""
chr ::= [^"\\\x00-\x1f] | "\\" ["\\/bfnrt]
ws ::= [ \t\n]{0,4}
"#;

/// Why a reply could not be read as JSON.
#[derive(Debug, thiserror::Error)]
#[error("the reply is not the JSON asked for: {reason} (it began: {start:?})")]
pub struct ReadError {
    pub reason: String,
    pub start: String,
}

/// The first JSON object in `reply`: as it is, or closed where it was cut off (an open
/// string, list or object is ended, a dangling key or comma dropped).
pub fn read_reply(reply: &str) -> Result<Value, ReadError> {
    let err = |reason: String| ReadError {
        reason,
        start: reply.chars().take(80).collect(),
    };
    let from = reply
        .find('{')
        .ok_or_else(|| err("it has no JSON object".into()))?;
    let text = &reply[from..];
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(v)) => return Ok(v),
        Some(Err(e)) if !e.is_eof() => return Err(err(e.to_string())),
        _ => {}
    }
    let closed = close(text);
    serde_json::from_str(&closed).map_err(|e| err(format!("cut off, and could not be closed: {e}")))
}

/// Closes JSON text cut off mid-way.
fn close(text: &str) -> String {
    let mut stack: Vec<char> = Vec::new();
    let (mut in_str, mut escaped) = (false, false);
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        out.push(c);
        if in_str {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' => stack.push('}'),
            '[' => stack.push(']'),
            '}' | ']' => {
                stack.pop();
            }
            _ => {}
        }
    }
    if in_str {
        if escaped {
            out.pop();
        }
        out.push('"');
    }
    loop {
        let t = out.trim_end();
        // A dangling comma, colon or key cannot be closed: drop it.
        if let Some(before) = t.strip_suffix(',') {
            out = before.to_string();
        } else if let Some(before) = t.strip_suffix(':') {
            let cut = before.trim_end();
            out = match cut.strip_suffix('"').and_then(|c| c.rfind('"')) {
                Some(open) => cut[..open].to_string(),
                None => cut.to_string(),
            };
        } else if stack.last() == Some(&'}') && t.ends_with('"') && !t.ends_with("\\\"") {
            // `{"a": "x", "b"` : a key without a value.
            let before_key = t[..t.len() - 1].rfind('"').map(|i| t[..i].trim_end());
            match before_key {
                Some(b) if b.ends_with(',') || b.ends_with('{') => {
                    out = b.trim_end_matches(',').to_string();
                }
                _ => break,
            }
        } else {
            break;
        }
    }
    while let Some(c) = stack.pop() {
        out.push(c);
    }
    out
}

/// The string at `key` of `v`, trimmed ("" when absent).
pub fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// The non-empty strings of the list at `key`.
pub fn texts(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|s| {
                    s.trim()
                        .trim_start_matches(['-', '*', '•'])
                        .trim()
                        .to_string()
                })
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notes() -> Shape {
        Shape::Object(vec![
            ("title", Shape::Text("a short title")),
            ("points", Shape::list(Shape::Text("a key point"), 6)),
            (
                "action_items",
                Shape::list(
                    Shape::Object(vec![
                        ("task", Shape::Text("task")),
                        ("owner", Shape::Text("who")),
                    ]),
                    8,
                ),
            ),
        ])
    }

    #[test]
    fn the_grammar_names_every_rule_it_uses() {
        let g = notes().gbnf();
        assert!(g.starts_with("root ::= root-obj\n"), "{g}");
        let defined: Vec<&str> = g.lines().filter_map(|l| l.split(" ::= ").next()).collect();
        for used in [
            "root-obj",
            "root-points-list",
            "root-action-items-list",
            "root-action-items-item-obj",
            "str",
            "ws",
            "chr",
        ] {
            assert!(defined.contains(&used), "{used} in {g}");
        }
        assert!(g.contains("{0,5}") && g.contains("{0,7}"), "{g}");
    }

    #[test]
    fn the_skeleton_shows_the_keys_in_order() {
        assert_eq!(
            notes().skeleton(),
            r#"{"title": "<a short title>", "points": ["<a key point>", ...], "action_items": [{"task": "<task>", "owner": "<who>"}, ...]}"#
        );
    }

    #[test]
    fn replies_are_read_whole_or_closed() {
        let v =
            read_reply("Sure! {\"title\": \"Light\", \"points\": [\"a\", \"b\"]} done").unwrap();
        assert_eq!(texts(&v, "points"), vec!["a", "b"]);
        let cut = read_reply("{\"title\": \"Light\", \"points\": [\"a\", \"b is lo").unwrap();
        assert_eq!(texts(&cut, "points"), vec!["a", "b is lo"]);
        let cut = read_reply("{\"title\": \"Light\", \"points\": [\"a\"], \"action").unwrap();
        assert_eq!(text(&cut, "title"), "Light");
        let cut = read_reply("{\"title\": \"Light\", \"points\":").unwrap();
        assert_eq!(text(&cut, "title"), "Light");
        let cut = read_reply("{\"title\": \"a \\").unwrap();
        assert_eq!(text(&cut, "title"), "a");
        assert!(read_reply("no json here").is_err());
        assert!(read_reply("{\"a\": nope}").is_err());
    }
}
