//! Text from Whisper's tokens. A token is a piece of bytes, not of characters: a Chinese
//! character (three bytes in UTF-8) is often split between two tokens, or between the
//! last token of one segment and the first of the next. [`Utf8Carry`] holds the bytes of
//! an unfinished character until the rest arrives, so that the text never contains
//! U+FFFD (the replacement character a lossy decode puts in their place).

/// Bytes in, complete characters out.
#[derive(Debug, Default, Clone)]
pub struct Utf8Carry {
    pending: Vec<u8>,
}

impl Utf8Carry {
    /// Appends `bytes` and returns every complete character so far; the bytes of an
    /// unfinished character at the end wait for the next call. Bytes that can never be
    /// part of a character (invalid UTF-8) are dropped.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (good, after) = rest.split_at(e.valid_up_to());
                    out.push_str(std::str::from_utf8(good).expect("checked by from_utf8"));
                    match e.error_len() {
                        // An unfinished character at the end: keep it for later.
                        None => {
                            rest = after;
                            break;
                        }
                        Some(n) => rest = &after[n..],
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        out
    }

    /// Whether bytes of an unfinished character are waiting.
    pub fn is_pending(&self) -> bool {
        !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_character_split_between_pieces_comes_out_whole() {
        let text = "机器学习 and 神经网络。";
        let bytes = text.as_bytes();
        // Every way of cutting the text in two, and in single bytes.
        for cut in 0..=bytes.len() {
            let mut c = Utf8Carry::default();
            let mut out = c.push(&bytes[..cut]);
            out += &c.push(&bytes[cut..]);
            assert_eq!(out, text, "cut at {cut}");
            assert!(!c.is_pending());
        }
        let mut c = Utf8Carry::default();
        let out: String = bytes.iter().map(|b| c.push(&[*b])).collect();
        assert_eq!(out, text);
    }

    #[test]
    fn an_unfinished_character_waits_and_invalid_bytes_are_dropped() {
        let mut c = Utf8Carry::default();
        let zhong = "中".as_bytes();
        assert_eq!(c.push(&zhong[..2]), "");
        assert!(c.is_pending());
        assert_eq!(c.push(&zhong[2..]), "中");
        // A lone continuation byte and an impossible byte are not characters.
        assert_eq!(c.push(b"a\x80b\xffc"), "abc");
        assert!(!c.push(b"x").contains('\u{FFFD}'));
    }
}
