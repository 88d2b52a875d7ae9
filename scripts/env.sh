# Shared settings of the scripts: builds are cached outside the checkout.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/video2doc/target}"
export PATH="$HOME/.cargo/bin:$PATH"
# Portable whisper.cpp builds (no -march=native), so binaries run on any x86-64 with AVX2.
export GGML_NATIVE=OFF
# The Tauri CLI: the app is this folder (tauri.conf.json), its frontend is ui/ (hooks
# such as beforeBuildCommand run there).
export TAURI_APP_PATH="${TAURI_APP_PATH:-$PWD}" TAURI_FRONTEND_PATH="${TAURI_FRONTEND_PATH:-$PWD/ui}"
