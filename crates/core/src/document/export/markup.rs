//! Markdown (with a slides/ folder beside it), self-contained HTML (images embedded)
//! and plain text renderings of a [`Document`].

use std::path::Path;

use base64::Engine;

use crate::document::{clock, Block, Document};

/// The path of `p` relative to `base`, with forward slashes (for links).
fn link(p: &Path, base: &Path) -> String {
    let rel = p.strip_prefix(base).unwrap_or(p);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// `s` as literal Markdown text on one line: markup characters escaped (a backtick or
/// `<` in a file name cannot open a code span or raw HTML), controls and line breaks
/// turned into spaces.
fn md_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push(' ');
            continue;
        }
        if matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn markdown(doc: &Document, out_dir: &Path) -> String {
    let mut s = format!("# {}\n\n", md_escape(&doc.title));
    s.push_str(&format!(
        "- Source: {}\n- Duration: {}\n",
        md_escape(
            &doc.source
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ),
        clock(doc.duration_ms)
    ));
    if let Some(l) = &doc.language {
        s.push_str(&format!("- Language: {}\n", md_escape(l)));
    }
    if let Some(m) = &doc.model {
        s.push_str(&format!("- Transcribed with: {}\n", md_escape(m)));
    }
    s.push_str(&format!("- Created: {}\n\n", doc.created));
    for (title, blocks) in [
        ("Summary", doc.summary_blocks()),
        ("Chapters", doc.chapter_blocks()),
    ] {
        if blocks.is_empty() {
            continue;
        }
        s.push_str(&format!("## {title}\n\n"));
        for b in blocks {
            match b {
                Block::Note(n) => s.push_str(&format!("> {}\n\n", md_escape(&n))),
                Block::Heading(h) => s.push_str(&format!("### {}\n\n", md_escape(&h))),
                Block::Paragraph(p) => s.push_str(&format!("{}\n\n", md_escape(&p))),
                Block::Bullets(items) => {
                    for i in items {
                        s.push_str(&format!("- {}\n", md_escape(&i)));
                    }
                    s.push('\n');
                }
            }
        }
    }
    for sec in &doc.sections {
        s.push_str(&format!(
            "## {} ({}–{})\n\n",
            md_escape(&sec.heading()),
            clock(sec.start_ms),
            clock(sec.end_ms)
        ));
        if let Some(img) = &sec.image {
            s.push_str(&format!(
                "![Slide {}](<{}>)\n\n",
                sec.index,
                link(img, out_dir)
            ));
        }
        // What the slide says, quoted: it is the slide's, not the speaker's.
        if let Some(t) = &sec.slide_text {
            for line in t.lines().filter(|l| !l.trim().is_empty()) {
                s.push_str(&format!("> {}  \n", md_escape(line.trim())));
            }
            s.push('\n');
        }
        for p in doc.paragraphs(sec) {
            match p.speaker {
                Some(who) => s.push_str(&format!(
                    "**{}:** {}\n\n",
                    md_escape(who),
                    md_escape(&p.text)
                )),
                None => s.push_str(&format!("{}\n\n", md_escape(&p.text))),
            }
        }
    }
    if !doc.segments.is_empty() {
        s.push_str("## Transcript\n\n");
        for seg in &doc.segments {
            let who = doc
                .speaker_name(seg.speaker)
                .map(|w| format!("{}: ", md_escape(w)))
                .unwrap_or_default();
            s.push_str(&format!(
                "**[{}]** {who}{}  \n",
                clock(seg.start_ms),
                md_escape(seg.text.trim())
            ));
        }
    }
    s
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn data_uri(p: &Path) -> Option<String> {
    let bytes = std::fs::read(p).ok()?;
    let mime = match p.extension().and_then(|e| e.to_str()) {
        Some("png") => "image/png",
        _ => "image/jpeg",
    };
    Some(format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    ))
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI','Noto Sans','PingFang SC','Microsoft YaHei',sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;line-height:1.6;color:#1d1d1f;background:#fff}\
@media (prefers-color-scheme:dark){body{color:#e8e8ea;background:#17181b}a{color:#8ab4ff}}\
img{max-width:100%;height:auto;border:1px solid #8884;border-radius:6px}\
.time{font-variant-numeric:tabular-nums;color:#888;font-size:.85em;margin-right:.5em}\
section{margin:2rem 0}dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}\
.note{border-left:3px solid #c90;padding-left:.8rem}\
.slide-text{margin:.8rem 0;padding:.4rem .9rem;border-left:3px solid #8888;color:#555;font-size:.92em}\
@media (prefers-color-scheme:dark){.slide-text{color:#aaa}}";

pub fn html(doc: &Document) -> String {
    let lang = doc.language.as_deref().unwrap_or("en");
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{}</h1>\n<dl class=\"meta\">",
        esc(lang),
        esc(&doc.title),
        esc(&doc.title)
    );
    let name = doc
        .source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    s.push_str(&format!(
        "<dt>Source</dt><dd>{}</dd><dt>Duration</dt><dd>{}</dd>",
        esc(&name),
        clock(doc.duration_ms)
    ));
    if let Some(l) = &doc.language {
        s.push_str(&format!("<dt>Language</dt><dd>{}</dd>", esc(l)));
    }
    s.push_str(&format!(
        "<dt>Created</dt><dd>{}</dd></dl>\n",
        esc(&doc.created)
    ));
    for (id, title, blocks) in [
        ("summary", "Summary", doc.summary_blocks()),
        ("chapters", "Chapters", doc.chapter_blocks()),
    ] {
        if blocks.is_empty() {
            continue;
        }
        s.push_str(&format!("<section id=\"{id}\"><h2>{title}</h2>\n"));
        for b in blocks {
            match b {
                Block::Note(n) => s.push_str(&format!("<p class=\"note\">{}</p>\n", esc(&n))),
                Block::Heading(h) => s.push_str(&format!("<h3>{}</h3>\n", esc(&h))),
                Block::Paragraph(p) => s.push_str(&format!("<p>{}</p>\n", esc(&p))),
                Block::Bullets(items) => {
                    s.push_str("<ul>\n");
                    for i in items {
                        s.push_str(&format!("<li>{}</li>\n", esc(&i)));
                    }
                    s.push_str("</ul>\n");
                }
            }
        }
        s.push_str("</section>\n");
    }
    for sec in &doc.sections {
        s.push_str(&format!(
            "<section id=\"s{}\"><h2><span class=\"time\">{}–{}</span>{}</h2>\n",
            sec.index,
            clock(sec.start_ms),
            clock(sec.end_ms),
            esc(&sec.heading())
        ));
        if let Some(uri) = sec.image.as_deref().and_then(data_uri) {
            s.push_str(&format!(
                "<img src=\"{uri}\" alt=\"{}\">\n",
                esc(&sec.heading())
            ));
        }
        if let Some(t) = &sec.slide_text {
            let lines: Vec<String> = t
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| esc(l.trim()))
                .collect();
            s.push_str(&format!(
                "<blockquote class=\"slide-text\">{}</blockquote>\n",
                lines.join("<br>")
            ));
        }
        for p in doc.paragraphs(sec) {
            match p.speaker {
                Some(who) => s.push_str(&format!(
                    "<p><b class=\"speaker\">{}:</b> {}</p>\n",
                    esc(who),
                    esc(&p.text)
                )),
                None => s.push_str(&format!("<p>{}</p>\n", esc(&p.text))),
            }
        }
        s.push_str("</section>\n");
    }
    if !doc.segments.is_empty() {
        s.push_str("<section id=\"transcript\"><h2>Transcript</h2>\n");
        for seg in &doc.segments {
            let who = doc
                .speaker_name(seg.speaker)
                .map(|w| format!("<b class=\"speaker\">{}:</b> ", esc(w)))
                .unwrap_or_default();
            s.push_str(&format!(
                "<p><span class=\"time\">{}</span>{who}{}</p>\n",
                clock(seg.start_ms),
                esc(seg.text.trim())
            ));
        }
        s.push_str("</section>\n");
    }
    s.push_str("</body>\n</html>\n");
    s
}

pub fn text(doc: &Document) -> String {
    let mut s = format!("{}\n\n", doc.title);
    for blocks in [doc.summary_blocks(), doc.chapter_blocks()] {
        for b in &blocks {
            match b {
                Block::Note(_) => {}
                Block::Heading(h) => s.push_str(&format!("{h}\n")),
                Block::Paragraph(p) => s.push_str(&format!("{p}\n")),
                Block::Bullets(items) => {
                    for i in items {
                        s.push_str(&format!("* {i}\n"));
                    }
                }
            }
        }
        if !blocks.is_empty() {
            s.push('\n');
        }
    }
    for seg in &doc.segments {
        let who = doc
            .speaker_name(seg.speaker)
            .map(|w| format!("{w}: "))
            .unwrap_or_default();
        s.push_str(&format!(
            "[{}] {who}{}\n",
            clock(seg.start_ms),
            seg.text.trim()
        ));
    }
    s
}
