//! Converts a faster-whisper (CTranslate2) model folder to a ggml file:
//! `cargo run --release -p video2doc-core --example import_model -- CT2_DIR OUT.bin`
//! (used by scripts/fetch-test-model.sh until the CLI's `models import` exists).

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), Some(out)) = (args.next(), args.next()) else {
        anyhow::bail!("usage: import_model CT2_DIR OUT.bin");
    };
    let c = video2doc_core::media::models::convert_ct2_dir(dir.as_ref(), out.as_ref())?;
    println!(
        "wrote {} ({} bytes, {} tensors, {} vocabulary)",
        c.path.display(),
        c.bytes,
        c.tensors,
        c.n_vocab
    );
    Ok(())
}
