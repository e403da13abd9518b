#!/usr/bin/env bash
# CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#   bash scripts/sanitize.sh [pytest args]        (PYTHON=... to pick the interpreter)
# Builds a CPU-only FASTPREP_SANITIZE=1 copy of this checkout in build/sanitize
# (so the normal in-place build is untouched) and runs pytest there with the
# ASan runtime preloaded (Python itself is not instrumented). Any report fails.
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$R/.venv/bin/python}
W=$R/build/sanitize
mkdir -p "$W"
# Copy the sources only; tar keeps mtimes, so the copy's ninja build dir rebuilds only what changed.
tar -C "$R" --exclude=./build --exclude=./.venv --exclude='*.so' --exclude=./.git -cf - . | tar -C "$W" -xf -
cd "$W"
t0=$SECONDS
FASTPREP_SANITIZE=1 FASTPREP_CUDA=0 "$PY" setup.py -q build_ext --inplace
echo "sanitize: build took $((SECONDS - t0)) s"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
# Leaks: CPython and torch keep global allocations alive at exit; the RSS test covers our leaks.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export FASTPREP_SANITIZED=1
# Not here: the CMake/libtorch deploy build and torch.compile/AOTInductor (they compile and run
# uninstrumented C++ of their own, minutes under the preloaded runtime, and test no kernel of ours
# that the rest of the suite does not already run).
t0=$SECONDS
set +e
"$PY" -m pytest -q -p no:cacheprovider -m "not needs_cuda and not slow" \
  --ignore=tests/test_cpp_deploy.py --ignore=tests/test_compile_export.py "$@" tests
rc=$?
echo "sanitize: tests took $((SECONDS - t0)) s, exit $rc"
exit $rc
