"""Which runs a figure counts by status, as ``include=`` names them: one reading for the
history's summaries and the latency plot."""

from __future__ import annotations

from collections.abc import Sequence

from .exceptions import ConfigurationError

__all__ = ["timed_statuses"]


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
