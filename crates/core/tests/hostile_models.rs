//! Damaged and crafted model files: the CTranslate2 converter and the ggml header
//! reader on thousands of mutated files never panic, never write a model whose tensors
//! disagree with their shapes, and keep memory bounded.

use std::io::Write;
use std::path::Path;

use video2doc_core::media::models::catalogue::ggml_info;
use video2doc_core::media::models::convert::convert_ct2_dir;

mod common;

/// A deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn string(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&((s.len() + 1) as u16).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// A CTranslate2 (binary version 6) Whisper model, as faster-whisper ships them, at a
/// tiny size: width 64, two heads, one layer each side, 8 tokens.
fn tiny_ct2(dir: &Path) -> Vec<u8> {
    let d = 64u32;
    let mut vars: Vec<(String, Vec<u32>, u8, Vec<u8>)> = Vec::new();
    let mut float = |name: &str, shape: &[u32]| {
        let n: u32 = shape.iter().product();
        let data = (0..n)
            .flat_map(|i| half::f16::from_f32(((i % 17) as f32 - 8.0) / 64.0).to_le_bytes())
            .collect();
        vars.push((name.to_string(), shape.to_vec(), 4, data));
    };
    let linear = |f: &mut dyn FnMut(&str, &[u32]), name: &str, o: u32, i: u32| {
        f(&format!("{name}/weight"), &[o, i]);
        f(&format!("{name}/bias"), &[o]);
    };
    let norm = |f: &mut dyn FnMut(&str, &[u32]), name: &str| {
        f(&format!("{name}/gamma"), &[d]);
        f(&format!("{name}/beta"), &[d]);
    };
    float("encoder/position_encodings/encodings", &[16, d]);
    float("encoder/conv1/weight", &[d, 80, 3]);
    float("encoder/conv1/bias", &[d]);
    float("encoder/conv2/weight", &[d, d, 3]);
    float("encoder/conv2/bias", &[d]);
    for side in ["encoder", "decoder"] {
        let l = format!("{side}/layer_0");
        linear(
            &mut float,
            &format!("{l}/self_attention/linear_0"),
            3 * d,
            d,
        );
        linear(&mut float, &format!("{l}/self_attention/linear_1"), d, d);
        norm(&mut float, &format!("{l}/self_attention/layer_norm"));
        linear(&mut float, &format!("{l}/ffn/linear_0"), 4 * d, d);
        linear(&mut float, &format!("{l}/ffn/linear_1"), d, 4 * d);
        norm(&mut float, &format!("{l}/ffn/layer_norm"));
        norm(&mut float, &format!("{side}/layer_norm"));
    }
    let l = "decoder/layer_0/attention";
    linear(&mut float, &format!("{l}/linear_0"), d, d);
    linear(&mut float, &format!("{l}/linear_1"), 2 * d, d);
    linear(&mut float, &format!("{l}/linear_2"), d, d);
    norm(&mut float, &format!("{l}/layer_norm"));
    float("decoder/position_encodings/encodings", &[8, d]);
    float("decoder/embeddings/weight", &[8, d]);
    for side in ["encoder", "decoder"] {
        vars.push((
            format!("{side}/num_heads"),
            Vec::new(),
            3,
            2i32.to_le_bytes().to_vec(),
        ));
    }
    let mut out = Vec::new();
    out.extend_from_slice(&6u32.to_le_bytes());
    string(&mut out, "WhisperSpec");
    out.extend_from_slice(&3u32.to_le_bytes());
    out.extend_from_slice(&(vars.len() as u32).to_le_bytes());
    for (name, shape, dtype, data) in &vars {
        string(&mut out, name);
        out.push(shape.len() as u8);
        for s in shape {
            out.extend_from_slice(&s.to_le_bytes());
        }
        out.push(*dtype);
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
    }
    out.extend_from_slice(&0u32.to_le_bytes());
    std::fs::write(
        dir.join("vocabulary.txt"),
        "a\nb\nc\nd\ne\nf\ng\nh\n<|endoftext|>\n",
    )
    .unwrap();
    out
}

/// One to four changes: a byte, a run of bytes, a 32-bit field set to an extreme, or a
/// cut, mostly in the first 4 KB (where the header and the first shapes are).
fn mutate(rng: &mut Rng, base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = if rng.below(3) > 0 {
            rng.below(b.len().min(4096))
        } else {
            rng.below(b.len())
        };
        match rng.below(5) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => b[at] = rng.next() as u8,
            2 => {
                let v = [0u32, 1, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000][rng.below(5)];
                let end = (at + 4).min(b.len());
                b[at..end].copy_from_slice(&v.to_le_bytes()[..end - at]);
            }
            3 => {
                for x in b.iter_mut().skip(at).take(1 + rng.below(64)) {
                    *x = rng.next() as u8;
                }
            }
            _ => b.truncate(at),
        }
        if b.is_empty() {
            break;
        }
    }
    b
}

fn peak_memory_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map(|kb| kb / 1024)
        .unwrap_or(0)
}

#[test]
fn the_converter_survives_mutated_models() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("model");
    std::fs::create_dir_all(&src).unwrap();
    let base = tiny_ct2(&src);
    std::fs::write(src.join("model.bin"), &base).unwrap();
    let dest = dir.path().join("ggml-tiny-fixture.bin");
    let fixture = convert_ct2_dir(&src, &dest).expect("the unchanged fixture converts");
    assert!(fixture.tensors > 20, "{fixture:?}");

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let (mut converted, mut refused) = (0, 0);
    for i in 0..3_000 {
        let bytes = mutate(&mut rng, &base);
        std::fs::File::create(src.join("model.bin"))
            .and_then(|mut f| f.write_all(&bytes))
            .unwrap();
        let _ = std::fs::remove_file(&dest);
        let r = std::panic::catch_unwind(|| convert_ct2_dir(&src, &dest));
        match r {
            Err(_) => panic!("mutation {i} made the converter panic"),
            Ok(Ok(_)) => {
                converted += 1;
                // Only values changed (the structure held): a whole file, put in place.
                let len = std::fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
                assert!(len > 0, "mutation {i}: converted, but no file");
            }
            Ok(Err(e)) => {
                refused += 1;
                assert!(
                    !dest.exists(),
                    "mutation {i}: refused ({e}) but a file was left"
                );
                let msg = e.to_string();
                assert!(!msg.is_empty());
            }
        }
    }
    eprintln!(
        "{converted} converted, {refused} refused; peak {} MB",
        peak_memory_mb()
    );
    assert!(refused > 1_000, "most mutations are refused: {refused}");
    assert!(peak_memory_mb() < 1_024, "memory stayed bounded");
}

#[test]
fn the_ggml_header_reader_survives_mutated_headers() {
    let model = common::model();
    let mut head = vec![0u8; 64 << 10];
    let n = std::io::Read::read(&mut std::fs::File::open(&model).unwrap(), &mut head).unwrap();
    head.truncate(n);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ggml-mutated.bin");
    std::fs::write(&path, &head).unwrap();
    assert!(ggml_info(&path).is_ok(), "the real header reads");
    let mut rng = Rng(0x9911_7744_0000_0002);
    let mut accepted = 0;
    for i in 0..5_000 {
        let mut b = head.clone();
        let at = rng.below(48);
        match rng.below(3) {
            0 => b[at] ^= 1 << rng.below(8),
            1 => {
                let at = at / 4 * 4;
                let v = [0u32, 0x7fff_ffff, 0xffff_ffff, 0x8000_0000, 3000][rng.below(5)];
                b[at..at + 4].copy_from_slice(&v.to_le_bytes());
            }
            _ => b.truncate(at),
        }
        std::fs::write(&path, &b).unwrap();
        match std::panic::catch_unwind(|| ggml_info(&path)) {
            Err(_) => panic!("mutation {i} made the reader panic"),
            Ok(Ok(info)) => {
                accepted += 1;
                assert!((51_000..=52_000).contains(&info.n_vocab), "{info:?}");
                assert!(info.n_mels == 80 || info.n_mels == 128, "{info:?}");
            }
            Ok(Err(_)) => {}
        }
    }
    eprintln!("{accepted} of 5000 mutated headers accepted (within Whisper's sizes)");
}
