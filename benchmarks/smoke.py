"""Every benchmark in its ``--smoke`` mode, as a person runs it (a child process from the
repository, a history and a working folder of its own): a check that each still runs and
prints its table, not a measurement. Run it after changing what a benchmark uses (a history
migration once broke bench_history with ``KeyError: 'cancel_error'``); CI runs it after the
test suite (``.ci/run``), which does not run the benchmarks.

    python benchmarks/smoke.py                      # all of them
    python benchmarks/smoke.py bench_sse bench_acp  # the ones named

A benchmark whose needs are not installed prints ``skipped: ...`` and passes, except under
``CI`` (where ``bash scripts/test.sh`` installed everything). Exit status 1 names the ones that
failed."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from patience import PROGRAM_PATIENCE_S

BENCHMARKS = Path(__file__).resolve().parent
ROWS = {
    "bench_acp.py": [
        "agent answering at once",
        "SDK ClientSideConnection",
        "agentnb, recorded",
        "3 runs on one session",
        "3 sessions, a run each",
    ],
    "bench_notebook_tools.py": [
        "| a person's Shift+Enter |",
        "| the agent's run, approved |",
        "| the agent's cell running |",
    ],
    "bench_page_typing.py": [
        "| display=False (no chat cells) |",
        "| displayed (chat cells) |",
        "The machine's CPU by process",
    ],
}
"""The rows a benchmark's smoke run prints, beyond printing something: its table's rows."""


def scripts() -> list[str]:
    """Every benchmark a person runs (a helper module is not one)."""
    return sorted(
        path.name
        for path in BENCHMARKS.glob("bench_*.py")
        if 'if __name__ == "__main__":' in path.read_text()
    )


def without_smoke_mode() -> list[str]:
    return [name for name in scripts() if '"--smoke"' not in (BENCHMARKS / name).read_text()]


def smoke(script: str) -> str | None:
    """Run ``script --smoke``; what is wrong with its run, or None."""
    with tempfile.TemporaryDirectory(prefix="agentnb-smoke-") as folder:
        env = {**os.environ, "AGENTNB_HISTORY": str(Path(folder) / "history.sqlite3")}
        try:
            done = subprocess.run(
                [sys.executable, str(BENCHMARKS / script), "--smoke"],
                capture_output=True,
                text=True,
                timeout=PROGRAM_PATIENCE_S,  # a hang's bound: a smoke run's time is not checked
                cwd=folder,
                env=env,
            )
        except subprocess.TimeoutExpired:
            return f"still running after {PROGRAM_PATIENCE_S:g} s"
    if done.returncode != 0:
        return f"exit {done.returncode}\n{done.stderr[-3000:]}"
    if not done.stdout.strip():
        return "printed no table"
    if done.stdout.startswith("skipped:") and not os.environ.get("CI"):
        return None  # what it needs is not installed here (scripts/test.sh installs it)
    missing = [row for row in ROWS.get(script, []) if row not in done.stdout]
    return f"rows missing: {missing}\n{done.stdout}" if missing else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: every one)")
    names = [n if n.endswith(".py") else f"{n}.py" for n in parser.parse_args(argv).names]
    unknown = sorted(set(names) - set(scripts()))
    if unknown:
        parser.error(f"no such benchmark: {', '.join(unknown)} (there are {', '.join(scripts())})")
    failed = [f"{name}: no --smoke mode" for name in without_smoke_mode() if not names]
    for script in names or scripts():
        started = time.monotonic()
        wrong = smoke(script)
        print(f"{script}: {'FAILED' if wrong else 'ok'} ({time.monotonic() - started:.0f} s)")
        if wrong:
            failed.append(f"{script}: {wrong}")
    for failure in failed:
        print(failure, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
