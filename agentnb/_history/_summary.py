"""``summary()`` over a loaded table, with pandas: usage and reliability per agent (or any
other column) and per period (:func:`summarize`), and per tool (:func:`summarize_calls`).
``agentnb.summary()`` computes the same frame in SQLite (:mod:`._summary_sql`), kept equal
by ``tests/history/test_summary_sql.py``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final

from .._core.exceptions import ConfigurationError
from .._core.extras import require_pandas
from .._core.history_drawer import history_drawer, timed_statuses
from ._figures import sane_series
from ._metadata import metadata_key, metadata_text

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
    "summarize",
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


def _period_start(seconds: Any, every: str) -> Any:
    """The start of the period (unix seconds) each of ``seconds`` falls in."""
    size, offset = PERIODS[every]
    return (seconds - offset) // size * size + offset


def summarize(
    frame_of: FrameOf,
    by: str | Sequence[str] | None,
    every: str | None = None,
    include: str | Sequence[str] = "completed",
    extra: Sequence[str] = (),
    scores: Mapping[str, Any] | None = None,
    columns: ShownColumns = None,
) -> pd.DataFrame:
    """The summary of the runs whose frame ``frame_of`` gives; ``extra`` names the table's
    own groupable columns (a joined history's ``origin``); ``scores`` their ``score.<name>``
    columns, in the frame's row order (:func:`_score_parts` says what it adds); shown with
    ``columns``."""
    pandas = require_pandas()
    keys = summary_keys(by, every, extra)
    statuses = timed_statuses(include)
    figures = (
        "status",
        "total_tokens",
        "cost_usd",
        "duration",
        "ttft",
        "paused_seconds",
        "tool_call_count",
    )
    plain = [key for key in keys if key != PERIOD]
    wanted = [key for key in plain if metadata_key(key) is None]
    if len(wanted) < len(plain):
        wanted.append("metadata")
    wanted += [c for c in (*figures, "started_at") if c not in wanted]
    frame = frame_of(wanted)
    for key in plain:
        name = metadata_key(key)
        if name is not None:
            frame[key] = pandas.array(
                [_metadata_value(m, name) for m in frame["metadata"]], dtype="string"
            )
    score_parts = _score_parts(frame, scores or {})
    if every is not None:
        started = (frame["started_at"] - pandas.Timestamp(0, tz="UTC")) / pandas.Timedelta(
            seconds=1
        )
        frame[PERIOD] = pandas.to_datetime(_period_start(started, every), unit="s", utc=True)
    for status in COUNTED_STATUSES:
        frame[f"_{status}"] = (frame["status"] == status).astype("int64")
    timed = frame["status"].isin(statuses) if statuses is not None else frame["status"].notna()
    frame["_timed"] = timed.astype("int64")
    for column in ("duration", "ttft", "paused_seconds"):
        frame[column] = frame[column].astype("float64").where(timed)
    # a figure out of its sane range (a crafted or old row) is no figure: never an inf sum
    for column in figures[1:]:
        frame[column] = sane_series(column, frame[column])
    grouped: Any
    if keys:
        # observed=True: only groups that have runs; dropna=False keeps runs with no agent.
        grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
    else:
        frame["_all"] = "all"
        grouped = frame.groupby("_all")
    runs = grouped.size()
    counts = {status: grouped[f"_{status}"].sum() for status in COUNTED_STATUSES}
    ended = runs - counts["running"]
    other = ended - counts["completed"] - counts["cancelled"] - counts["interrupted"]
    out: pd.DataFrame = pandas.DataFrame(
        {
            "runs": runs,
            "completed": counts["completed"],
            "failed": other,
            "cancelled": counts["cancelled"],
            "interrupted": counts["interrupted"],
            "running": counts["running"],
            "success_rate": (counts["completed"] / ended.where(ended > 0)).astype("float64"),
            "failure_rate": (other / ended.where(ended > 0)).astype("float64"),
            "tokens_total": grouped["total_tokens"].sum(min_count=1),
            "tokens_mean": grouped["total_tokens"].mean().astype("float64"),
            "cost_total": grouped["cost_usd"].sum(min_count=1).astype("float64"),
            "cost_mean": grouped["cost_usd"].mean().astype("float64"),
            "unpriced": (runs - grouped["cost_usd"].count()).astype("int64"),
            "timed_runs": grouped["_timed"].sum(),
            "duration_p50": grouped["duration"].quantile(0.5),
            "duration_p95": grouped["duration"].quantile(0.95),
            "ttft_p50": grouped["ttft"].quantile(0.5),
            "ttft_p95": grouped["ttft"].quantile(0.95),
            "paused_total": grouped["paused_seconds"].sum(min_count=1),
            "tool_calls_per_run": grouped["tool_call_count"].mean().astype("float64"),
        },
        columns=list(SUMMARY_COLUMNS),
    )
    if score_parts:
        figures_of_scores = {
            name: getattr(grouped[helper], how)().astype(dtype)
            for name, helper, how, dtype in score_parts
        }
        out = pandas.concat([out, pandas.DataFrame(figures_of_scores)], axis=1)
    if not keys:
        out.index.name = None
    out.attrs["timed"] = timed_note(statuses)
    given = scores or {}
    out.attrs[SHARES] = [
        column
        for column in sorted(given)
        if column in out and is_share(pandas.Series(given[column]).astype(object))
    ]
    return as_summary(out, every, columns)


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


def _metadata_value(metadata: Any, key: str) -> str | None:
    return metadata_text(metadata.get(key)) if isinstance(metadata, dict) else None


def _score_parts(frame: pd.DataFrame, scores: Mapping[str, Any]) -> list[tuple[str, str, str, str]]:
    """Helper columns added to ``frame`` for each score name, and how each becomes a
    summary column: ``(summary column, helper, "sum" | "mean", dtype)``. Per score name:
    ``score.<name>_n``, the runs scored; ``score.<name>``, the mean of its numbers and bools
    (a bool as 1 or 0: the share of True); per label ``score.<name>[<label>]``, how many
    runs have it."""
    pandas = require_pandas()
    parts: list[tuple[str, str, str, str]] = []
    for column in sorted(scores):
        values = pandas.Series(scores[column], index=frame.index).astype(object)
        present = [v is not None and v is not pandas.NA and v == v for v in values]
        numbers = [_number(v) for v in values]
        labels = [v if isinstance(v, str) else None for v in values]
        frame[f"_{column}_n"] = pandas.array([int(p) for p in present], dtype="int64")
        parts.append((f"{column}_n", f"_{column}_n", "sum", "int64"))
        if any(n == n for n in numbers):
            frame[f"_{column}_x"] = pandas.array(numbers, dtype="float64")
            parts.append((column, f"_{column}_x", "mean", "float64"))
        for i, label in enumerate(sorted({label for label in labels if label is not None})):
            frame[f"_{column}_l{i}"] = pandas.array([int(v == label) for v in labels], "int64")
            parts.append((f"{column}[{label}]", f"_{column}_l{i}", "sum", "int64"))
    return parts


def is_share(values: Iterable[Any]) -> bool:
    """Whether a score's mean is the share of True: it has numbers, and each is a bool (a
    score given numbers too is a number, its bools counting 1 or 0)."""
    numbers = [v for v in values if isinstance(v, bool | int | float) and v == v]  # not NaN
    return bool(numbers) and all(isinstance(value, bool) for value in numbers)


def _number(value: Any) -> float:
    """A score's number (a bool as 1 or 0), else NaN."""
    if isinstance(value, bool | int | float):
        return float(value)
    return float("nan")


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
