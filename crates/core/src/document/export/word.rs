//! DOCX: a real Word document (headings, images, timed transcript) through docx-rs.

use std::path::Path;

use docx_rs::{Docx, Paragraph, Pic, Run, RunFonts, Style, StyleType};

use crate::document::{clock, Block, Document};

/// EMU per pixel at 96 dpi.
const EMU_PER_PX: u32 = 9525;
/// The widest an image may be on an A4/Letter page with default margins: 6 inches.
const MAX_WIDTH_PX: u32 = 576;

/// `s` without the characters XML 1.0 cannot hold (C0 controls but tab and line
/// breaks, U+FFFE, U+FFFF): Word calls a file with one of them damaged.
fn xml_text(s: &str) -> String {
    s.chars()
        .filter(|c| {
            !matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
        })
        .collect()
}

fn para(text: &str) -> Paragraph {
    Paragraph::new().add_run(Run::new().add_text(xml_text(text)))
}

fn heading(text: &str, level: u8) -> Paragraph {
    Paragraph::new()
        .add_run(Run::new().add_text(xml_text(text)))
        .style(&format!("Heading{level}"))
}

fn picture(path: &Path) -> Option<Pic> {
    let bytes = std::fs::read(path).ok()?;
    let (w, h) = printpdf::image_crate::image_dimensions(path).ok()?;
    let scale = (MAX_WIDTH_PX as f64 / w as f64).min(1.0);
    let (w, h) = ((w as f64 * scale) as u32, (h as f64 * scale) as u32);
    Some(Pic::new(&bytes).size(w * EMU_PER_PX, h * EMU_PER_PX))
}

/// The document as DOCX bytes.
pub fn docx(doc: &Document) -> Result<Vec<u8>, String> {
    let fonts = RunFonts::new()
        .ascii("Calibri")
        .east_asia("Microsoft YaHei");
    let mut d = Docx::new()
        .add_style(
            Style::new("Heading1", StyleType::Paragraph)
                .name("Heading 1")
                .size(36)
                .bold(),
        )
        .add_style(
            Style::new("Heading2", StyleType::Paragraph)
                .name("Heading 2")
                .size(28)
                .bold(),
        )
        .add_paragraph(heading(&doc.title, 1));
    let name = doc
        .source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    d = d.add_paragraph(para(&format!(
        "Source: {name} · Duration: {} · Created: {}",
        clock(doc.duration_ms),
        doc.created
    )));
    for (title, blocks) in [
        ("Summary", doc.summary_blocks()),
        ("Chapters", doc.chapter_blocks()),
    ] {
        if blocks.is_empty() {
            continue;
        }
        d = d.add_paragraph(heading(title, 2));
        for b in blocks {
            d = match b {
                Block::Note(n) => d.add_paragraph(
                    Paragraph::new().add_run(Run::new().add_text(xml_text(&n)).italic()),
                ),
                Block::Heading(h) => d.add_paragraph(heading(&h, 3)),
                Block::Paragraph(p) => d.add_paragraph(para(&p)),
                Block::Bullets(items) => items
                    .iter()
                    .fold(d, |d, i| d.add_paragraph(para(&format!("• {i}")))),
            };
        }
    }
    for sec in &doc.sections {
        d = d.add_paragraph(heading(
            &format!(
                "{} ({}–{})",
                sec.heading(),
                clock(sec.start_ms),
                clock(sec.end_ms)
            ),
            2,
        ));
        if let Some(pic) = sec.image.as_deref().and_then(picture) {
            d = d.add_paragraph(Paragraph::new().add_run(Run::new().add_image(pic)));
        }
        // What the slide says, in grey italics: the slide's words, not the speaker's.
        if let Some(t) = &sec.slide_text {
            for line in t.lines().filter(|l| !l.trim().is_empty()) {
                d = d.add_paragraph(
                    Paragraph::new().add_run(
                        Run::new()
                            .add_text(xml_text(line.trim()))
                            .italic()
                            .color("666666")
                            .fonts(fonts.clone()),
                    ),
                );
            }
        }
        for p in doc.paragraphs(sec) {
            let mut para = Paragraph::new();
            if let Some(who) = p.speaker {
                para = para.add_run(
                    Run::new()
                        .add_text(xml_text(&format!("{who}: ")))
                        .bold()
                        .fonts(fonts.clone()),
                );
            }
            d = d.add_paragraph(
                para.add_run(Run::new().add_text(xml_text(&p.text)).fonts(fonts.clone())),
            );
        }
    }
    if !doc.segments.is_empty() {
        d = d.add_paragraph(heading("Transcript", 2));
        for seg in &doc.segments {
            d = d.add_paragraph(
                Paragraph::new()
                    .add_run(
                        Run::new()
                            .add_text(format!("[{}] ", clock(seg.start_ms)))
                            .color("808080"),
                    )
                    .add_run(
                        Run::new()
                            .add_text(xml_text(
                                &doc.speaker_name(seg.speaker)
                                    .map(|w| format!("{w}: "))
                                    .unwrap_or_default(),
                            ))
                            .bold()
                            .fonts(fonts.clone()),
                    )
                    .add_run(
                        Run::new()
                            .add_text(xml_text(seg.text.trim()))
                            .fonts(fonts.clone()),
                    ),
            );
        }
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    d.build().pack(&mut buf).map_err(|e| e.to_string())?;
    Ok(buf.into_inner())
}
