//! Text Whisper loops on or invents: a phrase repeated over and over inside a segment,
//! the same segment again right after itself, and the sentences it is known to make up
//! over music and noise ("Thank you for watching.", "字幕由Amara.org社区提供") when it
//! is not sure of them. [`LoopGuard`] keeps one copy of a loop and drops the rest, so
//! that neither the document nor the prompt carried into the next chunk holds a loop.
//! A sentence said again after a pause is speech, not a loop, and is kept.

use crate::media::transcribe::Segment;

/// Copies of a phrase in a row from which it is a loop.
const LOOP_COPIES: usize = 3;
/// A segment equal to one of the last ones that starts within this of its end is a loop.
const BACK_TO_BACK_MS: u64 = 2_000;
/// Whisper's mean word probability under which a known made-up sentence is dropped.
const UNSURE: f32 = 0.6;

/// Sentences Whisper is known to produce from silence, music and noise (its training
/// data's subtitle credits), lowercased, without punctuation.
const INVENTED: &[&str] = &[
    "thank you for watching",
    "thanks for watching",
    "thank you so much for watching",
    "please subscribe",
    "subtitles by the amaraorg community",
    "字幕由amaraorg社区提供",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "谢谢观看",
];

/// Lowercase letters and digits only: how two texts are compared.
fn normal(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The units a loop repeats: words, or characters of text without spaces (Chinese).
fn units(text: &str) -> Vec<String> {
    if text.trim().contains(' ') {
        text.split_whitespace().map(str::to_string).collect()
    } else {
        text.chars().map(String::from).collect()
    }
}

/// `text` with any phrase repeated `LOOP_COPIES` or more times in a row kept once.
pub fn collapse_repeats(text: &str) -> String {
    let spaced = text.trim().contains(' ');
    let u = units(text);
    let key: Vec<String> = u.iter().map(|w| normal(w)).collect();
    let mut out: Vec<String> = Vec::with_capacity(u.len());
    let mut i = 0;
    while i < u.len() {
        let mut skipped = false;
        // The longest phrase that repeats: 谢谢 four times is 谢谢, not 谢.
        for n in (1..=((u.len() - i) / LOOP_COPIES).min(20)).rev() {
            let phrase = &key[i..i + n];
            if phrase.iter().all(String::is_empty) {
                continue;
            }
            let mut copies = 1;
            while i + (copies + 1) * n <= u.len()
                && key[i + copies * n..i + (copies + 1) * n] == *phrase
            {
                copies += 1;
            }
            if copies >= LOOP_COPIES {
                out.extend_from_slice(&u[i..i + n]);
                i += copies * n;
                skipped = true;
                break;
            }
        }
        if !skipped {
            out.push(u[i].clone());
            i += 1;
        }
    }
    if spaced {
        out.join(" ")
    } else {
        out.concat()
    }
}

/// Whisper's mean confidence in a segment's words, when it has words.
fn confidence(seg: &Segment) -> Option<f32> {
    (!seg.words.is_empty())
        .then(|| seg.words.iter().map(|w| w.p).sum::<f32>() / seg.words.len() as f32)
}

/// Decides, segment by segment in order, what is kept.
#[derive(Debug, Default)]
pub struct LoopGuard {
    /// The last segments kept: (normalised text, end).
    recent: Vec<(String, u64)>,
}

impl LoopGuard {
    /// Cleans `seg` of repeats inside it; false when it is to be dropped whole (a
    /// repeat of a segment just before it, or a known made-up sentence Whisper was
    /// unsure of).
    pub fn admit(&mut self, seg: &mut Segment) -> bool {
        let collapsed = collapse_repeats(&seg.text);
        if collapsed != seg.text.trim() {
            tracing::debug!(from = %seg.text, to = %collapsed, "a looped phrase kept once");
            // The word times no longer match the text: the words of the first copy stay.
            let keep = units(&collapsed).len();
            if seg.words.len() > keep {
                seg.words.truncate(keep.max(1));
                if let Some(last) = seg.words.last() {
                    seg.end_ms = seg.end_ms.min(last.end_ms.max(seg.start_ms + 1));
                }
            }
            seg.text = collapsed;
        }
        let text = normal(&seg.text);
        if text.is_empty() {
            return true;
        }
        let unsure = confidence(seg).is_none_or(|p| p < UNSURE);
        if unsure && INVENTED.iter().any(|i| normal(i) == text) {
            tracing::debug!(text = %seg.text, "a sentence whisper makes up over noise, dropped");
            return false;
        }
        let again = self
            .recent
            .iter()
            .any(|(t, end)| *t == text && seg.start_ms <= end + BACK_TO_BACK_MS);
        if again {
            tracing::debug!(text = %seg.text, "the segment before again, dropped as a loop");
            return false;
        }
        self.recent.push((text, seg.end_ms));
        if self.recent.len() > 3 {
            self.recent.remove(0);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::transcribe::Word;

    fn seg(a: u64, b: u64, text: &str) -> Segment {
        Segment {
            start_ms: a,
            end_ms: b,
            text: text.into(),
            words: Vec::new(),
            language: None,
            speaker: None,
        }
    }

    #[test]
    fn a_phrase_looped_inside_a_segment_is_kept_once() {
        assert_eq!(
            collapse_repeats("The codeword is now. The codeword is now. The codeword is now. The codeword is now."),
            "The codeword is now."
        );
        assert_eq!(collapse_repeats("no no no no no"), "no");
        assert_eq!(
            collapse_repeats("We said it twice: very very important."),
            "We said it twice: very very important.",
            "two copies are speech"
        );
        assert_eq!(collapse_repeats("谢谢谢谢谢谢谢谢大家"), "谢谢大家");
        assert_eq!(collapse_repeats("光合作用很重要。"), "光合作用很重要。");
    }

    #[test]
    fn a_segment_again_right_after_itself_is_a_loop_but_not_after_a_pause() {
        let mut g = LoopGuard::default();
        let mut a = seg(0, 3_000, "The codeword for this minute is now.");
        assert!(g.admit(&mut a));
        let mut b = seg(3_000, 6_000, "The codeword for this minute is now.");
        assert!(!g.admit(&mut b), "back to back: a loop");
        let mut c = seg(60_000, 63_000, "The codeword for this minute is now.");
        assert!(g.admit(&mut c), "a minute later: said again");
    }

    #[test]
    fn made_up_credits_are_dropped_only_when_whisper_was_unsure() {
        let mut g = LoopGuard::default();
        let mut unsure = seg(0, 2_000, "Thank you for watching!");
        assert!(!g.admit(&mut unsure));
        let mut sure = seg(5_000, 7_000, "Thank you for watching.");
        sure.words = vec![Word {
            start_ms: 5_000,
            end_ms: 7_000,
            text: " Thank you for watching.".into(),
            p: 0.95,
            at_ms: None,
        }];
        assert!(
            g.admit(&mut sure),
            "said clearly at the end of a video: kept"
        );
        let mut zh = seg(9_000, 11_000, "字幕由Amara.org社区提供");
        assert!(!g.admit(&mut zh));
    }
}
