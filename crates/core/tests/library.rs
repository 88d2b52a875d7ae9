//! The library as a person uses it: documents found by what was said, shown or named,
//! in English and Chinese, at the moment they were said; a document deleted is gone from
//! the results; a lost index is made again from the documents; a JSON edited by hand is
//! found by its new words; the editor's edits survive a crash, are kept as versions and
//! reach every format when exported again; a JSON document renders headless, and a
//! broken one is refused naming the field.

use std::path::{Path, PathBuf};

use video2doc_core::document::edit::Edit;
use video2doc_core::document::export::{export, DocFolder, Format};
use video2doc_core::document::{Document, Section, Speaker, Summary, DOCUMENT_SCHEMA};
use video2doc_core::library::{Library, LibraryError, Passage};
use video2doc_core::media::transcribe::{Segment, Word};

mod common;

fn seg(start_ms: u64, end_ms: u64, text: &str, speaker: Option<u32>) -> Segment {
    // Words with times, as the transcriber gives them.
    let parts: Vec<&str> = text.split(' ').collect();
    let step = (end_ms - start_ms) / parts.len() as u64;
    let words = parts
        .iter()
        .enumerate()
        .map(|(i, w)| Word {
            start_ms: start_ms + i as u64 * step,
            end_ms: start_ms + (i as u64 + 1) * step,
            text: format!(" {w}"),
            p: 0.9,
            at_ms: None,
        })
        .collect();
    Segment {
        start_ms,
        end_ms,
        text: text.into(),
        words,
        language: None,
        speaker,
    }
}

fn slide(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    image::RgbImage::from_fn(320, 180, |x, _| image::Rgb([(x % 255) as u8, 90, 160]))
        .save(&path)
        .unwrap();
    path
}

fn section(
    index: usize,
    start_ms: u64,
    end_ms: u64,
    image: Option<PathBuf>,
    title: Option<&str>,
    text: Option<&str>,
) -> Section {
    Section {
        index,
        start_ms,
        end_ms,
        thumbnail: image.clone(),
        image,
        title: title.map(str::to_string),
        slide_text: text.map(str::to_string),
        text: String::new(),
    }
}

fn document(
    title: &str,
    source: &str,
    sections: Vec<Section>,
    segments: Vec<Segment>,
    speakers: Vec<Speaker>,
) -> Document {
    let duration_ms = segments.last().map_or(0, |s| s.end_ms + 1000);
    let mut d = Document {
        schema: DOCUMENT_SCHEMA,
        title: title.into(),
        source: source.into(),
        duration_ms,
        language: Some("en".into()),
        created: "2026-12-01T10:00:00Z".into(),
        model: Some("tiny.en".into()),
        summary: Summary {
            points: vec![format!("A summary of {title}.")],
            method: "built-in".into(),
            note: None,
            ..Summary::default()
        },
        chapters: Vec::new(),
        sections,
        segments,
        speakers,
    };
    d.refresh_sections();
    d
}

/// Three documents made into `out`, the way the export stage writes them, and the library
/// told of each: an English lecture with slides, a Chinese lecture, a meeting of two.
fn made(out: &Path, library: &Library) -> Vec<(String, PathBuf)> {
    let pictures = out.join("pictures");
    std::fs::create_dir_all(&pictures).unwrap();
    let lecture = document(
        "Optimisation lecture",
        "/videos/optimisation.mp4",
        vec![
            section(
                1,
                0,
                20_000,
                Some(slide(&pictures, "slide-001.jpg")),
                Some("Introduction"),
                None,
            ),
            section(
                2,
                20_000,
                60_000,
                Some(slide(&pictures, "slide-002.jpg")),
                Some("Gradient Descent"),
                Some("Convergence needs a small step size"),
            ),
        ],
        vec![
            seg(
                1_000,
                6_000,
                "Welcome to the lecture on optimisation.",
                None,
            ),
            seg(
                8_000,
                14_000,
                "The quick brown fox jumps over the lazy dog.",
                None,
            ),
            seg(
                22_000,
                30_000,
                "Photosynthesis is not our topic today.",
                None,
            ),
            seg(
                31_000,
                40_000,
                "The dog is lazy but the descent is steep.",
                None,
            ),
        ],
        Vec::new(),
    );
    let mut chinese = document(
        "机器学习导论",
        "/videos/机器学习.mp4",
        Vec::new(),
        vec![
            seg(0, 5_000, "今天我们讨论机器学习和神经网络。", None),
            seg(5_000, 9_000, "北京的天气很好。", None),
            seg(9_000, 14_000, "人工智能正在改变世界。", None),
        ],
        Vec::new(),
    );
    chinese.language = Some("zh".into());
    chinese.sections = Document::sections_from(&[], &chinese.segments, chinese.duration_ms);
    let meeting = document(
        "Monday meeting",
        "/videos/monday.mp4",
        Vec::new(),
        vec![
            seg(0, 4_000, "Let us review the budget first.", Some(1)),
            seg(
                4_000,
                9_000,
                "The budget is fine and the launch is on Friday.",
                Some(2),
            ),
            seg(9_000, 12_000, "Then we launch.", Some(1)),
        ],
        vec![
            Speaker {
                id: 1,
                name: "Anna".into(),
                speech_ms: 7_000,
            },
            Speaker {
                id: 2,
                name: "Li Wei".into(),
                speech_ms: 5_000,
            },
        ],
    );
    let mut ids = Vec::new();
    for (stem, mut doc) in [
        ("optimisation", lecture),
        ("机器学习", chinese),
        ("monday", meeting),
    ] {
        let folder = DocFolder::claim(out, stem, &doc.source).unwrap();
        if doc.sections.iter().any(|s| s.image.is_some()) {
            let slides = folder.subfolder("slides").unwrap();
            for s in &mut doc.sections {
                let placed = slides
                    .copy_in(
                        s.image.as_ref().unwrap(),
                        s.image
                            .as_ref()
                            .unwrap()
                            .file_name()
                            .unwrap()
                            .to_str()
                            .unwrap(),
                    )
                    .unwrap();
                s.image = Some(placed.clone());
                s.thumbnail = Some(placed);
            }
        }
        export(&doc, &folder, stem, &Format::ALL, &Default::default()).unwrap();
        let e = library
            .record(&doc, folder.path(), stem, &Format::ALL)
            .unwrap();
        ids.push((e.id, e.json));
    }
    ids
}

#[test]
fn search_finds_words_phrases_chinese_slides_and_speakers_at_their_moment() {
    let dir = tempfile::tempdir().unwrap();
    let library = Library::new(&dir.path().join("library"));
    let ids = made(&dir.path().join("out"), &library);

    // A word said: the segment, its time, the slide shown, the word marked.
    let hits = library.search("photosynthesis", 10).unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    let h = &hits[0];
    assert_eq!(
        (h.id.as_str(), h.passage, h.start_ms, h.end_ms, h.slide),
        (ids[0].0.as_str(), Passage::Speech, 22_000, 30_000, Some(2))
    );
    assert_eq!(h.title, "Optimisation lecture");
    assert_eq!(h.document, ids[0].1);
    let marked: Vec<String> = h
        .marks
        .iter()
        .map(|[a, b]| h.snippet.chars().skip(*a).take(b - a).collect())
        .collect();
    assert_eq!(marked, ["Photosynthesis"]);

    // A phrase matches only where its words stand together.
    let hits = library.search("\"lazy dog\"", 10).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.start_ms).collect::<Vec<_>>(),
        [8_000],
        "{hits:#?}"
    );
    // Without quotes every word must occur, anywhere in the passage.
    let mut both: Vec<u64> = library
        .search("lazy dog", 10)
        .unwrap()
        .iter()
        .map(|h| h.start_ms)
        .collect();
    both.sort();
    assert_eq!(both, [8_000, 31_000]);

    // Slide text: the slide's time and number.
    let hits = library.search("convergence", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(
        (hits[0].passage, hits[0].slide, hits[0].start_ms),
        (Passage::Slide, Some(2), 20_000)
    );
    assert!(
        hits[0].snippet.contains("Gradient Descent"),
        "{:?}",
        hits[0].snippet
    );

    // Chinese: a word inside a sentence, as a phrase of its characters.
    let hits = library.search("机器学习", 10).unwrap();
    let speech: Vec<_> = hits
        .iter()
        .filter(|h| h.passage == Passage::Speech)
        .collect();
    assert_eq!(speech.len(), 1, "{hits:#?}");
    assert_eq!(
        (speech[0].id.as_str(), speech[0].start_ms),
        (ids[1].0.as_str(), 0)
    );
    let marked: String = speech[0]
        .marks
        .iter()
        .map(|[a, b]| {
            speech[0]
                .snippet
                .chars()
                .skip(*a)
                .take(b - a)
                .collect::<String>()
        })
        .collect();
    assert_eq!(marked, "机器学习");
    // The title matches too, as its own passage.
    assert!(hits
        .iter()
        .any(|h| h.passage == Passage::Title && h.id == ids[1].0));
    let hits = library.search("天气", 10).unwrap();
    assert_eq!(hits.iter().map(|h| h.start_ms).collect::<Vec<_>>(), [5_000]);
    // The same characters apart are not the word.
    assert!(library.search("学机", 10).unwrap().is_empty());

    // A speaker named with what they said; the speaker is given with the hit.
    let hits = library.search("li wei budget", 10).unwrap();
    assert_eq!(hits.len(), 1, "{hits:#?}");
    assert_eq!(
        (hits[0].start_ms, hits[0].speaker.as_deref()),
        (4_000, Some("Li Wei"))
    );
    // The summary.
    let hits = library.search("summary monday", 10).unwrap();
    assert_eq!(
        hits.iter().map(|h| h.passage).collect::<Vec<_>>(),
        [Passage::Summary]
    );
    assert!(library.search("nothing-like-this", 10).unwrap().is_empty());
    assert!(library.search("   ", 10).unwrap().is_empty());
}

#[test]
fn a_deleted_document_is_gone_and_a_lost_index_is_made_again() {
    let dir = tempfile::tempdir().unwrap();
    let lib_dir = dir.path().join("library");
    let library = Library::new(&lib_dir);
    let out = dir.path().join("out");
    let ids = made(&out, &library);

    // A file of the user's in a document folder stays, and so does its folder.
    std::fs::write(out.join("monday").join("my notes.txt"), "mine").unwrap();
    library.delete(&ids[2].0, true).unwrap();
    assert!(library.search("budget", 10).unwrap().is_empty());
    assert!(!out.join("monday/monday.pdf").exists() && !out.join("monday/monday.json").exists());
    assert_eq!(
        std::fs::read_to_string(out.join("monday/my notes.txt")).unwrap(),
        "mine"
    );
    // A folder with nothing else goes whole, slides and all.
    library.delete(&ids[0].0, true).unwrap();
    assert!(!out.join("optimisation").exists());
    assert_eq!(library.list().unwrap().len(), 1);
    assert!(matches!(
        library.delete(&ids[0].0, true),
        Err(LibraryError::NoDocument { .. })
    ));

    // The index lost: made again from the documents by the next process.
    drop(library);
    for e in std::fs::read_dir(&lib_dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("index-") {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    let library = Library::new(&lib_dir);
    let hits = library.search("神经网络", 10).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].id, ids[1].0);
    assert!(library.index_size().unwrap() > 0);

    // A document removed outside the app is not found, and is listed as missing.
    std::fs::remove_file(&ids[1].1).unwrap();
    library.sync().unwrap();
    assert!(library.search("神经网络", 10).unwrap().is_empty());
    assert!(library.list().unwrap()[0].missing);
}

#[test]
fn a_json_edited_by_hand_is_found_by_its_new_words() {
    let dir = tempfile::tempdir().unwrap();
    let library = Library::new(&dir.path().join("library"));
    let ids = made(&dir.path().join("out"), &library);
    let json = &ids[0].1;
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    doc["segments"][1]["text"] = "The quick brown vixen jumps over the lazy dog.".into();
    std::fs::write(json, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let synced = library.sync().unwrap();
    assert_eq!(synced.indexed, 1);
    assert_eq!(library.search("vixen", 10).unwrap().len(), 1);
    assert!(library.search("fox", 10).unwrap().is_empty());
}

#[test]
fn edits_survive_a_crash_are_versioned_and_reach_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let lib_dir = dir.path().join("library");
    let library = Library::new(&lib_dir);
    let ids = made(&dir.path().join("out"), &library);
    let id = &ids[0].0;

    let (doc, changed) = library
        .edit(
            id,
            &Edit::Text {
                segment: 1,
                text: "The quick brown fox jumps over the lazy Dodo.".into(),
            },
        )
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(doc.segments[1].words.last().unwrap().text, " Dodo.");
    library
        .edit(
            id,
            &Edit::RenameSpeaker {
                id: 9,
                name: "x".into(),
            },
        )
        .unwrap_err();
    library
        .edit(
            id,
            &Edit::Replace {
                find: "optimisation".into(),
                replace: "Optimization".into(),
                match_case: false,
                whole_word: true,
            },
        )
        .unwrap();

    // A new process (the app crashed) finds the draft as it was left.
    drop(library);
    let library = Library::new(&lib_dir);
    let (draft, is_draft) = library.editing(id).unwrap();
    assert!(is_draft);
    assert!(draft.segments[1].text.ends_with("lazy Dodo."));
    assert_eq!(
        draft.segments[0].text,
        "Welcome to the lecture on Optimization."
    );
    // Not exported yet: the files and the search still say what was made.
    assert!(library.search("dodo", 10).unwrap().is_empty());

    let files = library.export_again(id, &Default::default()).unwrap();
    assert_eq!(files.len(), 8);
    for f in Format::ALL {
        let path = files
            .iter()
            .find(|p| p.extension().unwrap() == f.ext())
            .unwrap();
        let text = common::text_of(f, path);
        assert!(text.contains("Dodo"), "{f:?} lacks the fix: {text}");
        assert!(!text.contains("lazy dog"), "{f:?} keeps the old words");
    }
    assert_eq!(library.search("dodo", 10).unwrap().len(), 1);
    let versions = library.versions(id).unwrap();
    assert_eq!(
        versions.iter().map(|v| v.number).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(!library.editing(id).unwrap().1, "the draft was exported");

    // Version 1 is the document as made; restoring it makes it the draft.
    let first = library.restore(id, 1).unwrap();
    assert!(first.segments[1].text.ends_with("lazy dog."));
    assert!(library.editing(id).unwrap().1);
    assert!(matches!(
        library.restore(id, 7),
        Err(LibraryError::NoVersion { number: 7 })
    ));
}

#[test]
fn a_json_document_renders_headless_and_a_broken_one_is_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let library = Library::new(&dir.path().join("library"));
    let ids = made(&dir.path().join("out"), &library);
    // Edited by a script, in a folder of its own.
    let scripts = dir.path().join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&ids[0].1).unwrap()).unwrap();
    doc["segments"][2]["text"] = "Chlorophyll is not our topic today.".into();
    let edited = scripts.join("optimisation.json");
    std::fs::write(&edited, serde_json::to_vec(&doc).unwrap()).unwrap();

    let elsewhere = dir.path().join("elsewhere");
    let (entry, files) = library
        .export_file(&edited, &elsewhere, &Format::ALL, &Default::default())
        .unwrap();
    assert_eq!(files.len(), 8);
    assert_eq!(entry.folder, elsewhere.join("optimisation"));
    for f in Format::ALL {
        let path = files
            .iter()
            .find(|p| p.extension().unwrap() == f.ext())
            .unwrap();
        assert!(common::text_of(f, path).contains("Chlorophyll"), "{f:?}");
    }
    // The slide pictures came along, and the JSON names them where they now are.
    let written: Document = serde_json::from_slice(
        &std::fs::read(elsewhere.join("optimisation/optimisation.json")).unwrap(),
    )
    .unwrap();
    for s in &written.sections {
        let img = s.image.as_ref().unwrap();
        assert!(
            img.starts_with(elsewhere.join("optimisation/slides")) && img.is_file(),
            "{img:?}"
        );
    }
    assert!(library
        .search("chlorophyll", 10)
        .unwrap()
        .iter()
        .any(|h| h.id == entry.id));

    // Broken by a script: each refusal names the file and the field.
    for (path, value, field) in [
        (
            "/segments/1/start_ms",
            serde_json::json!("soon"),
            "/segments/1/start_ms",
        ),
        (
            "/segments/1/end_ms",
            serde_json::json!(1),
            "/segments/1/end_ms",
        ),
        ("/title", serde_json::Value::Null, "/title"),
    ] {
        let mut broken = doc.clone();
        *broken.pointer_mut(path).unwrap() = value;
        let bad = scripts.join("broken.json");
        std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
        let e = library
            .export_file(&bad, &elsewhere, &Format::ALL, &Default::default())
            .unwrap_err()
            .to_string();
        assert!(e.contains(field) && e.contains("broken.json"), "{e}");
    }
    std::fs::write(scripts.join("cut.json"), b"{\"schema\": 1, \"title\": ").unwrap();
    let e = library
        .export_file(
            &scripts.join("cut.json"),
            &elsewhere,
            &Format::ALL,
            &Default::default(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("cut.json") && e.contains("not JSON"), "{e}");
    assert!(!elsewhere.join("broken").exists() && !elsewhere.join("cut").exists());
}
