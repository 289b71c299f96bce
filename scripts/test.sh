#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run all checks and tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${AGENTNB_VENV:-.venv}

step() { printf '\n==> %s\n' "$*"; }

step "Python environment ($VENV)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[dev]"
export PATH="$PWD/$VENV/bin:$PATH"

step "Chromium for the browser tests"
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "warning: /usr/bin/chromium is missing and cannot be installed here; browser tests will be skipped" >&2
  fi
fi

if [ -f js/package.json ]; then
  step "Widget bundle: install, type-check, unit tests, and prove agentnb/static matches js/src"
  npm --prefix js ci --no-audit --no-fund --loglevel=error
  npm --prefix js run check
  npm --prefix js test
fi

step "ruff"
ruff check agentnb tests benchmarks
ruff format --check agentnb tests benchmarks

step "mypy (strict)"
mypy

step "pytest"
python -m pytest "$@"

step "notebooks (nbval: executed top to bottom, outputs compared with ids and clocks sanitized)"
python -m pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider
