#!/usr/bin/env bash
# Runs the desktop app's end-to-end tests: the app (debug build) in a real window on a
# private Xvfb display, driven by tauri-driver and WebKitWebDriver. Screenshots go to
# $E2E_OUT (default: $CARGO_TARGET_DIR/e2e-screenshots).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
# The app binary as the workspace's test build makes it (same command and features as
# scripts/test.sh's tests phase, so after it nothing is compiled again; `-p
# video2doc-desktop` alone resolves features differently and rebuilt ~60 crates).
cargo test --workspace --no-run --locked -q --features video2doc-queue/redis
export VIDEO2DOC_APP="$CARGO_TARGET_DIR/debug/video2doc-desktop"
# The GPU transcription worker (Vulkan; scripts/test.sh builds it), which the window
# lists with its devices: Mesa's software renderer here.
cargo build --release -p video2doc-gpu --features vulkan --locked -q
export VIDEO2DOC_GPU_WORKER="$CARGO_TARGET_DIR/release/video2doc-whisper-vulkan"
export TAURI_DRIVER="$HOME/.cache/video2doc/tools/bin/tauri-driver"
export E2E_OUT="${E2E_OUT:-$CARGO_TARGET_DIR/e2e-screenshots}"
rm -rf "$E2E_OUT"
# A display of our own: the first free number from 90.
n=90
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
export DISPLAY=":$n"
# A session bus of their own, as a desktop has: single instance needs it.
(cd tests/e2e && dbus-run-session -- npm test)
echo "e2e screenshots: $E2E_OUT"
