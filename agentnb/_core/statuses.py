"""Which runs and tool calls a figure counts by status: one reading for the history's
summaries and the plots."""

from __future__ import annotations

from collections.abc import Sequence

from .exceptions import ConfigurationError

__all__ = ["CALL_FAILED", "CALL_PENDING", "DENIED", "timed_statuses"]

CALL_FAILED = ("failed", "denied", "no_result")
"""The tool calls a failure rate counts against their tool."""
DENIED = "denied"
"""The ``finish_reason`` of a run the agent ended at a denial of its call (Codex cancels the
turn, Claude Code ends it): it completed as the person (or their policy) decided, and counts
as completed, not failed."""
CALL_PENDING = ("running", "awaiting_approval")
"""The tool calls that have not ended: a failure rate counts them neither way."""


def timed_statuses(include: str | Sequence[str]) -> tuple[str, ...] | None:
    """The statuses whose runs summaries and latency plots time (None: ``"all"`` of them)."""
    if include == "all":
        return None
    statuses = (include,) if isinstance(include, str) else tuple(include)
    if not statuses or not all(isinstance(s, str) for s in statuses):
        raise ConfigurationError(
            f"include= takes 'all', a status or a list of statuses, not {include!r}"
        )
    return statuses
