//! What the readings of one slide say: text boxes grouped into lines in reading order,
//! the title (the largest text near the top, else the first line), and the words worth
//! teaching the transcriber (names, terms, acronyms, Chinese phrases).

use serde::{Deserialize, Serialize};

use super::detect::TextBox;
use crate::document::is_cjk;

/// A line of slide text with where it is (image pixels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextLine {
    pub text: String,
    pub x: f32,
    pub y: f32,
    pub height: f32,
}

/// The text of one slide.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlideText {
    /// The slide's title, when it has text.
    pub title: Option<String>,
    /// Every line, the title among them, top to bottom.
    pub lines: Vec<TextLine>,
}

impl SlideText {
    /// The lines after the title, one per line.
    pub fn body(&self) -> String {
        let title = self.title_index();
        self.lines
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != title)
            .map(|(_, l)| l.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn title_index(&self) -> Option<usize> {
        let t = self.title.as_deref()?;
        self.lines.iter().position(|l| l.text == t)
    }
}

/// Readings (box, text) grouped into lines: boxes whose vertical middles fall within
/// each other's height are one line, read left to right; lines top to bottom.
pub fn lines(mut read: Vec<(TextBox, String)>) -> Vec<TextLine> {
    read.retain(|(_, t)| !t.trim().is_empty());
    read.sort_by(|a, b| a.0.y0.total_cmp(&b.0.y0));
    let mut rows: Vec<Vec<(TextBox, String)>> = Vec::new();
    for r in read {
        let mid = (r.0.y0 + r.0.y1) / 2.0;
        match rows.iter_mut().find(|row| {
            let b = &row[0].0;
            let row_mid = (b.y0 + b.y1) / 2.0;
            (mid > b.y0 && mid < b.y1) || (row_mid > r.0.y0 && row_mid < r.0.y1)
        }) {
            Some(row) => row.push(r),
            None => rows.push(vec![r]),
        }
    }
    let mut out: Vec<TextLine> = rows
        .into_iter()
        .map(|mut row| {
            row.sort_by(|a, b| a.0.x0.total_cmp(&b.0.x0));
            let mut text = String::new();
            for (_, t) in &row {
                let t = t.trim();
                let between_cjk =
                    text.chars().last().is_some_and(is_cjk) && t.chars().next().is_some_and(is_cjk);
                let glue = !text.is_empty() && !between_cjk;
                if glue {
                    text.push(' ');
                }
                text.push_str(t);
            }
            let text = latin_punctuation(&text);
            let y0 = row.iter().map(|r| r.0.y0).fold(f32::MAX, f32::min);
            let y1 = row.iter().map(|r| r.0.y1).fold(f32::MIN, f32::max);
            TextLine {
                text,
                x: row[0].0.x0,
                y: y0,
                height: y1 - y0,
            }
        })
        .collect();
    out.sort_by(|a, b| a.y.total_cmp(&b.y));
    out
}

/// Full-width punctuation between Latin text made ASCII: the recogniser's alphabet has
/// both, and it sometimes reads "a, b" as "a， b" (Chinese text keeps its own).
fn latin_punctuation(text: &str) -> String {
    const PAIRS: [(char, char); 9] = [
        ('，', ','),
        ('；', ';'),
        ('：', ':'),
        ('（', '('),
        ('）', ')'),
        ('！', '!'),
        ('？', '?'),
        ('“', '"'),
        ('”', '"'),
    ];
    let chars: Vec<char> = text.chars().collect();
    let near_cjk = |i: usize| {
        let before = chars[..i].iter().rev().find(|c| !c.is_whitespace());
        let after = chars[i + 1..].iter().find(|c| !c.is_whitespace());
        before.is_some_and(|&c| is_cjk(c) && c.is_alphabetic())
            || after.is_some_and(|&c| is_cjk(c) && c.is_alphabetic())
    };
    chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match PAIRS.iter().find(|(w, _)| *w == c) {
            Some(&(_, ascii)) if !near_cjk(i) => ascii,
            _ => c,
        })
        .collect()
}

/// The title of a slide `image_h` pixels high: the tallest line in its top 40 % when it
/// is clearly larger than the rest (a heading), else the first line.
pub fn title(lines: &[TextLine], image_h: f32) -> Option<String> {
    let first = lines.first()?;
    let top: Vec<&TextLine> = lines.iter().filter(|l| l.y < image_h * 0.4).collect();
    let tallest = top
        .iter()
        .max_by(|a, b| a.height.total_cmp(&b.height))
        .copied()
        .unwrap_or(first);
    let mut others: Vec<f32> = lines
        .iter()
        .filter(|l| !std::ptr::eq(*l, tallest))
        .map(|l| l.height)
        .collect();
    others.sort_by(f32::total_cmp);
    let median = others.get(others.len() / 2).copied();
    let pick = match median {
        Some(m) if tallest.height >= m * 1.15 => tallest,
        _ => first,
    };
    Some(pick.text.clone())
}

/// The words of slide text worth giving the transcriber, most telling first: terms
/// written with capitals or digits (names, acronyms, "RuBisCO", "CO2"; a capital that
/// only starts a line does not count), long words, and runs of Chinese; common short
/// words are left out. Each once.
pub fn vocabulary(text: &str) -> Vec<String> {
    let mut strong = Vec::new();
    let mut plain = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |w: &str, telling: bool| {
        if seen.insert(w.to_lowercase()) {
            if telling {
                strong.push(w.to_string());
            } else {
                plain.push(w.to_string());
            }
        }
    };
    const SEPARATORS: &str = ",;:()[]{}\"“”'‘’，。；：！？、（）《》";
    for line in text.lines() {
        let mut first = true;
        for token in line.split(|c: char| c.is_whitespace() || SEPARATORS.contains(c)) {
            // A token may mix scripts ("CNN用于"): Chinese runs and Latin words apart.
            let mut piece = String::new();
            let mut chinese = false;
            for c in token.chars().chain(std::iter::once('\0')) {
                let cjk = is_cjk(c) && c.is_alphabetic();
                if c == '\0' || (!piece.is_empty() && cjk != chinese) {
                    if chinese {
                        if piece.chars().count() >= 2 {
                            push(&piece, true);
                        }
                    } else if let Some(telling) = latin_term(&piece, first) {
                        push(piece.trim_matches(|c: char| !c.is_alphanumeric()), telling);
                    }
                    if !piece.is_empty() {
                        first = false;
                    }
                    piece.clear();
                }
                chinese = cjk;
                if c != '\0' {
                    piece.push(c);
                }
            }
        }
    }
    strong.extend(plain);
    strong
}

/// Whether a Latin word is a term: `Some(true)` for a telling one (capitals inside,
/// digits, or a capitalised word not at the start of its line), `Some(false)` for a
/// long plain word, `None` for the rest.
fn latin_term(w: &str, starts_line: bool) -> Option<bool> {
    let w = w.trim_matches(|c: char| !c.is_alphanumeric());
    let n = w.chars().count();
    if n < 2 || w.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let inner_capital = w.chars().skip(1).any(char::is_uppercase);
    let digit = w.chars().any(|c| c.is_ascii_digit());
    let name = !starts_line && n >= 3 && w.chars().next().is_some_and(char::is_uppercase);
    if inner_capital || digit || name {
        Some(true)
    } else if n >= 7 {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x0: f32, y0: f32, x1: f32, y1: f32, t: &str) -> (TextBox, String) {
        (TextBox { x0, y0, x1, y1 }, t.to_string())
    }

    #[test]
    fn boxes_on_one_row_are_one_line_read_left_to_right() {
        let l = lines(vec![
            at(400.0, 102.0, 600.0, 130.0, "world"),
            at(80.0, 40.0, 700.0, 100.0, "A Title"),
            at(100.0, 100.0, 380.0, 131.0, "hello"),
            at(100.0, 160.0, 300.0, 190.0, "学习"),
            at(310.0, 160.0, 400.0, 190.0, "方法"),
        ]);
        let texts: Vec<&str> = l.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, ["A Title", "hello world", "学习方法"]);
        assert_eq!(title(&l, 720.0).as_deref(), Some("A Title"));
    }

    #[test]
    fn full_width_punctuation_in_latin_text_is_made_ascii() {
        assert_eq!(
            latin_punctuation("println!(\"{} bytes\"， text.len())"),
            "println!(\"{} bytes\", text.len())"
        );
        assert_eq!(latin_punctuation("北京，上海"), "北京，上海");
        assert_eq!(latin_punctuation("CNN：卷积"), "CNN：卷积");
    }

    #[test]
    fn without_a_larger_heading_the_first_line_is_the_title() {
        let l = lines(vec![
            at(100.0, 300.0, 300.0, 330.0, "second"),
            at(100.0, 250.0, 300.0, 280.0, "first"),
        ]);
        assert_eq!(title(&l, 720.0).as_deref(), Some("first"));
        assert_eq!(title(&[], 720.0), None);
    }

    #[test]
    fn the_body_is_every_line_but_the_title() {
        let l = lines(vec![
            at(80.0, 40.0, 700.0, 100.0, "Title"),
            at(100.0, 150.0, 380.0, 180.0, "one"),
            at(100.0, 200.0, 380.0, 230.0, "two"),
        ]);
        let t = SlideText {
            title: title(&l, 720.0),
            lines: l,
        };
        assert_eq!(t.body(), "one\ntwo");
    }

    #[test]
    fn vocabulary_takes_terms_names_and_chinese_phrases() {
        let v = vocabulary(
            "The Calvin cycle and RuBisCO fix CO2\nphotosynthesis in the thylakoid\nLight\n北京是研究中心，人工智能",
        );
        for w in [
            "Calvin",
            "RuBisCO",
            "CO2",
            "photosynthesis",
            "thylakoid",
            "北京是研究中心",
            "人工智能",
        ] {
            assert!(v.iter().any(|x| x == w), "{w} missing from {v:?}");
        }
        for w in ["The", "and", "fix", "in", "the", "cycle", "Light"] {
            assert!(!v.iter().any(|x| x == w), "{w} should not be in {v:?}");
        }
        // Terms with capitals or digits come before long plain words.
        let rub = v.iter().position(|x| x == "RuBisCO").unwrap();
        let pho = v.iter().position(|x| x == "photosynthesis").unwrap();
        assert!(rub < pho);
    }
}
