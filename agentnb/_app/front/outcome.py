"""Showing a run whose error the caller raises: the error is said once, by the exception.

A magic or ``ask(wait=True)`` that fails raises the run's error; the run's view then shows
the run (its partial answer, tool calls, status line) without the error line, and a run that
ended before sending anything is not shown at all.
"""

from __future__ import annotations

import dataclasses
import threading

from ..._core.handle import RunListener
from ..._core.run import Run
from ...events import Event

__all__ = ["HeldSummary", "has_content", "without_error"]


def has_content(run: Run) -> bool:
    """True when the run has something to show besides its status."""
    return bool(run.parts or run.tool_calls)


def without_error(run: Run) -> Run:
    """A copy of the ended ``run`` without its error (for a view shown beside the error)."""
    return dataclasses.replace(run, error=None)


class HeldSummary:
    """A run listener passing each event on to ``inner`` as it comes, but holding back the
    end (a printer's summary line) until :meth:`release` says whether the caller raises the
    run's error itself."""

    def __init__(self, inner: RunListener) -> None:
        self._inner = inner
        self._lock = threading.Lock()
        self._ended: Run | None = None
        self._with_error: bool | None = None

    def __call__(self, run: Run, event: Event | None) -> None:
        if event is not None:
            self._inner(run, event)
            return
        with self._lock:
            self._ended = run
            with_error = self._with_error
        if with_error is not None:
            self._end(run, with_error)

    def release(self, with_error: bool) -> None:
        """Let the end through: as it is, or without the error when ``with_error`` is False
        (and not at all if the run has nothing else to show)."""
        with self._lock:
            if self._with_error is not None:
                return
            self._with_error = with_error
            ended = self._ended
        if ended is not None:
            self._end(ended, with_error)

    def _end(self, run: Run, with_error: bool) -> None:
        if with_error:
            self._inner(run, None)
        elif has_content(run):
            self._inner(without_error(run), None)
