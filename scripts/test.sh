#!/usr/bin/env bash
# The test command (README; CI runs exactly this through .ci/run).
#
#   scripts/test.sh          set up (scripts/setup.sh), then three stages:
#                              1. lint:  scripts/lint.sh (ruff, ruff format, mypy, import-linter)
#                              2. fast:  pytest -m "not slow"   (GUI tests under Xvfb)
#                              3. slow:  pytest -m slow         (long validation runs)
#                            Every stage runs even if an earlier one failed; the command fails
#                            if any stage fails, including a pytest stage that collects no test.
#   scripts/test.sh ARGS...  set up, then only `pytest ARGS` (e.g. tests/sim -k queue, -m slow).
#
# Under CI (CI=1 or CI=true) a test whose external tool or data set is missing fails instead
# of skipping (tests/_requirements.py).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PYVISTA_OFF_SCREEN=true
PYTEST=(.venv/bin/python -m pytest)

if [ $# -gt 0 ]; then
  exec "${PYTEST[@]}" "$@"
fi

failed=()
summary=()
stage() {
  local name=$1
  shift
  local start=$SECONDS rc=0
  echo
  echo "=== test.sh: stage $name: $*"
  "$@" || rc=$?
  local took=$((SECONDS - start)) note=""
  if [ "$rc" -eq 5 ]; then note=": pytest collected no tests"; fi
  if [ "$rc" -ne 0 ]; then
    failed+=("$name")
    summary+=("$(printf '%-5s FAILED (exit %d%s) after %d min %02d s' "$name" "$rc" "$note" $((took / 60)) $((took % 60)))")
  else
    summary+=("$(printf '%-5s ok after %d min %02d s' "$name" $((took / 60)) $((took % 60)))")
  fi
}

stage lint bash scripts/lint.sh
stage fast "${PYTEST[@]}" -m "not slow" -n 2 --dist loadfile --durations=15
stage slow "${PYTEST[@]}" -m slow --durations=0

echo
echo "=== test.sh: summary"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "=== test.sh: FAILED: ${failed[*]}" >&2
  exit 1
fi
echo "=== test.sh: all stages passed"
