//! Who speaks when within a window: pyannote's segmentation-3.0 network reads 10 s of
//! audio and gives, for each of its 589 frames (about 17 ms apart), which of up to
//! three voices are speaking ("powerset" classes: none, one of three, or two at once).
//! The voices are the window's own: voice 1 of one window need not be voice 1 of the
//! next ([`super::cluster`] links them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rten::{Model, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::NdTensor;

use super::SpeakerError;

/// Samples in one window (10 s at 16 kHz), as the network was trained.
pub const WINDOW: usize = 160_000;
/// Samples between frames.
pub const FRAME_STEP: usize = 270;
/// Where a frame's cell starts, in samples after `index * FRAME_STEP`: the cells are
/// centred on the frames' receptive fields (721 samples wide).
pub const FRAME_OFFSET: usize = 225;
/// The most voices a window tells apart.
pub const LOCAL_VOICES: usize = 3;

/// The voices a powerset class holds, as a bit mask (bit `v`: voice `v`).
const POWERSET: [u8; 7] = [0b000, 0b001, 0b010, 0b100, 0b011, 0b101, 0b110];

/// The segmentation network, loaded.
pub struct Segmenter {
    model: Model,
    path: PathBuf,
    pool: Arc<ThreadPool>,
}

impl Segmenter {
    pub fn load(path: &Path, pool: Arc<ThreadPool>) -> Result<Segmenter, SpeakerError> {
        let mut options = rten::ModelOptions::with_all_ops();
        options.prepack_weights(true);
        let model = options
            .load_file(path)
            .map_err(|source| SpeakerError::Model {
                path: path.to_path_buf(),
                source: Box::new(source),
            })?;
        Ok(Segmenter {
            model,
            path: path.to_path_buf(),
            pool,
        })
    }

    /// For each frame of a window of [`WINDOW`] samples, the voices speaking (a mask).
    pub fn voices(&self, window: &[f32]) -> Result<Vec<u8>, SpeakerError> {
        debug_assert_eq!(window.len(), WINDOW);
        let input = NdTensor::from_data([1, 1, WINDOW], window.to_vec());
        let opts = RunOptions::default().with_thread_pool(Some(self.pool.clone()));
        let out = self
            .model
            .run_one(input.into(), Some(opts))
            .map_err(|source| SpeakerError::Run {
                path: self.path.clone(),
                source: Box::new(source),
            })?;
        let t: rten_tensor::Tensor<f32> = out.try_into().map_err(|_| SpeakerError::Shape {
            path: self.path.clone(),
            shape: Vec::new(),
        })?;
        let [1, frames, 7] = *t.shape() else {
            return Err(SpeakerError::Shape {
                path: self.path.clone(),
                shape: t.shape().to_vec(),
            });
        };
        let data = t.to_vec();
        Ok((0..frames)
            .map(|f| {
                let row = &data[f * 7..f * 7 + 7];
                let best = (0..7)
                    .max_by(|&a, &b| row[a].total_cmp(&row[b]))
                    .unwrap_or(0);
                POWERSET[best]
            })
            .collect())
    }
}

/// The sample (within its window) where frame `index`'s cell starts.
pub fn frame_start(index: usize) -> usize {
    index * FRAME_STEP + FRAME_OFFSET
}
