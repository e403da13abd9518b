#!/usr/bin/env bash
# One hash of what the compiled extension is built from (csrc/, setup.py): a prebuilt .gpu/fastprep is
# used only while it matches (scripts/gpu_prebuild.sh writes it, scripts/gpu_check.sh compares).
set -euo pipefail
cd "$(dirname "$0")/.."
find csrc setup.py -type f ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
