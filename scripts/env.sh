# Shared settings of the scripts: builds are cached outside the checkout.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/video2doc/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# How whisper.cpp is built (portable, llamafile kernels): .cargo/config.toml.
# The Tauri CLI: the app is this folder (tauri.conf.json), its frontend is ui/ (hooks
# such as beforeBuildCommand run there).
export TAURI_APP_PATH="${TAURI_APP_PATH:-$PWD}" TAURI_FRONTEND_PATH="${TAURI_FRONTEND_PATH:-$PWD/ui}"
