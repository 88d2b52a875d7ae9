//! The release workflow (.github/workflows/release.yml) parses, builds every platform's
//! installers from the bundle configs that exist here, and smoke-tests each platform
//! it builds. (It runs on GitHub; this is what can be checked without it.)

use std::collections::BTreeSet;

use serde_norway::Value;

fn workflow() -> Value {
    let path = video2doc_testkit::package_dir().join(".github/workflows/release.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&text)
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", path.display()))
}

fn matrix(w: &Value, job: &str) -> Vec<Value> {
    w["jobs"][job]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap_or_else(|| panic!("job {job} has no matrix"))
        .clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v:?}"))
}

#[test]
fn every_platform_is_built_and_smoke_tested() {
    let w = workflow();
    let on = &w["on"];
    assert!(on["push"]["tags"].as_sequence().is_some(), "runs on tags");
    let build = matrix(&w, "build");
    let targets: BTreeSet<&str> = build.iter().map(|m| s(m, "target")).collect();
    for t in [
        "x86_64-unknown-linux-gnu",
        "x86_64-pc-windows-msvc",
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
    ] {
        assert!(targets.contains(t), "no build for {t}");
    }
    let bundles: BTreeSet<&str> = build
        .iter()
        .flat_map(|m| s(m, "bundles").split(','))
        .collect();
    for b in ["deb", "rpm", "appimage", "msi", "nsis", "dmg"] {
        assert!(bundles.contains(b), "no {b} installer");
    }
    for m in &build {
        let config = video2doc_testkit::package_dir().join(s(m, "config"));
        let c: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
        let bins = c["bundle"]["externalBin"].as_array().unwrap();
        assert!(
            bins.contains(&"binaries/video2doc".into()),
            "{}: the CLI is not bundled",
            config.display()
        );
        assert!(
            bins.contains(&"binaries/video2doc-llm".into()),
            "{}: the local model's worker is not bundled",
            config.display()
        );
        // The GPU build of the transcription worker: Metal on macOS, Vulkan elsewhere.
        let gpu = if s(m, "target").contains("apple") {
            "binaries/video2doc-whisper-metal"
        } else {
            "binaries/video2doc-whisper-vulkan"
        };
        assert!(
            bins.contains(&gpu.into()),
            "{}: {gpu} is not bundled",
            config.display()
        );
        let bundles_ffmpeg = bins.contains(&"binaries/ffmpeg".into());
        let linux = s(m, "target").contains("linux");
        assert_eq!(
            bundles_ffmpeg,
            !linux,
            "{}: ffmpeg is bundled on Windows and macOS only",
            config.display()
        );
    }
    // The Linux build links OpenBLAS's OpenMP build (crates/core/build.rs stops without
    // it), and the Linux packages then need the OpenMP runtime.
    let build_steps = format!("{:?}", w["jobs"]["build"]["steps"]);
    assert!(
        build_steps.contains("libopenblas-openmp-dev"),
        "the Linux build installs OpenBLAS (OpenMP)"
    );
    let conf: serde_json::Value = serde_json::from_slice(
        &std::fs::read(video2doc_testkit::package_dir().join("tauri.conf.json")).unwrap(),
    )
    .unwrap();
    for (format, gomp) in [("deb", "libgomp1"), ("rpm", "libgomp")] {
        let depends = &conf["bundle"]["linux"][format]["depends"];
        assert!(
            depends.as_array().unwrap().contains(&gomp.into()),
            "the {format} package depends on {gomp}: {depends}"
        );
    }
    let built: BTreeSet<&str> = build.iter().map(|m| s(m, "name")).collect();
    let smoke = matrix(&w, "smoke");
    let smoked: BTreeSet<&str> = smoke.iter().map(|m| s(m, "name")).collect();
    assert_eq!(built, smoked, "every platform built is installed and run");
    let steps = format!("{:?}", w["jobs"]["smoke"]["steps"]);
    assert!(
        steps.contains("process smoke.mp4"),
        "the smoke test processes a video"
    );
    assert!(
        steps.contains("--device gpu") && steps.contains("mesa-vulkan-drivers"),
        "the smoke test runs a job on the GPU path (lavapipe on Linux)"
    );
    // Vulkan's headers, loader and shader compiler for the GPU worker (Linux, Windows);
    // the stage script builds it (its own cargo build: features would spread otherwise).
    assert!(
        build_steps.contains("install-vulkan-sdk"),
        "the build installs the Vulkan SDK"
    );
    let stage =
        std::fs::read_to_string(video2doc_testkit::package_dir().join("scripts/stage-sidecars.sh"))
            .unwrap();
    assert!(
        stage.contains("-p video2doc-gpu --features \"$GPU\""),
        "stage-sidecars.sh builds the GPU worker on its own"
    );
    // CUDA: a separate download, built on Linux and Windows.
    let cuda = matrix(&w, "cuda");
    let cuda: BTreeSet<&str> = cuda.iter().map(|m| s(m, "name")).collect();
    assert_eq!(
        cuda,
        BTreeSet::from(["linux-x86_64", "windows-x86_64"]),
        "the CUDA worker is built for Linux and Windows"
    );
    let cuda_steps = format!("{:?}", w["jobs"]["cuda"]["steps"]);
    assert!(cuda_steps.contains("--features cuda"), "{cuda_steps}");
}
