//! Text detection: a slide image to the boxes that hold text. The network (PP-OCR's
//! DB detector) gives each pixel a probability of being text; this module prepares its
//! input and turns its probability map into boxes, as PaddleOCR's DB post-processing
//! does (threshold, dilate, connected regions, box score, unclip), with boxes kept
//! axis-aligned: slide and screen text is horizontal.

use image::RgbImage;

/// How finely the detector looks: the image's shorter side is scaled to this many
/// pixels (then both sides to multiples of 32). PP-OCR usually runs at 736.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// 544: slide text is large. The eight generated slides read as well as at 736
    /// (body CER 0.0011 against 0.0022) in half the detection time (207 ms against 445
    /// on one thread).
    Slides,
    /// The image's own short side, between 736 and 1088: the 10 px terminal text of a
    /// 1080p screen recording is lost at 544 (CER 0.69) and read at 736.
    Screen,
}

impl Detail {
    fn short_side(self, image_short_side: u32) -> u32 {
        match self {
            Detail::Slides => 544,
            Detail::Screen => image_short_side.clamp(736, 1088),
        }
    }
}

/// A pixel is text above this probability.
const PIXEL_THRESHOLD: f32 = 0.3;
/// A region is kept when its mean probability is above this.
const BOX_THRESHOLD: f32 = 0.5;
/// How far a region is grown (DB's regions are shrunk text: area * ratio / perimeter).
const UNCLIP_RATIO: f32 = 1.6;
/// Regions smaller than this (in map pixels) are noise.
const MIN_SIDE: f32 = 3.0;

/// A box of text in the image's pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TextBox {
    pub x0: f32,
    pub y0: f32,
    pub x1: f32,
    pub y1: f32,
}

impl TextBox {
    pub fn width(&self) -> f32 {
        self.x1 - self.x0
    }
    pub fn height(&self) -> f32 {
        self.y1 - self.y0
    }
}

/// The detector's input: NCHW, BGR (the channel order PP-OCR was trained with),
/// normalised to -1..1, at a size that is a multiple of 32.
pub fn input(img: &RgbImage, detail: Detail) -> (Vec<f32>, [usize; 4]) {
    let (w, h) = img.dimensions();
    let short = w.min(h).max(1);
    let scale = detail.short_side(short) as f32 / short as f32;
    let to32 = |v: f32| (((v / 32.0).round() as u32) * 32).max(32);
    let (tw, th) = (to32(w as f32 * scale), to32(h as f32 * scale));
    let resized = image::imageops::resize(img, tw, th, image::imageops::FilterType::Triangle);
    (
        planes(&resized, [2, 1, 0]),
        [1, 3, th as usize, tw as usize],
    )
}

/// An image as three planes in the given channel order, each value (v/255 - 0.5)/0.5.
pub(super) fn planes(img: &RgbImage, order: [usize; 3]) -> Vec<f32> {
    let (w, h) = img.dimensions();
    let n = (w * h) as usize;
    let mut out = vec![0f32; 3 * n];
    for (i, p) in img.pixels().enumerate() {
        for (plane, &c) in order.iter().enumerate() {
            out[plane * n + i] = p.0[c] as f32 / 127.5 - 1.0;
        }
    }
    out
}

/// The text boxes of a probability map (`map_w` x `map_h`) scaled to an image of
/// `img_w` x `img_h`, top to bottom.
pub fn boxes(map: &[f32], map_w: usize, map_h: usize, img_w: u32, img_h: u32) -> Vec<TextBox> {
    // Text pixels, dilated by a 2x2 square (as DB's post-processing does: it joins the
    // strokes of one line that the threshold separated).
    let on = |x: usize, y: usize| map[y * map_w + x] > PIXEL_THRESHOLD;
    let mut bitmap = vec![false; map_w * map_h];
    for y in 0..map_h {
        for x in 0..map_w {
            bitmap[y * map_w + x] = on(x, y)
                || (x > 0 && on(x - 1, y))
                || (y > 0 && on(x, y - 1))
                || (x > 0 && y > 0 && on(x - 1, y - 1));
        }
    }
    let (sx, sy) = (img_w as f32 / map_w as f32, img_h as f32 / map_h as f32);
    let mut seen = vec![false; map_w * map_h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..bitmap.len() {
        if !bitmap[start] || seen[start] {
            continue;
        }
        // One 8-connected region: its extent.
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % map_w, i / map_w);
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= map_w as i64 || ny >= map_h as i64 {
                        continue;
                    }
                    let j = ny as usize * map_w + nx as usize;
                    if bitmap[j] && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let (w, h) = ((x1 - x0) as f32, (y1 - y0) as f32);
        if w.min(h) < MIN_SIDE {
            continue;
        }
        // The region's score: its mean probability over its box.
        let mut sum = 0f32;
        for y in y0..=y1 {
            sum += map[y * map_w + x0..=y * map_w + x1].iter().sum::<f32>();
        }
        let score = sum / ((x1 - x0 + 1) * (y1 - y0 + 1)) as f32;
        if score < BOX_THRESHOLD {
            continue;
        }
        // Grown back to the text's size.
        let d = w * h * UNCLIP_RATIO / (2.0 * (w + h));
        let (bx0, by0, bx1, by1) = (x0 as f32 - d, y0 as f32 - d, x1 as f32 + d, y1 as f32 + d);
        if (bx1 - bx0).min(by1 - by0) < MIN_SIDE + 2.0 {
            continue;
        }
        out.push(TextBox {
            x0: (bx0 * sx).clamp(0.0, img_w as f32 - 1.0),
            y0: (by0 * sy).clamp(0.0, img_h as f32 - 1.0),
            x1: (bx1 * sx).clamp(0.0, img_w as f32 - 1.0),
            y1: (by1 * sy).clamp(0.0, img_h as f32 - 1.0),
        });
    }
    out.retain(|b| b.width() > 3.0 && b.height() > 3.0);
    out.sort_by(|a, b| a.y0.total_cmp(&b.y0).then(a.x0.total_cmp(&b.x0)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_becomes_a_box_grown_back_to_its_text() {
        let (w, h) = (40, 20);
        let mut map = vec![0f32; w * h];
        for y in 8..12 {
            for x in 5..35 {
                map[y * w + x] = 0.9;
            }
        }
        // A speck: too small to be text.
        map[2 * w + 2] = 0.9;
        let b = boxes(&map, w, h, 80, 40);
        assert_eq!(b.len(), 1, "{b:?}");
        let b = b[0];
        // 30 x 4 map pixels (dilated to 31 x 5, extent 30 x 4), grown by 30*4*1.6/68 = 2.8.
        assert!((b.x0 - (5.0 - 2.82) * 2.0).abs() < 0.2, "{b:?}");
        assert!((b.y1 - (12.0 + 2.82) * 2.0).abs() < 0.2, "{b:?}");
    }

    #[test]
    fn the_input_is_a_multiple_of_32_at_the_detail_asked() {
        let img = RgbImage::new(1280, 720);
        let (data, shape) = input(&img, Detail::Slides);
        assert_eq!(shape, [1, 3, 544, 960]);
        assert_eq!(data.len(), 3 * 544 * 960);
        assert!(data.iter().all(|&v| v == -1.0));
        assert_eq!(input(&img, Detail::Screen).1, [1, 3, 736, 1312]);
        let big = RgbImage::new(1920, 1080);
        assert_eq!(input(&big, Detail::Slides).1, [1, 3, 544, 960]);
        assert_eq!(input(&big, Detail::Screen).1, [1, 3, 1088, 1920]);
    }
}
