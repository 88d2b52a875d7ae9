#!/usr/bin/env bash
# Installs what is needed, then runs Video2Doc's main job: a generated, narrated
# lecture turned into documents by the `video2doc` CLI (the desktop window arrives with
# issue 5). Prints where the documents are.
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
