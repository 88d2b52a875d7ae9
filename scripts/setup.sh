#!/usr/bin/env bash
# Installs what building, running and testing Video2Doc needs on Debian/Ubuntu.
# Idempotent: packages already present are not fetched again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(build-essential pkg-config ca-certificates curl cmake clang libclang-dev libopenblas-openmp-dev ffmpeg espeak-ng python3 python3-pip fonts-dejavu-core fonts-liberation fonts-wqy-microhei fonts-droid-fallback poppler-utils redis-server openssl
  # recorded Mandarin syllables: real Chinese speech for the recognition tests (scripts/mandarin-speech.sh)
  gcin-voice
  # the desktop window (Tauri 2 on WebKitGTK), and its end-to-end tests under Xvfb
  libwebkit2gtk-4.1-dev librsvg2-dev libssl-dev libxdo-dev webkit2gtk-driver xvfb xauth x11-utils dbus-daemon
  # the editor plays the recording in the window: WebKitGTK decodes media with GStreamer
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-libav
  # the GPU transcription worker's Vulkan build (headers, loader, shader compiler), and
  # Mesa's software Vulkan driver (lavapipe), on which its tests run without a GPU
  libvulkan-dev glslc mesa-vulkan-drivers)
# The UI is built with Node.js (18 or newer): the distribution's, unless one is installed.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  if [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  else
    echo "setup: installing the Rust toolchain (rustup)"
    curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
fi
cargo fmt --version >/dev/null 2>&1 || rustup component add rustfmt
cargo clippy --version >/dev/null 2>&1 || rustup component add clippy
# whisper.cpp's build script reads .cargo/config.toml's GGML_*/CMAKE_* settings but does
# not rerun when they change: a cached build made with other settings (or without
# whisper/encoder-on-blas.cmake's edits) is removed, so that the next build makes it
# again with them.
. scripts/env.sh
for cache in "$CARGO_TARGET_DIR"/*/build/whisper-rs-sys-*/out/build/CMakeCache.txt; do
  [ -f "$cache" ] || continue
  source_copy="$(dirname "$(dirname "$cache")")/whisper.cpp/src/whisper.cpp"
  if ! grep -q '^GGML_LLAMAFILE:BOOL=ON$' "$cache" || ! grep -q '^GGML_NATIVE:BOOL=OFF$' "$cache" ||
    ! grep -q 'v2d_conv_1d_ph' "$source_copy" 2>/dev/null; then
    profile_dir=${cache%%/build/whisper-rs-sys-*}
    echo "setup: whisper.cpp in $profile_dir was built with other settings; it will be rebuilt"
    rm -rf "$profile_dir"/build/whisper-rs-sys-* "$profile_dir"/.fingerprint/whisper-rs-sys-*
  fi
done
# tauri-driver: the WebDriver bridge the desktop end-to-end tests drive the app through.
TOOLS="$HOME/.cache/video2doc/tools"
if [ ! -x "$TOOLS/bin/tauri-driver" ]; then
  echo "setup: installing tauri-driver"
  cargo install tauri-driver --version 2.1.0 --locked --root "$TOOLS" -q
fi
# The UI's and the end-to-end tests' packages, as locked.
for dir in ui tests/e2e; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    echo "setup: npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done
echo "setup: ok ($(cargo --version), node $(node --version))"
