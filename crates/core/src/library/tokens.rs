//! How the library's search cuts text into terms, for English and Chinese alike.
//!
//! A run of letters and digits outside the CJK ranges is one term, lowercased ("Whisper"
//! and "whisper" are one). Each Chinese, Japanese or Korean character is a term of its
//! own, numbered in order, so a Chinese word is found wherever it stands in a sentence:
//! the query parser turns a query of several characters into a phrase of them, which
//! matches only where they stand side by side. No dictionary is needed, and no word a
//! dictionary lacks (a name, a term of the lecture) is missed. Punctuation and spaces
//! part terms and are no term.

use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// The name the tokenizer is registered under in the index.
pub const NAME: &str = "v2d";

/// The tokenizer (see the module docs).
#[derive(Debug, Clone, Default)]
pub struct Terms;

/// The terms of one text, cut in advance.
pub struct TermStream {
    tokens: Vec<Token>,
    at: usize,
}

impl Tokenizer for Terms {
    type TokenStream<'a> = TermStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> TermStream {
        TermStream {
            tokens: terms(text),
            at: 0,
        }
    }
}

impl TokenStream for TermStream {
    fn advance(&mut self) -> bool {
        self.at += 1;
        self.at <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.at - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at - 1]
    }
}

/// A character written in CJK script that is a word or part of one (not punctuation).
fn ideograph(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF |
        0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The terms of `text` with their byte offsets and positions.
pub fn terms(text: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let mut word: Option<(usize, String)> = None;
    let push = |out: &mut Vec<Token>, from: usize, to: usize, text: String| {
        let position = out.len();
        out.push(Token {
            offset_from: from,
            offset_to: to,
            position,
            text,
            position_length: 1,
        });
    };
    for (i, c) in text.char_indices() {
        if ideograph(c) {
            if let Some((from, w)) = word.take() {
                push(&mut out, from, i, w);
            }
            push(&mut out, i, i + c.len_utf8(), c.to_string());
        } else if c.is_alphanumeric() {
            let w = word.get_or_insert_with(|| (i, String::new()));
            w.1.extend(c.to_lowercase());
        } else if let Some((from, w)) = word.take() {
            push(&mut out, from, i, w);
        }
    }
    if let Some((from, w)) = word.take() {
        push(&mut out, from, text.len(), w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        terms(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn words_are_lowercased_and_parted_by_punctuation() {
        assert_eq!(
            texts("Whisper's model, v3!"),
            ["whisper", "s", "model", "v3"]
        );
    }

    #[test]
    fn each_chinese_character_is_a_term_in_order() {
        let t = terms("我们用Rust写，机器学习。");
        let got: Vec<(&str, usize)> = t.iter().map(|t| (t.text.as_str(), t.position)).collect();
        assert_eq!(
            got,
            [
                ("我", 0),
                ("们", 1),
                ("用", 2),
                ("rust", 3),
                ("写", 4),
                ("机", 5),
                ("器", 6),
                ("学", 7),
                ("习", 8)
            ]
        );
        // Offsets are the characters' bytes, for highlighting.
        assert_eq!(
            &"我们用Rust写，机器学习。"[t[3].offset_from..t[3].offset_to],
            "Rust"
        );
    }
}
