//! The library's search at scale: N one-hour documents (default 1,000; generated text,
//! one in five Chinese, with slides and a summary) are made the way the export stage
//! makes them, then indexed two ways: one at a time as each is made
//! (`Library::record`, a commit each: `index_docs_per_s`) and all at once from the
//! documents after the index was lost (`Library::sync`: `rebuild_docs_per_s`). Then
//! 300 queries (single words, two words, phrases, Chinese words, rare and common
//! terms) are timed: `query_p50_ms`, `query_p99_ms` (target: p99 <= 50 ms), and the
//! index's size on disk. Baselines from the same run: reading and parsing every JSON
//! document (`parse_docs_per_s`), and finding a query's first word by scanning all the
//! text in memory (`scan_ms`). The last line printed is JSON.
//!
//! `cargo bench -p video2doc-core --bench library` (`V2D_BENCH_DOCS` sets N).

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use video2doc_core::document::export::{DocFolder, Format};
use video2doc_core::document::{Document, Section, Summary, DOCUMENT_SCHEMA};
use video2doc_core::library::Library;
use video2doc_core::media::transcribe::Segment;
use video2doc_testkit::meetings::Rng;

/// Zipf-like: small indexes far more often, as words are.
trait Zipf {
    fn zipf(&mut self, n: usize) -> usize;
}
impl Zipf for Rng {
    fn zipf(&mut self, n: usize) -> usize {
        let u = self.below(1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) as usize).saturating_sub(1).min(n - 1)
    }
}

const ENGLISH: &str = "the of and to a in is that it for on with as was we this be are at by you \
    not have from or one had but what all were when there can an your which their said if do will \
    each about how up out them then she many some so these would other into has more her two like \
    him see time could no make than first been its who now people my made over did down only way \
    find use may water long little very after words called just where most know gradient descent \
    convergence matrix vector eigenvalue probability distribution variance regression network \
    neuron layer training validation overfitting regularisation entropy optimisation kernel \
    transformer attention embedding tokenizer photosynthesis chlorophyll mitochondria enzyme \
    protein membrane budget launch quarterly revenue customer roadmap deadline milestone \
    hypothesis experiment theorem lemma corollary integral derivative polynomial";

const CHINESE: &[&str] = &[
    "今天", "我们", "讨论", "机器", "学习", "神经", "网络", "北京", "天气", "很好", "人工", "智能",
    "正在", "改变", "世界", "数据", "模型", "训练", "梯度", "下降", "收敛", "矩阵", "向量", "概率",
    "分布", "实验", "结果", "分析", "方法", "问题", "系统", "设计", "会议", "预算", "项目", "计划",
    "时间", "课程", "老师", "学生",
];

fn sentence(rng: &mut Rng, words: &[&str], chinese: bool) -> String {
    let n = 8 + (rng.next() % 10) as usize;
    let picked: Vec<&str> = (0..n).map(|_| words[rng.zipf(words.len())]).collect();
    match chinese {
        true => format!("{}。", picked.concat()),
        false => {
            let mut s = picked.join(" ");
            s[..1].make_ascii_uppercase();
            s + "."
        }
    }
}

/// A one-hour document: a segment every ~5 s, a slide every ~3 minutes.
fn document(i: usize, rng: &mut Rng, english: &[&str]) -> Document {
    let chinese = i % 5 == 4;
    let words: Vec<&str> = if chinese {
        CHINESE.to_vec()
    } else {
        english.to_vec()
    };
    let hour = 3_600_000u64;
    let mut segments = Vec::new();
    let mut at = 0u64;
    while at < hour {
        let len = 3_000 + rng.next() % 4_000;
        segments.push(Segment {
            start_ms: at,
            end_ms: at + len,
            text: sentence(rng, &words, chinese),
            words: Vec::new(),
            language: None,
            speaker: None,
        });
        at += len + rng.next() % 1_500;
    }
    let sections: Vec<Section> = (0..20)
        .map(|k| Section {
            index: k + 1,
            start_ms: k as u64 * 180_000,
            end_ms: (k as u64 + 1) * 180_000,
            image: Some(PathBuf::from(format!("/nowhere/slide-{k:03}.jpg"))),
            thumbnail: None,
            title: Some(sentence(rng, &words, chinese)),
            slide_text: Some(sentence(rng, &words, chinese)),
            text: String::new(),
        })
        .collect();
    let mut d = Document {
        schema: DOCUMENT_SCHEMA,
        title: format!("Lecture {i}"),
        source: PathBuf::from(format!("/videos/lecture-{i}.mp4")),
        duration_ms: hour,
        language: Some(if chinese { "zh" } else { "en" }.into()),
        created: "2026-12-01T10:00:00Z".into(),
        model: Some("tiny.en".into()),
        summary: Summary {
            points: (0..5).map(|_| sentence(rng, &words, chinese)).collect(),
            method: "built-in".into(),
            note: None,
            ..Summary::default()
        },
        chapters: Vec::new(),
        sections,
        segments,
        speakers: Vec::new(),
    };
    d.refresh_sections();
    d
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| match e.file_type().map(|t| t.is_dir()) {
                    Ok(true) => dir_size(&e.path()),
                    _ => e.metadata().map(|m| m.len()).unwrap_or(0),
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let n: usize = std::env::var("V2D_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let english: Vec<&str> = ENGLISH.split_whitespace().collect();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let lib_dir = tmp.path().join("library");
    let library = Library::new(&lib_dir);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    // Made and recorded one at a time, as documents are made.
    let (mut record_s, mut segments) = (0.0, 0usize);
    let mut texts: Vec<String> = Vec::with_capacity(n);
    let mut jsons = Vec::with_capacity(n);
    for i in 0..n {
        let doc = document(i, &mut rng, &english);
        segments += doc.segments.len();
        let stem = format!("lecture-{i}");
        let folder = DocFolder::claim(&out, &stem, &doc.source).unwrap();
        folder
            .write(&format!("{stem}.json"), &serde_json::to_vec(&doc).unwrap())
            .unwrap();
        jsons.push(folder.path().join(format!("{stem}.json")));
        texts.push(
            doc.segments
                .iter()
                .map(|s| s.text.to_lowercase())
                .collect::<Vec<_>>()
                .join("\n"),
        );
        let t = Instant::now();
        library
            .record(&doc, folder.path(), &stem, &[Format::Json])
            .unwrap();
        record_s += t.elapsed().as_secs_f64();
        if i % 100 == 99 {
            eprintln!("{} documents recorded, {record_s:.1} s indexing", i + 1);
        }
    }

    // Baseline: reading and parsing every document.
    let t = Instant::now();
    for j in &jsons {
        let d: Document = serde_json::from_slice(&std::fs::read(j).unwrap()).unwrap();
        std::hint::black_box(d);
    }
    let parse_s = t.elapsed().as_secs_f64();

    // The index lost: made again from the documents.
    drop(library);
    for e in std::fs::read_dir(&lib_dir).unwrap().flatten() {
        if e.file_name().to_string_lossy().starts_with("index-") {
            std::fs::remove_dir_all(e.path())
                .unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
        }
    }
    let library = Library::new(&lib_dir);
    let t = Instant::now();
    let size = library.index_size().unwrap(); // opens, finds it empty, syncs
    let rebuild_s = t.elapsed().as_secs_f64();
    let size = size.max(dir_size(
        &lib_dir.join(format!("index-v{}", video2doc_core::library::index::LAYOUT)),
    ));
    eprintln!("rebuilt in {rebuild_s:.1} s, {} MB", size >> 20);

    // Queries.
    let mut queries: Vec<String> = Vec::new();
    for k in 0..300 {
        let w = |r: &mut Rng| english[r.zipf(english.len())];
        let c = |r: &mut Rng| CHINESE[(r.next() % CHINESE.len() as u64) as usize];
        queries.push(match k % 6 {
            0 => w(&mut rng).to_string(),
            1 => format!("{} {}", w(&mut rng), w(&mut rng)),
            2 => format!("\"{} {}\"", w(&mut rng), w(&mut rng)),
            3 => c(&mut rng).to_string(),
            4 => format!("{}{}", c(&mut rng), c(&mut rng)),
            _ => english[english.len() - 1 - (rng.next() % 30) as usize].to_string(),
        });
    }
    for q in queries.iter().take(20) {
        library.search(q, 20).unwrap(); // warm the page cache
    }
    let mut times: Vec<f64> = Vec::new();
    let mut hits = 0usize;
    for q in &queries {
        let t = Instant::now();
        hits += library.search(q, 20).unwrap().len();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    // Baseline: a scan of all the text for the first word of each query.
    let t = Instant::now();
    let mut found = 0usize;
    for q in queries.iter().take(30) {
        let needle = q
            .trim_matches('"')
            .split(' ')
            .next()
            .unwrap()
            .to_lowercase();
        found += texts.iter().filter(|t| t.contains(&needle)).count();
    }
    std::hint::black_box(found);
    let scan_ms = t.elapsed().as_secs_f64() * 1000.0 / 30.0;
    println!(
        "{}",
        json!({
            "documents": n,
            "segments": segments,
            "index_docs_per_s": n as f64 / record_s,
            "rebuild_docs_per_s": n as f64 / rebuild_s,
            "parse_docs_per_s": n as f64 / parse_s,
            "query_p50_ms": pct(0.5),
            "query_p99_ms": pct(0.99),
            "queries": queries.len(),
            "hits": hits,
            "scan_ms": scan_ms,
            "query_p50_over_scan": pct(0.5) / scan_ms,
            "index_mb": size as f64 / (1 << 20) as f64,
        })
    );
}
