//! Models: the catalogue of standard ggml Whisper models with verified, resumable
//! downloads and import; reading CTranslate2 (faster-whisper) models and converting
//! them to the ggml files whisper.cpp loads; and the text models that read slides
//! ([`text`]), the speaker models that tell voices apart ([`speaker`]) and the language
//! models that write summaries ([`llm`]), downloaded and imported alike.

pub mod catalogue;
pub mod convert;
pub mod ct2;
pub mod download;
pub mod library;
pub mod llm;
pub mod mel;
pub mod speaker;
pub mod text;

pub use convert::{convert_ct2_dir, convert_ct2_dir_as, ConvertError, Converted, WeightType};
