"""A person's quick verdict on a run (✓ / ✗ and a note) is one fact: whichever view or code
keeps it tells every live view of the run here, and each shows it."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["VerdictKeeper", "VerdictView", "verdict_kept", "watch_verdicts"]

VerdictKeeper = Callable[[str, bool, "str | None"], None]
"""Keeps a verdict: the run's ``local_id``, True for thumbs up, the note (or None). Raises an
``AgentNBError`` saying why it could not."""


class VerdictView(Protocol):
    """A live view of runs that shows their verdicts (a chat cell, a runs table)."""

    def show_verdict(self, local_id: str, value: bool, comment: str | None) -> None:
        """Show the verdict kept for run ``local_id`` if the view shows that run (any
        thread)."""
        ...


_views: weakref.WeakSet[VerdictView] = weakref.WeakSet()


def watch_verdicts(view: VerdictView) -> None:
    """Tell ``view`` of every verdict kept from now on, for as long as it lives."""
    _views.add(view)


def verdict_kept(local_id: str, value: bool, comment: str | None) -> None:
    """A verdict on run ``local_id`` was kept: every live view shows it."""
    for view in list(_views):
        view.show_verdict(local_id, value, comment)
