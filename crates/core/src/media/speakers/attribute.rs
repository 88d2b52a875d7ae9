//! Who said each word: the speaker whose turns cover most of the word (the nearest
//! turn, within a second and a half, for a word in a gap), a lone short word between
//! two of another speaker's taken as theirs (word times are a few hundred milliseconds
//! loose), and every segment split where its speaker changes.

use super::Turn;
use crate::media::transcribe::Segment;

/// A word this far from every turn keeps the speaker of the words around it.
const REACH_MS: u64 = 1_500;
/// A lone word of another speaker shorter than this is taken as its neighbours'.
const LONE_WORD_MS: u64 = 400;

/// Finds the turns near a time, for times that come in order.
struct Turns<'a> {
    turns: &'a [Turn],
    /// The latest end of `turns[..=i]`.
    reach: Vec<u64>,
    lo: usize,
}

impl<'a> Turns<'a> {
    fn new(turns: &'a [Turn]) -> Turns<'a> {
        let mut latest = 0;
        let reach = turns
            .iter()
            .map(|t| {
                latest = latest.max(t.end_ms);
                latest
            })
            .collect();
        Turns {
            turns,
            reach,
            lo: 0,
        }
    }

    /// The speaker who covers most of `start..end`, else the nearest within reach.
    fn speaker(&mut self, start: u64, end: u64) -> Option<u32> {
        while self.lo < self.turns.len() && self.reach[self.lo] + REACH_MS < start {
            self.lo += 1;
        }
        let mut most: Option<(u64, u32)> = None;
        let mut nearest: Option<(u64, u32)> = None;
        for t in self.turns[self.lo..]
            .iter()
            .take_while(|t| t.start_ms <= end + REACH_MS)
        {
            let overlap = end.min(t.end_ms).saturating_sub(start.max(t.start_ms));
            if overlap > 0 && most.is_none_or(|(m, _)| overlap > m) {
                most = Some((overlap, t.speaker));
            }
            let gap = if t.end_ms < start {
                start - t.end_ms
            } else {
                t.start_ms.saturating_sub(end)
            };
            if gap <= REACH_MS && nearest.is_none_or(|(g, _)| gap < g) {
                nearest = Some((gap, t.speaker));
            }
        }
        most.or(nearest).map(|(_, s)| s)
    }
}

/// A stretch of a segment: its words (or the whole segment when it has none).
struct Unit {
    segment: usize,
    word: Option<usize>,
    start_ms: u64,
    end_ms: u64,
    speaker: Option<u32>,
}

/// The segments with their speakers, split where the speaker changes.
pub fn attribute(segments: &[Segment], turns: &[Turn]) -> Vec<Segment> {
    let mut sorted = turns.to_vec();
    sorted.sort_by_key(|t| (t.start_ms, t.end_ms));
    let mut near = Turns::new(&sorted);
    let mut units: Vec<Unit> = Vec::new();
    for (si, seg) in segments.iter().enumerate() {
        if seg.words.is_empty() {
            units.push(Unit {
                segment: si,
                word: None,
                start_ms: seg.start_ms,
                end_ms: seg.end_ms.max(seg.start_ms + 1),
                speaker: None,
            });
        }
        for (wi, w) in seg.words.iter().enumerate() {
            units.push(Unit {
                segment: si,
                word: Some(wi),
                start_ms: w.start_ms,
                end_ms: w.end_ms.max(w.start_ms + 1),
                speaker: None,
            });
        }
    }
    // Words come in time order within a segment, segments in order.
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by_key(|&i| units[i].start_ms);
    for &i in &order {
        units[i].speaker = near.speaker(units[i].start_ms, units[i].end_ms);
    }
    // A lone short word of another speaker between two of one speaker's.
    for i in 1..units.len().saturating_sub(1) {
        let (p, n) = (units[i - 1].speaker, units[i + 1].speaker);
        if p.is_some()
            && p == n
            && units[i].speaker != p
            && units[i].end_ms - units[i].start_ms < LONE_WORD_MS
        {
            units[i].speaker = p;
        }
    }
    // Words out of every turn's reach: the speaker before, else the one after.
    let mut last = None;
    for u in units.iter_mut() {
        if u.speaker.is_none() {
            u.speaker = last;
        }
        last = u.speaker.or(last);
    }
    let mut next = None;
    for u in units.iter_mut().rev() {
        if u.speaker.is_none() {
            u.speaker = next;
        }
        next = u.speaker.or(next);
    }
    let mut out = Vec::with_capacity(segments.len());
    let mut i = 0;
    while i < units.len() {
        let si = units[i].segment;
        let seg = &segments[si];
        let mut j = i;
        while j < units.len() && units[j].segment == si {
            j += 1;
        }
        let pieces = split_runs(&units[i..j]);
        if pieces.len() == 1 {
            let mut s = seg.clone();
            s.speaker = units[i].speaker;
            out.push(s);
        } else {
            for (k, (a, b)) in pieces.iter().enumerate() {
                let words: Vec<_> = units[i + a..i + b]
                    .iter()
                    .filter_map(|u| u.word.map(|w| seg.words[w].clone()))
                    .collect();
                let text: String = words.iter().map(|w| w.text.as_str()).collect();
                out.push(Segment {
                    start_ms: if k == 0 {
                        seg.start_ms
                    } else {
                        words.first().map_or(seg.start_ms, |w| w.start_ms)
                    },
                    end_ms: if k == pieces.len() - 1 {
                        seg.end_ms
                    } else {
                        words.last().map_or(seg.end_ms, |w| w.end_ms)
                    },
                    text: text.trim().to_string(),
                    words,
                    language: seg.language.clone(),
                    speaker: units[i + a].speaker,
                });
            }
        }
        i = j;
    }
    out
}

/// The runs of one speaker in a segment's units, as `(from, to)` index ranges.
fn split_runs(units: &[Unit]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut from = 0;
    for k in 1..=units.len() {
        if k == units.len() || units[k].speaker != units[from].speaker {
            runs.push((from, k));
            from = k;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::transcribe::Word;

    fn word(text: &str, start_ms: u64, end_ms: u64) -> Word {
        Word {
            start_ms,
            end_ms,
            text: text.into(),
            p: 0.9,
            at_ms: None,
        }
    }

    fn turn(start_ms: u64, end_ms: u64, speaker: u32) -> Turn {
        Turn {
            start_ms,
            end_ms,
            speaker,
        }
    }

    #[test]
    fn a_segment_across_a_change_is_split_at_the_change() {
        let seg = Segment {
            start_ms: 0,
            end_ms: 4_000,
            text: "Hello there. Good morning to you.".into(),
            words: vec![
                word(" Hello", 0, 500),
                word(" there.", 500, 1_000),
                word(" Good", 2_000, 2_400),
                word(" morning", 2_400, 3_000),
                word(" to", 3_000, 3_200),
                word(" you.", 3_200, 4_000),
            ],
            language: Some("en".into()),
            speaker: None,
        };
        let out = attribute(&[seg], &[turn(0, 1_200, 1), turn(1_900, 4_100, 2)]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].text, "Hello there.");
        assert_eq!(out[0].speaker, Some(1));
        assert_eq!((out[0].start_ms, out[0].end_ms), (0, 1_000));
        assert_eq!(out[1].text, "Good morning to you.");
        assert_eq!(out[1].speaker, Some(2));
        assert_eq!((out[1].start_ms, out[1].end_ms), (2_000, 4_000));
        assert_eq!(out[1].words.len(), 4);
    }

    #[test]
    fn a_lone_word_and_a_word_in_a_gap_keep_their_neighbours_speaker() {
        let seg = Segment {
            start_ms: 0,
            end_ms: 9_000,
            text: "one two three four".into(),
            words: vec![
                word(" one", 0, 500),
                // Mostly in speaker 2's blip: a lone short word.
                word(" two", 1_000, 1_300),
                word(" three", 1_400, 2_000),
                // Far from every turn.
                word(" four", 8_000, 8_500),
            ],
            language: None,
            speaker: None,
        };
        let turns = [
            turn(0, 1_050, 1),
            turn(1_050, 1_350, 2),
            turn(1_350, 2_100, 1),
        ];
        let out = attribute(&[seg], &turns);
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!(out[0].speaker, Some(1));
        assert_eq!(out[0].text, "one two three four");
    }

    #[test]
    fn a_segment_without_words_takes_the_speaker_of_most_of_it() {
        let seg = Segment {
            start_ms: 1_000,
            end_ms: 3_000,
            text: "今天我们讨论".into(),
            words: Vec::new(),
            language: Some("zh".into()),
            speaker: None,
        };
        let out = attribute(&[seg], &[turn(0, 1_500, 1), turn(1_500, 5_000, 2)]);
        assert_eq!(out[0].speaker, Some(2));
        assert_eq!(out[0].text, "今天我们讨论");
    }
}
