#!/usr/bin/env bash
# Installs what is needed, then runs Video2Doc's main job.
# Today that is the durable queue running a complete-pipeline workflow (the media
# stages, CLI and window are being built; see the issues in README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
DATA_DIR="${VIDEO2DOC_DATA_DIR:-$HOME/.local/share/video2doc-demo}"
cargo run --release --locked -p video2doc-queue --example workflow -- "$DATA_DIR"
