//! Import of ggml files (downloads are tested over HTTPS in https.rs).

use std::path::PathBuf;

use video2doc_core::media::models::catalogue::{ggml_info, import_ggml};

#[test]
fn a_real_ggml_file_imports_and_other_files_do_not() {
    let model = std::env::var_os("VIDEO2DOC_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var("HOME").unwrap())
                .join(".cache/video2doc/models/ggml-tiny.en-test.bin")
        });
    let info = ggml_info(&model).unwrap();
    assert_eq!(
        (info.n_vocab, info.n_audio_layer, info.n_mels),
        (51864, 4, 80)
    );
    assert!(!info.multilingual);
    let dir = tempfile::tempdir().unwrap();
    let dest = import_ggml(&model, dir.path(), "tiny.en").unwrap();
    assert_eq!(dest.file_name().unwrap(), "ggml-tiny.en.bin");
    let notes = dir.path().join("notes.bin");
    std::fs::write(&notes, "these are not weights, just some text in a file").unwrap();
    let e = import_ggml(&notes, dir.path(), "x").unwrap_err();
    assert!(
        e.to_string().contains("notes.bin") && e.to_string().contains("not a ggml"),
        "{e}"
    );
}
