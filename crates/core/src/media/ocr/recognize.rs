//! Text recognition: the crop of one text box to its characters. The network (PP-OCR's
//! recogniser) reads a crop scaled to 48 pixels high and gives, for each 8-pixel column
//! step, a probability for every character of its alphabet; CTC decoding keeps the most
//! likely character of each step, drops repeats and blanks.

use image::RgbImage;

use super::detect::TextBox;

/// The recogniser's input height.
pub const HEIGHT: u32 = 48;
/// The narrowest batch (PP-OCR's 320 x 48 at the least).
const MIN_RATIO: f32 = 320.0 / 48.0;
/// The widest crop read in one piece; longer lines are cut (at 48 px high, ~60 CJK
/// characters or ~120 Latin ones).
const MAX_WIDTH: u32 = 48 * 60;
/// A reading below this mean character probability is not kept.
pub const MIN_SCORE: f32 = 0.5;

/// The recogniser's alphabet: index 0 is CTC's blank, then the model's characters, then
/// a space (as PaddleOCR builds it).
#[derive(Debug, Clone)]
pub struct Alphabet(Vec<String>);

impl Alphabet {
    /// From the model's character list, one per line.
    pub fn from_lines(lines: &str) -> Alphabet {
        let mut v = vec![String::new()];
        v.extend(lines.lines().map(str::to_string));
        v.push(" ".to_string());
        Alphabet(v)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.len() <= 2
    }
}

/// One crop, scaled to the recogniser's height (width by its aspect, at most MAX_WIDTH).
pub fn crop(img: &RgbImage, b: &TextBox) -> RgbImage {
    let (x0, y0) = (b.x0.floor().max(0.0) as u32, b.y0.floor().max(0.0) as u32);
    let x1 = (b.x1.ceil() as u32).min(img.width());
    let y1 = (b.y1.ceil() as u32).min(img.height());
    let (w, h) = (x1.saturating_sub(x0).max(1), y1.saturating_sub(y0).max(1));
    let part = image::imageops::crop_imm(img, x0, y0, w, h).to_image();
    let tw = ((HEIGHT as f32 * w as f32 / h as f32).ceil() as u32).clamp(1, MAX_WIDTH);
    image::imageops::resize(&part, tw, HEIGHT, image::imageops::FilterType::Triangle)
}

/// A batch of crops (already HEIGHT high) as one NCHW input, each padded on the right
/// to the widest (at least MIN_RATIO wide) with zeros, BGR, normalised to -1..1.
pub fn batch(crops: &[&RgbImage]) -> (Vec<f32>, [usize; 4]) {
    let widest = crops.iter().map(|c| c.width()).max().unwrap_or(1);
    let w = widest.max((HEIGHT as f32 * MIN_RATIO) as u32) as usize;
    let h = HEIGHT as usize;
    let mut out = vec![0f32; crops.len() * 3 * h * w];
    for (n, c) in crops.iter().enumerate() {
        let planes = super::detect::planes(c, [2, 1, 0]);
        let cw = c.width() as usize;
        for plane in 0..3 {
            for y in 0..h {
                let src = &planes[plane * h * cw + y * cw..plane * h * cw + (y + 1) * cw];
                let at = ((n * 3 + plane) * h + y) * w;
                out[at..at + cw].copy_from_slice(src);
            }
        }
    }
    (out, [crops.len(), 3, h, w])
}

/// CTC greedy decoding of one crop's `steps` x `classes` probabilities: the text and
/// its mean character probability.
pub fn decode(probs: &[f32], classes: usize, alphabet: &Alphabet) -> (String, f32) {
    let mut text = String::new();
    let (mut sum, mut n) = (0f32, 0usize);
    let mut last = usize::MAX;
    for step in probs.chunks_exact(classes) {
        let (best, p) = step
            .iter()
            .copied()
            .enumerate()
            .fold((0, f32::MIN), |a, (i, p)| if p > a.1 { (i, p) } else { a });
        if best != 0 && best != last {
            if let Some(c) = alphabet.0.get(best) {
                text.push_str(c);
                sum += p;
                n += 1;
            }
        }
        last = best;
    }
    (text, if n == 0 { 0.0 } else { sum / n as f32 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_drops_blanks_and_repeats_but_keeps_a_letter_twice_across_a_blank() {
        let a = Alphabet::from_lines("a\nb\nl");
        // classes: blank, a, b, l, space
        let step = |i: usize| {
            let mut v = [0.01f32; 5];
            v[i] = 0.9;
            v
        };
        // "b a l l" with a blank between the two l's, repeats of a.
        let probs: Vec<f32> = [2, 1, 1, 3, 0, 3, 0, 4, 2]
            .iter()
            .flat_map(|&i| step(i))
            .collect();
        let (text, score) = decode(&probs, 5, &a);
        assert_eq!(text, "ball b");
        assert!((score - 0.9).abs() < 1e-6);
        assert_eq!(a.len(), 5);
    }

    #[test]
    fn a_batch_pads_every_crop_to_the_widest() {
        let narrow = RgbImage::from_pixel(10, HEIGHT, image::Rgb([255, 255, 255]));
        let wide = RgbImage::from_pixel(400, HEIGHT, image::Rgb([0, 0, 0]));
        let (data, shape) = batch(&[&narrow, &wide]);
        assert_eq!(shape, [2, 3, 48, 400]);
        // The narrow crop: white (1.0) then zero padding.
        assert_eq!(data[9], 1.0);
        assert_eq!(data[10], 0.0);
        // The wide crop: black (-1.0) to its end.
        assert_eq!(data[3 * 48 * 400 + 399], -1.0);
    }
}
