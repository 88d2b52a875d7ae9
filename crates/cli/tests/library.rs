//! The library from the command line, with the real binary, queue and model: a lecture
//! processed is found by what was said (at its moment, on its slide); its JSON edited
//! by a script renders every format headless (`export`), a broken one is refused naming
//! the field; a document deleted is gone from the results; a lost index is made again.

use std::path::{Path, PathBuf};
use std::process::Output;

use video2doc_testkit::model;

mod common;
use common::{run, video2doc};

fn search(data: &Path, q: &str) -> Vec<serde_json::Value> {
    run(video2doc(data).args(["search", q]))["hits"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn a_processed_lecture_is_searched_edited_exported_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let input = video2doc_testkit::lecture(dir.path(), "talk.mp4");
    let v = run(video2doc(&data)
        .arg("process")
        .arg(&input)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--model")
        .arg(model())
        .args([
            "--language",
            "en",
            "--formats",
            "md,html,docx,pdf,srt,vtt,txt,json",
        ]));
    let json = PathBuf::from(v["jobs"][0]["outputs"]["json"].as_str().unwrap());
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();

    // Found where it was said: the segment holding "lazy dog", on the slide shown.
    let hits = search(&data, "\"lazy dog\"");
    let speech: Vec<_> = hits.iter().filter(|h| h["passage"] == "speech").collect();
    assert_eq!(speech.len(), 1, "{hits:?}");
    let h = speech[0];
    assert_eq!(Path::new(h["document"].as_str().unwrap()), json);
    assert_eq!(h["slide"], 1);
    let said = doc["segments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["text"].as_str().unwrap().to_lowercase().contains("lazy"))
        .expect("the lecture says it");
    assert_eq!(h["start_ms"], said["start_ms"]);
    assert_eq!(h["end_ms"], said["end_ms"]);

    // A script corrects a word; `export` renders every format from it.
    let mut edited = doc.clone();
    for s in edited["segments"].as_array_mut().unwrap() {
        let t = s["text"].as_str().unwrap().replace("fox", "Fuchs");
        s["text"] = t.into();
    }
    let script = dir.path().join("edited.json");
    std::fs::write(&script, serde_json::to_vec(&edited).unwrap()).unwrap();
    let out2 = dir.path().join("out2");
    let v = run(video2doc(&data)
        .arg("export")
        .arg(&script)
        .arg("--out")
        .arg(&out2)
        .args(["--formats", "md,html,srt,vtt,txt,json"]));
    let written = v["written"].as_array().unwrap();
    assert_eq!(written.len(), 6, "{v}");
    for f in written {
        let text = std::fs::read_to_string(f.as_str().unwrap()).unwrap();
        assert!(text.contains("Fuchs"), "{f} lacks the fix:\n{text}");
    }
    assert!(search(&data, "fuchs")
        .iter()
        .all(|h| h["document"].as_str().unwrap().contains("out2")));
    assert!(!search(&data, "fuchs").is_empty());

    // A broken document is refused, naming the file and the field; nothing is written.
    let mut broken = edited.clone();
    broken["segments"][0]["start_ms"] = "soon".into();
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, serde_json::to_vec(&broken).unwrap()).unwrap();
    let o: Output = video2doc(&data)
        .arg("export")
        .arg(&bad)
        .arg("--out")
        .arg(&out2)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("broken.json") && err.contains("/segments/0/start_ms"),
        "{err}"
    );
    assert!(!out2.join("broken").exists());

    // Deleted: gone from the results and from the disk.
    let listed = run(video2doc(&data).args(["library", "list"]));
    assert_eq!(listed["documents"].as_array().unwrap().len(), 2, "{listed}");
    run(video2doc(&data)
        .args(["library", "delete", "--files"])
        .arg(out2.join("edited")));
    assert!(search(&data, "fuchs").is_empty());
    assert!(!out2.join("edited").exists());

    // The index lost: the next search makes it again from the documents.
    for e in std::fs::read_dir(data.join("library")).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("index-") {
            std::fs::remove_dir_all(e.path()).unwrap();
        }
    }
    assert!(search(&data, "\"lazy dog\"")
        .iter()
        .any(|h| h["document"] == json.to_str().unwrap()));
}
