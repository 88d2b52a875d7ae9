//! PDF with embedded (subset) fonts: a Latin font and a CJK font, switched per run of
//! text, so Chinese renders and can be extracted; text is laid out with real glyph
//! widths and wrapped; slide images are embedded.

use std::path::{Path, PathBuf};

use printpdf::{
    image_crate, Image, ImageTransform, IndirectFontRef, Mm, PdfDocument, PdfDocumentReference,
    PdfLayerReference,
};

use crate::document::{clock, is_cjk, Block, Document};

/// Fonts tried in order for Latin text and for CJK text.
const LATIN_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "/Library/Fonts/Arial.ttf",
];
const CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttf",
    "C:\\Windows\\Fonts\\simhei.ttf",
    "C:\\Windows\\Fonts\\simfang.ttf",
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf",
    "/Library/Fonts/Arial Unicode.ttf",
];

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("no {what} font was found for the PDF (looked for {looked}); install one (on Debian: {package}) or set VIDEO2DOC_PDF_FONT_DIR")]
    NoFont {
        what: &'static str,
        looked: String,
        package: &'static str,
    },
    #[error("the font {path} could not be used: {reason}")]
    BadFont { path: PathBuf, reason: String },
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

fn find_font(
    list: &[&str],
    env_name: &str,
    what: &'static str,
    package: &'static str,
) -> Result<PathBuf, PdfError> {
    if let Some(dir) = std::env::var_os("VIDEO2DOC_PDF_FONT_DIR") {
        let p = Path::new(&dir).join(env_name);
        if p.is_file() {
            return Ok(p);
        }
    }
    list.iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .ok_or_else(|| PdfError::NoFont {
            what,
            looked: list.join(", "),
            package,
        })
}

struct Face {
    data: Vec<u8>,
    reference: IndirectFontRef,
}

impl Face {
    fn load(doc: &PdfDocumentReference, path: &Path) -> Result<Face, PdfError> {
        let data = std::fs::read(path).map_err(|e| PdfError::BadFont {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        ttf_parser::Face::parse(&data, 0).map_err(|e| PdfError::BadFont {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let reference = doc
            .add_external_font_with_subsetting(data.as_slice(), true)
            .map_err(|e| PdfError::BadFont {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        Ok(Face { data, reference })
    }

    fn face(&self) -> ttf_parser::Face<'_> {
        ttf_parser::Face::parse(&self.data, 0).expect("checked at load")
    }
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 20.0;
const PT_TO_MM: f32 = 0.352_778;

struct Writer<'a> {
    doc: &'a PdfDocumentReference,
    latin: Face,
    cjk: Face,
    layer: PdfLayerReference,
    y: f32,
}

impl Writer<'_> {
    fn new_page(&mut self) {
        let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "content");
        self.layer = self.doc.get_page(page).get_layer(layer);
        self.y = PAGE_H - MARGIN;
    }

    fn uses_latin(&self, c: char) -> bool {
        !is_cjk(c) && self.latin.face().glyph_index(c).is_some()
    }

    /// Width in mm of `s` in the face chosen for it, at `size` pt.
    fn width(&self, s: &str, size: f32) -> f32 {
        s.chars()
            .map(|c| {
                let face = if self.uses_latin(c) {
                    self.latin.face()
                } else {
                    self.cjk.face()
                };
                let adv = face
                    .glyph_index(c)
                    .and_then(|g| face.glyph_hor_advance(g))
                    .unwrap_or(face.units_per_em() / 2) as f32;
                adv / face.units_per_em() as f32 * size * PT_TO_MM
            })
            .sum()
    }

    /// Breaks text into lines that fit the page width: at spaces, or between any two
    /// CJK characters.
    fn wrap(&self, text: &str, size: f32) -> Vec<String> {
        let max = PAGE_W - 2.0 * MARGIN;
        let mut tokens: Vec<String> = Vec::new();
        let mut cur = String::new();
        for c in text.chars() {
            if is_cjk(c) {
                if !cur.is_empty() {
                    tokens.push(std::mem::take(&mut cur));
                }
                tokens.push(c.to_string());
            } else if c == ' ' {
                cur.push(c);
                tokens.push(std::mem::take(&mut cur));
            } else {
                cur.push(c);
            }
        }
        if !cur.is_empty() {
            tokens.push(cur);
        }
        let mut lines = Vec::new();
        let mut line = String::new();
        for t in tokens {
            if !line.is_empty() && self.width(format!("{line}{t}").trim_end(), size) > max {
                lines.push(line.trim_end().to_string());
                line.clear();
            }
            line.push_str(&t);
        }
        if !line.trim().is_empty() {
            lines.push(line.trim_end().to_string());
        }
        lines
    }

    /// One line, switching fonts between Latin and CJK runs.
    fn line(&mut self, text: &str, size: f32) {
        let h = size * PT_TO_MM * 1.45;
        if self.y - h < MARGIN {
            self.new_page();
        }
        self.y -= h;
        let mut x = MARGIN;
        let mut run = String::new();
        let mut run_latin = true;
        let flush = |w: &Self, run: &mut String, latin: bool, x: &mut f32| {
            if run.is_empty() {
                return;
            }
            let font = if latin {
                &w.latin.reference
            } else {
                &w.cjk.reference
            };
            w.layer.use_text(run.as_str(), size, Mm(*x), Mm(w.y), font);
            *x += w.width(run, size);
            run.clear();
        };
        for c in text.chars() {
            let latin = self.uses_latin(c) || c == ' ';
            if latin != run_latin && !run.is_empty() {
                flush(self, &mut run, run_latin, &mut x);
            }
            run_latin = latin;
            run.push(c);
        }
        flush(self, &mut run, run_latin, &mut x);
    }

    fn paragraph(&mut self, text: &str, size: f32) {
        for l in self.wrap(text, size) {
            self.line(&l, size);
        }
        self.y -= size * PT_TO_MM * 0.6;
    }

    fn image(&mut self, path: &Path) {
        let Ok(img) = image_crate::open(path) else {
            return;
        };
        let (w, h) = (img.width() as f32, img.height() as f32);
        let width_mm = (PAGE_W - 2.0 * MARGIN).min(w * 25.4 / 96.0 * 1.5);
        let height_mm = width_mm * h / w;
        if self.y - height_mm < MARGIN {
            self.new_page();
        }
        self.y -= height_mm;
        let dpi = w * 25.4 / width_mm;
        Image::from_dynamic_image(&img).add_to_layer(
            self.layer.clone(),
            ImageTransform {
                translate_x: Some(Mm(MARGIN)),
                translate_y: Some(Mm(self.y)),
                dpi: Some(dpi),
                ..Default::default()
            },
        );
        self.y -= 4.0;
    }
}

/// The document as PDF bytes.
pub fn pdf(doc: &Document) -> Result<Vec<u8>, PdfError> {
    let latin_path = find_font(LATIN_FONTS, "latin.ttf", "Latin", "fonts-dejavu-core")?;
    let cjk_path = find_font(CJK_FONTS, "cjk.ttf", "Chinese", "fonts-droid-fallback")?;
    let (pdf, page, layer) = PdfDocument::new(&doc.title, Mm(PAGE_W), Mm(PAGE_H), "content");
    let latin = Face::load(&pdf, &latin_path)?;
    let cjk = Face::load(&pdf, &cjk_path)?;
    let layer = pdf.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc: &pdf,
        latin,
        cjk,
        layer,
        y: PAGE_H - MARGIN,
    };
    w.paragraph(&doc.title, 20.0);
    let name = doc
        .source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    w.paragraph(
        &format!("{name} · {} · {}", clock(doc.duration_ms), doc.created),
        9.0,
    );
    for (title, blocks) in [
        ("Summary", doc.summary_blocks()),
        ("Chapters", doc.chapter_blocks()),
    ] {
        if blocks.is_empty() {
            continue;
        }
        w.paragraph(title, 15.0);
        for b in blocks {
            match b {
                Block::Note(n) => w.paragraph(&n, 9.0),
                Block::Heading(h) => w.paragraph(&h, 12.5),
                Block::Paragraph(p) => w.paragraph(&p, 11.0),
                Block::Bullets(items) => {
                    for i in items {
                        w.paragraph(&format!("• {i}"), 11.0);
                    }
                }
            }
        }
    }
    for sec in &doc.sections {
        w.paragraph(
            &format!(
                "{} ({}–{})",
                sec.heading(),
                clock(sec.start_ms),
                clock(sec.end_ms)
            ),
            15.0,
        );
        if let Some(img) = &sec.image {
            w.image(img);
        }
        if let Some(t) = &sec.slide_text {
            for line in t.lines().filter(|l| !l.trim().is_empty()) {
                w.paragraph(line.trim(), 10.0);
            }
        }
        for p in doc.paragraphs(sec) {
            match p.speaker {
                Some(who) => w.paragraph(&format!("{who}: {}", p.text), 11.0),
                None => w.paragraph(&p.text, 11.0),
            }
        }
    }
    if !doc.segments.is_empty() {
        w.paragraph("Transcript", 15.0);
        for seg in &doc.segments {
            w.paragraph(
                &format!(
                    "[{}] {}{}",
                    clock(seg.start_ms),
                    doc.speaker_name(seg.speaker)
                        .map(|w| format!("{w}: "))
                        .unwrap_or_default(),
                    seg.text.trim()
                ),
                10.0,
            );
        }
    }
    drop(w);
    pdf.save_to_bytes()
        .map_err(|e| PdfError::Write(e.to_string()))
}
