//! What the command-line tests share: the real binary on a data folder, run to success.

use std::path::Path;
use std::process::Command;

/// `video2doc --data-dir DATA --json`.
pub fn video2doc(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_video2doc"));
    c.arg("--data-dir").arg(data).arg("--json");
    c
}

/// Runs `c`, which must succeed, and returns its JSON output.
pub fn run(c: &mut Command) -> serde_json::Value {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{c:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
