#!/usr/bin/env bash
# Set up (if needed), then lint, type-check and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
ruff check autograder tests benchmarks
mypy
pytest "$@"
