#!/usr/bin/env bash
# One-shot GPU check for the vision family (run on a lent H100/H200 from the repo root):
# build with CUDA kernels, run the vision tests with GPU skips turned into failures,
# run the CUDA benchmark; logs and the result JSON go to $OUT (or ./gpu-out).
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
PY=${PY:-python3}
test -d csrc/vision || { echo "not the vision tree: $(pwd)"; git log --oneline -1; exit 3; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
$PY -c "import torch, torchvision; print('torch', torch.__version__, 'torchvision', torchvision.__version__)"
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda} TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0} MAX_JOBS=${MAX_JOBS:-16}
time (FASTPREP_CUDA=1 $PY setup.py -q build_ext --inplace > "$OUT/build.log" 2>&1) || { tail -40 "$OUT/build.log"; exit 1; }
FASTPREP_TEST_REQUIRE_CUDA=1 timeout 240 $PY -m pytest -q -x -p no:cacheprovider tests/test_vision_functional.py \
  tests/test_vision_transforms.py tests/test_opcheck_vision.py -k "cuda or opcheck" 2>&1 | tee "$OUT/tests.log" | tail -25
timeout 150 $PY benchmarks/bench_vision.py --device cuda 2>&1 | tee "$OUT/bench.log" | tail -12
cp benchmarks/results/vision-cuda.json "$OUT/" 2>/dev/null || true
