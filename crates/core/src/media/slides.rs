//! The slide/scene detector: turns a stream of small grayscale frames into the
//! distinct slides of a lecture, each with its time range and the frame to keep.
//!
//! Rules: black frames are dropped; a change that keeps what was on screen (a bullet
//! appearing, a pointer moving) continues the slide, and the slide's frame becomes the
//! latest one, so a slide built up step by step is kept complete; a change that removes
//! what was there starts a new slide; cells that keep changing (a talking head in a
//! corner, a video) are ignored; consecutive slides with nearly the same perceptual hash
//! are merged.

use serde::{Deserialize, Serialize};

/// One sampled frame, 8-bit grayscale, row-major.
#[derive(Debug, Clone)]
pub struct Frame {
    pub t_ms: u64,
    pub width: usize,
    pub height: usize,
    pub gray: Vec<u8>,
}

/// A detected slide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slide {
    pub start_ms: u64,
    pub end_ms: u64,
    /// When the slide shows complete and settled: between the last two sampled frames
    /// of its run that show the same (its only frame when it was seen once).
    pub frame_ms: u64,
    /// 64-bit difference hash of that frame.
    pub hash: u64,
}

const GX: usize = 16;
const GY: usize = 12;

/// Tunables of the detector.
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    /// A cell "changed" when its mean moves by more than this (0-255).
    pub cell_delta: f32,
    /// Changes smaller than this fraction of cells are noise or pointer motion.
    pub min_changed: f32,
    /// A new slide when more than this fraction of the previous slide's inked cells
    /// lost their ink (content replaced rather than added to).
    pub removed_fraction: f32,
    /// Frames darker than this mean are black.
    pub black_mean: f32,
    /// Consecutive slides whose hashes differ in at most this many bits are one slide.
    pub same_hash_bits: u32,
    /// Anything shown for less than this is not a slide.
    pub min_slide_ms: u64,
    /// A frame moved widely when at least this fraction of cells changed since the frame
    /// before; widely moving for `moving_ms` or more is a moving passage (a camera shot,
    /// a clip, scrolling), not a slide change or a transition.
    pub moving_cells: f32,
    pub moving_ms: u64,
    /// A moving passage gives one picture (else its time goes to the slide before).
    pub keep_moving: bool,
}

/// How readily a change of picture makes a slide: presets for kinds of video, chosen
/// in Settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sensitivity {
    /// Slide decks (lectures, talks): only slides shown 2 s or more count; a talking
    /// head in a corner and moving pictures (camera shots, clips) are not slides.
    #[default]
    Slides,
    /// Slides with camera shots, whiteboard or demo clips between them: each moving
    /// passage also gives one picture.
    Mixed,
    /// Screen recordings and demos: anything shown 1 s or more counts (sampled twice a
    /// second).
    Screen,
}

impl Sensitivity {
    /// Frames to sample a second, given the setting's rate: screen recordings are
    /// sampled at least twice a second, so that a state shown for 1 s is seen twice.
    pub fn frames_per_s(self, setting: f32) -> f32 {
        match self {
            Sensitivity::Screen => setting.max(2.0),
            _ => setting,
        }
    }

    /// The detector's tunables for this preset.
    pub fn config(self) -> DetectorConfig {
        let d = DetectorConfig::default();
        match self {
            Sensitivity::Slides => d,
            Sensitivity::Mixed => DetectorConfig {
                keep_moving: true,
                ..d
            },
            Sensitivity::Screen => DetectorConfig {
                min_slide_ms: 1_000,
                ..d
            },
        }
    }
}

impl DetectorConfig {
    /// Whether two pictures' hashes ([`dhash`]) say the same slide.
    pub fn same_picture(&self, a: u64, b: u64) -> bool {
        (a ^ b).count_ones() <= self.same_hash_bits
    }
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            cell_delta: 8.0,
            min_changed: 0.02,
            removed_fraction: 0.3,
            black_mean: 18.0,
            same_hash_bits: 4,
            min_slide_ms: 2_000,
            moving_cells: 0.25,
            moving_ms: 2_000,
            keep_moving: false,
        }
    }
}

#[derive(Clone)]
struct Features {
    cells: [f32; GX * GY],
    mean: f32,
}

fn features(f: &Frame) -> Features {
    let mut sum = [0f64; GX * GY];
    let mut n = [0u32; GX * GY];
    for y in 0..f.height {
        let cy = y * GY / f.height;
        for x in 0..f.width {
            let c = cy * GX + x * GX / f.width;
            sum[c] += f.gray[y * f.width + x] as f64;
            n[c] += 1;
        }
    }
    let mut cells = [0f32; GX * GY];
    for i in 0..GX * GY {
        cells[i] = (sum[i] / n[i].max(1) as f64) as f32;
    }
    let mean = cells.iter().sum::<f32>() / (GX * GY) as f32;
    Features { cells, mean }
}

/// 64-bit difference hash (9x8 box-averaged grid, left-right gradients).
pub fn dhash(f: &Frame) -> u64 {
    let mut g = [[0f64; 9]; 8];
    let mut n = [[0u32; 9]; 8];
    for y in 0..f.height {
        for x in 0..f.width {
            let (gy, gx) = (y * 8 / f.height, x * 9 / f.width);
            g[gy][gx] += f.gray[y * f.width + x] as f64;
            n[gy][gx] += 1;
        }
    }
    let mut h = 0u64;
    for y in 0..8 {
        for x in 0..8 {
            let a = g[y][x] / n[y][x].max(1) as f64;
            let b = g[y][x + 1] / n[y][x + 1].max(1) as f64;
            h = (h << 1) | u64::from(a < b);
        }
    }
    h
}

/// The most common luminance of a frame: its background.
fn background(f: &Frame) -> i32 {
    let mut hist = [0u32; 256];
    for v in &f.gray {
        hist[*v as usize] += 1;
    }
    hist.iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map(|(v, _)| v as i32)
        .unwrap_or(0)
}

/// Mean squared Laplacian response: high for crisp edges (text), low when blurred.
pub fn sharpness(f: &Frame) -> f64 {
    let (w, h) = (f.width, f.height);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let px = |x: usize, y: usize| f.gray[y * w + x] as f64;
    let mut sum = 0.0;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let l = 4.0 * px(x, y) - px(x - 1, y) - px(x + 1, y) - px(x, y - 1) - px(x, y + 1);
            sum += l * l;
        }
    }
    sum / ((w - 2) * (h - 2)) as f64
}

/// For each cell, whether more than 3% of its pixels changed a lot between two
/// consecutive frames.
fn pixel_change(prev: &Frame, cur: &Frame) -> Vec<bool> {
    if (prev.width, prev.height) != (cur.width, cur.height) {
        return vec![true; GX * GY];
    }
    let mut changed = [0u32; GX * GY];
    let mut total = [0u32; GX * GY];
    for y in 0..cur.height {
        let cy = y * GY / cur.height;
        for x in 0..cur.width {
            let i = y * cur.width + x;
            let c = cy * GX + x * GX / cur.width;
            total[c] += 1;
            if (prev.gray[i] as i32 - cur.gray[i] as i32).abs() > 40 {
                changed[c] += 1;
            }
        }
    }
    changed
        .iter()
        .zip(total)
        .map(|(c, t)| *c * 33 > t)
        .collect()
}

/// Of the cells where `reference` has ink (text, drawings), the fraction in which most
/// of that ink is gone in `cur`: what was on screen was replaced, not added to.
/// Cells marked busy are ignored. A different frame size counts as all gone.
fn lost_ink(reference: &Frame, cur: &Frame, busy: &[bool]) -> f32 {
    if (reference.width, reference.height) != (cur.width, cur.height) {
        return 1.0;
    }
    let (bg_r, bg_c) = (background(reference), background(cur));
    let mut ink = [0u32; GX * GY];
    let mut lost = [0u32; GX * GY];
    for y in 0..cur.height {
        let cy = y * GY / cur.height;
        for x in 0..cur.width {
            let i = y * cur.width + x;
            if (reference.gray[i] as i32 - bg_r).abs() > 40 {
                let c = cy * GX + x * GX / cur.width;
                ink[c] += 1;
                if (cur.gray[i] as i32 - bg_c).abs() <= 40 {
                    lost[c] += 1;
                }
            }
        }
    }
    let cell_px = (cur.width * cur.height / (GX * GY)).max(1) as u32;
    let mut inked = 0;
    let mut gone = 0;
    for c in 0..GX * GY {
        if busy[c] || ink[c] * 50 < cell_px {
            continue; // under 2% ink: nothing meaningful drawn here
        }
        inked += 1;
        if lost[c] as f32 > ink[c] as f32 * 0.4 && lost[c] * 50 >= cell_px {
            gone += 1;
        }
    }
    if inked == 0 {
        0.0
    } else {
        gone as f32 / inked as f32
    }
}

/// Streaming detector: `push` frames in time order, then `finish`.
pub struct SlideDetector {
    config: DetectorConfig,
    slides: Vec<Slide>,
    current: Option<(Slide, Features, Frame)>,
    /// Per cell, the last 20 frames: bit set when the cell changed.
    activity: [u32; GX * GY],
    last: Option<Frame>,
    /// The features of `last`, computed when it was pushed.
    last_features: Option<Features>,
    /// Where a dropped too-short slide began: the next slide starts there.
    carry_start: Option<u64>,
    /// The kept frame of the last closed slide, and its hash.
    last_frame: Option<(Frame, u64)>,
    /// Since when frames have moved widely, one after another.
    wide_since: Option<u64>,
    /// The current run is a moving passage.
    moving: bool,
}

impl SlideDetector {
    pub fn new(config: DetectorConfig) -> SlideDetector {
        SlideDetector {
            config,
            slides: Vec::new(),
            current: None,
            activity: [0; GX * GY],
            last: None,
            last_features: None,
            carry_start: None,
            last_frame: None,
            wide_since: None,
            moving: false,
        }
    }

    pub fn push(&mut self, frame: Frame) {
        let f = features(&frame);
        if f.mean < self.config.black_mean {
            return; // black: a fade or a blank projector
        }
        // Cells that kept changing in the frames before this one (a talking head, a
        // video, a blinking cursor) are busy: what happens there does not make slides.
        // Only history counts, so a real slide change (everything at once) is not busy:
        // a cell is busy when it changed in at least 3 of the last 20 frames.
        let busy: Vec<bool> = self.activity.iter().map(|h| h.count_ones() >= 3).collect();
        let moved = self.last.as_ref().map(|prev| pixel_change(prev, &frame));
        // Nothing moved since the frame before (outside busy cells, and no cell's mean
        // drifted, as it does through a slow fade): the screen is settled.
        let settled_since =
            self.last
                .as_ref()
                .zip(self.last_features.as_ref())
                .zip(moved.as_ref())
                .and_then(|((prev, pf), m)| {
                    let still =
                        m.iter().zip(&busy).zip(pf.cells.iter().zip(&f.cells)).all(
                            |((moved, busy), (a, b))| *busy || (!moved && (a - b).abs() < 4.0),
                        );
                    still.then_some(prev.t_ms)
                });
        if let Some(moved) = &moved {
            for (h, m) in self.activity.iter_mut().zip(moved) {
                *h = ((*h << 1) | u32::from(*m)) & 0xF_FFFF;
            }
        }
        if self.moving_passage(&frame, moved.as_deref()) {
            self.last_features = Some(f);
            self.last = Some(frame);
            return;
        }
        let decision = match &self.current {
            None => None,
            Some((_, reference, kept)) => {
                let mut changed = 0usize;
                let mut considered = 0usize;
                for (i, _) in busy.iter().enumerate().filter(|(_, b)| !**b) {
                    considered += 1;
                    if (f.cells[i] - reference.cells[i]).abs() > self.config.cell_delta {
                        changed += 1;
                    }
                }
                let changed = changed as f32 / considered.max(1) as f32;
                let removed = lost_ink(kept, &frame, &busy);
                Some((changed, removed))
            }
        };
        tracing::trace!(t_ms = frame.t_ms, ?decision, "slide decision");
        let seen_frame = frame.clone();
        let seen_features = f.clone();
        match decision {
            None => self.start(frame, f),
            Some((_, removed)) if removed > self.config.removed_fraction => {
                self.close(frame.t_ms, false);
                self.start(frame, f);
            }
            Some((changed, _)) if changed < self.config.min_changed => {
                self.extend(frame.t_ms);
            }
            Some(_) => {
                // Additions: the same slide, now more complete, unless this frame is
                // blurred (a refocus, motion): then the sharp one is kept.
                let t = frame.t_ms;
                if let Some((slide, reference, kept)) = &mut self.current {
                    slide.end_ms = t;
                    if sharpness(&frame) >= sharpness(kept) * 0.5 {
                        slide.frame_ms = t;
                        *kept = frame;
                        *reference = f;
                    }
                }
            }
        }
        // The slide's image is its settled state: the latest pair of sampled frames that
        // show the same, taken between them, so that the frame decoded at that time is
        // half a sample away from any change (a boundary, a transition, a build-up step).
        if let (Some(prev_t), Some((slide, reference, kept))) = (settled_since, &mut self.current) {
            if prev_t >= slide.start_ms && sharpness(&seen_frame) >= sharpness(kept) * 0.5 {
                slide.frame_ms = (prev_t + seen_frame.t_ms) / 2;
                *reference = seen_features.clone();
                *kept = seen_frame.clone();
            }
        }
        self.last = Some(seen_frame);
        self.last_features = Some(seen_features);
    }

    /// Follows moving passages (a camera shot, a clip, scrolling: most of the picture
    /// moving frame after frame): they are one run, not a slide per frame, and the slide
    /// after one starts where the picture came to rest. True when `frame` was taken.
    fn moving_passage(&mut self, frame: &Frame, moved: Option<&[bool]>) -> bool {
        let wide = moved.is_some_and(|m| {
            m.iter().filter(|m| **m).count() as f32 >= self.config.moving_cells * m.len() as f32
        });
        let t = frame.t_ms;
        let since = if wide {
            *self.wide_since.get_or_insert(t)
        } else {
            self.wide_since = None;
            t
        };
        if self.moving {
            if wide {
                self.extend(t);
            } else {
                // At rest since the frame before: that is where the next slide starts.
                let rest = self.last.as_ref().map_or(t, |l| l.t_ms);
                self.close(rest, false);
                self.moving = false;
                // What moved is no talking head: forget it, so the cells count again.
                self.activity = [0; GX * GY];
                self.start(frame.clone(), features(frame));
                if let Some((slide, _, _)) = &mut self.current {
                    slide.start_ms = rest;
                }
            }
            return true;
        }
        if !wide || t.saturating_sub(since) < self.config.moving_ms {
            return false;
        }
        // Moving for long enough: the passage began with the first wide frame. Runs
        // started inside it (each frame looked like a new slide) are part of it.
        self.carry_start = None;
        match &self.current {
            Some((slide, _, _)) if slide.start_ms < since => self.close(since, false),
            _ => self.current = None,
        }
        // (A run kept as a slide before the passage was recognised is part of it too.)
        while self.slides.last().is_some_and(|s| s.start_ms >= since) {
            self.slides.pop();
        }
        if let Some(prev) = self.slides.last_mut() {
            prev.end_ms = prev.end_ms.min(since);
        }
        self.carry_start = None;
        self.start(frame.clone(), features(frame));
        if let Some((slide, _, _)) = &mut self.current {
            slide.start_ms = since;
        }
        self.moving = true;
        true
    }

    fn start(&mut self, frame: Frame, f: Features) {
        let slide = Slide {
            start_ms: self.carry_start.take().unwrap_or(frame.t_ms),
            end_ms: frame.t_ms,
            frame_ms: frame.t_ms,
            hash: 0,
        };
        self.current = Some((slide, f, frame));
    }

    fn extend(&mut self, t: u64) {
        if let Some((slide, _, _)) = &mut self.current {
            slide.end_ms = t;
        }
    }

    fn close(&mut self, t: u64, last: bool) {
        if let Some((mut slide, _, frame)) = self.current.take() {
            slide.end_ms = t;
            if self.moving && !self.config.keep_moving {
                // Not a slide: its time goes to the slide before (or the next one).
                match self.slides.last_mut() {
                    Some(prev) => prev.end_ms = t,
                    None if !last => self.carry_start = Some(slide.start_ms),
                    None => {}
                }
                return;
            }
            // Shown too briefly to be a slide (a transition, a flash): not one. At the
            // end, its time goes to the slide before; a short video keeps its only slide.
            if t.saturating_sub(slide.start_ms) < self.config.min_slide_ms {
                if !last {
                    self.carry_start.get_or_insert(slide.start_ms);
                    return;
                }
                if let Some(prev) = self.slides.last_mut() {
                    prev.end_ms = t;
                    return;
                }
            }
            slide.hash = dhash(&frame);
            // The same slide again right after a blip (a black frame, a menu): one slide.
            // Near-identical hashes alone are not enough (white slides with little text
            // all hash alike), so the content must also match both ways.
            let no_busy = [false; GX * GY];
            let same = self.last_frame.as_ref().is_some_and(|prev| {
                self.config.same_picture(prev.1, slide.hash)
                    && lost_ink(&prev.0, &frame, &no_busy) < 0.1
                    && lost_ink(&frame, &prev.0, &no_busy) < 0.1
            });
            let hash = slide.hash;
            match self.slides.last_mut() {
                Some(prev) if same => {
                    prev.end_ms = slide.end_ms;
                    prev.frame_ms = slide.frame_ms;
                }
                _ => self.slides.push(slide),
            }
            self.last_frame = Some((frame, hash));
        }
    }

    /// The slides closed so far: all but the last are final (the last may still grow,
    /// when the same slide comes back after a blip).
    pub fn found(&self) -> &[Slide] {
        &self.slides
    }

    /// The slide on screen now, once it has lasted long enough to be one (and is not a
    /// moving passage), with the hash of its picture so far: its text can be read before
    /// it closes.
    pub fn open_slide(&self) -> Option<(&Slide, u64)> {
        let (slide, _, kept) = self.current.as_ref()?;
        let long = slide.end_ms.saturating_sub(slide.start_ms) >= self.config.min_slide_ms;
        (long && !self.moving).then(|| (slide, dhash(kept)))
    }

    /// When the run on screen now began (a slide not yet long enough to be one, or a
    /// moving passage), if there is one.
    pub fn open_since(&self) -> Option<u64> {
        self.current.as_ref().map(|(s, _, _)| s.start_ms)
    }

    /// The slides, the last one ending at `end_ms` (the media's duration).
    pub fn finish(mut self, end_ms: u64) -> Vec<Slide> {
        let end = self
            .current
            .as_ref()
            .map(|(s, _, _)| s.end_ms.max(end_ms))
            .unwrap_or(end_ms);
        self.close(end, true);
        self.slides
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canvas(t_ms: u64) -> Frame {
        Frame {
            t_ms,
            width: 160,
            height: 120,
            gray: vec![240; 160 * 120],
        }
    }

    fn rect(f: &mut Frame, x: usize, y: usize, w: usize, h: usize, v: u8) {
        for yy in y..(y + h).min(f.height) {
            for xx in x..(x + w).min(f.width) {
                f.gray[yy * f.width + xx] = v;
            }
        }
    }

    /// Text-like lines: dark bars at row `y`.
    fn line(f: &mut Frame, y: usize, len: usize) {
        rect(f, 10, y, len, 4, 20);
    }

    fn blurred(f: &Frame) -> Frame {
        let mut out = f.clone();
        let (w, h) = (f.width, f.height);
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0u32;
                let mut n = 0u32;
                for dy in -3i32..=3 {
                    for dx in -3i32..=3 {
                        let (xx, yy) = (x as i32 + dx, y as i32 + dy);
                        if xx >= 0 && yy >= 0 && (xx as usize) < w && (yy as usize) < h {
                            sum += f.gray[yy as usize * w + xx as usize] as u32;
                            n += 1;
                        }
                    }
                }
                out.gray[y * w + x] = (sum / n) as u8;
            }
        }
        out
    }

    #[test]
    fn a_blurred_frame_is_not_kept_as_the_slide() {
        let mut d = SlideDetector::new(DetectorConfig::default());
        let mut sharp = canvas(0);
        line(&mut sharp, 20, 120);
        line(&mut sharp, 40, 100);
        for t in 0..4 {
            d.push(Frame {
                t_ms: t * 1000,
                ..sharp.clone()
            });
        }
        // The camera loses focus while a bullet appears.
        let mut more = sharp.clone();
        line(&mut more, 60, 80);
        d.push(Frame {
            t_ms: 4000,
            ..blurred(&more)
        });
        d.push(Frame {
            t_ms: 5000,
            ..blurred(&more)
        });
        let slides = d.finish(6000);
        assert_eq!(slides.len(), 1, "{slides:?}");
        assert!(
            slides[0].frame_ms < 4000,
            "a sharp frame is kept: {:?}",
            slides[0]
        );
        assert!(sharpness(&blurred(&more)) < sharpness(&sharp) * 0.5);
    }

    #[test]
    fn a_short_video_keeps_its_only_slide() {
        let mut d = SlideDetector::new(DetectorConfig::default());
        for t in 0..2 {
            let mut f = canvas(t * 1000);
            line(&mut f, 20, 100);
            d.push(f);
        }
        assert_eq!(d.finish(2000).len(), 1);
    }

    #[test]
    fn build_ups_pointers_and_new_slides() {
        let mut d = SlideDetector::new(DetectorConfig::default());
        let mut t = 0;
        // Slide 1: a title, with a pointer moving across it.
        for i in 0..6 {
            let mut f = canvas(t);
            line(&mut f, 10, 120);
            rect(&mut f, 20 + i * 15, 80, 4, 4, 0);
            d.push(f);
            t += 1000;
        }
        // Slide 2: a heading, then bullets appear one by one.
        for i in 0..9 {
            let mut f = canvas(t);
            line(&mut f, 60, 80);
            for b in 0..(i / 3) {
                line(&mut f, 75 + b * 12, 100);
            }
            d.push(f);
            t += 1000;
        }
        // A black gap, then slide 3.
        d.push(Frame {
            gray: vec![0; 160 * 120],
            ..canvas(t)
        });
        t += 1000;
        for _ in 0..4 {
            let mut f = canvas(t);
            rect(&mut f, 40, 30, 80, 60, 90);
            d.push(f);
            t += 1000;
        }
        let slides = d.finish(t);
        assert_eq!(slides.len(), 3, "{slides:?}");
        // The second slide is kept complete: its frame is from after the last bullet.
        assert!(slides[1].frame_ms >= 12_000, "{:?}", slides[1]);
        assert_eq!(slides[0].start_ms, 0);
        assert_eq!(slides[1].start_ms, 6_000);
        assert_eq!(slides[2].end_ms, t);
    }
}
