"""The history and tracing as one default recorder (``combine_recorders``, proposed for
``agentnb/_core/recorder.py`` by the integration diff): each is called, none stops another."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from agentnb._core.request import RunRequest
from agentnb._core.run import Run


class Calls:
    """A recorder that notes each call, or raises on each when ``broken``."""

    def __init__(self, broken: bool = False) -> None:
        self.broken = broken
        self.calls: list[str] = []

    def _note(self, what: str) -> None:
        self.calls.append(what)
        if self.broken:
            raise RuntimeError(f"{what} broke")

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        self._note("start")

    def record_progress(self, run: Run) -> None:
        self._note("progress")

    def record_end(self, run: Run) -> None:
        self._note("end")


def test_none_and_one_recorder_stay_as_they_are() -> None:
    from agentnb._core.recorder import combine_recorders

    only = Calls()
    assert combine_recorders(None, None) is None
    assert combine_recorders(None, only) is only  # e.g. `isinstance(..., HistoryStore)` holds


def test_a_failing_recorder_is_logged_and_the_others_still_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from agentnb._core.recorder import combine_recorders

    broken, working = Calls(broken=True), Calls()
    group: Any = combine_recorders(broken, working)
    run, request = Run(agent="echo", message="x"), RunRequest(agent="echo", message="x")
    group.record_start(run, request, base_url="http://127.0.0.1")
    group.record_progress(run)
    group.record_end(run)
    assert broken.calls == working.calls == ["start", "progress", "end"]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 3 and all("broke" in message for message in warned)
