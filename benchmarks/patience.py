"""The project's patience: how long a test or a benchmark waits for something (a server or
JupyterLab to answer, a kernel, a page, a run, a child process) before it gives up, a bound
for a hang, never a speed. Waits end as soon as what they wait for happens, so a quiet machine
measures as fast as ever; the bound only decides when what hangs fails. The one definition:
the benchmarks import it as ``patience`` (their folder is their scripts' path), the test suite
as ``benchmarks.patience`` (tests/agentnb_testing.py), which says why five minutes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, TypeVar

__all__ = ["PATIENCE_MS", "PATIENCE_S", "PROGRAM_PATIENCE_S", "patient", "patient_polls"]

PATIENCE_S = 300.0
"""The wait for one step (a run to end, a row to be written, a server or a child process to
answer, a kernel cell to finish)."""
PATIENCE_MS = PATIENCE_S * 1000
"""The same in milliseconds, Playwright's unit."""
PROGRAM_PATIENCE_S = 3 * PATIENCE_S
"""The wait for a whole program of steps: a notebook executed end to end, a child Python that
installs, builds or runs a benchmark, a kernel cell that runs many runs (a bench_cell_hold
smoke run took 457 s at load ~22)."""


def patient_polls() -> Iterator[int]:
    """The turns of a polling loop that breaks once what it waits for is seen: as many as
    :data:`PATIENCE_S` allows, never a count (a count of polls is a time limit that a loaded
    machine's slower polls run out of). The check after the loop says what was not seen."""
    deadline = time.monotonic() + PATIENCE_S
    turn = 0
    while time.monotonic() < deadline:
        yield turn
        turn += 1


_Waiting = TypeVar("_Waiting", bound=Any)
"""A Playwright page or browser context (both take ``set_default_timeout``)."""


def patient(playwright: _Waiting, ms: float = PATIENCE_MS) -> _Waiting:
    """A Playwright page or browser context whose every wait (a navigation, a locator, a
    function) has the patience, ``ms``, where it gives none: Playwright's own 30 s is a number
    a loaded machine outruns (Phoenix's page took longer to load at load 10). Every page and
    context the tests and benchmarks make is one (tests/test_patience.py)."""
    playwright.set_default_timeout(ms)
    return playwright
