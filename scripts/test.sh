#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run all checks and tests.
# Usage: bash scripts/test.sh [extra pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
VENV=${AGENTNB_VENV:-.venv}

# The suite starts hundreds of Python processes (kernels, servers, the CLI, other projects'
# SDKs). Where the machine sets PYTHONDONTWRITEBYTECODE (CI's does) and uv installs without
# bytecode, each of them compiled every module it imported from source: a kernel's start cost
# 3x the CPU it costs with bytecode, a fifth of the run's CPU went to compiling. The suite
# writes bytecode as Python does by default (into __pycache__, ignored by git).
unset PYTHONDONTWRITEBYTECODE

step() { printf '\n==> [%d s] %s\n' "$SECONDS" "$*"; }

step "Python environment ($VENV), installed by uv (from PyPI by pip, the one thing pip installs)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
[ -x "$VENV/bin/uv" ] || "$VENV/bin/python" -m pip install --quiet uv
UV=$PWD/$VENV/bin/uv
# a venv from before the suite used uv's --excludes may hold an older uv
"$UV" pip install --help | grep -- --excludes >/dev/null || "$VENV/bin/python" -m pip install --quiet --upgrade uv
# agentnb-evals (evals/, agentnb.evals) is a distribution of its own: installed editable beside
# the core, as `pip install "agentnb[evals]"` installs it for a user.
# scripts/test-excludes.txt: what the suite's environments leave out, and why.
"$UV" pip install --quiet --python "$VENV/bin/python" --excludes scripts/test-excludes.txt \
  -e ".[dev]" -e ./evals
export PATH="$PWD/$VENV/bin:$PATH"
# The suite's venv is the active one, whichever a shell had activated before (IPython warns,
# and the suite's warnings are errors, when VIRTUAL_ENV names another venv than its Python's).
export VIRTUAL_ENV="$PWD/$VENV"

# install_venv DIR STAMP_SOURCE UV_PIP_ARGS...: (re)install venv DIR when STAMP_SOURCE changed
# since its last install (a copy of it is kept in DIR as the stamp).
install_venv() {
  local dir=$1 source=$2 stamp
  shift 2
  stamp=$dir/installed-$(basename "$source")
  [ -x "$dir/bin/python" ] || "$UV" venv --quiet --python "$PY" "$dir"
  cmp -s "$source" "$stamp" && return 0
  echo "installing $dir ($*)"
  "$UV" pip install --quiet --python "$dir/bin/python" "$@"
  cp "$source" "$stamp"
}

step "Other projects' servers and SDKs the tests run, each in a venv of its own (tests/sdk_envs/NAME.txt -> .tools/NAME), and a plain install, no extras, for the shipped notebooks (.tools/plain): all at once, in the background"
# Their pins clash with the dev extras and with each other.
venv_pids=()
for req in tests/sdk_envs/*.txt; do
  install_venv ".tools/$(basename "$req" .txt)" "$req" -r "$req" &
  venv_pids+=($!)
done
install_venv .tools/plain pyproject.toml --excludes scripts/test-excludes.txt -e . nbclient ipykernel &
venv_pids+=($!)

step "Debian packages: chromium (browser tests), tmux (terminal tests)"
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v tmux >/dev/null || missing+=(tmux)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "warning: ${missing[*]} missing and cannot be installed here; the tests needing them will be skipped" >&2
  fi
fi

# The `ai` npm package (the interop tests' AI SDK) declares the Node.js it needs; an older
# `node` gets a project-local Node.js of that major version from the npm registry (the
# node-<os>-<arch> package, which ships bin/node), first on PATH for everything below.
node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
wanted_node_major() {
  sed -n '/"node_modules\/ai": {/,/^    }/s/.*"node": ">=\([0-9]*\).*/\1/p' js/package-lock.json
}
ensure_node() {
  local want os arch pkg dir
  want=$(wanted_node_major)
  want=${want:-22}
  [ "$(node_major)" -ge "$want" ] && return 0
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) os=unknown ;; esac
  case "$(uname -m)" in x86_64 | amd64) arch=x64 ;; aarch64 | arm64) arch=arm64 ;; *) arch=unknown ;; esac
  if [ "$os" = unknown ] || [ "$arch" = unknown ]; then
    echo "error: Node.js >= $want is needed and none can be installed for $(uname -sm)" >&2
    exit 1
  fi
  pkg="node-$os-$arch"
  dir="$PWD/.tools/node$want"
  if [ ! -x "$dir/node_modules/$pkg/bin/node" ]; then
    echo "node $(node --version 2>/dev/null || echo '(none)') is older than $want: installing $pkg@$want into $dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error "$pkg@$want"
  fi
  export PATH="$dir/node_modules/$pkg/bin:$PATH"
}

# install_npm SPEC: the npm packages SPEC names (one a line) into .tools/NAME, unless SPEC is
# unchanged since; a package that cannot be installed skips its tests, with a warning.
install_npm() {
  local spec=$1 dir
  dir=".tools/$(basename "$spec" .npm)"
  cmp -s "$spec" "$dir/installed.npm" && return 0
  # shellcheck disable=SC2046 # the file holds the package specs, one a line
  if npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error $(cat "$spec"); then
    cp "$spec" "$dir/installed.npm"
  else
    echo "warning: $(cat "$spec") could not be installed: its tests are skipped" >&2
  fi
}

npm_pids=()
if [ -f js/package.json ]; then
  step "Node.js for the widget and the interop tests"
  ensure_node
  echo "node $(node --version) at $(command -v node)"

  step "Widget bundle's packages, and the coding agents the ACP tests run on a scripted model (tests/sdk_envs/NAME.npm -> .tools/NAME): all at once, in the background, beside the SDK venvs"
  npm --prefix js ci --no-audit --no-fund --loglevel=error &
  npm_pids+=($!)
  for spec in tests/sdk_envs/*.npm; do
    install_npm "$spec" &
    npm_pids+=($!)
  done
fi

step "waiting for the SDK venvs"
for pid in "${venv_pids[@]}"; do wait "$pid"; done

# Without pytest arguments, everything runs at once, each part as soon as what it needs is
# installed: after the Node.js installs, every test in four pytest-xdist workers, a test file
# to a worker so a module's servers start once (tests/conftest.py: the modules sharing a
# LiteLLM proxy or the AG-UI server are one unit, those sharing a Phoenix another, and the
# tests that drive Chromium on a Jupyter page, one more, given out first, so one Chromium with
# its Jupyter servers runs beside the three other workers and that worker joins them once it
# ends), and beside them the slower checks in a shell of their own (the benchmarks are not run:
# `python benchmarks/smoke.py`, their own check, which CI runs after this command). On two
# cores the tests mostly wait on servers, kernels and pipes: with three other workers beside
# the browser's, both cores stay busy (with two, 8% of the cores' time idled), where two
# Chromiums with Jupyter servers starved each other. The checks' output is printed at the
# end; pytest lists the 30 slowest tests, where the suite's time goes. Given pytest arguments,
# the script runs the checks, then only what the arguments name, in one process.
WORKERS=(-n 4 --dist loadfile)
# nbval's plugin is for the notebooks' run alone; loaded, it costs every pytest process 2.5 s
# of CPU (nbformat imports jsonschema, which builds a URI grammar)
NO_NBVAL=(-p no:nbval)
checks_pid=
checks_log=$(mktemp)
# The checks run as a job of its own process group (`set -m` while it starts): a failure or
# Ctrl-C here ends it whole, the servers it started with it.
trap 'if [ -n "$checks_pid" ]; then kill -- -"$checks_pid" 2>/dev/null; fi; rm -f "$checks_log"' EXIT

if [ ${#npm_pids[@]} -gt 0 ]; then
  step "waiting for the npm installs"
  for pid in "${npm_pids[@]}"; do wait "$pid"; done
fi

# The checks besides pytest: ruff first (seconds: a lint error fails the command at once),
# then the slower ones (`checks`), beside the tests when all of them run.
checks() {
  if [ -f js/package.json ]; then
    step "Widget bundle: type-check, unit tests, and prove agentnb/static matches js/src"
    npm --prefix js run check
    npm --prefix js test
  fi

  step "mypy (strict)"
  mypy

  step "docs site (mkdocs build --strict into site/: a broken link or anchor, a page missing from the build or an API name that does not resolve fails)"
  NO_MKDOCS_2_WARNING=1 mkdocs build --strict --quiet --clean

  step "notebooks (nbval: executed top to bottom, outputs compared with ids and clocks sanitized)"
  python -m pytest --nbval notebooks --nbval-sanitize-with notebooks/sanitize.cfg -p no:cacheprovider
}

step "ruff"
ruff check agentnb evals tests benchmarks
ruff format --check agentnb evals tests benchmarks

if [ $# -gt 0 ]; then
  checks
  step "pytest"
  python -m pytest "$@"
  exit 0
fi

set -m
(set -e; checks) >"$checks_log" 2>&1 &
checks_pid=$!
set +m
step "the checks started beside the tests (pid $checks_pid, output at the end)"

step "pytest"
tests=0
python -m pytest "${WORKERS[@]}" "${NO_NBVAL[@]}" --durations=30 || tests=$?
failed=()
[ "$tests" -eq 0 ] || failed+=("pytest (exit $tests)")
checks_status=0
wait "$checks_pid" || checks_status=$?
checks_pid=
step "the checks, run beside the tests"
cat "$checks_log"
[ "$checks_status" -eq 0 ] || failed+=("the checks (exit $checks_status)")
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
step "all passed"
