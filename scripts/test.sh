#!/usr/bin/env bash
# Set up (if needed), then lint, type-check and run the whole test suite, Docker included.
# Skipped tests count as failures here (AUTOGRADER_STRICT=1): set-up installs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH" AUTOGRADER_STRICT=1
ruff check autograder tests benchmarks graders
mypy
pytest "$@"
