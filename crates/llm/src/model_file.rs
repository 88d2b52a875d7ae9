//! What the worker checks of a model file before llama.cpp reads it: that it can be
//! opened and starts with GGUF's magic. llama.cpp may abort on arbitrary bytes; a file
//! that passes here but is damaged further on (a truncated download) is refused by
//! llama.cpp itself, which reads the header and checks the tensors against the file size.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// The first four bytes of every GGUF file.
const MAGIC: &[u8; 4] = b"GGUF";

/// Why a file is not taken as a model.
#[derive(Debug, Error)]
pub enum ModelFileError {
    #[error("cannot read the model file {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the model file {} is not a GGUF file (it does not start with \"GGUF\")", path.display())]
    NotGguf { path: PathBuf },
}

/// Checks that `path` is a readable file starting with GGUF's magic.
pub fn check(path: &Path) -> Result<(), ModelFileError> {
    let unreadable = |source| ModelFileError::Unreadable {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(unreadable)?;
    let mut head = Vec::with_capacity(MAGIC.len());
    // `take` + `read_to_end`: a shorter file is read whole, not an error.
    file.by_ref()
        .take(MAGIC.len() as u64)
        .read_to_end(&mut head)
        .map_err(unreadable)?;
    if head != MAGIC {
        return Err(ModelFileError::NotGguf {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("video2doc-llm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn takes_gguf_magic_only() {
        assert!(check(&temp_file("ok.gguf", b"GGUF\x03\0\0\0")).is_ok());
        let text = temp_file("text.gguf", b"hello, not a model");
        assert!(matches!(check(&text), Err(ModelFileError::NotGguf { .. })));
        assert!(matches!(
            check(&temp_file("short.gguf", b"GG")),
            Err(ModelFileError::NotGguf { .. })
        ));
        assert!(matches!(
            check(&temp_file("empty.gguf", b"")),
            Err(ModelFileError::NotGguf { .. })
        ));
    }

    #[test]
    fn says_the_file() {
        let missing = std::env::temp_dir().join("video2doc-llm-no-such-model.gguf");
        let error = check(&missing).unwrap_err();
        assert!(matches!(error, ModelFileError::Unreadable { .. }));
        assert!(
            error
                .to_string()
                .contains("video2doc-llm-no-such-model.gguf"),
            "{error}"
        );
    }

    #[test]
    fn a_folder_is_not_a_model() {
        let error = check(&std::env::temp_dir()).unwrap_err();
        assert!(
            matches!(error, ModelFileError::Unreadable { .. }),
            "{error}"
        );
    }
}
