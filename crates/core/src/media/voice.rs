//! Voice activity: where in 16 kHz audio someone speaks, so that silence, steady noise
//! and room tone are not given to Whisper (which invents words there, loops on them,
//! and spends as long on a minute of silence as on a minute of speech).
//!
//! Speech is loud against the recording's own floor *and* modulated: its energy rises
//! and falls with syllables several times a second, while a fan, traffic hum or hiss
//! stays level. A 20 ms frame is voiced when it is 12 dB above the floor (the 10th
//! percentile of the recording's frame energies, never below -60 dBFS) and the energy
//! around it (±0.5 s) varies by at least 2.5 dB (fluent speech: 3-15 dB; hiss and hum:
//! well under 1 dB); voiced frames closer than 0.4 s join
//! into one region, regions under 0.2 s are dropped, and each keeps 0.25 s of audio
//! either side so that no word is clipped.
//!
//! [`Compacted`] lays the speech regions end to end with a short gap between them, and
//! maps times in it back to the recording.

use std::ops::Range;

use crate::media::transcribe::SAMPLE_RATE;

const FRAME: usize = SAMPLE_RATE / 50; // 20 ms
const ABOVE_FLOOR_DB: f32 = 12.0;
const MIN_MODULATION_DB: f32 = 2.5;
const MODULATION_FRAMES: usize = 25; // ±500 ms
const JOIN_FRAMES: usize = 20; // 0.4 s
const MIN_FRAMES: usize = 10; // 0.2 s
const PAD: usize = SAMPLE_RATE / 4; // 0.25 s

/// The sample ranges of `audio` (16 kHz mono) where someone speaks, in order, not
/// overlapping.
pub fn speech_regions(audio: &[f32]) -> Vec<Range<usize>> {
    let frames: Vec<f32> = audio
        .chunks(FRAME)
        .map(|f| {
            let e = f.iter().map(|s| s * s).sum::<f32>() / f.len().max(1) as f32;
            10.0 * (e + 1e-10).log10()
        })
        .collect();
    if frames.is_empty() {
        return Vec::new();
    }
    let mut sorted = frames.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let floor = sorted[sorted.len() / 10].max(-60.0);
    let loud: Vec<bool> = frames.iter().map(|e| *e > floor + ABOVE_FLOOR_DB).collect();
    let voiced: Vec<bool> = (0..frames.len())
        .map(|i| {
            if !loud[i] {
                return false;
            }
            let window = &frames[i.saturating_sub(MODULATION_FRAMES)
                ..(i + MODULATION_FRAMES + 1).min(frames.len())];
            let mean = window.iter().sum::<f32>() / window.len() as f32;
            let var = window.iter().map(|e| (e - mean).powi(2)).sum::<f32>() / window.len() as f32;
            var.sqrt() >= MIN_MODULATION_DB
        })
        .collect();
    // Voiced frames close together are one region.
    let mut regions: Vec<Range<usize>> = Vec::new();
    for (i, v) in voiced.iter().enumerate() {
        if !v {
            continue;
        }
        match regions.last_mut() {
            Some(r) if i - r.end <= JOIN_FRAMES => r.end = i + 1,
            _ => regions.push(i..i + 1),
        }
    }
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in regions.into_iter().filter(|r| r.len() >= MIN_FRAMES) {
        let start = (r.start * FRAME).saturating_sub(PAD);
        let end = (r.end * FRAME + PAD).min(audio.len());
        match out.last_mut() {
            Some(prev) if start <= prev.end => prev.end = end,
            _ => out.push(start..end),
        }
    }
    out
}

/// Speech regions laid end to end, a gap of silence between them.
pub struct Compacted {
    pub audio: Vec<f32>,
    /// (where a piece starts in `audio`, where it starts in the recording, its length),
    /// in samples.
    pieces: Vec<(usize, usize, usize)>,
}

/// Silence between two pieces: enough for Whisper to end a sentence there.
const GAP: usize = SAMPLE_RATE;

impl Compacted {
    /// The speech of `audio`, or `None` when there is no speech at all.
    pub fn of(audio: &[f32], regions: &[Range<usize>]) -> Option<Compacted> {
        if regions.is_empty() {
            return None;
        }
        let mut out = Vec::with_capacity(regions.iter().map(|r| r.len() + GAP).sum());
        let mut pieces = Vec::with_capacity(regions.len());
        for r in regions {
            if !out.is_empty() {
                out.resize(out.len() + GAP, 0.0);
            }
            pieces.push((out.len(), r.start, r.len()));
            out.extend_from_slice(&audio[r.clone()]);
        }
        Some(Compacted { audio: out, pieces })
    }

    /// Which piece a time (ms into the compacted audio) falls in: the one containing
    /// it, or in a gap the one before.
    pub fn piece_of(&self, ms: u64) -> usize {
        let at = (ms as usize).saturating_mul(SAMPLE_RATE) / 1000;
        self.pieces
            .iter()
            .rposition(|(c, _, _)| *c <= at)
            .unwrap_or(0)
    }

    /// The recording's time (ms) of a time in the compacted audio; a time in a gap is
    /// the end of the piece before it.
    pub fn original_ms(&self, ms: u64) -> u64 {
        self.original_ms_in(ms, self.piece_of(ms))
    }

    /// The recording's time (ms) of a time in the compacted audio, taken to be in
    /// `piece` (a word whisper times a little into the gap before or after its piece).
    pub fn original_ms_in(&self, ms: u64, piece: usize) -> u64 {
        let at = (ms as usize).saturating_mul(SAMPLE_RATE) / 1000;
        let (c, o, len) = self.pieces[piece.min(self.pieces.len() - 1)];
        let within = at.saturating_sub(c).min(len);
        ((o + within) * 1000 / SAMPLE_RATE) as u64
    }

    /// The fraction of the recording that is speech.
    pub fn speech_fraction(&self, total_samples: usize) -> f32 {
        let speech: usize = self.pieces.iter().map(|p| p.2).sum();
        speech as f32 / total_samples.max(1) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tone whose loudness rises and falls four times a second, like syllables.
    fn syllables(seconds: f32) -> Vec<f32> {
        let n = (seconds * SAMPLE_RATE as f32) as usize;
        (0..n)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                let envelope = (t * 4.0 * std::f32::consts::TAU).sin().max(0.0);
                0.3 * envelope * (t * 220.0 * std::f32::consts::TAU).sin()
            })
            .collect()
    }

    /// Steady noise (a fixed pseudo-random sequence).
    fn hiss(seconds: f32, level: f32) -> Vec<f32> {
        let mut x = 0x2545_F491u32;
        (0..(seconds * SAMPLE_RATE as f32) as usize)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                level * ((x as f32 / u32::MAX as f32) * 2.0 - 1.0)
            })
            .collect()
    }

    #[test]
    fn speech_is_found_and_silence_and_steady_noise_are_not() {
        let mut audio = syllables(3.0);
        audio.extend(vec![0.0; 20 * SAMPLE_RATE]);
        audio.extend(syllables(2.0));
        audio.extend(hiss(10.0, 0.2));
        let regions = speech_regions(&audio);
        let secs: Vec<(f32, f32)> = regions
            .iter()
            .map(|r| (r.start as f32 / 16_000.0, r.end as f32 / 16_000.0))
            .collect();
        assert_eq!(regions.len(), 2, "{secs:?}");
        assert!(
            secs[0].0 < 0.1 && (2.8..3.4).contains(&secs[0].1),
            "{secs:?}"
        );
        assert!(
            (22.6..23.1).contains(&secs[1].0) && (24.8..26.0).contains(&secs[1].1),
            "{secs:?}"
        );
    }

    #[test]
    fn times_map_back_through_the_gaps() {
        let audio = vec![0.0f32; 60 * SAMPLE_RATE];
        let c = Compacted::of(&audio, &[16_000..48_000, 800_000..832_000]).unwrap();
        assert_eq!(c.audio.len(), 32_000 + GAP + 32_000);
        assert_eq!(c.original_ms(0), 1_000);
        assert_eq!(c.original_ms(1_500), 2_500);
        // In the gap: the end of the first piece.
        assert_eq!(c.original_ms(2_200), 3_000);
        // The second piece starts after the gap.
        assert_eq!(c.original_ms(3_000), 50_000);
        assert_eq!(c.piece_of(3_100), 1);
        // A word of the second piece timed into the gap starts where its piece does.
        assert_eq!(c.original_ms_in(2_800, 1), 50_000);
        assert!((c.speech_fraction(audio.len()) - 64_000.0 / 960_000.0).abs() < 1e-6);
        assert!(Compacted::of(&audio, &[]).is_none());
    }
}
