"""The benchmarks' own check, ``python benchmarks/smoke.py`` (each benchmark in its ``--smoke``
mode, docs/benchmarks.md), is not part of the test suite: a benchmark measures, and its smoke
runs (JupyterLab and Chromium among them) cost minutes that prove nothing about agentnb. Here,
only that the command covers every benchmark and works."""

from __future__ import annotations

import subprocess
import sys

from agentnb_testing import PROGRAM_PATIENCE_S, REPO

SMOKE = REPO / "benchmarks" / "smoke.py"


def test_every_benchmark_has_a_smoke_mode() -> None:
    scripts = {
        path.name: path.read_text() for path in sorted((REPO / "benchmarks").glob("bench_*.py"))
    }
    run = [name for name, text in scripts.items() if 'if __name__ == "__main__":' in text]
    assert "bench_load.py" in run and "bench_history.py" in run
    without = [name for name in run if '"--smoke"' not in scripts[name]]
    assert not without, f"no --smoke mode: {without}"


def test_the_smoke_command_runs_a_benchmark_and_names_what_fails() -> None:
    ran = subprocess.run(
        [sys.executable, str(SMOKE), "bench_sse"],
        capture_output=True,
        text=True,
        timeout=PROGRAM_PATIENCE_S,
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("bench_sse.py: ok ("), ran.stdout
    unknown = subprocess.run(
        [sys.executable, str(SMOKE), "bench_nothing"], capture_output=True, text=True
    )
    assert unknown.returncode == 2 and "no such benchmark: bench_nothing.py" in unknown.stderr
