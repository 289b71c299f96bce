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

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
SMOKE = sorted(
    path.name for path in BENCHMARKS.glob("bench_*.py") if '"--smoke"' in path.read_text()
)


def test_the_history_benchmark_has_a_smoke_mode() -> None:
    assert "bench_history.py" in SMOKE


@pytest.mark.parametrize("script", SMOKE)
def test_benchmark_runs_in_smoke_mode(script: str, tmp_path: Path) -> None:
    env = {**os.environ, "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3")}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke"],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "a benchmark prints its table"
