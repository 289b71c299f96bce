"""What a summary is: its keys and columns, the DataFrame it is shown as, and the summary of
tool calls (:func:`summarize_calls`). Runs are summarised by SQLite (:mod:`._summary_sql`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

from .._core.exceptions import ConfigurationError
from .._core.extras import require_pandas
from .._core.history_drawer import history_drawer
from ._metadata import metadata_key

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CALL_SUMMARY_COLUMNS",
    "COUNTED_STATUSES",
    "GROUPABLE",
    "PERIOD",
    "PERIODS",
    "SHARES",
    "SUMMARY_COLUMNS",
    "FrameOf",
    "ShownColumns",
    "as_summary",
    "is_share",
    "summarize_calls",
    "summary_class",
    "summary_keys",
    "timed_note",
]

ShownColumns = str | Sequence[str] | None
"""The columns a summary shows (``columns=``): None the ones that answer the question
first, ``"all"`` every one, or those named. The frame keeps all of them either way."""

FrameOf = Callable[[Sequence[str]], "pd.DataFrame"]
"""A table's ``to_pandas``: the frame of the columns named."""

SHARES: Final = "shares"
"""The attr of a summary (and of ``experiments()``) listing its ``score.<name>`` columns
that are a bool score's mean, the share of runs scored True: shown as a percent, kept as a
float."""

SUMMARY_COLUMNS = (
    "runs",
    "completed",
    "failed",
    "cancelled",
    "interrupted",
    "running",
    "success_rate",
    "failure_rate",
    "tokens_total",
    "tokens_mean",
    "cost_total",
    "cost_mean",
    "unpriced",
    "timed_runs",
    "duration_p50",
    "duration_p95",
    "ttft_p50",
    "ttft_p95",
    "paused_total",
    "tool_calls_per_run",
)
"""``completed``, ``failed``, ``cancelled``, ``interrupted`` and ``running`` count runs by
status (``failed`` also holds any other status a platform reported, so the five add up to
``runs``). ``success_rate`` is completed / all runs that ended: every failed, cancelled or
interrupted run counts against it, a run still going does not. ``failure_rate`` is failed /
runs that ended. ``cost_total`` and ``cost_mean`` (USD) are over the runs whose cost is known;
``unpriced`` counts the others (an unknown cost is never counted as 0). The timing figures
(``duration_*``, ``ttft_*``: the agent's time, pauses for a person left out; ``paused_total``:
seconds spent waiting for a person) count only the runs ``include`` names, completed ones by
default (a run that failed fast or was cancelled does not make the agent look quick), and
``timed_runs`` says how many those are; a missing TTFT (no token came) is left out, never
counted as 0."""

COUNTED_STATUSES: Final = ("completed", "cancelled", "interrupted", "running")
"""The statuses a summary counts in a column of their own (``failed`` holds the rest)."""
GROUPABLE: Final = (
    "agent",
    "model",
    "provider",
    "connection",
    "host",
    "status",
    "error_code",
    "cost_source",
    "thread_id",
)
"""The columns a summary groups by (``by=``), besides ``metadata.<key>``: that key of each
run's metadata (a string as itself, another value as its JSON text; missing: no value)."""
PERIOD = "period"
"""The key a summary ``every`` hour, day or week groups by: the period's start, UTC."""
PERIODS: Final[dict[str, tuple[int, int]]] = {
    "hour": (3600, 0),
    "day": (86400, 0),
    "week": (7 * 86400, 4 * 86400),  # 1970-01-01 was a Thursday: weeks start on Monday
}
"""Each ``every``: its length in seconds and the offset of its first start from the epoch."""


def summary_keys(
    by: str | Sequence[str] | None, every: str | None = None, extra: Sequence[str] = ()
) -> list[str]:
    """The columns to group by, checked: ``period`` first when ``every`` is given; ``extra``
    names the table's own groupable columns (a joined history's ``origin``)."""
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    groupable = [*GROUPABLE, *extra]
    bad = [
        key
        for key in keys
        if key not in groupable and not (isinstance(key, str) and metadata_key(key))
    ]
    if bad:
        raise ConfigurationError(
            f"cannot summarise by {bad}; choose from {groupable}, metadata.<key> or None"
        )
    if len(set(keys)) < len(keys):
        raise ConfigurationError(f"cannot summarise by {keys}: a key is named twice")
    if every is None:
        return keys
    if every not in PERIODS:
        raise ConfigurationError(f"every must be one of {list(PERIODS)}, not {every!r}")
    return [PERIOD, *keys]


def as_summary(frame: pd.DataFrame, every: str | None, columns: ShownColumns) -> pd.DataFrame:
    """``frame`` as the :func:`summary_class` it is shown as, its ``every`` in its attrs (a
    period is labelled as the hour, day or week it is)."""
    frame.attrs["every"] = every
    summary = summary_class()(frame)
    summary.shown_columns = columns  # type: ignore[attr-defined]
    summary.attrs = dict(frame.attrs)
    return summary


@functools.cache
def summary_class() -> type[pd.DataFrame]:
    """``Summary``: the DataFrame a summary is (made on first use: pandas is optional).

    It is a DataFrame in every use (indexing, ``.loc``, ``len``, arithmetic, plotting,
    ``isinstance``) and keeps plain numbers; only its display differs: a notebook and
    ``repr``/``print`` show it formatted by the history's drawer (``$``, ``%``, ms and s,
    dates, the columns that answer first). Whatever is made from it (a column, a slice, a
    sorted copy) is a plain DataFrame or Series, so nothing computed from it looks
    formatted; ``to_pandas()`` is the plain frame itself."""
    pandas = require_pandas()
    base: Any = pandas.DataFrame

    class Summary(base):  # type: ignore[misc]
        _metadata: ClassVar[list[str]] = ["shown_columns"]
        shown_columns: ShownColumns = None

        @property
        def _constructor(self) -> Any:
            return pandas.DataFrame

        def to_pandas(self) -> pd.DataFrame:
            """The summary as a plain DataFrame (a copy): numbers, not text."""
            frame: pd.DataFrame = pandas.DataFrame(self, copy=True)
            frame.attrs = dict(self.attrs)
            return frame

        def _repr_html_(self) -> str:
            return history_drawer().summary_html(self.to_pandas(), self.shown_columns)

        def __repr__(self) -> str:
            return history_drawer().summary_text(self.to_pandas(), self.shown_columns)

    Summary.__module__ = __name__
    Summary.__qualname__ = "Summary"
    return Summary


def __getattr__(name: str) -> Any:
    # Unpickling a summary looks its class up here by name.
    if name == "Summary":
        return summary_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def is_share(values: Iterable[Any]) -> bool:
    """Whether a score's mean is the share of True: it has numbers, and each is a bool (a
    score given numbers too is a number, its bools counting 1 or 0)."""
    numbers = [v for v in values if isinstance(v, bool | int | float) and v == v]  # not NaN
    return bool(numbers) and all(isinstance(value, bool) for value in numbers)


def timed_note(statuses: tuple[str, ...] | None) -> str:
    """What a summary says it timed."""
    counted = "all runs" if statuses is None else " or ".join(statuses) + " runs"
    return f"duration, ttft and paused time count {counted} only"


CALL_SUMMARY_COLUMNS = (
    "calls",
    "failed",
    "failure_rate",
    "time_total",
    "duration_p50",
    "duration_p95",
    "tokens_total",
    "cost_total",
    "priced_calls",
    "runs",
)
_CALL_KEYS = ("name", "agent", "status")
_CALL_FAILED = ("failed", "denied", "no_result")
_CALL_PENDING = ("running", "awaiting_approval")


def summarize_calls(
    frame_of: FrameOf, by: str | Sequence[str], columns: ShownColumns = None
) -> pd.DataFrame:
    """The summary of the tool calls whose frame ``frame_of`` gives (``ToolCallHistory``),
    a :func:`summary_class` shown with ``columns`` (its ``of`` attr: ``"tool calls"``)."""
    pandas = require_pandas()
    keys = [by] if isinstance(by, str) else list(by)
    bad = [key for key in keys if key not in _CALL_KEYS]
    if bad or not keys:
        raise ConfigurationError(
            f"cannot summarise tool calls by {bad or keys}; choose from {list(_CALL_KEYS)}"
        )
    frame = frame_of(
        ["local_id", "name", "agent", "status", "duration", "total_tokens", "cost_usd"]
    )
    status = frame["status"].astype("object")
    frame["_failed"] = status.isin(_CALL_FAILED).astype("int64")
    frame["_ended"] = (~status.isin(_CALL_PENDING)).astype("int64")
    grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
    failed, ended = grouped["_failed"].sum(), grouped["_ended"].sum()
    out: pd.DataFrame = pandas.DataFrame(
        {
            "calls": grouped.size(),
            "failed": failed,
            "failure_rate": (failed / ended.where(ended > 0)).astype("float64"),
            "time_total": grouped["duration"].sum(min_count=1).astype("float64"),
            "duration_p50": grouped["duration"].quantile(0.5).astype("float64"),
            "duration_p95": grouped["duration"].quantile(0.95).astype("float64"),
            "tokens_total": grouped["total_tokens"].sum(min_count=1),
            "cost_total": grouped["cost_usd"].sum(min_count=1).astype("float64"),
            "priced_calls": grouped["cost_usd"].count().astype("int64"),
            "runs": grouped["local_id"].nunique(),
        },
        columns=list(CALL_SUMMARY_COLUMNS),
    )
    out = out.sort_values("calls", ascending=False, kind="stable")
    out.attrs["of"] = "tool calls"
    return as_summary(out, None, columns)
