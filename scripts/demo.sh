#!/usr/bin/env bash
# The README's main job: set up, then run the whole service offline on the embedded store.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec earshot demo "$@"
