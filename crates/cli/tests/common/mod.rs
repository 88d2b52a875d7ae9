//! Shared by the integration tests: the real Whisper test model.

use std::path::PathBuf;

/// The test model (`VIDEO2DOC_TEST_MODEL`, else the one scripts/fetch-test-model.sh makes).
pub fn model() -> PathBuf {
    let p = std::env::var_os("VIDEO2DOC_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/ggml-tiny.en-test.bin")
        });
    assert!(
        p.is_file(),
        "the test model {} is missing: run scripts/fetch-test-model.sh",
        p.display()
    );
    p
}
