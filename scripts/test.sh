#!/usr/bin/env bash
# Installs what is needed, then runs every check and test: the UI's, the workspace's
# (queue, core, CLI, desktop commands), the real desktop app's end to end under Xvfb,
# and the Linux installers built, installed, run and removed.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
./scripts/fetch-test-model.sh

echo "== ui: type check, build, unit tests"
npm --prefix ui run build
npm --prefix ui test
echo "== format"
cargo fmt --all --check
echo "== lint"
cargo clippy --workspace --all-targets --locked --features video2doc-queue/redis -- -D warnings
echo "== tests"
cargo test --workspace --locked --features video2doc-queue/redis
echo "== benches build"
cargo bench --workspace --locked --no-run --features video2doc-queue/redis
echo "== desktop app end to end (Xvfb, tauri-driver)"
./scripts/e2e.sh
echo "== installers: build the .deb and .rpm, install, run, remove"
./scripts/package-test.sh
echo "all tests passed"
