//! Voiceprints: a d-vector (256 numbers, unit length) for a stretch of one voice, from
//! an LSTM speaker encoder over log-mel frames (the GE2E d-vector of VoiceFilter and
//! VoiceFilter-Lite). Two stretches of the same voice give close vectors (cosine near
//! 0.9 on the tests' voices), two voices far ones (near 0.3).
//!
//! The front end is the encoder's own: 16 kHz, a 400-sample periodic Hamming window
//! centred in a 512-point FFT, a 160-sample hop, the power spectrum through 40 Slaney
//! mel bands, `log10(x + 1e-10)`. The encoder reads windows of 80 frames (0.8 s); a
//! stretch's print is the normalised mean of its windows' prints.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rten::{Model, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::NdTensor;
use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlanner};

use super::SpeakerError;

const N_FFT: usize = 512;
const WIN: usize = 400;
const HOP: usize = 160;
const MELS: usize = 40;
/// Frames in one encoder window.
const FRAMES: usize = 80;
/// Frames between windows of one stretch.
const STRIDE: usize = 40;
/// The most windows read for one stretch (a piece of about 2 s): enough for a steady
/// print, and the encoder's cost (about 50 ms a window on one core) stays a small
/// fraction of the audio's length.
const MOST_WINDOWS: usize = 2;
/// The length of a print.
pub const DIM: usize = 256;
/// The fewest samples a stretch needs to be printed (shorter ones are repeated to fill
/// a window; shorter still say too little).
pub const FEWEST_SAMPLES: usize = 8_000;

/// The speaker encoder, loaded, with its front end.
pub struct Printer {
    model: Model,
    path: PathBuf,
    pool: Arc<ThreadPool>,
    fft: Arc<dyn Fft<f32>>,
    window: Vec<f32>,
    /// `MELS` rows of `1 + N_FFT / 2` weights.
    bank: Vec<f32>,
}

impl Printer {
    pub fn load(path: &Path, pool: Arc<ThreadPool>) -> Result<Printer, SpeakerError> {
        let mut options = rten::ModelOptions::with_all_ops();
        // rten 0.27 infers DynamicQuantizeLSTM's output shape with LSTM's weight
        // layout and folds a wrong shape into the Reshape after it; unoptimised, the
        // graph runs as ONNX Runtime runs it (cosine 0.9998 to its output).
        options.enable_optimization(false);
        let model = options
            .load_file(path)
            .map_err(|source| SpeakerError::Model {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        // Periodic Hamming, centred in the FFT frame (as librosa pads it).
        let window = (0..WIN)
            .map(|n| 0.54 - 0.46 * (2.0 * std::f32::consts::PI * n as f32 / WIN as f32).cos())
            .collect();
        Ok(Printer {
            model,
            path: path.to_path_buf(),
            pool,
            fft: FftPlanner::new().plan_fft_forward(N_FFT),
            window,
            bank: crate::media::models::mel::filterbank(16_000, N_FFT, MELS),
        })
    }

    /// Log-mel frames of `samples` (no padding at the ends).
    fn log_mel(&self, samples: &[f32]) -> Vec<[f32; MELS]> {
        if samples.len() < N_FFT {
            return Vec::new();
        }
        let bins = N_FFT / 2 + 1;
        let off = (N_FFT - WIN) / 2;
        let n = 1 + (samples.len() - N_FFT) / HOP;
        let mut buf = vec![Complex::new(0f32, 0f32); N_FFT];
        let mut power = vec![0f32; bins];
        (0..n)
            .map(|t| {
                let frame = &samples[t * HOP..t * HOP + N_FFT];
                for (i, c) in buf.iter_mut().enumerate() {
                    let w = if (off..off + WIN).contains(&i) {
                        self.window[i - off]
                    } else {
                        0.0
                    };
                    *c = Complex::new(frame[i] * w, 0.0);
                }
                self.fft.process(&mut buf);
                for (p, c) in power.iter_mut().zip(&buf) {
                    *p = c.norm_sqr();
                }
                let mut out = [0f32; MELS];
                for (m, o) in out.iter_mut().enumerate() {
                    let row = &self.bank[m * bins..(m + 1) * bins];
                    let e: f32 = row.iter().zip(&power).map(|(w, p)| w * p).sum();
                    *o = (e + 1e-10).log10();
                }
                out
            })
            .collect()
    }

    /// The windows read for one stretch: all of them, or [`MOST_WINDOWS`] spread over it.
    fn windows(frames: usize) -> Vec<usize> {
        if frames < FRAMES {
            return Vec::new();
        }
        let last = frames - FRAMES;
        let all = last / STRIDE + 1;
        if all <= MOST_WINDOWS {
            return (0..all).map(|i| i * STRIDE).collect();
        }
        // Spread evenly, each in the middle of its share of the stretch.
        (0..MOST_WINDOWS)
            .map(|i| (2 * i + 1) * last / (2 * MOST_WINDOWS))
            .collect()
    }

    /// A print for each stretch (in one run of the encoder); `None` for a stretch
    /// shorter than [`FEWEST_SAMPLES`].
    pub fn prints(&self, stretches: &[Vec<f32>]) -> Result<Vec<Option<Vec<f32>>>, SpeakerError> {
        let mut input: Vec<f32> = Vec::new();
        let mut owners: Vec<usize> = Vec::new();
        for (i, s) in stretches.iter().enumerate() {
            if s.len() < FEWEST_SAMPLES {
                continue;
            }
            // A short stretch is repeated to fill one window.
            let need = N_FFT + (FRAMES - 1) * HOP;
            let filled: Vec<f32>;
            let samples = if s.len() < need {
                filled = s.iter().copied().cycle().take(need).collect();
                &filled
            } else {
                s
            };
            let mel = self.log_mel(samples);
            for start in Self::windows(mel.len()) {
                input.extend(mel[start..start + FRAMES].iter().flatten());
                owners.push(i);
            }
        }
        let mut out: Vec<Option<Vec<f32>>> = vec![None; stretches.len()];
        if owners.is_empty() {
            return Ok(out);
        }
        let rows = owners.len();
        let tensor = NdTensor::from_data([rows, FRAMES, MELS], input);
        let opts = RunOptions::default().with_thread_pool(Some(self.pool.clone()));
        let result = self
            .model
            .run_one(tensor.into(), Some(opts))
            .map_err(|source| SpeakerError::Run {
                path: self.path.clone(),
                source: Box::new(source),
            })?;
        let t: rten_tensor::Tensor<f32> = result.try_into().map_err(|_| SpeakerError::Shape {
            path: self.path.clone(),
            shape: Vec::new(),
        })?;
        if t.shape() != [rows, DIM] {
            return Err(SpeakerError::Shape {
                path: self.path.clone(),
                shape: t.shape().to_vec(),
            });
        }
        let data = t.to_vec();
        for (row, &owner) in data.chunks(DIM).zip(&owners) {
            let sum = out[owner].get_or_insert_with(|| vec![0f32; DIM]);
            let norm = row.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
            for (a, x) in sum.iter_mut().zip(row) {
                *a += x / norm;
            }
        }
        for p in out.iter_mut().flatten() {
            normalise(p);
        }
        Ok(out)
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalise(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 1e-9 {
        v.iter_mut().for_each(|x| *x /= n);
    }
}

/// The cosine of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
