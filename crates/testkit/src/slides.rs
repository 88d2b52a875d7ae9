//! Slides as lecturers make them, rendered by ffmpeg's drawtext from real fonts: titles
//! and bullet lines in several fonts and sizes, light and dark themes, code, Chinese,
//! mixed scripts and small print; and the text each must be read as. Fonts come from
//! Debian packages (fonts-dejavu-core, fonts-liberation, fonts-wqy-microhei,
//! fonts-droid-fallback) that scripts/setup.sh installs.

use std::path::{Path, PathBuf};

/// One slide: its look and its text.
#[derive(Debug, Clone)]
pub struct Slide {
    pub name: &'static str,
    pub background: &'static str,
    pub foreground: &'static str,
    pub title_font: &'static str,
    pub body_font: &'static str,
    pub title_size: u32,
    pub body_size: u32,
    pub title: &'static str,
    pub body: &'static [&'static str],
}

const SANS: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
const SANS_BOLD: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";
const MONO: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf";
const SERIF: &str = "/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf";
const SERIF_BOLD: &str = "/usr/share/fonts/truetype/liberation/LiberationSerif-Bold.ttf";
const LIBERATION_SANS: &str = "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf";
const WQY: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
const DROID: &str = "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf";

/// Eight slides: English in sans, serif (dark) and small print, code in a monospaced
/// font, Chinese in two fonts and themes, Chinese and English mixed.
pub fn slide_set() -> Vec<Slide> {
    vec![
        Slide {
            name: "light_sans",
            background: "white",
            foreground: "black",
            title_font: SANS_BOLD,
            body_font: SANS,
            title_size: 56,
            body_size: 34,
            title: "Photosynthesis and the Calvin Cycle",
            body: &[
                "Light reactions happen in the thylakoid membrane",
                "Chlorophyll absorbs red and blue light",
                "The Calvin cycle fixes carbon dioxide",
                "RuBisCO is the most abundant enzyme",
            ],
        },
        Slide {
            name: "dark_serif",
            background: "0x1e1e2e",
            foreground: "white",
            title_font: SERIF_BOLD,
            body_font: SERIF,
            title_size: 60,
            body_size: 36,
            title: "Kubernetes Scheduling Basics",
            body: &[
                "Pods are placed on nodes by the scheduler",
                "Taints and tolerations keep pods away",
                "Affinity rules attract related workloads",
                "Resource requests guide bin packing",
            ],
        },
        Slide {
            name: "code",
            background: "0xf5f5f5",
            foreground: "0x202020",
            title_font: SANS_BOLD,
            body_font: MONO,
            title_size: 48,
            body_size: 26,
            title: "Reading a File in Rust",
            body: &[
                "use std::fs::read_to_string;",
                "fn main() -> std::io::Result<()> {",
                "    let text = read_to_string(\"notes.txt\")?;",
                "    println!(\"{} bytes\", text.len());",
                "    Ok(())",
                "}",
            ],
        },
        Slide {
            name: "chinese",
            background: "white",
            foreground: "black",
            title_font: WQY,
            body_font: WQY,
            title_size: 56,
            body_size: 36,
            title: "人工智能的发展历史",
            body: &[
                "图灵测试提出于一九五零年",
                "深度学习推动了语音识别的进步",
                "神经网络需要大量的训练数据",
                "北京是重要的研究中心",
            ],
        },
        Slide {
            name: "chinese_dark",
            background: "0x0b3d91",
            foreground: "white",
            title_font: DROID,
            body_font: DROID,
            title_size: 54,
            body_size: 34,
            title: "光合作用与卡尔文循环",
            body: &[
                "叶绿素吸收红光和蓝光",
                "卡尔文循环固定二氧化碳",
                "核酮糖二磷酸羧化酶是关键的酶",
            ],
        },
        Slide {
            name: "mixed",
            background: "white",
            foreground: "0x333333",
            title_font: WQY,
            body_font: WQY,
            title_size: 52,
            body_size: 32,
            title: "深度学习 Deep Learning 简介",
            body: &[
                "卷积神经网络 CNN 用于图像",
                "循环神经网络 RNN 用于序列",
                "Transformer 使用自注意力机制",
            ],
        },
        Slide {
            name: "small",
            background: "white",
            foreground: "black",
            title_font: LIBERATION_SANS,
            body_font: LIBERATION_SANS,
            title_size: 44,
            body_size: 20,
            title: "References and Further Reading",
            body: &[
                "Smith, J. (2019). Introduction to Statistical Learning, 2nd edition.",
                "Garcia, M. and Chen, L. (2021). Gradient methods for sparse models.",
                "Okafor, T. (2022). Notes on Bayesian inference, lecture series.",
                "Source code and data are available on the course website.",
            ],
        },
        Slide {
            name: "dark_small",
            background: "black",
            foreground: "0xdddddd",
            title_font: SANS_BOLD,
            body_font: SANS,
            title_size: 50,
            body_size: 22,
            title: "Eigenvalues and Eigenvectors",
            body: &[
                "A square matrix A has eigenvalue lambda when Av = lambda v",
                "The characteristic polynomial is det(A - lambda I)",
                "Symmetric matrices have real eigenvalues",
                "Diagonalization needs n independent eigenvectors",
            ],
        },
    ]
}

/// The slide rendered at 1280x720 as `dir/<name>.png`: the title at the top left, the
/// body lines below it.
pub fn slide_png(dir: &Path, slide: &Slide) -> PathBuf {
    slide_png_sized(dir, slide, 1280, 720)
}

/// [`slide_png`] at `width` x `height`.
pub fn slide_png_sized(dir: &Path, slide: &Slide, width: u32, height: u32) -> PathBuf {
    let mut filters = Vec::new();
    let mut draw = |text: &str, font: &str, size: u32, x: u32, y: u32, i: &str| {
        // The text goes through a file: no escaping of quotes and colons in filters.
        let file = dir.join(format!("{}-{i}.txt", slide.name));
        std::fs::write(&file, text).expect("the text file is written");
        filters.push(format!(
            "drawtext=fontfile={font}:textfile={}:fontsize={size}:fontcolor={}:x={x}:y={y}",
            file.display(),
            slide.foreground
        ));
    };
    draw(slide.title, slide.title_font, slide.title_size, 80, 60, "t");
    let mut y = 60 + slide.title_size + 60;
    for (i, line) in slide.body.iter().enumerate() {
        draw(
            line,
            slide.body_font,
            slide.body_size,
            100,
            y,
            &i.to_string(),
        );
        y += slide.body_size * 17 / 10;
    }
    let out = dir.join(format!("{}.png", slide.name));
    let input = format!("color=c={}:s={width}x{height}", slide.background);
    let vf = filters.join(",");
    let out_s = out.to_string_lossy().into_owned();
    crate::ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &input,
        "-vf",
        &vf,
        "-frames:v",
        "1",
        &out_s,
    ]);
    out
}

/// The character error rate of `got` against `want`, both without whitespace (the
/// edit distance over the wanted length).
pub fn cer(got: &str, want: &str) -> f64 {
    let a: Vec<char> = got.chars().filter(|c| !c.is_whitespace()).collect();
    let b: Vec<char> = want.chars().filter(|c| !c.is_whitespace()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j + 1] + 1)
                    .min(cur[j] + 1)
                    .min(prev[j] + usize::from(ca != cb)),
            );
        }
        prev = cur;
    }
    prev[b.len()] as f64 / b.len().max(1) as f64
}

/// The text models (PP-OCRv4 mobile detection and recognition) that
/// scripts/fetch-test-model.sh takes from the rapidocr-onnxruntime package.
pub fn ocr_models() -> (PathBuf, PathBuf) {
    let dir = PathBuf::from(std::env::var("HOME").expect("HOME is set"))
        .join(".cache/video2doc/models/ocr");
    let det = dir.join("ch_PP-OCRv4_det_mobile.onnx");
    let rec = dir.join("ch_PP-OCRv4_rec_mobile.onnx");
    for p in [&det, &rec] {
        assert!(
            p.is_file(),
            "the text model {} is missing: run scripts/fetch-test-model.sh",
            p.display()
        );
    }
    (det, rec)
}

/// A video showing `slides` (images, each for its seconds) one after another, with
/// `narration` spoken by espeak-ng (en-us) over them (padded with silence), or silent:
/// `dir/name`, 10 frames a second, H.264.
pub fn slides_video(
    dir: &Path,
    name: &str,
    slides: &[(PathBuf, u32)],
    narration: Option<&str>,
) -> PathBuf {
    let total: u32 = slides.iter().map(|(_, s)| s).sum();
    let mut args: Vec<String> = Vec::new();
    for (img, secs) in slides {
        args.extend(["-loop", "1", "-framerate", "10", "-t"].map(String::from));
        args.push(secs.to_string());
        args.push("-i".into());
        args.push(img.to_string_lossy().into_owned());
    }
    let n = slides.len();
    let inputs: String = (0..n).map(|i| format!("[{i}:v]")).collect();
    let mut filter = format!("{inputs}concat=n={n}:v=1:a=0,format=yuv420p[v]");
    let mut maps = vec!["-map".to_string(), "[v]".to_string()];
    if let Some(text) = narration {
        let wav = crate::speech_wav(dir, text, "en-us", 150);
        args.extend(["-i".to_string(), wav.to_string_lossy().into_owned()]);
        filter.push_str(&format!(";[{n}:a]apad[a]"));
        maps.extend(["-map".to_string(), "[a]".to_string()]);
    }
    let out = dir.join(name);
    args.extend(["-filter_complex".to_string(), filter]);
    args.extend(maps);
    args.extend(["-t".to_string(), total.to_string()]);
    args.extend(["-c:v", "libx264", "-pix_fmt", "yuv420p"].map(String::from));
    args.push(out.to_string_lossy().into_owned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::ffmpeg(&refs);
    out
}

/// One slide of [`jargon_lecture`]: what it shows, what is said over it, and the terms
/// both use.
pub struct JargonSlide {
    pub slide: Slide,
    pub narration: &'static str,
    pub terms: &'static [&'static str],
}

/// Six slides of technical terms from six fields (names, enzymes, algorithms, filters),
/// each narrated with the terms it shows: words a small English model mishears without
/// being told them.
pub fn jargon_slides() -> Vec<JargonSlide> {
    let slide = |name, title, body| Slide {
        name,
        background: "white",
        foreground: "black",
        title_font: SANS_BOLD,
        body_font: SANS,
        title_size: 56,
        body_size: 36,
        title,
        body,
    };
    vec![
        JargonSlide {
            slide: slide(
                "jargon_photosynthesis",
                "Photosynthesis",
                &[
                    "The enzyme RuBisCO fixes carbon",
                    "Light reactions in thylakoid membranes",
                    "They make NADPH and ATP",
                ],
            ),
            narration: "In the Calvin cycle, the enzyme RuBisCO fixes carbon dioxide. \
                        The light reactions in the thylakoid membranes make NADPH and ATP.",
            terms: &["rubisco", "thylakoid", "nadph"],
        },
        JargonSlide {
            slide: slide(
                "jargon_consensus",
                "Distributed Consensus",
                &[
                    "Kubernetes keeps its state in etcd",
                    "Every write agreed with Raft",
                    "Lamport's Paxos solves the same problem",
                ],
            ),
            narration: "Kubernetes keeps its state in a store that agrees on every write \
                        with the Raft protocol. Lamport's Paxos solves the same problem.",
            terms: &["kubernetes", "raft", "lamport", "paxos"],
        },
        JargonSlide {
            slide: slide(
                "jargon_graphs",
                "Shortest Paths",
                &[
                    "Dijkstra needs positive weights",
                    "Bellman-Ford allows negative weights",
                    "Kruskal builds a spanning tree",
                ],
            ),
            narration: "Dijkstra finds shortest paths when the weights are positive. \
                        Bellman-Ford allows negative weights, and Kruskal builds a minimum spanning tree.",
            terms: &["dijkstra", "bellman", "kruskal"],
        },
        JargonSlide {
            slide: slide(
                "jargon_signals",
                "Sampling and Filters",
                &[
                    "Sample above the Nyquist rate",
                    "Smooth with a Butterworth filter",
                    "Or a Chebyshev filter, then Fourier",
                ],
            ),
            narration: "Sample above the Nyquist rate, then smooth the signal with a Butterworth \
                        filter or a Chebyshev filter before the Fourier transform.",
            terms: &["nyquist", "butterworth", "chebyshev", "fourier"],
        },
        JargonSlide {
            slide: slide(
                "jargon_memory",
                "Memory in the Brain",
                &[
                    "The hippocampus stores memories",
                    "Glutamate excites the dendrites",
                    "Myelin speeds the signal",
                ],
            ),
            narration: "The hippocampus stores new memories. Glutamate excites the dendrites, \
                        and myelin speeds the signal along the axon.",
            terms: &["hippocampus", "glutamate", "dendrites", "myelin"],
        },
        JargonSlide {
            slide: slide(
                "jargon_matrices",
                "Matrix Factorizations",
                &[
                    "Cholesky for symmetric matrices",
                    "Householder reflections for QR",
                    "Krylov methods for sparse systems",
                ],
            ),
            narration: "Cholesky factors a symmetric matrix, Householder reflections give a stable \
                        factorization, and Krylov methods solve large sparse systems.",
            terms: &["cholesky", "householder", "krylov"],
        },
    ]
}

/// A lecture of `slides`: each slide shown while its narration is spoken (espeak-ng,
/// en-us) and a second after, `dir/name` (H.264 at 10 frames a second, AAC); with the
/// time span (ms) of each slide.
pub fn jargon_lecture(
    dir: &Path,
    name: &str,
    slides: &[JargonSlide],
) -> (PathBuf, Vec<(u64, u64)>) {
    let mut parts = Vec::new();
    for s in slides {
        let png = slide_png(dir, &s.slide);
        let wav = dir.join(format!("{}.wav", s.slide.name));
        std::fs::rename(crate::speech_wav(dir, s.narration, "en-us", 150), &wav)
            .expect("the narration is kept");
        // espeak-ng writes 22050 Hz 16-bit mono, after a 44-byte header.
        let bytes = std::fs::metadata(&wav)
            .expect("the narration is there")
            .len();
        let seconds = ((bytes.saturating_sub(44)) as f64 / 44_100.0).ceil() as u32 + 1;
        parts.push((png, wav, seconds));
    }
    let mut args: Vec<String> = Vec::new();
    for (png, _, secs) in &parts {
        args.extend(["-loop", "1", "-framerate", "10", "-t"].map(String::from));
        args.push(secs.to_string());
        args.extend(["-i".to_string(), png.to_string_lossy().into_owned()]);
    }
    for (_, wav, _) in &parts {
        args.extend(["-i".to_string(), wav.to_string_lossy().into_owned()]);
    }
    let n = parts.len();
    let mut filter = String::new();
    for (i, (_, _, secs)) in parts.iter().enumerate() {
        filter.push_str(&format!(
            "[{}:a]aresample=22050,apad,atrim=0:{secs},asetpts=N/SR/TB[a{i}];",
            n + i
        ));
    }
    let pairs: String = (0..n).map(|i| format!("[{i}:v][a{i}]")).collect();
    filter.push_str(&format!(
        "{pairs}concat=n={n}:v=1:a=1[v][a];[v]format=yuv420p[vo]"
    ));
    let out = dir.join(name);
    args.extend(["-filter_complex".to_string(), filter]);
    args.extend(
        [
            "-map", "[vo]", "-map", "[a]", "-c:v", "libx264", "-c:a", "aac",
        ]
        .map(String::from),
    );
    args.push(out.to_string_lossy().into_owned());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::ffmpeg(&refs);
    let mut spans = Vec::new();
    let mut at = 0u64;
    for (_, _, secs) in &parts {
        spans.push((at, at + *secs as u64 * 1000));
        at += *secs as u64 * 1000;
    }
    (out, spans)
}

/// The share of `terms` (lowercase) found among the words of `text`.
pub fn keyword_recall(text: &str, terms: &[&str]) -> f64 {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .collect();
    let found = terms
        .iter()
        .filter(|t| words.iter().any(|w| w == *t))
        .count();
    found as f64 / terms.len().max(1) as f64
}
