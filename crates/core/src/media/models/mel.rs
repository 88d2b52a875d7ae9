//! The Slaney mel filterbank, computed as librosa's `filters.mel` does (float64 maths,
//! float32 result), which is what Whisper's `mel_filters.npz` holds.

fn hz_to_mel(f: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if f >= min_log_hz {
        min_log_mel + (f / min_log_hz).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let f_sp = 200.0 / 3.0;
    let min_log_hz = 1000.0;
    let min_log_mel = min_log_hz / f_sp;
    let logstep = (6.4f64).ln() / 27.0;
    if m >= min_log_mel {
        min_log_hz * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// numpy's `linspace(start, stop, num)`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let step = (stop - start) / (num - 1) as f64;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(last) = v.last_mut() {
        *last = stop;
    }
    v
}

/// `n_mels` rows of `1 + n_fft / 2` weights, row-major.
pub fn filterbank(sample_rate: u32, n_fft: usize, n_mels: usize) -> Vec<f32> {
    let bins = 1 + n_fft / 2;
    let sr = sample_rate as f64;
    let fftfreqs: Vec<f64> = (0..bins).map(|k| k as f64 * sr / n_fft as f64).collect();
    let mels = linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2);
    let mel_f: Vec<f64> = mels.into_iter().map(mel_to_hz).collect();
    let fdiff: Vec<f64> = mel_f.windows(2).map(|w| w[1] - w[0]).collect();
    let mut weights = vec![0f32; n_mels * bins];
    for i in 0..n_mels {
        let enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        for (k, f) in fftfreqs.iter().enumerate() {
            let lower = -(mel_f[i] - f) / fdiff[i];
            let upper = (mel_f[i + 2] - f) / fdiff[i + 1];
            let w = 0f64.max(lower.min(upper)) as f32;
            weights[i * bins + k] = (w as f64 * enorm) as f32;
        }
    }
    weights
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_known_whisper_values() {
        let w = filterbank(16000, 400, 80);
        assert_eq!(w.len(), 80 * 201);
        // Row sums of Slaney-normalised filters are positive, the first filter peaks at bin 1.
        let row0 = &w[..201];
        let peak = row0
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .unwrap()
            .0;
        assert_eq!(peak, 1);
        // Worked by hand from the definition: bin 1 is 40 Hz, between mel points 0,
        // 37.24 and 74.48 Hz: (74.48 - 40) / 37.24 * 2 / 74.48.
        assert!((row0[1] - 0.024_86).abs() < 1e-4, "{}", row0[1]);
        assert!(w.iter().all(|x| *x >= 0.0));
    }
}
