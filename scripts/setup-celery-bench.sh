#!/usr/bin/env bash
# Makes the environment of the shared-queue bench's Celery side (a Python venv with
# Celery and its Redis transport, every package pinned) in ~/.cache/video2doc/celery-venv.
# Idempotent: a venv that already has these exact versions is left as it is.
# `cargo bench -p video2doc-queue --features redis --bench shared` finds it there (or
# the python named by V2D_CELERY_PYTHON).
set -euo pipefail
VENV="$HOME/.cache/video2doc/celery-venv"
CELERY_VERSION=5.7.0
PINS=(
  "celery[redis]==$CELERY_VERSION"
  kombu==5.7.0
  redis==8.1.0
  amqp==5.4.2
  billiard==4.3.2
  vine==5.1.0
  click==8.5.1
  click-didyoumean==0.3.1
  click-plugins==1.1.1.2
  click-repl==0.4.1
  packaging==26.3
  prompt_toolkit==3.0.53
  python-dateutil==2.9.0.post0
  six==1.17.0
  typing_extensions==4.16.0
  tzlocal==5.4.5
  wcwidth==0.9.4
)
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
if ! "$VENV/bin/python" - "$CELERY_VERSION" 2>/dev/null <<'PY'
import sys
import celery, kombu, redis
assert celery.__version__ == sys.argv[1], celery.__version__
assert kombu.__version__ == "5.7.0" and redis.__version__ == "8.1.0"
PY
then
  "$VENV/bin/pip" install -q "${PINS[@]}"
fi
echo "Celery environment: $VENV ($("$VENV/bin/celery" --version))"
