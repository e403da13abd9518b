#!/usr/bin/env bash
# One entry point for a fresh machine:
#   bash scripts/dev.sh demo    set up (venv, pinned packages, build) and run the demo
#   bash scripts/dev.sh test    set up and run the test suite
#   bash scripts/dev.sh bench   set up and run the benchmarks
# Setup is idempotent: the venv is reused, packages reinstall only when
# requirements.txt changes, and ninja rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${FASTPREP_VENV:-.venv}
PY=$VENV/bin/python

setup() {
  if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
  fi
  local stamp="$VENV/.fastprep-requirements"
  if ! cmp -s requirements.txt "$stamp"; then
    "$PY" -m pip install -q --upgrade pip
    "$PY" -m pip install -q -r requirements.txt
    cp requirements.txt "$stamp"
  fi
  # CI compiles the CUDA kernels for one architecture to save time; a user's build covers sm_80 and sm_90.
  if [ "${CI:-}" = "true" ]; then export TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}; fi
  if [ -z "${CUDA_HOME:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then export CUDA_HOME=/usr/local/cuda; fi
  # In-place build: the tests and the demo run from this checkout.
  "$PY" setup.py -q build_ext --inplace
}

cmd=${1:-}
shift || true
case "$cmd" in
  demo)  setup; exec "$PY" -m fastprep demo "$@" ;;
  test)  setup; exec "$PY" -m pytest -q "$@" ;;
  bench) setup; exec "$PY" benchmarks/run.py "$@" ;;
  setup) setup ;;
  *) echo "usage: bash scripts/dev.sh demo|test|bench|setup [args]" >&2; exit 2 ;;
esac
