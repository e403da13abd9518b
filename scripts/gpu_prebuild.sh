#!/usr/bin/env bash
# Builds fastprep on this CPU machine for the lent GPU machines' Python and torch (3.12, 2.11.0+cu130), so a
# session with a GPU spends its few device minutes testing, not compiling (the full sm_90 build takes longer
# than the device budget allows around it). Result: .gpu/fastprep, the package with that build's _C and
# _build_info, and .gpu/fastprep/SOURCES.sha256 (csrc, setup.py): scripts/gpu_check.sh uses it when its
# sources match the tree's and builds on the device otherwise. Carry it with the run:
#   run(carry=[".gpu/fastprep", ".gpu/vocab.txt"], command="bash scripts/gpu_check.sh")
# With --cpu-tests it then runs the whole CPU suite on that build, against torch 2.11's own torchvision and
# torchaudio (the pins below; the test tools as requirements.txt pins them): CI runs only torch 2.14.
set -euo pipefail
R=$(cd "$(dirname "$0")/.." && pwd)
PY_VERSION=${PY_VERSION:-3.12}
TORCH_VERSION=${TORCH_VERSION:-2.11.0}
PY=${PREBUILD_PYTHON:-python$PY_VERSION}
# A pyenv shim exists for every version but runs only the selected one: fall back to the version's own binary.
"$PY" -c '' 2>/dev/null || PY=$(ls -d "$(pyenv root 2>/dev/null)"/versions/$PY_VERSION*/bin/python$PY_VERSION 2>/dev/null | tail -n 1)
[ -n "$PY" ] || { echo "no Python $PY_VERSION found: set PREBUILD_PYTHON" >&2; exit 1; }
V=${PREBUILD_VENV:-/tmp/fastprep-gpu-venv$PY_VERSION}
W=${PREBUILD_DIR:-/tmp/fastprep-gpu-build}
export CUDA_HOME=${CUDA_HOME:-/usr/local/cuda} FASTPREP_CUDA=1 TORCH_CUDA_ARCH_LIST=${TORCH_CUDA_ARCH_LIST:-9.0}
export MAX_JOBS=${MAX_JOBS:-2}
CPU_TESTS=0
[ "${1:-}" = "--cpu-tests" ] && CPU_TESTS=1

[ -x "$V/bin/python" ] || "$PY" -m venv "$V"
"$V/bin/python" -c "import torch; assert torch.__version__.startswith('$TORCH_VERSION')" 2>/dev/null ||
  "$V/bin/pip" install -q "torch==$TORCH_VERSION" numpy setuptools ninja
# A separate tree: the in-place build rewrites fastprep/_build_info.py, which this checkout's own build owns.
# Only files whose content changed are copied (their new mtime), so a second run rebuilds only what they touch.
mkdir -p "$W"
(cd "$R" && git ls-files -co --exclude-standard) | while IFS= read -r f; do
  [ -f "$R/$f" ] || continue
  cmp -s "$R/$f" "$W/$f" 2>/dev/null || { mkdir -p "$W/$(dirname "$f")" && cp "$R/$f" "$W/$f"; }
done
# Sources deleted here go there too (setup.py globs csrc/).
(cd "$W" && find csrc fastprep -type f ! -path '*/__pycache__/*' ! -name '*.so' ! -name _build_info.py) |
  while IFS= read -r f; do [ -f "$R/$f" ] || rm -f "$W/$f"; done
(cd "$W" && "$V/bin/python" setup.py -q build_ext --inplace)
rm -rf "$R/.gpu/fastprep" && mkdir -p "$R/.gpu"
cp -r "$W/fastprep" "$R/.gpu/fastprep"
find "$R/.gpu/fastprep" -name __pycache__ -prune -exec rm -rf {} +
find "$R/.gpu/fastprep" -name '_C*.so' ! -name "_C.cpython-${PY_VERSION/./}-*" -delete
strip --strip-debug "$R"/.gpu/fastprep/_C*.so # debug info is most of the file; carry is capped at 64 MiB
(cd "$R" && bash scripts/gpu_sources_hash.sh) > "$R/.gpu/fastprep/SOURCES.sha256"
ls -la "$R"/.gpu/fastprep/_C*.so
echo "prebuilt for Python $PY_VERSION, torch $("$V/bin/python" -c 'import torch; print(torch.__version__)'): .gpu/fastprep"

if [ $CPU_TESTS = 1 ]; then
  # torchvision / torchaudio built for this torch; everything else as the pinned environment has it.
  "$V/bin/pip" install -q "torchvision==${TORCHVISION_VERSION:-0.26.0}" "torchaudio==${TORCHAUDIO_VERSION:-2.11.0}" \
    $(grep -Ev '^(#|torch|torchvision|torchaudio|ninja|setuptools|wheel)' "$R/requirements.txt")
  (cd "$W" && PYTHONPATH=. "$V/bin/python" -m pytest tests -q -p no:cacheprovider)
fi
