#!/usr/bin/env bash
# Set everything up, then open factory_twin (by default on the demo fab with its embedded
# OPC UA plant simulator). Arguments are passed to `factory-twin`. With no display, the app
# runs on a virtual one (Xvfb), as on our headless machines.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ $# -eq 0 -o "${1:-}" = "open" ]; then
  echo "run: no display found; starting the app on a virtual X display (xvfb-run)"
  exec xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/factory-twin "$@"
fi
exec .venv/bin/factory-twin "$@"
