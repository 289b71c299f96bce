"""How long a benchmark waits for something (a server or JupyterLab to answer, a kernel, a
page, a run, a child process) before it gives up: a bound for a hang, never a speed. Waits
end as soon as what they wait for happens, so a quiet machine measures as fast as ever;
the bound only decides when a benchmark that hangs fails. ``--smoke`` runs inside the test
suite on a loaded machine: tests/test_benchmarks_smoke.py passes the suite's patience in
``BENCH_PATIENCE_S``."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["PATIENCE_MS", "PATIENCE_S", "PROGRAM_PATIENCE_S", "patient", "patient_polls"]

PATIENCE_S = float(os.environ.get("BENCH_PATIENCE_S", "300"))
"""The wait for one step (the test suite's ``PATIENCE_S`` under its smoke test)."""
PATIENCE_MS = PATIENCE_S * 1000
"""The same in milliseconds, Playwright's unit."""
PROGRAM_PATIENCE_S = 3 * PATIENCE_S
"""The wait for a whole program of steps: a child Python that runs a benchmark's part, a
kernel cell that runs a large run to its end."""


def patient_polls() -> Iterator[int]:
    """The turns of a polling loop that breaks once what it waits for is seen: as many as
    :data:`PATIENCE_S` allows (a count of polls is a time limit that a loaded machine's slower
    polls run out of)."""
    deadline = time.monotonic() + PATIENCE_S
    turn = 0
    while time.monotonic() < deadline:
        yield turn
        turn += 1


_Waiting = TypeVar("_Waiting", bound=Any)


def patient(playwright: _Waiting) -> _Waiting:
    """A Playwright page or browser context whose every wait (a navigation, a locator, a
    function) has :data:`PATIENCE_MS` where it gives none, not Playwright's own 30 s, which a
    loaded machine outruns."""
    playwright.set_default_timeout(PATIENCE_MS)
    return playwright
