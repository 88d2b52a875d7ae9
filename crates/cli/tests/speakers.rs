//! Speakers as a user meets them, with the real binary, the real queue and the test
//! models: a meeting processed with the speaker models imported is labelled; naming a
//! speaker writes every format again; a voice remembered names the same person in the
//! next recording, and is listed and forgotten on request.

use std::path::Path;

use video2doc_testkit::meetings::{meeting, Meeting};
use video2doc_testkit::model;

mod common;
use common::{run, video2doc};

/// Processes `m` and returns its JSON document's path and content.
fn process(data: &Path, out: &Path, m: &Meeting) -> (std::path::PathBuf, serde_json::Value) {
    let v = run(video2doc(data)
        .arg("process")
        .arg(&m.wav)
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(model())
        .args(["--language", "en", "--speakers", "auto"]));
    let json = std::path::PathBuf::from(v["jobs"][0]["outputs"]["json"].as_str().unwrap());
    let doc = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (json, doc)
}

/// The speaker id the document gives to reference voice `voice` (by the words said in
/// its turns).
fn speaker_of(doc: &serde_json::Value, m: &Meeting, voice: usize) -> u64 {
    let mut votes = std::collections::BTreeMap::<u64, usize>::new();
    for t in m.turns.iter().filter(|t| t.voice == voice) {
        for s in doc["segments"].as_array().unwrap() {
            let mid = (s["start_ms"].as_u64().unwrap() + s["end_ms"].as_u64().unwrap()) / 2;
            if mid > t.start_ms && mid < t.end_ms {
                *votes.entry(s["speaker"].as_u64().unwrap()).or_default() += 1;
            }
        }
    }
    *votes.iter().max_by_key(|(_, n)| **n).unwrap().0
}

#[test]
fn a_named_speaker_is_written_everywhere_and_remembered_in_the_next_meeting() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (seg, _) = video2doc_testkit::speaker_models();
    let v = run(video2doc(&data)
        .args(["models", "import", "--speakers"])
        .arg(seg.parent().unwrap()));
    assert!(v["segmentation"]
        .as_str()
        .unwrap()
        .ends_with("segmentation-3.0.onnx"));

    let first = meeting(dir.path(), "monday", 2, 6, 11);
    let (json, doc) = process(&data, &dir.path().join("out"), &first);
    assert_eq!(doc["speakers"].as_array().unwrap().len(), 2, "{doc}");
    let li = speaker_of(&doc, &first, 1);
    let other = speaker_of(&doc, &first, 0);
    assert_ne!(li, other);

    let v = run(video2doc(&data)
        .args(["speakers", "rename"])
        .arg(&json)
        .args([&li.to_string(), "Li Wei", "--remember"]));
    let written = v["written"].as_array().unwrap();
    assert_eq!(written.len(), 8, "every format again: {v}");
    let folder = json.parent().unwrap();
    for f in ["md", "html", "txt", "srt", "vtt", "json"] {
        let text = std::fs::read_to_string(folder.join(format!("monday.{f}"))).unwrap();
        assert!(text.contains("Li Wei"), "{f}:\n{text}");
        let old = format!("Speaker {li}");
        let gone = if f == "json" {
            !text.contains(&format!("\"name\": \"{old}\""))
        } else {
            !text.contains(&old)
        };
        assert!(gone, "{f} still says {old}:\n{text}");
    }
    let v = run(video2doc(&data).args(["speakers", "voices"]));
    assert_eq!(v["voices"][0]["name"], "Li Wei");
    assert!(
        v["voices"][0].get("print").is_none(),
        "a voiceprint is never shown"
    );

    // The next meeting: the same two voices, other words and order.
    let second = meeting(dir.path(), "tuesday", 2, 6, 12);
    let (_, doc) = process(&data, &dir.path().join("out"), &second);
    let li2 = speaker_of(&doc, &second, 1);
    let names: Vec<(u64, &str)> = doc["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["id"].as_u64().unwrap(), s["name"].as_str().unwrap()))
        .collect();
    assert!(names.contains(&(li2, "Li Wei")), "{names:?}");
    assert_eq!(names.iter().filter(|(_, n)| *n == "Li Wei").count(), 1);

    run(video2doc(&data).args(["speakers", "forget", "Li Wei"]));
    let v = run(video2doc(&data).args(["speakers", "voices"]));
    assert!(v["voices"].as_array().unwrap().is_empty());
    // A name that is not remembered: a clear refusal.
    let out = video2doc(&data)
        .args(["speakers", "forget", "Nobody"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
