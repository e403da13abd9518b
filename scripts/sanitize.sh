#!/usr/bin/env bash
# CPU test suite under AddressSanitizer + UndefinedBehaviorSanitizer.
#   bash scripts/sanitize.sh [pytest args]   (PYTHON=... picks the interpreter, MAX_JOBS=... the compile jobs,
#                                              SANITIZE_SKIP_BUILD=1 reuses the last instrumented build)
# Builds a CPU-only FASTPREP_SANITIZE=1 copy of this checkout in build/sanitize (-O1 -g,
# -fsanitize=address,undefined -fno-sanitize-recover=all; the normal in-place build is untouched)
# and runs pytest there with the ASan + UBSan runtimes preloaded (Python itself is not instrumented).
# No pytest args: the whole CPU suite minus the exclusions below; with args, just those.
# Fails on a failing test AND on any sanitizer report from any process (pytest or a child it started):
# ASan reports go to files under build/sanitize/reports, which must stay empty; UBSan reports (stderr)
# are searched for in the run's log, build/sanitize/pytest.log.
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
PY=${PYTHON:-$R/.venv/bin/python}
# Absolute: the build and the tests run from the copy below, not from the caller's directory.
case "$PY" in */*) PY="$(cd "$(dirname "$PY")" && pwd)/$(basename "$PY")" ;; esac
W=$R/build/sanitize
mkdir -p "$W"
# Copy the sources only; tar keeps mtimes, so the copy's ninja build dir rebuilds only what changed.
# Files deleted from the checkout must not linger in the copy (setup.py globs csrc/, pytest globs tests/).
find "$W" -path "$W/build" -prune -o -type f ! -name '*.so' -print0 | xargs -0 -r rm -f
tar -C "$R" --exclude=./build --exclude=./.venv --exclude='*.so' --exclude=./.git -cf - . | tar -C "$W" -xf -
cd "$W"
if [ "${SANITIZE_SKIP_BUILD:-0}" != 1 ]; then
  t0=$SECONDS
  FASTPREP_SANITIZE=1 FASTPREP_CUDA=0 "$PY" setup.py -q build_ext --inplace
  echo "sanitize: build took $((SECONDS - t0)) s"
fi
REP=$W/reports
rm -rf "$REP" && mkdir -p "$REP"
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
# detect_leaks=0 on purpose: CPython and torch keep global allocations alive at exit (thousands of
# LSan reports that are not ours); our leaks are checked by test_reliability_leaks.py in the normal run.
# detect_odr_violation=0: ours is the only instrumented module; the globals torch's headers instantiate in it
# (also defined in libtorch) are not an ODR problem of ours.
# abort_on_error/halt_on_error: the first report kills the process (a failed run, never a warning).
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:detect_odr_violation=0:log_path=$REP/asan
# The build uses -fno-sanitize-recover=all (every UBSan report is fatal); abort_on_error makes that
# fatal exit a SIGABRT, which a test running a child reads as a crash, not as a Python error (exit 1).
# libubsan ignores log_path next to libasan (checked): its reports go to stderr, which is scanned below.
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1
export FASTPREP_SANITIZED=1
if [ $# -eq 0 ]; then
  # Exclusions (each also listed in tests/README.md):
  #  - needs_cuda: CPU-only build, no GPU (compute-sanitizer covers CUDA: scripts/gpu_check.sh).
  #  - test_cpp_deploy.py: compiles libfastprep again with CMake, uninstrumented, and runs C++ binaries that
  #    never load the instrumented _C: a second full build that checks nothing of ours under ASan.
  set -- -m "not needs_cuda" --ignore=tests/test_cpp_deploy.py tests
fi
# Preflight: the instrumented _C of this copy is the one imported, with the ASan runtime in the process.
"$PY" -c "
import fastprep._C as c, sys
assert c.__file__.startswith('$W/'), c.__file__
assert 'libasan' in open('/proc/self/maps').read(), 'ASan runtime not loaded'
assert b'__asan_report_load' in open(c.__file__, 'rb').read(), 'fastprep._C is not instrumented'
print('sanitize: preflight ok,', c.__file__)"
t0=$SECONDS
set +e
# --capture=sys: pytest's default fd capture would swallow a UBSan report written to fd 2 by a test
# that then aborts (the report dies with the capture file); sys-level capture leaves fd 2 on the log.
"$PY" -m pytest -q -p no:cacheprovider --capture=sys "$@" 2>&1 | tee "$W/pytest.log"
rc=${PIPESTATUS[0]}
set -e
echo "sanitize: tests took $((SECONDS - t0)) s, pytest exit $rc"
if compgen -G "$REP/*" > /dev/null || grep -qE "runtime error:|ERROR: AddressSanitizer" "$W/pytest.log"; then
  echo "sanitize: SANITIZER REPORTS (any process):"
  for f in "$REP"/*; do [ -e "$f" ] && { echo "== $f"; head -60 "$f"; }; done
  grep -nE -A20 "runtime error:|ERROR: AddressSanitizer" "$W/pytest.log" | head -80
  [ $rc -ne 0 ] || rc=1
else
  echo "sanitize: no ASan/UBSan reports"
fi
exit $rc
