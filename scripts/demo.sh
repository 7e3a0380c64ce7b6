#!/usr/bin/env bash
# Set up (if needed) and grade the sample submission of the `mse` exercise.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >&2
exec .venv/bin/autograder grade mse samples/mse/mse.ipynb "$@"
