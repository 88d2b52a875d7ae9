#!/usr/bin/env bash
# Builds the Linux installers (.deb and .rpm) with `tauri build`, installs the .deb with
# dpkg, turns a generated video into documents with the installed CLI, runs the
# installed app under Xvfb for a few seconds (its window must appear), then removes
# the package. Run by scripts/test.sh; needs root (or sudo) for dpkg.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ui/node_modules/.bin/tauri build --bundles deb,rpm --config bundle/linux.conf.json
DEB="$(ls -t "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb | head -1)"
RPM="$(ls -t "$CARGO_TARGET_DIR"/release/bundle/rpm/*.rpm | head -1)"
echo "package-test: built $DEB and $RPM"
PKG="$(dpkg-deb -f "$DEB" Package)"
dpkg-deb -f "$DEB" Depends | grep -q ffmpeg || { echo "the .deb must depend on ffmpeg"; exit 1; }
dpkg-deb -f "$DEB" Recommends | grep -q libvulkan1 || { echo "the .deb must recommend libvulkan1"; exit 1; }

TMP="$(mktemp -d)"
XVFB=""
cleanup() {
  [ -n "$XVFB" ] && kill "$XVFB" 2>/dev/null || true
  as_root dpkg -r "$PKG" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
as_root dpkg -i "$DEB"
for f in /usr/bin/video2doc /usr/bin/video2doc-desktop /usr/bin/video2doc-llm /usr/bin/video2doc-whisper-vulkan; do
  [ -x "$f" ] || { echo "package-test: $f was not installed"; exit 1; }
done

# The installed CLI, on a generated lecture, with the test model.
./scripts/sample-video.sh "$TMP/lecture.mp4" >/dev/null
/usr/bin/video2doc --data-dir "$TMP/data" --json process "$TMP/lecture.mp4" --out "$TMP/docs" \
  --model "$HOME/.cache/video2doc/models/ggml-tiny.en-test.bin" --formats md,txt,json >"$TMP/report.json"
# auto: the GPU worker beside the CLI finds only Mesa's software renderer here, which
# auto never takes, so the speech was recognised on the CPU.
grep -q '"device":"cpu"' "$TMP/report.json" \
  || { echo "package-test: the report names no device"; cat "$TMP/report.json"; exit 1; }
grep -qi -e photosynthesis -e oxygen "$TMP/docs/lecture/lecture.md" \
  || { echo "package-test: the installed CLI made no transcript"; exit 1; }
echo "package-test: the installed CLI made $TMP/docs/lecture/lecture.md"

# The installed GPU worker, found beside the CLI: health lists its devices.
/usr/bin/video2doc --data-dir "$TMP/data" --json health >"$TMP/health.json" || true
grep -q '"program":"/usr/bin/video2doc-whisper-vulkan"' "$TMP/health.json" \
  && grep -q '"name":"llvmpipe' "$TMP/health.json" \
  || { echo "package-test: the installed GPU worker lists no device"; cat "$TMP/health.json"; exit 1; }
echo "package-test: the installed GPU worker lists Mesa's software Vulkan device"

# The installed local model's worker, found beside the CLI: a summary by the test model.
/usr/bin/video2doc-llm --version | grep -q '^video2doc-llm ' \
  || { echo "package-test: the installed video2doc-llm does not run"; exit 1; }
/usr/bin/video2doc --data-dir "$TMP/data" --json models import \
  "$HOME/.cache/video2doc/models/llm/SmolLM2-135M-Instruct.Q4_1.gguf" >/dev/null
/usr/bin/video2doc --data-dir "$TMP/data" --json summarize "$TMP/docs/lecture/lecture.json" \
  --out "$TMP/notes" --method local --formats md,json >"$TMP/summary.json"
grep -q '"method":"local"' "$TMP/summary.json" \
  || { echo "package-test: the installed app's local model wrote no summary"; cat "$TMP/summary.json"; exit 1; }
echo "package-test: the installed local model wrote a summary"

# The installed app: it starts, shows its window and keeps running.
n=90
while [ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ]; do n=$((n + 1)); done
Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XVFB=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
DISPLAY=":$n" VIDEO2DOC_DATA_DIR="$TMP/app-data" /usr/bin/video2doc-desktop >"$TMP/app.log" 2>&1 &
APP=$!
ok=""
for _ in $(seq 40); do
  sleep 0.5
  kill -0 "$APP" 2>/dev/null || break
  if DISPLAY=":$n" xwininfo -root -tree 2>/dev/null | grep -q '"Video2Doc"'; then ok=1; break; fi
done
alive=""; kill -0 "$APP" 2>/dev/null && alive=1
kill "$APP" 2>/dev/null || true
wait "$APP" 2>/dev/null || true
if [ -z "$ok" ] || [ -z "$alive" ]; then
  echo "package-test: the installed app did not show its window"; cat "$TMP/app.log"; exit 1
fi
echo "package-test: the installed app showed its window"
as_root dpkg -r "$PKG" >/dev/null
for f in /usr/bin/video2doc /usr/bin/video2doc-llm /usr/bin/video2doc-whisper-vulkan; do
  [ ! -e "$f" ] || { echo "package-test: dpkg -r left $f"; exit 1; }
done
echo "package-test: installed, ran and removed $PKG"
