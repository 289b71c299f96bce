"""A run's trace in the history while it streams. A short run is written once, at its end; a
run still going :data:`FIRST_WRITE_SECONDS` after its response began is written then (its
row, what it holds so far), then checkpointed by a timer when it has changed: its first
answer soon, the rest now and then, and at once at tool call boundaries, so a process that
dies keeps its partial answer. A recorder that fails is logged, never raised."""

from __future__ import annotations

import asyncio

from .._core.recorder import RunRecorder, call_recorder, record_whole_run
from .._core.request import RunRequest
from .._core.run import Run
from ..events import Event, RunPaused, ToolCallFinished, ToolCallStarted

__all__ = ["CHECKPOINT_SECONDS", "FIRST_ANSWER_SECONDS", "FIRST_WRITE_SECONDS", "RunRecording"]

FIRST_WRITE_SECONDS = 0.5
"""How long a run's response goes before its row is written (a shorter one is written at its
end). Counted from the response, not the request: runs started together wait for their
connections on agentnb's loop, and a run waiting there has not reached the platform."""
FIRST_ANSWER_SECONDS = 0.5
"""How soon after it arrives a written run's first answer is saved (a run ending sooner
writes it with its end)."""
CHECKPOINT_SECONDS = 2.0
"""How long after its last write a written run that has changed since is saved again."""


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
        self._timer: asyncio.TimerHandle | None = None  # the first write, or the next checkpoint
        self._written_at = 0.0  # the loop's time of the last write
        self._answer_saved = False

    def start(self, request: RunRequest, base_url: str) -> None:
        if self._recorder is None:
            return
        self._open = True
        self._unwritten = (request, base_url)

    def responded(self) -> None:
        """The platform answered the run's request: its first write is due soon."""
        if self._unwritten is None or self._timer is not None:
            return
        if FIRST_WRITE_SECONDS <= 0:
            self._first_write()  # before the response's first event
        else:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(FIRST_WRITE_SECONDS, self._first_write)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _write_start(self) -> None:
        self._cancel_timer()
        unwritten, self._unwritten = self._unwritten, None
        if self._recorder is None or unwritten is None:
            return
        request, base_url = unwritten
        call_recorder(
            self._recorder,
            "record_start",
            "at the start of a run",
            self._run,
            request,
            base_url=base_url,
        )

    def _first_write(self) -> None:
        """The run goes on: its row, with what it holds so far (the store takes the values
        when it writes them)."""
        self._timer = None
        if not self._open:
            return
        self._write_start()
        self._written_at = asyncio.get_running_loop().time()
        self._answer_saved = _has_answer(self._run)

    def after(self, event: Event) -> None:
        """A written run changed: checkpoint it at once at a tool call boundary, else see
        that a checkpoint is due (soon for its first answer)."""
        if not self._open or self._unwritten is not None:
            return  # nothing written yet: the run may end before it must be
        if isinstance(event, _BOUNDARIES):
            self._checkpoint()
        elif not self._answer_saved and _has_answer(self._run):
            self._answer_saved = True
            self._checkpoint_by(asyncio.get_running_loop().time() + FIRST_ANSWER_SECONDS)
        elif self._timer is None:
            self._checkpoint_by(self._written_at + CHECKPOINT_SECONDS)

    def _checkpoint_by(self, due: float) -> None:
        """A checkpoint at ``due`` (the loop's time) at the latest."""
        if self._timer is not None and self._timer.when() <= due:
            return
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_at(due, self._checkpoint)

    def _checkpoint(self) -> None:
        self._cancel_timer()
        if not self._open:
            return
        self._written_at = asyncio.get_running_loop().time()
        call_recorder(self._recorder, "record_progress", "to checkpoint a run", self._run)

    def end_changed(self) -> None:
        """The run learned its platform id, or its cancel request failed, after its end was
        written: keep ``run.run_id`` and ``run.cancel_error`` too."""
        call_recorder(self._recorder, "record_cancel_error", "to keep a cancel's error", self._run)

    def end(self) -> None:
        if self._recorder is None or not self._open:
            return
        self._open = False
        self._cancel_timer()
        unwritten, self._unwritten = self._unwritten, None
        if unwritten is not None:  # a short run: one write where the recorder can
            record_whole_run(self._recorder, self._run, *unwritten)
        else:
            call_recorder(self._recorder, "record_end", "at the end of a run", self._run)
