#!/usr/bin/env bash
# Installs what is needed, then runs every check and test of the workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
./scripts/fetch-test-model.sh

echo "== format"
cargo fmt --all --check
echo "== lint"
cargo clippy --workspace --all-targets --locked --features video2doc-queue/redis -- -D warnings
echo "== tests"
cargo test --workspace --locked --features video2doc-queue/redis
echo "== benches build"
cargo bench --workspace --locked --no-run --features video2doc-queue/redis
echo "all tests passed"
