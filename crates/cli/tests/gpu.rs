//! Transcription on a GPU, through the real CLI and the real Vulkan worker
//! (`video2doc-whisper-vulkan`, built by `cargo build --release -p video2doc-gpu
//! --features vulkan`), on Mesa's software Vulkan driver (lavapipe): the whole GPU path
//! runs here without a GPU. Also a machine without any Vulkan driver, and a device that
//! fails during the job: both end on the CPU, the job succeeds and its history says why.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{run, video2doc};
use video2doc_testkit::{model, narrated_video};

const TEXT: &str = "Today we study photosynthesis. Plants capture sunlight with chlorophyll in their leaves. \
                    The light reactions split water and release oxygen. In the Calvin cycle, carbon dioxide becomes sugar.";
const KEYWORDS: &[&str] = &[
    "photosynthesis",
    "plants",
    "sunlight",
    "chlorophyll",
    "leaves",
    "water",
    "oxygen",
    "carbon dioxide",
    "sugar",
];

/// The Vulkan worker: `VIDEO2DOC_GPU_WORKER`, else the release build beside this
/// build's binaries.
fn vulkan_worker() -> PathBuf {
    let p = std::env::var_os("VIDEO2DOC_GPU_WORKER")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_BIN_EXE_video2doc"))
                .parent()
                .and_then(Path::parent)
                .expect("the target folder")
                .join("release/video2doc-whisper-vulkan")
        });
    assert!(
        p.is_file(),
        "{} is missing: build it with `cargo build --release -p video2doc-gpu --features vulkan` (scripts/test.sh does)",
        p.display()
    );
    p
}

/// `video2doc` with the Vulkan worker and `env`.
fn with_gpu(data: &Path, env: &[(&str, &str)]) -> Command {
    let mut c = video2doc(data);
    c.env("VIDEO2DOC_GPU_WORKER", vulkan_worker());
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Processes `input` with `--device device` and returns the report's job and the
/// transcript (the TXT's lines).
fn process(mut c: Command, input: &Path, out: &Path, device: &str) -> (serde_json::Value, String) {
    let v = run(c
        .arg("process")
        .arg(input)
        .arg("--out")
        .arg(out)
        .arg("--model")
        .arg(model())
        .args([
            "--language",
            "en",
            "--formats",
            "txt,json",
            "--device",
            device,
        ]));
    let job = v["jobs"][0].clone();
    assert_eq!(job["status"], "succeeded", "{v}");
    let txt = std::fs::read_to_string(job["outputs"]["txt"].as_str().unwrap()).unwrap();
    let lines: Vec<&str> = txt.lines().filter(|l| l.starts_with('[')).collect();
    (job, lines.join(" ").to_lowercase())
}

/// The notes in the history of the workflow's transcription job.
fn audio_history(data: &Path, job: &serde_json::Value) -> Vec<String> {
    let group = run(video2doc(data)
        .arg("group")
        .arg(job["group"].as_u64().unwrap().to_string()));
    let audio = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["kind"] == "audio")
        .unwrap_or_else(|| panic!("no audio job in {group}"));
    let info = run(video2doc(data)
        .arg("info")
        .arg(audio["id"].as_u64().unwrap().to_string()));
    let history = info["history"]
        .as_array()
        .or_else(|| info["job"]["history"].as_array())
        .unwrap_or_else(|| panic!("no history in {info}"));
    history
        .iter()
        .map(|h| h["note"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Processes a narrated clip with `--device gpu` and `env`, which keep the GPU from
/// being used: the job must succeed on the CPU, hearing the words. Returns the data
/// folder and the report's job.
fn ends_on_the_cpu(dir: &Path, env: &[(&str, &str)]) -> (PathBuf, serde_json::Value) {
    let input = narrated_video(dir, "talk.mp4", TEXT, "Plants", None);
    let data = dir.join("data");
    let (job, text) = process(with_gpu(&data, env), &input, &dir.join("out"), "gpu");
    assert_eq!(job["device"], "cpu", "{job}");
    assert!(found(&text).len() >= KEYWORDS.len() - 1, "{text}");
    (data, job)
}

fn found(text: &str) -> Vec<&'static str> {
    KEYWORDS
        .iter()
        .copied()
        .filter(|k| text.contains(k))
        .collect()
}

#[test]
fn vulkan_on_lavapipe_finds_the_words_the_cpu_finds_and_says_where_it_ran() {
    let dir = tempfile::tempdir().unwrap();
    let input = narrated_video(dir.path(), "lecture.mp4", TEXT, "Photosynthesis", None);
    let cpu_data = dir.path().join("data-cpu");
    let (cpu, cpu_text) = process(
        video2doc(&cpu_data),
        &input,
        &dir.path().join("out-cpu"),
        "cpu",
    );
    assert_eq!(cpu["device"], "cpu", "{cpu}");
    let gpu_data = dir.path().join("data-gpu");
    let (gpu, gpu_text) = process(
        with_gpu(&gpu_data, &[]),
        &input,
        &dir.path().join("out-gpu"),
        "gpu",
    );
    let device = gpu["device"].as_str().unwrap_or_default();
    assert!(device.starts_with("vulkan: llvmpipe"), "{gpu}");
    let (on_cpu, on_gpu) = (found(&cpu_text), found(&gpu_text));
    assert!(
        on_gpu.len() >= KEYWORDS.len() - 1,
        "the GPU heard {on_gpu:?} of {KEYWORDS:?}: {gpu_text}"
    );
    assert!(
        on_gpu.len() + 1 >= on_cpu.len(),
        "GPU {on_gpu:?} vs CPU {on_cpu:?}:\n{gpu_text}\n{cpu_text}"
    );
    // Nothing fell back.
    let notes = audio_history(&gpu_data, &gpu);
    assert!(!notes.iter().any(|n| n.contains("CPU")), "{notes:?}");
    // The document's words are timed on the GPU too.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(gpu["outputs"]["json"].as_str().unwrap()).unwrap())
            .unwrap();
    let words = doc["segments"][0]["words"].as_array().map_or(0, Vec::len);
    assert!(words > 0, "{doc}");
}

#[test]
fn without_a_vulkan_driver_the_job_runs_on_the_cpu_and_its_history_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // No driver manifest the loader can find: what a machine without a Vulkan driver is.
    let none = dir.path().join("no-such-icd.json");
    let none = none.to_str().unwrap();
    let env = [("VK_ICD_FILENAMES", none), ("VK_DRIVER_FILES", none)];
    let (data, job) = ends_on_the_cpu(dir.path(), &env);
    let notes = audio_history(&data, &job);
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("transcribed on the CPU: no GPU was found")),
        "{notes:?}"
    );
    // health says the same.
    let h = run(with_gpu(&data, &env).args(["settings", "set", "device", "gpu"]));
    assert_eq!(h["device"], "gpu", "{h}");
    let h = run(with_gpu(&data, &env).arg("health"));
    assert_eq!(h["device"], "cpu", "{h}");
    assert!(h["gpu"]["devices"].as_array().unwrap().is_empty(), "{h}");
    assert!(
        h["device_note"]
            .as_str()
            .unwrap_or_default()
            .contains("no GPU was found"),
        "{h}"
    );
}

#[test]
fn a_device_that_fails_during_the_job_hands_it_to_the_cpu_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    // The device takes no buffer larger than 4 KiB: the model's weights do not fit, as
    // on a GPU whose memory is taken; ggml reports ErrorOutOfDeviceMemory and aborts
    // the worker (SIGABRT).
    let env = [("GGML_VK_FORCE_MAX_BUFFER_SIZE", "4096")];
    let (data, job) = ends_on_the_cpu(dir.path(), &env);
    let notes = audio_history(&data, &job);
    let note = notes
        .iter()
        .find(|n| n.starts_with("the GPU (vulkan: llvmpipe"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(
        note.contains("ran on the CPU") && note.contains("crashed"),
        "{note}"
    );
}

#[test]
fn health_lists_the_devices_and_the_device_setting_persists() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let h = run(with_gpu(&data, &[]).arg("health"));
    let devices = h["gpu"]["devices"].as_array().unwrap();
    let soft = devices
        .iter()
        .find(|d| {
            d["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("llvmpipe")
        })
        .unwrap_or_else(|| panic!("lavapipe is listed: {h}"));
    assert_eq!(soft["kind"], "software");
    assert_eq!(soft["backend"], "vulkan");
    assert!(soft["memory_mib"].as_u64().unwrap() > 0, "{soft}");
    // auto never takes a software renderer, and says why.
    assert_eq!(h["device"], "cpu", "{h}");
    assert!(
        h["device_note"]
            .as_str()
            .unwrap_or_default()
            .contains("software renderer"),
        "{h}"
    );
    run(video2doc(&data).args(["settings", "set", "device", "gpu"]));
    let s = run(video2doc(&data).arg("settings"));
    assert_eq!(s["device"], "gpu");
    let h = run(with_gpu(&data, &[]).arg("health"));
    assert!(
        h["device"]
            .as_str()
            .unwrap()
            .starts_with("vulkan: llvmpipe"),
        "{h}"
    );
    let o = video2doc(&data)
        .args(["settings", "set", "device", "quantum"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("device"));
    // Without the worker: no GPU build, the CPU, nothing to warn about under auto.
    run(video2doc(&data).args(["settings", "set", "device", "auto"]));
    let h = run(video2doc(&data).arg("health"));
    assert_eq!(h["device"], "cpu");
    assert!(h["gpu"]["workers"].as_array().unwrap().is_empty(), "{h}");
    assert!(h["device_note"].is_null(), "{h}");
}
