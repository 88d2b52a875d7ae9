//! The built-in summary: extractive, offline, in English and Chinese. It needs no
//! model, and it is what a document gets when the chosen model cannot be used.

use std::collections::{HashMap, HashSet};

use crate::document::is_cjk;

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
pub(crate) fn terms(s: &str) -> Vec<String> {
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
    // A short recording gets a point or two, not most of what was said.
    let least = 3.min(sents.len() / 2).max(1);
    let want = (sents.len() / 5)
        .clamp(least, max_points.max(least))
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
    fn a_short_transcript_gets_a_point_not_all_it_said() {
        let s = extractive(
            "Welcome to the lecture. Today we cover light. Light is energy. Bye.",
            8,
        );
        assert_eq!(s.len(), 2, "{s:?}");
    }
}
