"""The seam between a person's quick verdict on a run (a chat cell's ✓ / ✗, thumbs up or
down, and a note) and where it is kept.

The chat cell (``_display``) imports only the core, and scores are the history's. The
package root installs what keeps a verdict with :func:`set_verdict_keeper` (the history's
``agentnb.score``, as the score ``verdict``), as it installs the history drawer
(:mod:`.history_drawer`); a cell offers ✓ / ✗ when one is installed.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["VerdictKeeper", "set_verdict_keeper", "verdict_keeper"]

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
