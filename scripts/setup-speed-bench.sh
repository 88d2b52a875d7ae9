#!/usr/bin/env bash
# Makes the environment of the speed bench's faster-whisper side (a Python venv with
# faster-whisper) in ~/.cache/video2doc/fw-venv. Idempotent.
set -euo pipefail
VENV="$HOME/.cache/video2doc/fw-venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c "import faster_whisper" 2>/dev/null || "$VENV/bin/pip" install -q faster-whisper
echo "faster-whisper environment: $VENV"
