//! Slide text: what is written on a slide image, in English and Chinese, read offline on
//! the CPU with PP-OCR's detection and recognition networks (ONNX files, run by rten, a
//! runtime written in Rust: nothing native to carry in the installers, nothing that can
//! take the app down). This module owns the reading of one image; [`detect`] and
//! [`recognize`] prepare the networks' inputs and decode their outputs, [`layout`] makes
//! lines, the title and the words for the transcriber.
//!
//! The networks are those of PaddleOCR's PP-OCRv4 mobile models (Chinese and English in
//! one alphabet of 6,623 characters); the recogniser's ONNX file carries its alphabet in
//! its metadata (`character`), or a `.txt` beside it does.

pub mod detect;
pub mod layout;
pub mod recognize;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use image::RgbImage;
use rten::{Model, RunOptions, ThreadPool};
use rten_tensor::prelude::*;
use rten_tensor::NdTensor;
use serde::{Deserialize, Serialize};

pub use detect::Detail;
pub use layout::{vocabulary, SlideText, TextLine};

use detect::TextBox;
use recognize::Alphabet;

/// Why slide text could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("the text model {path} could not be loaded: {source}")]
    Model {
        path: PathBuf,
        #[source]
        source: Box<rten::LoadError>,
    },
    #[error(
        "the text model {path} has no alphabet (no `character` metadata and no {txt} beside it)"
    )]
    NoAlphabet { path: PathBuf, txt: PathBuf },
    #[error("the text model {path} could not read {image}: {source}")]
    Run {
        path: PathBuf,
        image: String,
        #[source]
        source: Box<rten::RunError>,
    },
    #[error("the text model {path} gave output of an unexpected shape {shape:?}")]
    Shape { path: PathBuf, shape: Vec<usize> },
    #[error("the slide image {path} could not be read: {source}")]
    Image {
        path: PathBuf,
        #[source]
        source: image::ImageError,
    },
    #[error("cancelled")]
    Cancelled,
}

/// The two model files of a reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcrModels {
    /// The detection network (ONNX).
    pub det: PathBuf,
    /// The recognition network (ONNX, its alphabet in its metadata or a `.txt` beside).
    pub rec: PathBuf,
}

impl OcrModels {
    /// The models in a folder: its `*det*.onnx` and `*rec*.onnx` files (the first of
    /// each by name).
    pub fn in_dir(dir: &Path) -> Option<OcrModels> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .ok()?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "onnx") && p.is_file())
            .collect();
        names.sort();
        let find = |part: &str| {
            names
                .iter()
                .find(|p| {
                    p.file_name()
                        .is_some_and(|n| n.to_string_lossy().to_lowercase().contains(part))
                })
                .cloned()
        };
        Some(OcrModels {
            det: find("det")?,
            rec: find("rec")?,
        })
    }

    /// What tells these models from others for cached readings: names and sizes.
    pub fn identity(&self) -> Vec<(String, u64)> {
        [&self.det, &self.rec]
            .iter()
            .map(|p| {
                let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
                let len = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
                (name.unwrap_or_default(), len)
            })
            .collect()
    }
}

/// Crops recognised in one network run (as PaddleOCR batches them).
const BATCH: usize = 6;

/// The two networks, loaded, with the recogniser's alphabet.
pub struct Reader {
    det: Model,
    det_path: PathBuf,
    rec: Model,
    rec_path: PathBuf,
    alphabet: Alphabet,
    pool: Arc<ThreadPool>,
}

impl Reader {
    /// Loads the detection and recognition models. `threads`: how many CPU threads a
    /// reading uses (one leaves the others to transcription).
    pub fn load(det: &Path, rec: &Path, threads: usize) -> Result<Reader, OcrError> {
        let load = |p: &Path| {
            let mut options = rten::ModelOptions::with_all_ops();
            // Weights laid out for the matrix kernels once, at load: faster readings.
            options.prepack_weights(true);
            options.load_file(p).map_err(|source| OcrError::Model {
                path: p.to_path_buf(),
                source: Box::new(source),
            })
        };
        let (det_model, rec_model) = (load(det)?, load(rec)?);
        let txt = rec.with_extension("txt");
        let chars = match rec_model.metadata().get("character") {
            Some(c) => c.to_string(),
            None => std::fs::read_to_string(&txt).map_err(|_| OcrError::NoAlphabet {
                path: rec.to_path_buf(),
                txt: txt.clone(),
            })?,
        };
        let alphabet = Alphabet::from_lines(&chars);
        if alphabet.is_empty() {
            return Err(OcrError::NoAlphabet {
                path: rec.to_path_buf(),
                txt,
            });
        }
        // Readings yield to transcription.
        let pool = crate::media::idle::yielding_pool(threads);
        Ok(Reader {
            det: det_model,
            det_path: det.to_path_buf(),
            rec: rec_model,
            rec_path: rec.to_path_buf(),
            alphabet,
            pool,
        })
    }

    /// Reads an image file.
    pub fn read_file(
        &self,
        path: &Path,
        detail: Detail,
        cancel: &AtomicBool,
    ) -> Result<SlideText, OcrError> {
        let img = image::open(path)
            .map_err(|source| OcrError::Image {
                path: path.to_path_buf(),
                source,
            })?
            .to_rgb8();
        self.read(&img, &path.display().to_string(), detail, cancel)
    }

    /// Reads an image: its lines, top to bottom, and its title. `name` names the image
    /// in errors.
    pub fn read(
        &self,
        img: &RgbImage,
        name: &str,
        detail: Detail,
        cancel: &AtomicBool,
    ) -> Result<SlideText, OcrError> {
        let boxes = self.detect(img, name, detail)?;
        let mut read = Vec::with_capacity(boxes.len());
        // Crops of similar width together: less padding in each batch.
        let crops: Vec<(TextBox, RgbImage)> = boxes
            .iter()
            .map(|b| (*b, recognize::crop(img, b)))
            .collect();
        let mut order: Vec<usize> = (0..crops.len()).collect();
        order.sort_by_key(|&i| crops[i].1.width());
        for group in order.chunks(BATCH) {
            if cancel.load(Ordering::Relaxed) {
                return Err(OcrError::Cancelled);
            }
            let images: Vec<&RgbImage> = group.iter().map(|&i| &crops[i].1).collect();
            let texts = self.recognize(&images, name)?;
            for (&i, (text, score)) in group.iter().zip(texts) {
                if score >= recognize::MIN_SCORE && !text.trim().is_empty() {
                    read.push((crops[i].0, text));
                }
            }
        }
        let lines = layout::lines(read);
        Ok(SlideText {
            title: layout::title(&lines, img.height() as f32),
            lines,
        })
    }

    fn run(
        &self,
        model: &Model,
        path: &Path,
        name: &str,
        data: Vec<f32>,
        shape: [usize; 4],
    ) -> Result<(Vec<f32>, [usize; 3]), OcrError> {
        let input = NdTensor::from_data(shape, data);
        let opts = RunOptions::default().with_thread_pool(Some(self.pool.clone()));
        let out = model
            .run_one(input.into(), Some(opts))
            .map_err(|source| OcrError::Run {
                path: path.to_path_buf(),
                image: name.to_string(),
                source: Box::new(source),
            })?;
        let shape_err = |shape: Vec<usize>| OcrError::Shape {
            path: path.to_path_buf(),
            shape,
        };
        let t: rten_tensor::Tensor<f32> = out.try_into().map_err(|_| shape_err(Vec::new()))?;
        let dims = t.shape().to_vec();
        // Detection: N x 1 x H x W (as N x H x W); recognition: N x T x classes.
        let (a, b, c) = match dims.as_slice() {
            [n, 1, h, w] => (*n, *h, *w),
            [n, t, k] => (*n, *t, *k),
            _ => return Err(shape_err(dims)),
        };
        Ok((t.into_data(), [a, b, c]))
    }

    fn detect(&self, img: &RgbImage, name: &str, detail: Detail) -> Result<Vec<TextBox>, OcrError> {
        let (data, shape) = detect::input(img, detail);
        let (map, [_, h, w]) = self.run(&self.det, &self.det_path, name, data, shape)?;
        Ok(detect::boxes(
            &map[..h * w],
            w,
            h,
            img.width(),
            img.height(),
        ))
    }

    fn recognize(&self, crops: &[&RgbImage], name: &str) -> Result<Vec<(String, f32)>, OcrError> {
        let (data, shape) = recognize::batch(crops);
        let (probs, [n, steps, classes]) =
            self.run(&self.rec, &self.rec_path, name, data, shape)?;
        if classes != self.alphabet.len() || n != crops.len() {
            return Err(OcrError::Shape {
                path: self.rec_path.clone(),
                shape: vec![n, steps, classes],
            });
        }
        Ok(probs
            .chunks_exact(steps * classes)
            .map(|one| recognize::decode(one, classes, &self.alphabet))
            .collect())
    }
}
