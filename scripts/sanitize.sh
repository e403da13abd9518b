#!/usr/bin/env bash
# CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#   bash scripts/sanitize.sh [pytest args]
# Builds a CPU-only FASTPREP_SANITIZE=1 copy of this checkout in build/sanitize
# (so the normal in-place build is untouched) and runs pytest there with the
# ASan runtime preloaded (Python itself is not instrumented). Any report fails.
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$R/.venv/bin/python}
W=$R/build/sanitize
mkdir -p "$W"
# Copy the sources only; the copy keeps its own ninja build dir between runs.
tar -C "$R" --exclude=./build --exclude=./.venv --exclude='*.so' --exclude=./.git -cf - . | tar -C "$W" -xf -
cd "$W"
FASTPREP_SANITIZE=1 FASTPREP_CUDA=0 "$PY" setup.py -q build_ext --inplace
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
# Leaks: CPython and torch keep global allocations alive at exit; the RSS test covers our leaks.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export FASTPREP_SANITIZED=1
exec "$PY" -m pytest -q -p no:cacheprovider -m "not needs_cuda and not slow" "$@" tests
