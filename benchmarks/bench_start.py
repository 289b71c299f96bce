"""What a fresh Python process pays to start agentnb: ``import agentnb`` and the command
line's ``agentnb --help``, beside what a user would otherwise start for the same errand.

    python benchmarks/bench_start.py [--runs 15] [--smoke]

Each row is a new process (``python -c ...`` or the ``agentnb`` command), started ``--runs``
times in turn with the others so the machine's drift falls on every row alike; the table
gives the median CPU (user + system, the process's own accounting) and wall time, and the
CPU beyond an empty ``python -c pass``. The anchors: ``import openai`` (the SDK a person
talks to an OpenAI-compatible agent with) and ``import httpx`` for the import; httpx's own
command line, ``httpx --help``, for the command. Bytecode is written on a first run that is
not counted, as Python does by default. To compare two trees, run this with
``PYTHONPATH=<the other tree>``: the processes import agentnb from there.
``--smoke``: one run of each (benchmarks/smoke.py's check that it still runs).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

PYTHON = sys.executable
BIN = Path(PYTHON).parent


def command(name: str) -> list[str]:
    """The console script ``name`` beside this Python, else the one on PATH."""
    script = BIN / name
    return [str(script)] if script.exists() else [shutil.which(name) or name]


ROWS: dict[str, list[str]] = {
    "python -c pass (the floor)": [PYTHON, "-c", "pass"],
    "import agentnb": [PYTHON, "-c", "import agentnb"],
    "import openai": [PYTHON, "-c", "import openai"],
    "import httpx": [PYTHON, "-c", "import httpx"],
    "agentnb --help": [*command("agentnb"), "--help"],
    "httpx --help": [*command("httpx"), "--help"],
}


def timed(argv: list[str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one run of ``argv`` to its end."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--smoke", action="store_true", help="one run of each")
    args = parser.parse_args()
    runs = 1 if args.smoke else args.runs
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # as a user's Python: bytecode is kept
    for argv in ROWS.values():
        timed(argv)  # the first run writes the bytecode: not counted
    figures: dict[str, list[tuple[float, float]]] = {name: [] for name in ROWS}
    for _ in range(runs):
        for name, argv in ROWS.items():
            figures[name].append(timed(argv))
    floor = statistics.median(cpu for cpu, _ in figures["python -c pass (the floor)"])
    print(f"median of {runs} run(s) each, load average {os.getloadavg()[0]:.1f} at the end\n")
    print("| process | CPU | wall | CPU beyond the floor |")
    print("|---|---:|---:|---:|")
    for name, rows in figures.items():
        cpu = statistics.median(cpu for cpu, _ in rows)
        wall = statistics.median(wall for _, wall in rows)
        print(f"| `{name}` | {cpu * 1000:.0f} ms | {wall * 1000:.0f} ms | "
              f"{(cpu - floor) * 1000:.0f} ms |")  # fmt: skip


if __name__ == "__main__":
    main()
