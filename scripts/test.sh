#!/usr/bin/env bash
# The README's test command: set up, lint, type-check, run the test suite
# (including the Elasticsearch contract leg on a local noida-db emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
ruff check .
mypy
python -m pytest -q "$@"
