//! Generates the app's context and an `allow-<command>` permission for each of the
//! shell's commands, so that capabilities/main.json can grant exactly those.

/// Every command of src-tauri/src/commands.rs.
const COMMANDS: &[&str] = &[
    "app_info",
    "list_items",
    "item_detail",
    "import_paths",
    "pick_files",
    "pick_folder",
    "pick_model_file",
    "pick_model_folder",
    "cancel_item",
    "retry_item",
    "set_priority",
    "pause_queue",
    "resume_queue",
    "clear_finished",
    "dashboard",
    "get_settings",
    "save_settings",
    "list_models",
    "recommended_model",
    "download_model",
    "cancel_download",
    "import_model",
    "open_path",
    "reveal_path",
    "queue_connection",
    "reconnect_queue",
    "rename_speaker",
    "remembered_voices",
    "forget_voice",
    "summary_templates",
    "library_documents",
    "search_library",
    "open_document",
    "edit_document",
    "save_draft",
    "discard_draft",
    "restore_version",
    "export_again",
    "replace_everywhere",
    "delete_document",
];

fn main() {
    // Build facts for the About box.
    for (name, var) in [
        ("VIDEO2DOC_TARGET", "TARGET"),
        ("VIDEO2DOC_PROFILE", "PROFILE"),
    ] {
        println!(
            "cargo:rustc-env={name}={}",
            std::env::var(var).unwrap_or_default()
        );
    }
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok());
    if let Some(c) = commit {
        println!("cargo:rustc-env=VIDEO2DOC_COMMIT={}", c.trim());
    }
    // HEAD names the branch; the branch's ref (or packed-refs) changes with each commit.
    println!("cargo:rerun-if-changed=.git/HEAD");
    if let Ok(head) = std::fs::read_to_string(".git/HEAD") {
        if let Some(r) = head.trim().strip_prefix("ref: ") {
            let loose = format!(".git/{r}");
            if std::path::Path::new(&loose).exists() {
                println!("cargo:rerun-if-changed={loose}");
            } else {
                println!("cargo:rerun-if-changed=.git/packed-refs");
            }
        }
    }
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("the Tauri context builds");
}
