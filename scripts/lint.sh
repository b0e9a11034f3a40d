#!/usr/bin/env bash
# Static checks, with the tools in .venv (scripts/setup.sh installs them from the `dev` and
# `test` dependency groups): ruff lint, ruff format check, mypy (configured in
# pyproject.toml [tool.mypy]) and import-linter's layer contracts. Every check runs, even
# after one fails; the exit status is 1 if any failed.
# To fix what ruff can: .venv/bin/ruff check --fix $PATHS && .venv/bin/ruff format $PATHS
set -uo pipefail
cd "$(dirname "$0")/.."

BIN=.venv/bin
PATHS=(factory_twin tests benchmarks)
if [ ! -x "$BIN/ruff" ] || [ ! -x "$BIN/mypy" ] || [ ! -x "$BIN/lint-imports" ]; then
  echo "lint: ruff, mypy or lint-imports missing from .venv: run scripts/setup.sh" >&2
  exit 1
fi

failed=()
check() {
  local name=$1
  shift
  echo "lint: $name: $*"
  "$@" || failed+=("$name")
}

check "ruff check" "$BIN/ruff" check "${PATHS[@]}"
# one line per file; see the changes with: .venv/bin/ruff format --diff PATH
check "ruff format" "$BIN/ruff" format --check --output-format concise "${PATHS[@]}"
check "mypy" "$BIN/mypy"
check "import-linter" "$BIN/lint-imports"

if [ "${#failed[@]}" -gt 0 ]; then
  echo "lint: FAILED: $(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
  exit 1
fi
echo "lint: all checks passed"
