"""The seam between a person's quick verdict on a run (✓ / ✗ and a note), where it is kept,
and every view that shows the run: the views import only the core, scores are the history's.

The package root installs what keeps a verdict (:func:`set_verdict_keeper`); whatever keeps
one says so with :func:`verdict_kept`, and each live view that called :func:`watch_verdicts`
shows it: a verdict is one fact, whichever view (or code) gave it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "VerdictKeeper",
    "VerdictView",
    "set_verdict_keeper",
    "verdict_keeper",
    "verdict_kept",
    "watch_verdicts",
]

VerdictKeeper = Callable[[str, bool, "str | None"], None]
"""Keeps a verdict: the run's ``local_id``, True for thumbs up, the note (or None). Raises an
``AgentNBError`` saying why it could not."""

_keeper: VerdictKeeper | None = None


def set_verdict_keeper(keeper: VerdictKeeper | None) -> None:
    """Install what keeps a verdict (called once, by ``agentnb/__init__``; None: none)."""
    global _keeper
    _keeper = keeper


def verdict_keeper() -> VerdictKeeper | None:
    """What keeps a person's verdict, or None where nothing does."""
    return _keeper


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
