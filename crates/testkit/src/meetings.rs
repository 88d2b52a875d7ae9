//! Meetings made for the speaker tests: distinct espeak-ng voices taking turns of 2 to
//! 15 seconds, with pauses and some overlapping speech, mixed into one 16 kHz WAV; what
//! each voice said and when (the reference), and the diarization error rate of a
//! hypothesis against it.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Four voices the speaker encoder tells apart (espeak-ng voice, pitch, words a
/// minute): the cosine of their prints is at most 0.55 between voices, at least 0.92
/// within one.
pub const VOICES: [(&str, u32, u32); 4] = [
    ("en-us", 40, 165),
    ("en-us+f3", 75, 170),
    ("en+klatt", 50, 160),
    ("en+Andy", 50, 160),
];

/// What people say in meetings, a sentence each.
const SENTENCES: &[&str] = &[
    "Let us start with the budget for next year.",
    "I think we should review the numbers again before we decide.",
    "Our team finished the prototype last week.",
    "The first results look promising, but we need more data.",
    "Can you send me the report by Friday?",
    "We hired two engineers for the platform team.",
    "The customer asked for a demo in early March.",
    "I am worried about the deadline for the release.",
    "Marketing wants a new landing page for the launch.",
    "We could move the testing to the second quarter.",
    "The server costs went up by twenty percent.",
    "Please add that to the list of open questions.",
    "I agree with that proposal.",
    "Who will talk to the legal department?",
    "The design review is scheduled for Tuesday afternoon.",
    "We should ask the users what they really need.",
    "That sounds reasonable to me.",
    "The training data is still not labelled.",
    "Let us vote on it at the next meeting.",
    "I will write a summary and share it with everyone.",
    "Our competitors released a similar product.",
    "We need a plan for the migration of the old database.",
    "The office will be closed during the holidays.",
    "Thank you all for joining today.",
];

/// One turn of the reference: who spoke (0-based voice) from when to when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefTurn {
    pub start_ms: u64,
    pub end_ms: u64,
    pub voice: usize,
}

/// A generated meeting: the audio and who spoke when.
#[derive(Debug, Clone)]
pub struct Meeting {
    pub wav: PathBuf,
    pub turns: Vec<RefTurn>,
    /// What each turn said.
    pub texts: Vec<String>,
    pub duration_ms: u64,
}

/// A small deterministic generator (xorshift), for generated test data.
pub struct Rng(pub u64);
impl Rng {
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// `text` in `voice` as 16 kHz samples, the silence espeak-ng puts around it trimmed.
fn speak(dir: &Path, voice: (&str, u32, u32), text: &str) -> Vec<i16> {
    let wav = dir.join("turn.wav");
    let raw = dir.join("turn.raw");
    let (v, pitch, speed) = voice;
    let o = Command::new("espeak-ng")
        .args([
            "-v",
            v,
            "-p",
            &pitch.to_string(),
            "-s",
            &speed.to_string(),
            "-w",
        ])
        .arg(&wav)
        .arg(text)
        .output()
        .expect("espeak-ng runs");
    assert!(
        o.status.success(),
        "espeak-ng: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (w, r) = (wav.to_string_lossy(), raw.to_string_lossy());
    crate::ffmpeg(&["-i", &w, "-ar", "16000", "-ac", "1", "-f", "s16le", &r]);
    let bytes = std::fs::read(&raw).expect("the turn's samples");
    let s: Vec<i16> = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let loud = |x: &i16| x.unsigned_abs() > 300;
    let a = s.iter().position(loud).unwrap_or(0);
    let b = s.iter().rposition(loud).map_or(s.len(), |i| i + 1);
    s[a..b].to_vec()
}

/// A meeting of `voices` (2 to 4) speakers taking `turns` turns, `dir/name.wav`. Turns
/// are 2 to 15 s (one to four sentences), the next speaker never the same as the last;
/// pauses of 0.3 to 1.5 s, and every fifth turn starts up to a second before the last
/// one ends (overlapping speech). `seed` varies the order.
pub fn meeting(dir: &Path, name: &str, voices: usize, turns: usize, seed: u64) -> Meeting {
    assert!((1..=VOICES.len()).contains(&voices));
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut mix: Vec<i32> = Vec::new();
    let mut out = Vec::new();
    let mut texts = Vec::new();
    let mut at = 8_000usize; // half a second of silence first
    let mut last_voice = usize::MAX;
    let mut last_end = at;
    for t in 0..turns {
        // Every voice speaks once before any speaks twice, then any but the last.
        let voice = if t < voices {
            t
        } else {
            let mut v = rng.below(voices as u64) as usize;
            if v == last_voice {
                v = (v + 1 + rng.below(voices as u64 - 1) as usize) % voices;
            }
            v
        };
        let sentences = 1 + rng.below(3) as usize;
        let mut text = String::new();
        for _ in 0..sentences {
            let s = SENTENCES[rng.below(SENTENCES.len() as u64) as usize];
            if !text.is_empty() {
                text.push(' ');
            }
            text.push_str(s);
        }
        let mut samples = speak(dir, VOICES[voice], &text);
        // At most 15 s.
        samples.truncate(15 * 16_000);
        let start = if voices > 1 && t > 0 && t % 5 == 4 {
            // Overlap: start 0.25 to 1 s before the last turn ends (at most half of
            // it).
            let back = (4_000 + rng.below(12_000) as usize).min((last_end - at) / 2);
            last_end - back
        } else {
            last_end + 4_800 + rng.below(19_200) as usize
        };
        let end = start + samples.len();
        if mix.len() < end {
            mix.resize(end, 0);
        }
        for (m, s) in mix[start..end].iter_mut().zip(&samples) {
            *m += i32::from(*s);
        }
        out.push(RefTurn {
            start_ms: start as u64 / 16,
            end_ms: end as u64 / 16,
            voice,
        });
        texts.push(text);
        at = start;
        last_end = last_end.max(end);
        last_voice = voice;
    }
    mix.resize(mix.len() + 8_000, 0);
    let wav = dir.join(format!("{name}.wav"));
    write_wav(&wav, &mix);
    Meeting {
        wav,
        duration_ms: mix.len() as u64 / 16,
        turns: out,
        texts,
    }
}

/// A 16 kHz mono 16-bit WAV of `samples` (clipped).
fn write_wav(path: &Path, samples: &[i32]) {
    let data: Vec<u8> = samples
        .iter()
        .flat_map(|s| (*s).clamp(-32_768, 32_767).to_le_bytes()[..2].to_vec())
        .collect();
    let mut b = Vec::with_capacity(44 + data.len());
    b.extend_from_slice(b"RIFF");
    b.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    b.extend_from_slice(b"WAVEfmt ");
    b.extend_from_slice(&16u32.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&1u16.to_le_bytes());
    b.extend_from_slice(&16_000u32.to_le_bytes());
    b.extend_from_slice(&32_000u32.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&16u16.to_le_bytes());
    b.extend_from_slice(b"data");
    b.extend_from_slice(&(data.len() as u32).to_le_bytes());
    b.extend_from_slice(&data);
    std::fs::write(path, b).expect("the meeting is written");
}

/// The diarization error rate of `hyp` (start, end, speaker) against `reference`:
/// missed speech, false alarms and confusion over the reference's speech, counted in
/// 10 ms frames, with hypothesis speakers mapped to reference voices the way that
/// agrees most, and a collar of 250 ms around each reference boundary not scored (as
/// NIST's md-eval does).
pub fn der(reference: &[RefTurn], hyp: &[(u64, u64, u32)]) -> f64 {
    const FRAME: u64 = 10;
    const COLLAR: u64 = 250;
    let end = reference
        .iter()
        .map(|t| t.end_ms)
        .chain(hyp.iter().map(|h| h.1))
        .max()
        .unwrap_or(0);
    let frames = (end / FRAME + 1) as usize;
    let voices = reference.iter().map(|t| t.voice + 1).max().unwrap_or(0);
    let mut ids: Vec<u32> = hyp.iter().map(|h| h.2).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut r = vec![0u32; frames];
    let mut h = vec![0u64; frames];
    let mut scored = vec![true; frames];
    for t in reference {
        for f in (t.start_ms / FRAME)..(t.end_ms / FRAME) {
            r[f as usize] |= 1 << t.voice;
        }
        for edge in [t.start_ms, t.end_ms] {
            let a = edge.saturating_sub(COLLAR) / FRAME;
            let b = ((edge + COLLAR) / FRAME).min(frames as u64 - 1);
            for f in a..=b {
                scored[f as usize] = false;
            }
        }
    }
    for &(a, b, s) in hyp {
        let k = ids.iter().position(|&i| i == s).expect("listed");
        for f in (a / FRAME)..(b / FRAME).min(frames as u64) {
            h[f as usize] |= 1 << k;
        }
    }
    // co[k][v]: frames where hypothesis speaker k and reference voice v both speak.
    let mut co = vec![vec![0u64; voices]; ids.len()];
    for f in 0..frames {
        if !scored[f] {
            continue;
        }
        for (k, row) in co.iter_mut().enumerate() {
            if h[f] & (1 << k) == 0 {
                continue;
            }
            for (v, c) in row.iter_mut().enumerate() {
                if r[f] & (1 << v) != 0 {
                    *c += 1;
                }
            }
        }
    }
    let mapping = best_mapping(&co, voices);
    let (mut errors, mut total) = (0u64, 0u64);
    for f in 0..frames {
        if !scored[f] {
            continue;
        }
        let n_ref = r[f].count_ones() as u64;
        let n_hyp = h[f].count_ones() as u64;
        let mut correct = 0;
        for (k, m) in mapping.iter().enumerate() {
            if let Some(v) = m {
                if h[f] & (1 << k) != 0 && r[f] & (1 << v) != 0 {
                    correct += 1;
                }
            }
        }
        errors += n_ref.max(n_hyp) - correct;
        total += n_ref;
    }
    errors as f64 / total.max(1) as f64
}

/// The map from hypothesis speakers to reference voices (each voice used once) with
/// the most frames in common, by trying them all (a handful of speakers).
fn best_mapping(co: &[Vec<u64>], voices: usize) -> Vec<Option<usize>> {
    fn search(
        k: usize,
        co: &[Vec<u64>],
        used: &mut Vec<bool>,
        cur: &mut Vec<Option<usize>>,
        score: u64,
        best: &mut (u64, Vec<Option<usize>>),
    ) {
        if k == co.len() {
            if score > best.0 || best.1.is_empty() {
                *best = (score, cur.clone());
            }
            return;
        }
        cur.push(None);
        search(k + 1, co, used, cur, score, best);
        cur.pop();
        for v in 0..used.len() {
            if !used[v] {
                used[v] = true;
                cur.push(Some(v));
                search(k + 1, co, used, cur, score + co[k][v], best);
                cur.pop();
                used[v] = false;
            }
        }
    }
    let mut best = (0, Vec::new());
    search(
        0,
        co,
        &mut vec![false; voices],
        &mut Vec::new(),
        0,
        &mut best,
    );
    if best.1.is_empty() {
        best.1 = vec![None; co.len()];
    }
    best.1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_is_zero_for_the_reference_and_counts_each_kind_of_error() {
        let r = [
            RefTurn {
                start_ms: 0,
                end_ms: 10_000,
                voice: 0,
            },
            RefTurn {
                start_ms: 10_000,
                end_ms: 20_000,
                voice: 1,
            },
        ];
        // The same turns under other names.
        assert_eq!(der(&r, &[(0, 10_000, 7), (10_000, 20_000, 3)]), 0.0);
        // Everything one speaker: half confused (less the collars).
        let one = der(&r, &[(0, 20_000, 1)]);
        assert!((one - 0.5).abs() < 0.02, "{one}");
        // Nothing found: all missed.
        assert_eq!(der(&r, &[]), 1.0);
    }
}
