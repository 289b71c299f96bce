"""The seam between running and remembering: whatever records runs (the history store)."""

from __future__ import annotations

from typing import Protocol

from .request import RunRequest
from .run import Run

__all__ = ["RunRecorder"]


class RunRecorder(Protocol):
    """Records runs. ``record_start`` is called when the request is sent, ``record_end`` once
    when the run ends (any status). Both must be cheap and must never raise into the run."""

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None: ...

    def record_end(self, run: Run) -> None: ...
