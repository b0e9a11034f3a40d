#!/usr/bin/env bash
# Set everything up, then run the whole test suite (GUI tests run under Xvfb via pytest-xvfb).
# Long validation runs are marked `slow` and left out; run them with: scripts/test.sh -m slow
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYVISTA_OFF_SCREEN=true
if [ $# -eq 0 ]; then set -- -m "not slow"; fi
exec .venv/bin/python -m pytest "$@"
