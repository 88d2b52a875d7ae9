#!/usr/bin/env bash
# Installs what is needed, then runs Video2Doc's main job: a generated, narrated
# lecture turned into documents by the `video2doc` CLI; prints where they are. With a
# display, it then opens the desktop window on the same data, the lecture in its queue.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
./scripts/fetch-test-model.sh
cargo build --release --locked -q -p video2doc-cli
DEMO="${VIDEO2DOC_DEMO_DIR:-$HOME/Video2Doc-demo}"
mkdir -p "$DEMO"
./scripts/sample-video.sh "$DEMO/Photosynthesis lecture.mp4"
"$CARGO_TARGET_DIR/release/video2doc" --data-dir "$DEMO/data" process \
  "$DEMO/Photosynthesis lecture.mp4" --out "$DEMO/documents" \
  --model "$HOME/.cache/video2doc/models/ggml-tiny.en-test.bin" --language en
echo "documents: $DEMO/documents/Photosynthesis lecture/"
ls "$DEMO/documents/Photosynthesis lecture/"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${VIDEO2DOC_NO_WINDOW:-}" ]; then
  npm --prefix ui run build >/dev/null
  cargo build --release --locked -q -p video2doc-desktop
  "$CARGO_TARGET_DIR/release/video2doc" --data-dir "$DEMO/data" settings set model \
    "$HOME/.cache/video2doc/models/ggml-tiny.en-test.bin" >/dev/null
  "$CARGO_TARGET_DIR/release/video2doc" --data-dir "$DEMO/data" settings set output_dir \
    "$DEMO/documents" >/dev/null
  echo "opening the Video2Doc window (drop more videos on it; close it to end)"
  VIDEO2DOC_DATA_DIR="$DEMO/data" "$CARGO_TARGET_DIR/release/video2doc-desktop"
fi
