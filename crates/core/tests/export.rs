//! Every exporter's output read back the way its consumers read it: DOCX unzipped and
//! parsed, PDF text extracted with pdftotext (Chinese included), HTML parsed, SRT/VTT
//! timings checked, JSON validated against its schema.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use video2doc_core::document::export::{export, safe_stem, DocFolder, Format};
use video2doc_core::document::{Document, Section, Summary, DOCUMENT_SCHEMA};
use video2doc_core::media::transcribe::Segment;

mod common;

fn seg(a: u64, b: u64, t: &str) -> Segment {
    Segment {
        start_ms: a,
        end_ms: b,
        text: t.into(),
        words: Vec::new(),
        language: None,
        speaker: None,
    }
}

fn slide_png(path: &Path) {
    let img = printpdf::image_crate::RgbImage::from_fn(320, 180, |x, y| {
        if y < 40 {
            printpdf::image_crate::Rgb([30, 60, 160])
        } else if (x / 20 + y / 20) % 2 == 0 {
            printpdf::image_crate::Rgb([240, 240, 240])
        } else {
            printpdf::image_crate::Rgb([200, 210, 220])
        }
    });
    img.save(path).unwrap();
}

fn document(dir: &Path) -> Document {
    let slides = dir.join("slides");
    std::fs::create_dir_all(&slides).unwrap();
    let img = slides.join("slide-001.png");
    slide_png(&img);
    let segments = vec![
        seg(0, 2_500, "Welcome to the lecture on photosynthesis."),
        seg(2_500, 5_000, "光合作用把光能转化为化学能。"),
        seg(5_000, 9_000, "Plants release oxygen <and> water."),
    ];
    Document {
        schema: DOCUMENT_SCHEMA,
        title: "第一课 Photosynthesis".into(),
        source: PathBuf::from("/videos/第一课 讲座 #1.mp4"),
        duration_ms: 9_000,
        language: Some("en".into()),
        created: "2026-11-29T10:00:00Z".into(),
        model: Some("tiny.en".into()),
        summary: Summary {
            points: vec![
                "Plants turn light into energy.".into(),
                "光合作用释放氧气。".into(),
            ],
            method: "built-in".into(),
            note: None,
            ..Summary::default()
        },
        chapters: Vec::new(),
        sections: vec![
            Section {
                index: 1,
                start_ms: 0,
                end_ms: 5_000,
                image: Some(img),
                thumbnail: None,
                title: None,
                slide_text: None,
                text: "Welcome to the lecture on photosynthesis. 光合作用把光能转化为化学能。"
                    .into(),
            },
            Section {
                index: 2,
                start_ms: 5_000,
                end_ms: 9_000,
                image: None,
                thumbnail: None,
                title: None,
                slide_text: None,
                text: "Plants release oxygen <and> water.".into(),
            },
        ],
        segments,
        speakers: Vec::new(),
    }
}

/// The body of a Word document: `word/document.xml` of its zip.
fn docx_xml(path: &Path) -> String {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut xml = String::new();
    zip.by_name("word/document.xml")
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    xml
}

fn exported(dir: &Path) -> std::collections::BTreeMap<Format, PathBuf> {
    let stem = safe_stem("第一课 讲座 #1");
    let source = PathBuf::from("/videos/第一课 讲座 #1.mp4");
    let folder = DocFolder::claim(dir, &stem, &source).unwrap();
    let doc = document(folder.path());
    export(&doc, &folder, &stem, &Format::ALL, &Default::default()).unwrap()
}

#[test]
fn docx_is_a_word_document_with_text_and_image() {
    let dir = tempfile::tempdir().unwrap();
    let out = exported(dir.path());
    let xml = docx_xml(&out[&Format::Docx]);
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let text: String = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "t")
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains("Photosynthesis"));
    assert!(text.contains("光合作用把光能转化为化学能"));
    assert!(text.contains("Plants release oxygen <and> water."));
    assert!(doc.descendants().any(|n| n.tag_name().name() == "drawing"));
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&out[&Format::Docx]).unwrap()).unwrap();
    let media = (0..zip.len())
        .filter(|i| zip.by_index(*i).unwrap().name().starts_with("word/media/"))
        .count();
    assert!(media >= 1, "the slide image is in word/media");
}

#[test]
fn pdf_text_extracts_with_chinese() {
    let dir = tempfile::tempdir().unwrap();
    let out = exported(dir.path());
    let pdf = &out[&Format::Pdf];
    let o = Command::new("pdftotext")
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.contains("光合作用把光能转化为化学能"), "{text}");
    assert!(
        text.contains("Welcome to the lecture on photosynthesis"),
        "{text}"
    );
    assert!(text.contains("第一课"), "{text}");
    let info = Command::new("pdffonts").arg(pdf).output().unwrap();
    let fonts = String::from_utf8_lossy(&info.stdout);
    assert!(
        fonts.lines().skip(2).all(|l| l.contains(" yes ")),
        "fonts embedded: {fonts}"
    );
    let images = Command::new("pdfimages")
        .arg("-list")
        .arg(pdf)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&images.stdout).lines().count() >= 3,
        "an image"
    );
}

#[test]
fn html_is_self_contained() {
    let dir = tempfile::tempdir().unwrap();
    let out = exported(dir.path());
    let html = std::fs::read_to_string(&out[&Format::Html]).unwrap();
    let dom = tl::parse(&html, tl::ParserOptions::default()).unwrap();
    let parser = dom.parser();
    let title = dom.query_selector("title").unwrap().next().unwrap();
    assert_eq!(
        title.get(parser).unwrap().inner_text(parser),
        "第一课 Photosynthesis"
    );
    let imgs: Vec<_> = dom.query_selector("img").unwrap().collect();
    assert_eq!(imgs.len(), 1);
    let src = imgs[0]
        .get(parser)
        .unwrap()
        .as_tag()
        .unwrap()
        .attributes()
        .get("src")
        .flatten()
        .unwrap();
    assert!(src.as_utf8_str().starts_with("data:image/png;base64,"));
    assert!(html.contains("Plants release oxygen &lt;and&gt; water."));
    assert!(html.contains("0:05"), "timestamps visible");
    assert_eq!(dom.query_selector("section").unwrap().count(), 4);
}

fn parse_stamp(s: &str) -> u64 {
    let s = s.replace(',', ".");
    let (hms, ms) = s.split_once('.').unwrap();
    let p: Vec<u64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
    assert_eq!(p.len(), 3, "{s}");
    assert_eq!(ms.len(), 3, "{s}");
    ((p[0] * 60 + p[1]) * 60 + p[2]) * 1000 + ms.parse::<u64>().unwrap()
}

fn check_cues(text: &str, vtt: bool) -> usize {
    let mut last_end = 0;
    let mut n = 0;
    for line in text.lines().filter(|l| l.contains(" --> ")) {
        let (a, b) = line.split_once(" --> ").unwrap();
        if vtt {
            assert!(a.contains('.') && !a.contains(','), "{line}");
        } else {
            assert!(a.contains(','), "{line}");
        }
        let (a, b) = (parse_stamp(a), parse_stamp(b));
        assert!(a < b, "{line}");
        assert!(a >= last_end, "cues overlap: {line}");
        last_end = b;
        n += 1;
    }
    n
}

#[test]
fn subtitles_have_valid_timing() {
    let dir = tempfile::tempdir().unwrap();
    let out = exported(dir.path());
    let srt = std::fs::read_to_string(&out[&Format::Srt]).unwrap();
    assert_eq!(check_cues(&srt, false), 3);
    assert!(srt.starts_with("1\n00:00:00,000 --> 00:00:02,500\n"));
    let vtt = std::fs::read_to_string(&out[&Format::Vtt]).unwrap();
    assert!(vtt.starts_with("WEBVTT\n\n"));
    assert_eq!(check_cues(&vtt, true), 3);
}

#[test]
fn json_matches_its_schema_and_markdown_links_the_slides() {
    let dir = tempfile::tempdir().unwrap();
    let out = exported(dir.path());
    let value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&out[&Format::Json]).unwrap()).unwrap();
    let validator = common::document_validator();
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut broken = value.clone();
    broken["segments"][0]["start_ms"] = serde_json::json!("soon");
    assert!(
        !validator.is_valid(&broken),
        "the schema rejects a bad document"
    );

    let md = std::fs::read_to_string(&out[&Format::Md]).unwrap();
    assert!(md.contains("![Slide 1](<slides/slide-001.png>)"), "{md}");
    assert!(md.contains("## Summary"));
    let name = out[&Format::Md]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(name, "第一课 讲座 _1.md");
    let txt = std::fs::read_to_string(&out[&Format::Txt]).unwrap();
    assert!(txt.contains("[0:02] 光合作用把光能转化为化学能。"));
}

#[test]
fn hostile_names_and_text_stay_text_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let name = "a`<img src=x onerror=alert(1)>`\u{b}\u{1b}[31m $(id)";
    let source = PathBuf::from(format!("/videos/{name}.mp4"));
    let folder = DocFolder::claim(dir.path(), &safe_stem(name), &source).unwrap();
    let mut doc = document(folder.path());
    doc.title = name.into();
    doc.source = source;
    doc.language = Some("en<script>".into());
    doc.segments = vec![
        seg(0, 2_000, "if x < y & AT&T --> <b>bold</b>"),
        seg(2_000, 4_000, "two\n\nparagraphs\u{c}"),
    ];
    let out = export(
        &doc,
        &folder,
        &safe_stem(name),
        &Format::ALL,
        &Default::default(),
    )
    .unwrap();

    let md = std::fs::read_to_string(&out[&Format::Md]).unwrap();
    for line in md.lines().filter(|l| l.contains('<')) {
        let unescaped = line
            .match_indices('<')
            .any(|(i, _)| !line[..i].ends_with('\\') && !line[i..].starts_with("<slides/"));
        assert!(!unescaped, "a raw < in Markdown: {line}");
    }
    assert!(!md.contains('\u{1b}') && !md.contains('\u{b}'), "{md:?}");
    assert!(md.contains("- Source: a\\`\\<img"), "{md}");

    let vtt = std::fs::read_to_string(&out[&Format::Vtt]).unwrap();
    assert!(vtt.contains("x &lt; y &amp; AT&amp;T →"), "{vtt}");
    assert!(vtt.contains("&lt;b&gt;bold&lt;/b&gt;"), "{vtt}");
    assert!(!vtt.contains('<'), "{vtt}");
    let srt = std::fs::read_to_string(&out[&Format::Srt]).unwrap();
    for subs in [&vtt, &srt] {
        // Cues are separated by one blank line: none inside a cue.
        for cue in subs.split("\n\n").filter(|c| c.contains(" --> ")) {
            assert!(cue.lines().all(|l| !l.trim().is_empty()), "{cue:?}");
        }
    }

    let xml = docx_xml(&out[&Format::Docx]);
    roxmltree::Document::parse(&xml).expect("the Word document is valid XML");
    assert!(xml.contains("onerror=alert(1)"), "the name is kept as text");

    let html = std::fs::read_to_string(&out[&Format::Html]).unwrap();
    assert!(!html.contains("<img src=x"), "raw markup in HTML");
    assert!(!html.contains("<script>"), "raw markup in HTML");
}
