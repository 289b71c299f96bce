"""The seam between running and remembering: whatever records runs (the history store).

The client records every run into :func:`default_recorder` unless told otherwise. The core
does not know the history: the package root installs it with :func:`set_default_recorder`,
so the client is *handed* a recorder and no layer imports one above it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # named in annotations only: the seam loads with the package, they with a run
    from .request import RunRequest
    from .run import Run

__all__ = [
    "RunRecorder",
    "add_recorder",
    "call_recorder",
    "combine_recorders",
    "default_recorder",
    "record_score",
    "record_whole_run",
    "remove_recorder",
    "set_default_recorder",
]

logger = logging.getLogger("agentnb")


class RunRecorder(Protocol):
    """Records runs. ``record_start`` is called once a run's response has gone on for half a
    second (a shorter run: just before ``record_end``), ``record_progress`` now and then
    while it streams (a checkpoint of the partial answer), and ``record_end`` once when the
    run ends (any status). All must be cheap and must never raise into the run. A recorder
    may also have ``record_cancel_error(run)``, called when a cancelled run's cancel request
    failed after its end (``run.cancel_error``), ``record_run(run, request, *, base_url)``,
    called instead of its start and end for a run that ended before its start was due, and
    ``record_score(score)``, called when a run is given a score (:func:`record_score`)."""

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None: ...

    def record_progress(self, run: Run) -> None: ...

    def record_end(self, run: Run) -> None: ...


_default_factory: Callable[[], RunRecorder | None] = lambda: None  # noqa: E731


def set_default_recorder(factory: Callable[[], RunRecorder | None]) -> None:
    """Install what :func:`default_recorder` returns (called once, by ``agentnb/__init__``)."""
    global _default_factory
    _default_factory = factory


_added: tuple[RunRecorder, ...] = ()
_added_lock = threading.Lock()


def default_recorder() -> RunRecorder | None:
    """The recorder runs go to when none was given: the default history and the recorders
    added with :func:`add_recorder`; None when there are none (history off,
    ``AGENTNB_HISTORY=off``, or it cannot be opened, and none added)."""
    made = _default_factory()
    if not _added:
        return made
    return combine_recorders(*getattr(made, "recorders", (made,)), *_added)


def add_recorder(recorder: RunRecorder) -> None:
    """Hand every run recorded by default (every run not given a ``recorder=`` of its own)
    to ``recorder`` as well, after the history: what ``agentnb.evals.live`` scores runs
    with as they end. Its methods run on agentnb's loop, so they must be quick and never
    raise (one that raises is logged); :func:`remove_recorder` stops it."""
    global _added
    for method in ("record_start", "record_progress", "record_end"):
        if not callable(getattr(recorder, method, None)):
            raise TypeError(f"add_recorder() takes a RunRecorder; {recorder!r} has no {method}()")
    with _added_lock:
        _added = (*(kept for kept in _added if kept is not recorder), recorder)


def remove_recorder(recorder: RunRecorder) -> None:
    """Stop handing runs to a recorder :func:`add_recorder` added (runs under way go on
    being recorded by it to their end); nothing for one never added."""
    global _added
    with _added_lock:
        _added = tuple(kept for kept in _added if kept is not recorder)


def record_score(score: object) -> None:
    """Hand a score just kept (the history's ``ScoreRecord``) to the default recorders that
    take scores (tracing, for a backend that shows them)."""
    recorder = default_recorder()
    for each in getattr(recorder, "recorders", (recorder,)):
        call_recorder(each, "record_score", "to take a score", score)


def call_recorder(recorder: object, method: str, failed: str, *args: Any, **kwargs: Any) -> None:
    """``recorder.method(*args, **kwargs)`` when the recorder has the method (one written
    before it existed has not); an error is logged as ``failed``, never raised into the run."""
    call = getattr(recorder, method, None)
    if call is None:
        return
    try:
        call(*args, **kwargs)
    except Exception as exc:
        logger.warning("agentnb: the run recorder failed %s: %r (%r)", failed, exc, recorder)


def record_whole_run(recorder: RunRecorder, run: Run, request: RunRequest, base_url: str) -> None:
    """A run that ended before its start was written: ``record_run`` where the recorder has
    it (one write), else its start and its end."""
    if getattr(recorder, "record_run", None) is not None:
        call_recorder(recorder, "record_run", "to record a run", run, request, base_url=base_url)
        return
    call_recorder(
        recorder, "record_start", "at the start of a run", run, request, base_url=base_url
    )
    call_recorder(recorder, "record_end", "at the end of a run", run)


def combine_recorders(*recorders: RunRecorder | None) -> RunRecorder | None:
    """One recorder for all of ``recorders`` that are not None (the history and tracing):
    None when none is left, the recorder itself when one is."""
    present = tuple(recorder for recorder in recorders if recorder is not None)
    if len(present) <= 1:
        return present[0] if present else None
    return RecorderGroup(present)


class RecorderGroup:
    """Several recorders as one: each is called in turn, and one that raises is logged
    without keeping the others from recording."""

    def __init__(self, recorders: tuple[RunRecorder, ...]) -> None:
        self.recorders = recorders

    def _each(self, method: str, failed: str, *args: Any, **kwargs: Any) -> None:
        for each in self.recorders:
            call_recorder(each, method, failed, *args, **kwargs)

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        self._each("record_start", "at the start of a run", run, request, base_url=base_url)

    def record_progress(self, run: Run) -> None:
        self._each("record_progress", "to checkpoint a run", run)

    def record_end(self, run: Run) -> None:
        self._each("record_end", "at the end of a run", run)

    def record_run(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        for each in self.recorders:
            record_whole_run(each, run, request, base_url)

    def record_cancel_error(self, run: Run) -> None:
        self._each("record_cancel_error", "to keep a cancel's error", run)
