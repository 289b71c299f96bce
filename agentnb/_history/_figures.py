"""Whether a figure a summary reads is sane: the one rule, rendered for SQLite and applied to
pandas, used by every trigger and every query that sums, counts or ranks a run's figures.

A history file may come from someone else, and SQLite keeps any value in any column: a
token count of 10^30, a negative cost, text where a number goes. A figure is sane when it
is a number of its column's kind (a whole number for a count) within :data:`FIGURE_RANGES`
(the token and cost bounds are :mod:`agentnb._core.pricing`'s, the ones a platform's usage
is read through); any other value is no figure to a summary (NULL in SQL, missing in
pandas), so no row can make a total absurd, and the SQL and pandas summaries of one file
agree. The run's row keeps the value as it was: :func:`refused_note` says which figures of
a row a summary leaves out, and the reads show it in the row's ``refused_figures``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

from .._core.pricing import MAX_COST_USD, MAX_TOKENS

if TYPE_CHECKING:
    pass

__all__ = [
    "FIGURE_RANGES",
    "MAX_SCORE",
    "MAX_SECONDS",
    "MAX_TOOL_CALLS",
    "is_sane",
    "refused_note",
    "sane_range_sql",
    "sane_score_row_sql",
    "sane_score_sql",
    "sane_sql",
]

MAX_SECONDS: Final = 10**9
"""The longest duration, time to first token or pause taken as a figure (~31 years)."""
MAX_TOOL_CALLS: Final = 10**6
"""The most tool calls of one run taken as a figure."""

MAX_SCORE: Final = 10**15
"""The largest magnitude of a score's number (a sum of a billion of them stays finite)."""

FIGURE_RANGES: Final[Mapping[str, tuple[float, float, bool]]] = {
    # column: (lowest, highest, whole numbers only)
    "prompt_tokens": (0, MAX_TOKENS, True),
    "completion_tokens": (0, MAX_TOKENS, True),
    "total_tokens": (0, MAX_TOKENS, True),
    "cost_usd": (0, MAX_COST_USD, False),
    "tool_call_count": (0, MAX_TOOL_CALLS, True),
    "paused_seconds": (0, MAX_SECONDS, False),
    "duration": (0, MAX_SECONDS, False),
    "ttft": (0, MAX_SECONDS, False),
}
"""The figures a summary reads or a run is priced by, and the range each is sane in."""


def sane_sql(column: str, row: str = "") -> str:
    """``row``'s ``column`` (``row`` an alias with its dot, ``new.``, or nothing) as SQL that
    is the value when it is a sane figure, else NULL: a number of the column's kind (never
    text, a blob, or a fraction where a count goes) within its range (never negative, never
    past the bound: an infinity neither)."""
    low, high, whole = FIGURE_RANGES[column]
    value = f"{row}{column}"
    kinds = "'integer'" if whole else "'integer', 'real'"
    return (
        f"CASE WHEN typeof({value}) IN ({kinds}) AND {value} BETWEEN {low} AND {high} "
        f"THEN {value} END"
    )


def sane_range_sql(column: str, row: str = "") -> str:
    """A condition true when ``row``'s ``column``, a column of fractional figures (REAL
    affinity: a duration, a time to first token), is sane: the same test as
    :func:`sane_sql`, written as a range an index can seek to. Exact for such a column,
    since SQLite orders every number before any text or blob, and keeps no NaN."""
    low, high, whole = FIGURE_RANGES[column]
    if whole:
        raise ValueError(f"{column} holds whole numbers: a range would let a fraction in")
    return f"{row}{column} BETWEEN {low} AND {high}"


def sane_score_sql(alias: str = "s") -> str:
    """The number of the ``scores`` row ``alias`` as SQL when it is sane, else NULL: a
    number of at most :data:`MAX_SCORE` in magnitude, a bool's 0 or 1 (a label has none)."""
    number, kind = f"{alias}.number", f"{alias}.kind"
    return (
        f"CASE WHEN {kind} = 'bool' THEN CASE WHEN {number} IN (0, 1) THEN {number} END "
        f"WHEN typeof({number}) IN ('integer', 'real') AND abs({number}) <= {MAX_SCORE} "
        f"THEN {number} END"
    )


def sane_score_row_sql(alias: str = "s") -> str:
    """A condition keeping the ``scores`` rows whose value is sane: a label, or a sane
    number (:func:`sane_score_sql`); any other row is no score to a read or a summary."""
    return f"({alias}.kind = 'label' OR {sane_score_sql(alias)} IS NOT NULL)"


def is_sane(column: str, value: Any) -> bool:
    """Whether ``value`` is a sane figure of ``column`` (None is no figure: not refused)."""
    low, high, whole = FIGURE_RANGES[column]
    kinds: tuple[type, ...] = (int,) if whole else (int, float)
    return type(value) in kinds and low <= value <= high


def refused_note(
    row: Mapping[str, Any], columns: Sequence[str] = tuple(FIGURE_RANGES)
) -> str | None:
    """Which of ``row``'s figures are outside their sane range and left out of summaries, as
    the note a run's ``refused_figures`` holds; None when every figure is sane or missing."""
    refused = [
        f"{name}={row[name]!r}"
        for name in columns
        if name in row and row[name] is not None and not is_sane(name, row[name])
    ]
    if not refused:
        return None
    return (
        f"figures in the file outside the sane range, left out of summaries: {', '.join(refused)}"
    )
