"""A run's trace in the history while it streams. A short run is written once, at its end; a
run still going after :data:`FIRST_WRITE_SECONDS` is written then (its row, what it holds so
far), checkpointed now and then and at tool call boundaries, so a process that dies keeps its
partial answer. A recorder that fails is logged, never raised."""

from __future__ import annotations

import asyncio
import logging
import time

from .._core.recorder import RunRecorder
from .._core.request import RunRequest
from .._core.run import Run
from ..events import Event, RunPaused, ToolCallFinished, ToolCallStarted

__all__ = ["CHECKPOINT_SECONDS", "FIRST_WRITE_SECONDS", "RunRecording"]

logger = logging.getLogger("agentnb")

FIRST_WRITE_SECONDS = 0.5
"""How long a run goes before its row is written (a shorter one is written at its end)."""
CHECKPOINT_SECONDS = 2.0
"""How often a streaming run's partial answer is saved (also when the first answer text
arrives, and at every tool call boundary)."""


_BOUNDARIES = (ToolCallStarted, ToolCallFinished, RunPaused)


def _has_answer(run: Run) -> bool:
    """``bool(run.text)`` without joining the text: a part's length is its text's."""
    return any(part.length for part in run.parts if part.kind == "text")


class RunRecording:
    """Calls one recorder for one run (or nothing, when there is no recorder)."""

    def __init__(self, recorder: RunRecorder | None, run: Run) -> None:
        self._recorder = recorder
        self._run = run
        self._open = False
        self._unwritten: tuple[RunRequest, str] | None = None  # the start, not written yet
        self._timer: asyncio.TimerHandle | None = None
        self._checkpointed_at = 0.0
        self._answer_saved = False

    def start(self, request: RunRequest, base_url: str) -> None:
        if self._recorder is None:
            return
        self._open = True
        self._unwritten = (request, base_url)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(FIRST_WRITE_SECONDS, self._first_write)

    def _write_start(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        unwritten, self._unwritten = self._unwritten, None
        if self._recorder is None or unwritten is None:
            return
        request, base_url = unwritten
        try:
            self._recorder.record_start(self._run, request, base_url=base_url)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed at the start of a run: %r", exc)

    def _first_write(self) -> None:
        """The run goes on: its row, and what it holds so far."""
        self._timer = None
        if not self._open:
            return
        self._write_start()
        run = self._run
        if run.parts or run.tool_calls:
            self._answer_saved = _has_answer(run)
            self._checkpoint()

    def after(self, event: Event) -> None:
        """Checkpoint after ``event`` when it is time, or at a tool call boundary."""
        if not self._open or self._unwritten is not None:
            return  # nothing written yet: the run may end before it must be
        now = time.monotonic()
        boundary = isinstance(event, _BOUNDARIES)
        first_answer = not self._answer_saved and _has_answer(self._run)
        if not (boundary or first_answer) and now - self._checkpointed_at < CHECKPOINT_SECONDS:
            return
        self._answer_saved = self._answer_saved or first_answer
        self._checkpoint()

    def _checkpoint(self) -> None:
        self._checkpointed_at = time.monotonic()
        checkpoint = getattr(self._recorder, "record_progress", None)
        if checkpoint is None:  # a recorder written before checkpoints existed
            return
        try:
            checkpoint(self._run)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed to checkpoint a run: %r", exc)

    def cancel_failed(self) -> None:
        """The run's cancel request failed after its end: keep ``run.cancel_error`` too."""
        amend = getattr(self._recorder, "record_cancel_error", None)
        if amend is None:
            return
        try:
            amend(self._run)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed to keep a cancel's error: %r", exc)

    def end(self) -> None:
        if self._recorder is None or not self._open:
            return
        self._write_start()
        self._open = False
        try:
            self._recorder.record_end(self._run)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed at the end of a run: %r", exc)
