#!/usr/bin/env bash
# Run by `tauri build` (bundle/*.conf.json) before it builds the app: builds the
# `video2doc` CLI, the local language model's worker `video2doc-llm` (its own program:
# llama.cpp's ggml and whisper.cpp's cannot share one) and the GPU transcription worker
# (`video2doc-whisper-vulkan`, or `-metal` on macOS) for the bundle's target and puts
# them in binaries/ under the names Tauri expects of external binaries
# (<name>-<target triple>), so that every installer carries them beside the app. ffmpeg and ffprobe for Windows and macOS are put there
# by the release workflow; Linux packages depend on the distribution's ffmpeg.
# Only the CLI is built here, with the features of the whole build `tauri build` runs
# next (every default member's binaries, with the desktop's features: features are
# resolved over the packages selected, and `--bin` only filters targets), so both
# binaries share one build of whisper.cpp and the other dependencies (core is compiled
# again for the app, about a minute): building `-p video2doc-cli` alone resolved
# features differently and compiled ~100 crates (whisper.cpp among them) twice.
# The desktop itself is not built here: its build script copies the staged CLI into the
# target folder and fails while binaries/ does not hold it yet (a fresh clone).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
TRIPLE="${TAURI_ENV_TARGET_TRIPLE:-$(rustc -vV | sed -n 's/^host: //p')}"
EXE=""
case "$TRIPLE" in *windows*) EXE=".exe" ;; esac
HOST="$(rustc -vV | sed -n 's/^host: //p')"
if [ "$TRIPLE" = "$HOST" ]; then
  cargo build --bin video2doc --bin video2doc-llm --features tauri/custom-protocol --release --locked -q
  BUILT="$CARGO_TARGET_DIR/release"
else
  cargo build --bin video2doc --bin video2doc-llm --features tauri/custom-protocol --release --locked -q --target "$TRIPLE"
  BUILT="$CARGO_TARGET_DIR/$TRIPLE/release"
fi
# The GPU build of the transcription worker (crates/gpu): Metal on macOS, Vulkan
# elsewhere (VIDEO2DOC_GPU_BACKEND overrides it). Built on its own: in the build above,
# features are unified over the packages selected, and the CLI and the app would carry
# the GPU backend too (and then need its driver library to start at all).
GPU="${VIDEO2DOC_GPU_BACKEND:-}"
if [ -z "$GPU" ]; then
  case "$TRIPLE" in *apple-darwin) GPU=metal ;; *) GPU=vulkan ;; esac
fi
if [ "$TRIPLE" = "$HOST" ]; then
  cargo build -p video2doc-gpu --features "$GPU" --release --locked -q
else
  cargo build -p video2doc-gpu --features "$GPU" --release --locked -q --target "$TRIPLE"
fi
mkdir -p binaries
for bin in video2doc video2doc-llm "video2doc-whisper-$GPU"; do
  cp "$BUILT/$bin$EXE" "binaries/$bin-$TRIPLE$EXE"
  echo "stage-sidecars: binaries/$bin-$TRIPLE$EXE"
done
