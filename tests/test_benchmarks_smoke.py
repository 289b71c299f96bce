"""Every benchmark that has a ``--smoke`` mode runs in it here, as a user would run it (a
subprocess from the repository), so a change that breaks a benchmark fails the suite instead
of the next person who measures (bench_history once stopped with ``KeyError: 'cancel_error'``
because its synthetic rows predated a migration)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPTS = sorted(
    path.name
    for path in BENCHMARKS.glob("bench_*.py")
    if 'if __name__ == "__main__":' in path.read_text()
)
"""Every benchmark a person runs (a helper module is not one)."""
SMOKE = [script for script in SCRIPTS if '"--smoke"' in (BENCHMARKS / script).read_text()]
IN_A_BROWSER = {"bench_cell_hold.py", "bench_page_typing.py", "bench_widget_browser.py"}
"""Benchmarks that start JupyterLab and Chromium, marked ``browser`` (``-m "not browser"`` leaves
them out where no Chromium is). scripts/test.sh runs them with the rest, not in tests/browser's
serial process: that part ends near the rest's end, and their minute there would outlast what it
takes off the rest's two workers."""
ROWS = {
    "bench_acp.py": [
        "agent answering at once",
        "SDK ClientSideConnection",
        "agentnb, recorded",
        "3 runs on one session",
        "3 sessions, a run each",
    ],
    "bench_page_typing.py": [
        "| display=False (no chat cells) |",
        "| displayed (chat cells) |",
        "The machine's CPU by process",
    ],
}
"""The rows a benchmark's smoke run prints, beyond printing something: its table's rows."""


def test_every_benchmark_has_a_smoke_mode() -> None:
    assert "bench_load.py" in SCRIPTS and "bench_history.py" in SCRIPTS
    assert SMOKE == SCRIPTS, f"no --smoke mode: {sorted(set(SCRIPTS) - set(SMOKE))}"


@pytest.mark.slow
@pytest.mark.parametrize(
    "script",
    [
        pytest.param(script, marks=pytest.mark.browser) if script in IN_A_BROWSER else script
        for script in SMOKE
    ],
)
def test_benchmark_runs_in_smoke_mode(script: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3"),
        "BENCH_PATIENCE_S": str(PATIENCE_S),  # benchmarks/patience.py: each wait's bound
    }
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=PROGRAM_PATIENCE_S,  # a hang's bound: a smoke run's time is not checked
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "a benchmark prints its table"
    if done.stdout.startswith("skipped:") and not os.environ.get("CI"):
        return  # what it needs is not installed here (scripts/test.sh installs it; CI has it)
    missing = [row for row in ROWS.get(script, []) if row not in done.stdout]
    assert not missing, f"rows missing: {missing}\n{done.stdout}"
