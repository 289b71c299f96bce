"""A run's trace in the history while it streams: its row at the start, a checkpoint of the
partial answer now and then, and its end. A recorder that fails is logged, never raised."""

from __future__ import annotations

import logging
import time

from .._core.recorder import RunRecorder
from .._core.request import RunRequest
from .._core.run import Run
from ..events import Event, ToolCallFinished, ToolCallStarted

__all__ = ["CHECKPOINT_SECONDS", "RunRecording"]

logger = logging.getLogger("agentnb")

CHECKPOINT_SECONDS = 2.0
"""How often a streaming run's partial answer is saved (also when the first answer text
arrives, and at every tool call boundary)."""


_CALL_BOUNDARIES = (ToolCallStarted, ToolCallFinished)


def _has_answer(run: Run) -> bool:
    """``bool(run.text)`` without joining the text: a part's length is its text's."""
    return any(part.length for part in run.parts if part.kind == "text")


class RunRecording:
    """Calls one recorder for one run (or nothing, when there is no recorder)."""

    def __init__(self, recorder: RunRecorder | None, run: Run) -> None:
        self._recorder = recorder
        self._run = run
        self._open = False
        self._checkpointed_at = time.monotonic()
        self._answer_saved = False

    def start(self, request: RunRequest, base_url: str) -> None:
        if self._recorder is None:
            return
        self._open = True
        try:
            self._recorder.record_start(self._run, request, base_url=base_url)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed at the start of a run: %r", exc)

    def after(self, event: Event) -> None:
        """Checkpoint after ``event`` when it is time, or at a tool call boundary."""
        if self._recorder is None or not self._open:
            return
        now = time.monotonic()
        boundary = isinstance(event, _CALL_BOUNDARIES)
        first_answer = not self._answer_saved and _has_answer(self._run)
        if not (boundary or first_answer) and now - self._checkpointed_at < CHECKPOINT_SECONDS:
            return
        self._checkpointed_at = now
        self._answer_saved = self._answer_saved or first_answer
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
        self._open = False
        try:
            self._recorder.record_end(self._run)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed at the end of a run: %r", exc)
