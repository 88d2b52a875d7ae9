//! Reader of CTranslate2 `model.bin` files (binary version 6), the format of
//! faster-whisper models: named variables with a shape and a dtype, and aliases.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Element types of CTranslate2 variables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DType {
    F32,
    I8,
    I16,
    I32,
    F16,
    Bf16,
}

impl DType {
    fn from_u8(v: u8) -> Option<DType> {
        Some(match v {
            0 => DType::F32,
            1 => DType::I8,
            2 => DType::I16,
            3 => DType::I32,
            4 => DType::F16,
            5 => DType::Bf16,
            _ => return None,
        })
    }
}

/// One variable of the model.
#[derive(Debug, Clone)]
pub struct Variable {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub data: Vec<u8>,
}

impl Variable {
    /// The values as f32, whatever the stored float type.
    pub fn to_f32(&self) -> Option<Vec<f32>> {
        match self.dtype {
            DType::F32 => Some(
                self.data
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            DType::F16 => Some(
                self.data
                    .chunks_exact(2)
                    .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            ),
            DType::Bf16 => Some(
                self.data
                    .chunks_exact(2)
                    .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            ),
            _ => None,
        }
    }

    /// A scalar integer flag (rank 0).
    pub fn scalar_int(&self) -> Option<i64> {
        if !self.shape.is_empty() {
            return None;
        }
        let d = &self.data;
        Some(match self.dtype {
            DType::I8 => d.first().map(|b| *b as i8 as i64)?,
            DType::I16 => i16::from_le_bytes(d.get(..2)?.try_into().ok()?) as i64,
            DType::I32 => i32::from_le_bytes(d.get(..4)?.try_into().ok()?) as i64,
            _ => return None,
        })
    }
}

/// A parsed `model.bin`.
#[derive(Debug)]
pub struct Ct2Model {
    pub spec: String,
    pub revision: u32,
    pub variables: BTreeMap<String, Variable>,
    pub aliases: BTreeMap<String, String>,
}

/// Why a CTranslate2 model could not be read.
#[derive(Debug, thiserror::Error)]
pub enum Ct2Error {
    #[error("could not read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a CTranslate2 model: {reason}")]
    Format { path: PathBuf, reason: String },
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.data.len());
        let end = end.ok_or_else(|| format!("the file ends early (at byte {})", self.pos))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, String> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().expect("2 bytes"),
        ))
    }
    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.u16()? as usize;
        let b = self.take(n)?;
        let b = b.strip_suffix(&[0]).unwrap_or(b);
        String::from_utf8(b.to_vec()).map_err(|_| "a name is not UTF-8".to_string())
    }
}

impl Ct2Model {
    /// Reads `model.bin`.
    pub fn read(path: &Path) -> Result<Ct2Model, Ct2Error> {
        let mut data = Vec::new();
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut data))
            .map_err(|source| Ct2Error::Io {
                path: path.to_path_buf(),
                source,
            })?;
        Ct2Model::parse(&data).map_err(|reason| Ct2Error::Format {
            path: path.to_path_buf(),
            reason,
        })
    }

    fn parse(data: &[u8]) -> Result<Ct2Model, String> {
        let mut c = Cursor { data, pos: 0 };
        let version = c.u32()?;
        if version != 6 {
            return Err(format!(
                "binary version {version}, only version 6 is supported"
            ));
        }
        let spec = c.string()?;
        let revision = c.u32()?;
        let n = c.u32()?;
        let mut variables = BTreeMap::new();
        for _ in 0..n {
            let name = c.string()?;
            let rank = c.u8()?;
            let shape = (0..rank)
                .map(|_| c.u32().map(|d| d as usize))
                .collect::<Result<Vec<_>, _>>()?;
            let dt = c.u8()?;
            let dtype =
                DType::from_u8(dt).ok_or_else(|| format!("variable {name} has dtype {dt}"))?;
            let nbytes = c.u32()? as usize;
            let data = c.take(nbytes)?.to_vec();
            variables.insert(name, Variable { shape, dtype, data });
        }
        let mut aliases = BTreeMap::new();
        if c.pos < data.len() {
            let n = c.u32()?;
            for _ in 0..n {
                let alias = c.string()?;
                let target = c.string()?;
                aliases.insert(alias, target);
            }
        }
        Ok(Ct2Model {
            spec,
            revision,
            variables,
            aliases,
        })
    }
}
