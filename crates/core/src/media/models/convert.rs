//! Conversion of a faster-whisper (CTranslate2) model directory to a ggml file that
//! whisper.cpp loads: tensor renaming and splitting, dtypes as whisper.cpp checks them,
//! the mel filterbank and the byte-level vocabulary.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::ct2::{Ct2Error, Ct2Model, Variable};
use super::mel;

/// Why a model could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Read(#[from] Ct2Error),
    #[error("{dir} is not a faster-whisper model folder: {reason}")]
    NotWhisper { dir: PathBuf, reason: String },
    #[error("could not write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a conversion produced.
#[derive(Debug, Clone, PartialEq)]
pub struct Converted {
    pub path: PathBuf,
    pub bytes: u64,
    pub tensors: usize,
    pub n_vocab: usize,
    pub multilingual: bool,
}

/// The hyperparameters of the ggml header.
#[derive(Debug, Clone, Copy)]
struct Hparams {
    n_vocab: usize,
    n_audio_ctx: usize,
    n_audio_state: usize,
    n_audio_head: usize,
    n_audio_layer: usize,
    n_text_ctx: usize,
    n_text_state: usize,
    n_text_head: usize,
    n_text_layer: usize,
    n_mels: usize,
}

impl Hparams {
    /// Why these cannot be a Whisper model's (sizes a damaged or crafted file declares).
    fn problem(&self) -> Option<String> {
        let in_range = |v: usize, lo: usize, hi: usize| (lo..=hi).contains(&v);
        let checks = [
            (in_range(self.n_vocab, 1, 1_000_000), "vocabulary size"),
            (in_range(self.n_audio_ctx, 1, 65_536), "audio context"),
            (in_range(self.n_text_ctx, 1, 65_536), "text context"),
            (in_range(self.n_audio_state, 1, 16_384), "audio width"),
            (in_range(self.n_text_state, 1, 16_384), "text width"),
            (in_range(self.n_audio_layer, 1, 256), "encoder layers"),
            (in_range(self.n_text_layer, 1, 256), "decoder layers"),
            (
                self.n_audio_state.is_multiple_of(self.n_audio_head),
                "encoder heads",
            ),
            (
                self.n_text_state.is_multiple_of(self.n_text_head),
                "decoder heads",
            ),
            (matches!(self.n_mels, 80 | 128), "mel bands"),
        ];
        checks
            .iter()
            .find(|(ok, _)| !ok)
            .map(|(_, what)| format!("its {what} is not one a Whisper model has ({self:?})"))
    }
}

/// The GPT-2 byte-level alphabet: char -> byte.
fn unicode_to_byte() -> BTreeMap<char, u8> {
    let mut bs: Vec<u32> = (b'!' as u32..=b'~' as u32)
        .chain(0xA1..=0xAC)
        .chain(0xAE..=0xFF)
        .collect();
    let mut cs = bs.clone();
    let mut n = 0;
    for b in 0..256u32 {
        if !bs.contains(&b) {
            bs.push(b);
            cs.push(256 + n);
            n += 1;
        }
    }
    cs.into_iter()
        .zip(bs)
        .map(|(c, b)| (char::from_u32(c).expect("valid char"), b as u8))
        .collect()
}

struct Tensor {
    name: String,
    shape: Vec<usize>,
    f16: bool,
    values: Vec<f32>,
}

struct Source<'a> {
    model: &'a Ct2Model,
    dir: &'a Path,
}

impl Source<'_> {
    fn var(&self, name: &str) -> Result<&Variable, ConvertError> {
        self.model
            .variables
            .get(name)
            .ok_or_else(|| self.bad(format!("it has no variable {name}")))
    }

    fn values(&self, name: &str) -> Result<Vec<f32>, ConvertError> {
        let v = self.var(name)?;
        v.to_f32().ok_or_else(|| {
            self.bad(format!(
                "variable {name} is {:?}; only float models (f32, f16, bf16) can be converted, not int8-quantized ones",
                v.dtype
            ))
        })
    }

    fn int(&self, name: &str) -> Result<usize, ConvertError> {
        let v = self
            .var(name)?
            .scalar_int()
            .ok_or_else(|| self.bad(format!("{name} is not an integer")))?;
        usize::try_from(v)
            .ok()
            .filter(|v| (1..=1024).contains(v))
            .ok_or_else(|| self.bad(format!("{name} is {v}, not a count of heads")))
    }

    /// Dimension `i` of variable `name`, which must have `rank` dimensions.
    fn dim(&self, name: &str, rank: usize, i: usize) -> Result<usize, ConvertError> {
        let v = self.var(name)?;
        if v.shape.len() != rank {
            return Err(self.bad(format!(
                "variable {name} has {} dimensions, not {rank}",
                v.shape.len()
            )));
        }
        Ok(v.shape[i])
    }

    fn bad(&self, reason: String) -> ConvertError {
        ConvertError::NotWhisper {
            dir: self.dir.to_path_buf(),
            reason,
        }
    }

    fn count_layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                self.model
                    .variables
                    .contains_key(&format!("{prefix}/layer_{i}/ffn/layer_norm/gamma"))
            })
            .count()
    }
}

/// Rows `[from, to)` of a row-major matrix with `cols` columns.
fn rows(v: &[f32], cols: usize, from: usize, to: usize) -> Vec<f32> {
    v[from * cols..to * cols].to_vec()
}

fn push(out: &mut Vec<Tensor>, name: String, shape: Vec<usize>, values: Vec<f32>) {
    // whisper.cpp checks dtypes: matrices f16; vectors, positional embeddings and the
    // conv biases (reshaped to a column) f32.
    let f16 = shape.len() >= 2
        && !name.ends_with("positional_embedding")
        && !(name.starts_with("encoder.conv") && name.ends_with(".bias"));
    out.push(Tensor {
        name,
        shape,
        f16,
        values,
    });
}

fn linear(
    s: &Source,
    out: &mut Vec<Tensor>,
    from: &str,
    to: &str,
    bias: bool,
) -> Result<(), ConvertError> {
    let w = s.var(&format!("{from}/weight"))?.shape.clone();
    push(
        out,
        format!("{to}.weight"),
        w,
        s.values(&format!("{from}/weight"))?,
    );
    if bias {
        let b = s.values(&format!("{from}/bias"))?;
        push(out, format!("{to}.bias"), vec![b.len()], b);
    }
    Ok(())
}

fn norm(s: &Source, out: &mut Vec<Tensor>, from: &str, to: &str) -> Result<(), ConvertError> {
    let g = s.values(&format!("{from}/gamma"))?;
    let b = s.values(&format!("{from}/beta"))?;
    push(out, format!("{to}.weight"), vec![g.len()], g);
    push(out, format!("{to}.bias"), vec![b.len()], b);
    Ok(())
}

/// Self-attention: fused qkv (3d, d) -> query/key/value; key has no bias.
fn self_attention(
    s: &Source,
    out: &mut Vec<Tensor>,
    from: &str,
    to: &str,
    d: usize,
) -> Result<(), ConvertError> {
    let w = s.values(&format!("{from}/linear_0/weight"))?;
    let b = s.values(&format!("{from}/linear_0/bias"))?;
    if w.len() != 3 * d * d || b.len() != 3 * d {
        return Err(s.bad(format!(
            "{from}/linear_0 is not a fused (3 x {d}) projection"
        )));
    }
    push(
        out,
        format!("{to}.query.weight"),
        vec![d, d],
        rows(&w, d, 0, d),
    );
    push(out, format!("{to}.query.bias"), vec![d], b[..d].to_vec());
    push(
        out,
        format!("{to}.key.weight"),
        vec![d, d],
        rows(&w, d, d, 2 * d),
    );
    push(
        out,
        format!("{to}.value.weight"),
        vec![d, d],
        rows(&w, d, 2 * d, 3 * d),
    );
    push(
        out,
        format!("{to}.value.bias"),
        vec![d],
        b[2 * d..].to_vec(),
    );
    linear(
        s,
        out,
        &format!("{from}/linear_1"),
        &format!("{to}.out"),
        true,
    )
}

fn mlp(s: &Source, out: &mut Vec<Tensor>, from: &str, to: &str) -> Result<(), ConvertError> {
    linear(
        s,
        out,
        &format!("{from}/linear_0"),
        &format!("{to}.mlp.0"),
        true,
    )?;
    linear(
        s,
        out,
        &format!("{from}/linear_1"),
        &format!("{to}.mlp.2"),
        true,
    )?;
    norm(
        s,
        out,
        &format!("{from}/layer_norm"),
        &format!("{to}.mlp_ln"),
    )
}

fn tensors(s: &Source, h: &Hparams) -> Result<Vec<Tensor>, ConvertError> {
    let mut out = Vec::new();
    let d = h.n_audio_state;
    // Encoder, in the order of OpenAI's state dict.
    let pe = s.values("encoder/position_encodings/encodings")?;
    push(
        &mut out,
        "encoder.positional_embedding".into(),
        vec![h.n_audio_ctx, d],
        pe,
    );
    for conv in ["conv1", "conv2"] {
        let wv = s.var(&format!("encoder/{conv}/weight"))?;
        let shape = wv.shape.clone();
        push(
            &mut out,
            format!("encoder.{conv}.weight"),
            shape,
            s.values(&format!("encoder/{conv}/weight"))?,
        );
        let b = s.values(&format!("encoder/{conv}/bias"))?;
        push(
            &mut out,
            format!("encoder.{conv}.bias"),
            vec![b.len(), 1],
            b,
        );
    }
    for i in 0..h.n_audio_layer {
        let from = format!("encoder/layer_{i}");
        let to = format!("encoder.blocks.{i}");
        self_attention(
            s,
            &mut out,
            &format!("{from}/self_attention"),
            &format!("{to}.attn"),
            d,
        )?;
        norm(
            s,
            &mut out,
            &format!("{from}/self_attention/layer_norm"),
            &format!("{to}.attn_ln"),
        )?;
        mlp(s, &mut out, &format!("{from}/ffn"), &to)?;
    }
    norm(s, &mut out, "encoder/layer_norm", "encoder.ln_post")?;

    // Decoder.
    let d = h.n_text_state;
    let pe = s.values("decoder/position_encodings/encodings")?;
    push(
        &mut out,
        "decoder.positional_embedding".into(),
        vec![h.n_text_ctx, d],
        pe,
    );
    let emb = s.values("decoder/embeddings/weight")?;
    push(
        &mut out,
        "decoder.token_embedding.weight".into(),
        vec![h.n_vocab, d],
        emb,
    );
    for i in 0..h.n_text_layer {
        let from = format!("decoder/layer_{i}");
        let to = format!("decoder.blocks.{i}");
        self_attention(
            s,
            &mut out,
            &format!("{from}/self_attention"),
            &format!("{to}.attn"),
            d,
        )?;
        norm(
            s,
            &mut out,
            &format!("{from}/self_attention/layer_norm"),
            &format!("{to}.attn_ln"),
        )?;
        // Cross attention: query; fused key/value (2d, d) with a zero key bias.
        linear(
            s,
            &mut out,
            &format!("{from}/attention/linear_0"),
            &format!("{to}.cross_attn.query"),
            true,
        )?;
        let w = s.values(&format!("{from}/attention/linear_1/weight"))?;
        let b = s.values(&format!("{from}/attention/linear_1/bias"))?;
        if w.len() != 2 * d * d || b.len() != 2 * d {
            return Err(s.bad(format!(
                "{from}/attention/linear_1 is not a fused (2 x {d}) projection"
            )));
        }
        push(
            &mut out,
            format!("{to}.cross_attn.key.weight"),
            vec![d, d],
            rows(&w, d, 0, d),
        );
        push(
            &mut out,
            format!("{to}.cross_attn.value.weight"),
            vec![d, d],
            rows(&w, d, d, 2 * d),
        );
        push(
            &mut out,
            format!("{to}.cross_attn.value.bias"),
            vec![d],
            b[d..].to_vec(),
        );
        linear(
            s,
            &mut out,
            &format!("{from}/attention/linear_2"),
            &format!("{to}.cross_attn.out"),
            true,
        )?;
        norm(
            s,
            &mut out,
            &format!("{from}/attention/layer_norm"),
            &format!("{to}.cross_attn_ln"),
        )?;
        mlp(s, &mut out, &format!("{from}/ffn"), &to)?;
    }
    norm(s, &mut out, "decoder/layer_norm", "decoder.ln")?;
    Ok(out)
}

/// Converts the faster-whisper model in `dir` (model.bin, vocabulary.txt) to the ggml
/// file `dest`, written to a temporary file first and renamed when complete.
pub fn convert_ct2_dir(dir: &Path, dest: &Path) -> Result<Converted, ConvertError> {
    convert_ct2_dir_as(dir, dest, WeightType::F16)
}

/// How the weight matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightType {
    F16,
    /// ggml's 8-bit blocks: 32 weights share one f16 scale (34 bytes per 32 weights).
    Q8_0,
}

impl std::str::FromStr for WeightType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "f16" => Ok(WeightType::F16),
            "q8_0" | "q8" => Ok(WeightType::Q8_0),
            _ => Err(format!("unknown weight type {s:?}: use f16 or q8_0")),
        }
    }
}

/// ggml's `quantize_row_q8_0_ref`: per block of 32, d = max|x| / 127, q = round(x / d).
pub fn quantize_q8_0(values: &[f32], out: &mut Vec<u8>) {
    for block in values.chunks(32) {
        let amax = block.iter().fold(0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let id = if d != 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&half::f16::from_f32(d).to_le_bytes());
        for v in block {
            out.push((v * id).round() as i8 as u8);
        }
        for _ in block.len()..32 {
            out.push(0);
        }
    }
}

/// As [`convert_ct2_dir`], with the weight matrices stored as `weights`.
pub fn convert_ct2_dir_as(
    dir: &Path,
    dest: &Path,
    weights: WeightType,
) -> Result<Converted, ConvertError> {
    let model = Ct2Model::read(&dir.join("model.bin"))?;
    let s = Source { model: &model, dir };
    if model.spec != "WhisperSpec" {
        return Err(s.bad(format!(
            "its model is a {}, not a Whisper model",
            model.spec
        )));
    }
    let (emb, ape, tpe, conv1) = (
        "decoder/embeddings/weight",
        "encoder/position_encodings/encodings",
        "decoder/position_encodings/encodings",
        "encoder/conv1/weight",
    );
    let h = Hparams {
        n_vocab: s.dim(emb, 2, 0)?,
        n_audio_ctx: s.dim(ape, 2, 0)?,
        n_audio_state: s.dim(ape, 2, 1)?,
        n_audio_head: s.int("encoder/num_heads")?,
        n_audio_layer: s.count_layers("encoder"),
        n_text_ctx: s.dim(tpe, 2, 0)?,
        n_text_state: s.dim(tpe, 2, 1)?,
        n_text_head: s.int("decoder/num_heads")?,
        n_text_layer: s.count_layers("decoder"),
        n_mels: s.dim(conv1, 3, 1)?,
    };
    if let Some(why) = h.problem() {
        return Err(s.bad(why));
    }
    let vocab_path = dir.join("vocabulary.txt");
    let vocab = std::fs::read_to_string(&vocab_path)
        .map_err(|e| s.bad(format!("its vocabulary.txt could not be read ({e})")))?;
    let alphabet = unicode_to_byte();
    let mut tokens: Vec<Vec<u8>> = Vec::new();
    for line in vocab.lines() {
        if line == "<|endoftext|>" {
            break;
        }
        let bytes = line
            .chars()
            .map(|c| alphabet.get(&c).copied())
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| s.bad(format!("vocabulary token {line:?} is not byte-level BPE")))?;
        tokens.push(bytes);
    }
    let tensors = tensors(&s, &h)?;
    // Every tensor holds exactly what its shape says (a damaged file could declare one
    // shape and carry other data: whisper.cpp would read past it).
    for t in &tensors {
        let want = t.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d));
        if want != Some(t.values.len()) {
            return Err(s.bad(format!(
                "tensor {} has {} values for the shape {:?}",
                t.name,
                t.values.len(),
                t.shape
            )));
        }
    }

    let tmp = dest.with_extension("part");
    let werr = |source| ConvertError::Write {
        path: dest.to_path_buf(),
        source,
    };
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(werr)?;
    }
    let file = std::fs::File::create(&tmp).map_err(werr)?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut put = |b: &[u8]| w.write_all(b);
    let i32b = |v: usize| (v as i32).to_le_bytes();
    (|| -> std::io::Result<()> {
        put(&0x6767_6d6c_i32.to_le_bytes())?;
        for v in [
            h.n_vocab,
            h.n_audio_ctx,
            h.n_audio_state,
            h.n_audio_head,
            h.n_audio_layer,
            h.n_text_ctx,
            h.n_text_state,
            h.n_text_head,
            h.n_text_layer,
            h.n_mels,
            // ftype, with ggml's quantization version (2) times 1000 when quantized.
            match weights {
                WeightType::F16 => 1,
                WeightType::Q8_0 => 7 + 2 * 1000,
            },
        ] {
            put(&i32b(v))?;
        }
        let filters = mel::filterbank(16000, 400, h.n_mels);
        put(&i32b(h.n_mels))?;
        put(&i32b(201))?;
        for f in filters {
            put(&f.to_le_bytes())?;
        }
        put(&i32b(tokens.len()))?;
        for t in &tokens {
            put(&i32b(t.len()))?;
            put(t)?;
        }
        for t in &tensors {
            // Matrices (not the conv kernels, biases or positional embeddings) are
            // quantized, as whisper.cpp's own quantizer does.
            let quantized = weights == WeightType::Q8_0 && t.f16 && t.shape.len() == 2;
            let f16 = t.f16;
            put(&i32b(t.shape.len()))?;
            put(&i32b(t.name.len()))?;
            put(&i32b(if quantized { 8 } else { usize::from(f16) }))?;
            for d in t.shape.iter().rev() {
                put(&i32b(*d))?;
            }
            put(t.name.as_bytes())?;
            if quantized {
                let mut q = Vec::with_capacity(t.values.len() / 32 * 34);
                quantize_q8_0(&t.values, &mut q);
                put(&q)?;
            } else if f16 {
                for v in &t.values {
                    put(&half::f16::from_f32(*v).to_le_bytes())?;
                }
            } else {
                for v in &t.values {
                    put(&v.to_le_bytes())?;
                }
            }
        }
        Ok(())
    })()
    .map_err(werr)?;
    let file = w.into_inner().map_err(|e| werr(e.into_error()))?;
    file.sync_all().map_err(werr)?;
    drop(file);
    std::fs::rename(&tmp, dest).map_err(werr)?;
    let bytes = std::fs::metadata(dest).map_err(werr)?.len();
    Ok(Converted {
        path: dest.to_path_buf(),
        bytes,
        tensors: tensors.len(),
        n_vocab: h.n_vocab,
        multilingual: h.n_vocab >= 51865,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q8_0_blocks_round_trip_closely() {
        let values: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * 0.2).collect();
        let mut q = Vec::new();
        quantize_q8_0(&values, &mut q);
        assert_eq!(q.len(), 2 * 34);
        for (b, block) in values.chunks(32).enumerate() {
            let raw = &q[b * 34..(b + 1) * 34];
            let d = half::f16::from_le_bytes([raw[0], raw[1]]).to_f32();
            for (i, v) in block.iter().enumerate() {
                let back = raw[2 + i] as i8 as f32 * d;
                assert!((back - v).abs() <= d * 0.51 + 1e-4, "{back} vs {v}");
            }
        }
        // A block of zeros has scale 0 and zero quants.
        let mut z = Vec::new();
        quantize_q8_0(&[0.0; 32], &mut z);
        assert!(z.iter().all(|b| *b == 0));
        assert_eq!("q8_0".parse::<WeightType>().unwrap(), WeightType::Q8_0);
    }
}
