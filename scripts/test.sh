#!/usr/bin/env bash
# Installs what is needed, then runs every check and test: the UI's, the workspace's
# (queue, core, CLI, desktop commands), the real desktop app's end to end under Xvfb,
# and the Linux installers built, installed, run and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase is timed; the durations are printed at the end (and on a failure).
TIMES=()
START=$SECONDS
phase() {
  local name=$1 t0=$SECONDS
  shift
  echo "== $name"
  "$@"
  TIMES+=("$(printf '%5ds  %s' $((SECONDS - t0)) "$name")")
}
report() {
  echo "== durations"
  printf '%s\n' "${TIMES[@]}"
  printf '%5ds  %s\n' $((SECONDS - START)) "in all"
}
trap report EXIT
ui() { npm --prefix ui run build && npm --prefix ui test; }

phase "setup (packages, tools, test models)" \
  bash -c './scripts/setup.sh && . scripts/env.sh && ./scripts/fetch-test-model.sh'
. scripts/env.sh
phase "ui: type check, build, unit tests" ui
phase "format" cargo fmt --all --check
# The GPU transcription worker (Vulkan), built once per build cache in release (its
# shaders take minutes on 2 cores; cached, seconds) and linted in the same profile, so
# that both share one build of whisper.cpp. The CLI's tests/gpu.rs runs it on lavapipe.
gpu_worker() {
  cargo build --release -p video2doc-gpu --features vulkan --locked &&
    cargo clippy --release -p video2doc-gpu --features vulkan --locked -- -D warnings
}
phase "lint" cargo clippy --workspace --all-targets --locked --features video2doc-queue/redis -- -D warnings
phase "gpu worker: build and lint (Vulkan, release)" gpu_worker
phase "tests" cargo test --workspace --locked --features video2doc-queue/redis
# Only the bench targets (and what they use): plain `cargo bench` also builds every
# package's library and binaries as benchmarks, the desktop's Tauri stack among them,
# in a release variant nothing else uses (the installers build their own).
phase "benches build" cargo bench --workspace --benches --locked --no-run --features video2doc-queue/redis
phase "desktop app end to end (Xvfb, tauri-driver)" ./scripts/e2e.sh
phase "installers: build the .deb and .rpm, install, run, remove" ./scripts/package-test.sh
echo "all tests passed"
