"""Recording a reattached run: nothing is written until the platform accepted the attach.

A run shown again (``client.attach``) folds into the Run of its history row, so the row is
completed, not duplicated. If the platform refuses the attach (an unknown run, a finished
one, an error before the stream opens), the row must keep the partial answer it had: the
recorder below starts recording only once the attach's first event arrived, and records
nothing for an attach that never got one.
"""

from __future__ import annotations

from .._core.recorder import RunRecorder
from .._core.request import RunRequest
from .._core.run import Run

__all__ = ["OnceAccepted"]


class OnceAccepted:
    """Wraps a recorder so that a run is recorded only from its first event on."""

    def __init__(self, recorder: RunRecorder) -> None:
        self.recorder = recorder
        self._start: tuple[RunRequest, str] | None = None
        self._recording = False

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        self._start = (request, base_url)

    def record_progress(self, run: Run) -> None:
        checkpoint = getattr(self.recorder, "record_progress", None)
        if self._accepted(run) and checkpoint is not None:
            checkpoint(run)

    def record_end(self, run: Run) -> None:
        if self._accepted(run):
            self.recorder.record_end(run)

    def record_cancel_error(self, run: Run) -> None:
        amend = getattr(self.recorder, "record_cancel_error", None)
        if self._recording and amend is not None:
            amend(run)

    def _accepted(self, run: Run) -> bool:
        if not self._recording and run.event_count > 0 and self._start is not None:
            request, base_url = self._start
            self.recorder.record_start(run, request, base_url=base_url)
            self._recording = True
        return self._recording
