"""Summaries, by one engine: SQLite. A file's runs are summarised where they are (counts from
the hourly rollups the triggers keep, quantiles by a walk along an order index or one window
query); runs held in memory through an in-memory file (:func:`summary_in_memory`). Also
the summary of tool calls. A summary is a plain frame: what shows it is above."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .._core.exceptions import ConfigurationError
from .._core.extras import require_pandas
from .._core.statuses import CALL_FAILED, CALL_PENDING, timed_statuses
from ._migrations import apply_migrations
from ._records import (
    FIGURE_RANGES,
    RUN_COLUMNS,
    sane_range_sql,
    sane_score_row_sql,
    sane_score_sql,
    sane_sql,
)
from ._run_filter import METADATA_TABLE, RunFilter, metadata_key, metadata_key_sql
from ._scores import current_scores_sql, score_column

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CALL_SUMMARY_COLUMNS",
    "COUNTED_STATUSES",
    "GROUPABLE",
    "HOUR",
    "HOUR_SQL",
    "PERIOD",
    "PERIODS",
    "QUANTILES",
    "ROLLUP_TABLE",
    "SHARES",
    "STOPPED_SQL",
    "SUMMARY_COLUMNS",
    "FrameOf",
    "SummaryGroup",
    "as_summary",
    "figures_sql",
    "is_share",
    "place_ranked",
    "ranks",
    "rollup_is_sound",
    "rollup_read_figures",
    "rollup_row_sound_sql",
    "score_summary_rows",
    "side_summary_rows",
    "side_table_key",
    "sqlite_order",
    "summarize_calls",
    "summary_frame",
    "summary_keys",
    "summary_rows",
    "timed_note",
    "timed_sql",
    "wanted_ranks",
    "weighed",
]

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
    "no_usage",
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
the others are ``unpriced`` (the run reported its usage, but no price is known for its model)
or ``no_usage`` (the run reported no usage): an unknown cost is never counted as 0. The
timing figures (``duration_*``, ``ttft_*``: the agent's time, pauses for a person left out;
``paused_total``: seconds spent waiting for a person) count only the runs ``include`` names,
completed ones by default (a run that failed fast or was cancelled does not make the agent
look quick), and ``timed_runs`` says how many those are; a missing TTFT (no token came) is left
out, never counted as 0."""

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
    return keys if checked_every(every) is None else [PERIOD, *keys]


def checked_every(every: str | None) -> str | None:
    """``every`` when it is None or a period the summaries know (``PERIODS``)."""
    if every is not None and every not in PERIODS:
        raise ConfigurationError(f"every must be one of {list(PERIODS)}, not {every!r}")
    return every


def as_summary(frame: pd.DataFrame, every: str | None) -> pd.DataFrame:
    """``frame`` as a summary: its ``every`` in its attrs (a period is labelled as the hour,
    day or week it is)."""
    frame.attrs["every"] = every
    return frame


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


def summarize_calls(
    frame_of: FrameOf, by: str | Sequence[str], every: str | None = None
) -> pd.DataFrame:
    """The summary of the tool calls whose frame ``frame_of`` gives (``ToolCallHistory``),
    its ``of`` attr ``"tool calls"``; ``every``: per period first, as the runs' summary."""
    pandas = require_pandas()
    keys = [by] if isinstance(by, str) else list(by)
    bad = [key for key in keys if key not in _CALL_KEYS]
    if bad or not keys:
        raise ConfigurationError(
            f"cannot summarise tool calls by {bad or keys}; choose from {list(_CALL_KEYS)}"
        )
    checked_every(every)
    frame = frame_of(
        ["local_id", "name", "agent", "status", "duration", "total_tokens", "cost_usd"]
        + (["started_at"] if every else [])
    )
    if every is not None:  # the period each call started in, UTC (weeks from Monday)
        length, offset = (pandas.Timedelta(seconds=n) for n in PERIODS[every])
        frame[PERIOD] = (frame.pop("started_at") - offset).dt.floor(length) + offset
        keys = [PERIOD, *keys]
    status = frame["status"].astype("object")
    frame["_failed"] = status.isin(CALL_FAILED).astype("int64")
    frame["_ended"] = (~status.isin(CALL_PENDING)).astype("int64")
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
    if every is None:
        out = out.sort_values("calls", ascending=False, kind="stable")
    else:  # each period's busiest first
        out = out.sort_values([PERIOD, "calls"], ascending=[True, False], kind="stable")
    out.attrs["of"] = "tool calls"
    return as_summary(out, every)


Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
"""Runs SQL with its parameters and returns every row."""

QUANTILES: Final = (("duration", 0.5), ("duration", 0.95), ("ttft", 0.5), ("ttft", 0.95))
"""The quantile columns of a summary, in order: ``duration_p50`` ... ``ttft_p95``."""
METRICS: Final = ("duration", "ttft")
WALKED_KEYS: Final = frozenset({"agent", "model"})
"""Keys whose groups' quantiles may be picked by a walk along a metric's order index."""
MAX_WALKED_GROUPS: Final = 16
"""More groups than this: each walk costs about half the timed runs, so rank them instead."""


def day_order_index(metric: str) -> str:
    """The index of runs by status and the day they started (UTC), then in ``metric``'s
    order (``m012``): a walk to a rank within one day's runs."""
    return f"runs_{metric}_by_day"


def order_index(metric: str) -> str:
    """The index of runs by status, then in ``metric``'s order (``m011``): a walk to a rank
    over all runs, or filtering each step by model or agent."""
    return f"runs_{metric}_order"


# ---- the rollup: each hour's counts and sums per key, kept by triggers -----------------

ROLLUP_TABLE: Final = "runs_rollup"
ROLLUP_KEYS: Final = tuple(key for key in GROUPABLE if key != "thread_id")
"""What the rollup keeps apart within an hour: every key a summary groups by but the thread
(threads are too many to roll up)."""
HOUR: Final = 3600
HOUR_SQL: Final = "CAST({row}.started_at / 3600 AS INTEGER) * 3600"
UNPRICED: Final = "unpriced"
"""The figure counting the runs with a token count and no cost (the rollups' ``unpriced_n``)."""
"""The hour a run started in (as ``key_sql``'s periods: every period is whole hours)."""
_ROLLUP_FIGURES: Final = (
    # (rollup column, runs column, summed: else only counted)
    ("tokens", "total_tokens", True),
    ("cost", "cost_usd", True),
    ("tools", "tool_call_count", True),
    ("paused", "paused_seconds", True),
    ("duration", "duration", False),
    ("ttft", "ttft", False),
    ("unpriced", UNPRICED, False),
)
_KINDS: Final = dict(RUN_COLUMNS)
_COUNTED: Final = tuple(column for _, column, _ in _ROLLUP_FIGURES)
"""The runs columns a summary counts (each pair of a counts row: SUM, COUNT)."""
_SUMMED: Final = tuple(column for _, column, summed in _ROLLUP_FIGURES if summed)


STOPPED_SQL: Final = "{row}.status IS NOT 'running'"
"""A run the rollup counts: one that has stopped. A running run is counted from its row (a
few rows, found by the ``runs_running`` index), so its start and checkpoints cost the
rollup nothing and its end one addition."""


@dataclass
class SummaryGroup:
    """One group's figures, summed over its per-status rows."""

    runs: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    sums: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    timed_runs: int = 0
    paused: Any = None
    paused_count: int = 0
    timed_counts: dict[str, int] = field(default_factory=dict)
    unpriced: int = 0
    quantiles: dict[tuple[str, float], float | None] = field(default_factory=dict)

    def add(self, status: str, runs: int, figures: Sequence[Any], timed: bool) -> None:
        self.runs += runs
        self.statuses[status] = self.statuses.get(status, 0) + runs
        pairs = zip(figures[0::2], figures[1::2], strict=True)
        values = dict(zip(_COUNTED, pairs, strict=True))
        for name in _SUMMED:
            total, count = values[name]
            if count:
                self.sums[name] = total if name not in self.sums else self.sums[name] + total
                self.counts[name] = self.counts.get(name, 0) + count
        self.unpriced += values[UNPRICED][1]
        if timed:
            self.timed_runs += runs
            total, count = values["paused_seconds"]
            if count:
                self.paused = total if self.paused is None else self.paused + total
                self.paused_count += count
            for metric in METRICS:
                self.timed_counts[metric] = self.timed_counts.get(metric, 0) + values[metric][1]

    def mean(self, name: str) -> float | None:
        count = self.counts.get(name, 0)
        return self.sums[name] / count if count else None

    def row(self, key: tuple[Any, ...]) -> tuple[Any, ...]:
        """The row :func:`summary_frame` reads."""
        return (
            *key,
            self.runs,
            *(self.statuses.get(status, 0) for status in COUNTED_STATUSES),
            self.sums.get("total_tokens"),
            self.mean("total_tokens"),
            self.sums.get("cost_usd"),
            self.mean("cost_usd"),
            self.counts.get("cost_usd", 0),
            self.unpriced,
            self.mean("tool_call_count"),
            self.timed_runs,
            self.paused,
            *(self.quantiles.get(wanted) for wanted in QUANTILES),
        )


def summary_rows(
    query: Query,
    keys: Sequence[str],
    where: RunFilter,
    every: str | None = None,
    timed: tuple[str, ...] | None = ("completed",),
) -> list[tuple[Any, ...]]:
    """One row per group, ordered by the keys (a missing key last): the keys, then the
    figures :func:`summary_frame` turns into the summary's frame."""
    sql, params = counts_sql(keys, where, every, rollup_is_sound(query))
    groups: dict[tuple[Any, ...], SummaryGroup] = {}
    width = len(keys)
    for row in query(sql, params):
        status, runs = row[width], row[width + 1]
        group = groups.setdefault(tuple(row[:width]), SummaryGroup())
        group.add(status, runs, row[width + 2 :], timed is None or status in timed)
    if _walkable(keys, where, every, timed, groups):
        assert timed is not None  # _walkable: exactly one timed status
        for key, group in groups.items():
            for metric in METRICS:
                _walk_quantiles(query, keys, every, key, where, timed[0], metric, group)
    else:
        for metric in METRICS:
            sql, params = window_quantiles_sql(keys, where, every, timed, metric)
            for row in query(sql, params):
                ranked = groups.get(tuple(row[:width]))
                if ranked is not None:  # None: a malformed row's period, out of any range
                    place_ranked(ranked, metric, *row[width:])
    ordered = sorted(groups, key=lambda key: tuple(sqlite_order(value) for value in key))
    return [groups[key].row(key) for key in ordered]


def sqlite_order(value: Any) -> tuple[int, int, Any]:
    """SQLite's ``ORDER BY k IS NULL, k``: numbers, then text (by code point, as SQLite's
    byte order of UTF-8 is), a missing key last."""
    if value is None:
        return (1, 0, 0)
    return (0, 1, value) if isinstance(value, str) else (0, 0, value)


def counts_sql(
    keys: Sequence[str], where: RunFilter, every: str | None, rollup: bool = True
) -> tuple[str, list[Any]]:
    """Per group and status: the keys, the status, the runs, then for each figure of
    ``_COUNTED`` its SUM (NULL for the metrics: only counted) and COUNT (a group may come
    in several rows: they add up). From the rollup where it can answer (every key and
    filter but the thread and ``recorded_upto``, and ``rollup``: it is sound): the stopped
    runs of whole hours, and from ``runs`` the stopped runs since ``where.since`` up to the
    next whole hour and the running runs. Else all from ``runs``."""
    pinned = where.recorded_upto is not None  # the rollup has no rowids
    unrolled = (  # what the rollup does not keep apart
        where.thread is not None
        or where.metadata is not None
        or where.scores is not None
        or where.tools is not None
        or not where.evaluations
        or any(key not in ROLLUP_KEYS and key != PERIOD for key in keys)
    )
    if pinned or unrolled or not rollup or (where.since or 0) < 0:
        return _runs_counts_sql(keys, where, every, where.conditions())
    terms: list[str] = []
    params: list[Any] = []
    for column, values in (("agent", where.agents), ("status", where.statuses)):
        if values is not None:
            terms.append(f"{column} IN ({', '.join('?' * len(values))})")
            params.extend(values)
    if where.since is not None:
        whole = math.ceil(where.since / HOUR) * HOUR  # the first hour entirely after since
        terms.append("hour >= ?")
        params.append(whole)
    group = ", ".join([*(key_sql(key, every, "hour", "") for key in keys), "status"])
    figures = rollup_read_figures()
    where_sql = f"WHERE {' AND '.join(terms)}" if terms else ""
    parts = [
        f"SELECT {group}, SUM(runs), {figures} FROM {ROLLUP_TABLE} {where_sql} GROUP BY {group}"
    ]
    running_terms, running_params = where.conditions()
    running, running_params = _runs_counts_sql(
        keys,
        where,
        every,
        ([*running_terms, "runs.status = 'running'"], running_params),
        "runs INDEXED BY runs_running",  # the few running rows (not an index in key order)
    )
    parts.append(running)
    params += running_params
    if where.since is not None:
        raw_terms, raw_params = where.conditions()
        raw_terms += ["runs.started_at < ?", STOPPED_SQL.format(row="runs")]
        raw, raw_params = _runs_counts_sql(keys, where, every, (raw_terms, [*raw_params, whole]))
        parts.append(raw)
        params += raw_params
    return " UNION ALL ".join(parts), params


def _runs_counts_sql(
    keys: Sequence[str],
    where: RunFilter,
    every: str | None,
    conditions: tuple[list[str], list[Any]],
    source: str = "runs",
) -> tuple[str, list[Any]]:
    terms, params = conditions
    where_sql = f"WHERE {' AND '.join(terms)}" if terms else ""
    group = ", ".join([*(key_sql(key, every) for key in keys), "runs.status"])
    return (
        f"SELECT {group}, COUNT(*), {figures_sql('runs.')} FROM {source} {where_sql} "
        f"GROUP BY {group}",
        params,
    )


def rollup_read_figures(table: str = "") -> str:
    """The figures of a counts row (see :func:`counts_sql`) over rollup rows of ``table``
    (an alias with its dot, or nothing) grouped: their sums and counts added up."""
    return ", ".join(
        (f"SUM({table}{name}_sum), " if summed else "NULL, ") + f"SUM({table}{name}_n)"
        for name, _, summed in _ROLLUP_FIGURES
    )


def figures_sql(table: str) -> str:
    """The figures of a counts row (see :func:`counts_sql`) over the rows of ``table`` (an
    alias with its dot): each summed figure's SUM (NULL for the metrics) and COUNT, of its
    sane values only."""
    return ", ".join(
        (f"SUM({sane_sql(column, table)}), " if summed else "NULL, ")
        + f"COUNT({_counted_sql(column, table)})"
        for _, column, summed in _ROLLUP_FIGURES
    )


def _counted_sql(column: str, table: str) -> str:
    if column == UNPRICED:  # a token count and no cost: no price was known
        tokens, cost = sane_sql("total_tokens", table), sane_sql("cost_usd", table)
        return f"CASE WHEN {tokens} IS NOT NULL AND {cost} IS NULL THEN 1 END"
    return sane_sql(column, table)


def timed_sql(metric: str, table: str = "runs.") -> str:
    """The condition keeping a row whose ``metric`` is a sane figure (a quantile ranks
    those alone): ``metric IS NOT NULL`` lets SQLite use the partial order indexes, and the
    range lets a walk seek to the first sane value."""
    return f"{table}{metric} IS NOT NULL AND {sane_range_sql(metric, table)}"


def rollup_is_sound(query: Query, table: str = ROLLUP_TABLE) -> bool:
    """Whether every row of the rollup ``table`` is one its guarded triggers could have
    made: at least one run, each figure counted at most once per run, each sum within what
    that many sane figures add up to (a float's rounding aside). A row written by another
    tool that breaks this is evidence the table was edited: a summary then reads the runs."""
    return not query(f"SELECT 1 FROM {table} WHERE NOT {rollup_row_sound_sql()} LIMIT 1", [])


def rollup_row_sound_sql(table: str = "") -> str:
    """The condition :func:`rollup_is_sound` asks of each rollup row (of ``table``: an alias
    with its dot, or nothing)."""
    terms = [f"typeof({table}runs) = 'integer' AND {table}runs >= 1"]
    for name, column, summed in _ROLLUP_FIGURES:
        count, total = f"{table}{name}_n", f"{table}{name}_sum"
        terms.append(f"typeof({count}) = 'integer' AND {count} BETWEEN 0 AND {table}runs")
        if summed:
            high = FIGURE_RANGES[column][1]
            terms.append(
                f"CASE WHEN {count} = 0 THEN {total} IS NULL "
                f"ELSE typeof({total}) IN ('integer', 'real') "
                f"AND {total} BETWEEN -1e-6 AND {count} * {high} * 1.000001 END"
            )
    return f"({' AND '.join(terms)})"


def key_sql(
    key: str, every: str | None, time_column: str = "started_at", table: str = "runs."
) -> str:
    """A summary key as SQL: a column, a key of the run's metadata, or the start of the
    period a run started in (read from ``time_column``: ``started_at``, or the rollup's
    ``hour``)."""
    name = metadata_key(key)
    if name is not None:
        return metadata_key_sql(name, table)
    if key != PERIOD or every is None:
        return f"{table}{key}"
    size, offset = PERIODS[every]
    return f"(CAST(({table}{time_column} - {offset}) / {size} AS INTEGER) * {size} + {offset})"


def _walkable(
    keys: Sequence[str],
    where: RunFilter,
    every: str | None,
    timed: tuple[str, ...] | None,
    groups: Collection[tuple[Any, ...]],
) -> bool:
    """Whether an index walks to each group's ranks: keys among agent and model (and the
    day: each walk stays within its day), one timed status, no thread filter (the thread is
    in no order index: each step would read the row), and few groups (a walk filtering by
    a key costs about half the runs it passes: per group, or per group of a day)."""
    daily = every == "day" and bool(keys) and keys[0] == PERIOD
    plain = keys[1:] if daily else keys
    per = len({key[0] for key in groups}) if daily else 1
    return (
        WALKED_KEYS.issuperset(plain)
        and (every is None or daily)
        and where.thread is None
        and timed is not None
        and len(timed) == 1
        and len(groups) <= MAX_WALKED_GROUPS * per
    )


def ranks(n: int, q: float) -> tuple[int, float]:
    """The lower rank of pandas' linear ``q`` quantile of ``n`` sorted values, and the
    weight of the next one."""
    position = q * (n - 1)
    low = int(position)
    return low, position - low


def _walk_quantiles(
    query: Query,
    keys: Sequence[str],
    every: str | None,
    key: tuple[Any, ...],
    where: RunFilter,
    status: str,
    metric: str,
    group: SummaryGroup,
) -> None:
    n = group.timed_counts.get(metric, 0)
    for q, low, count, weight in _quantile_ranks(metric, n):
        sql, params = ranked_value_sql(keys, every, key, where, status, metric, low, count, n)
        values = [value for (value,) in query(sql, params) if _is_number(value)]
        group.quantiles[(metric, q)] = weighed(values, weight)


def ranked_value_sql(
    keys: Sequence[str],
    every: str | None,
    key: tuple[Any, ...],
    where: RunFilter,
    status: str,
    metric: str,
    low: int,
    count: int,
    n: int,
) -> tuple[str, list[Any]]:
    """The ``count`` values of ``metric`` from rank ``low`` up in one group's timed runs,
    lowest first: a walk along the metric's order index from the nearer end."""
    terms, params = where.conditions()
    terms += ["runs.status = ?", timed_sql(metric)]
    params.append(status)
    for name, value in zip(keys, key, strict=True):
        terms.append(f"{key_sql(name, every)} IS ?")
        params.append(value)
    index = day_order_index(metric) if keys and keys[0] == PERIOD else order_index(metric)
    sql, window = _walk_sql(f"runs.{metric}", f"runs INDEXED BY {index}", terms, low, count, n)
    return sql, [*params, *window]


def _quantile_ranks(metric: str, n: int) -> Iterator[tuple[float, int, int, float]]:
    """For each quantile of ``metric`` among ``n`` values: ``q``, the lower rank, how many
    values from it the quantile reads (two, or one at the top) and the next one's weight."""
    if not n:
        return
    for name, q in QUANTILES:
        if name == metric:
            low, weight = ranks(n, q)
            yield q, low, 2 if low + 1 < n else 1, weight


def _walk_sql(
    column: str, source: str, terms: Sequence[str], low: int, count: int, n: int
) -> tuple[str, list[int]]:
    """``count`` values of ``column`` from rank ``low`` up, lowest first, walking its order
    index from the nearer end; the LIMIT and OFFSET to pass after the terms' parameters."""
    from_top = low > n // 2
    direction = "DESC" if from_top else "ASC"
    sql = (
        f"SELECT {column} FROM {source} "
        f"WHERE {' AND '.join(terms)} ORDER BY {column} {direction} LIMIT ? OFFSET ?"
    )
    if from_top:  # highest first: put it back in order
        sql = f"SELECT * FROM ({sql}) ORDER BY 1"
    return sql, [count, n - low - count if from_top else low]


def window_quantiles_sql(
    keys: Sequence[str],
    where: RunFilter,
    every: str | None,
    timed: tuple[str, ...] | None,
    metric: str,
    extra: tuple[Sequence[str], Sequence[Any]] = ((), ()),
) -> tuple[str, list[Any]]:
    """Each group's values of ``metric`` at the quantiles' ranks: the keys, the rank, the
    group's count of values and the value. One sort: the count shares the rank's window.
    ``extra``: more conditions on the runs, and their parameters."""
    terms, params = where.conditions()
    terms += extra[0]
    params += extra[1]
    terms.append(timed_sql(metric))
    if timed is not None:
        terms.append(f"runs.status IN ({', '.join('?' * len(timed))})")
        params.extend(timed)
    columns = [key_sql(key, every) for key in keys]
    select_keys = "".join(f"{column} AS k{i}, " for i, column in enumerate(columns))
    key_names = "".join(f"k{i}, " for i in range(len(keys)))
    partition = f"PARTITION BY {', '.join(columns)} " if keys else ""
    window = f"({partition}ORDER BY runs.{metric})"
    everything = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    ranked = (
        f"SELECT {select_keys}ROW_NUMBER() OVER w - 1 AS i, COUNT(*) OVER (w {everything}) AS n, "
        f"runs.{metric} AS x FROM runs WHERE {' AND '.join(terms)} WINDOW w AS {window}"
    )
    return f"SELECT {key_names}i, n, x FROM ({ranked}) WHERE {wanted_ranks(metric)}", params


def wanted_ranks(metric: str) -> str:
    """The condition on ``i`` (a value's rank) and ``n`` (its group's count) keeping the
    ranks the quantiles of ``metric`` read."""
    return " OR ".join(
        f"i = CAST({q} * (n - 1) AS INTEGER) OR i = CAST({q} * (n - 1) AS INTEGER) + 1"
        for q in sorted({q for name, q in QUANTILES if name == metric})
    )


def place_ranked(group: SummaryGroup, metric: str, rank: int, n: int, value: float) -> None:
    """A value the window query found at ``rank`` of ``n``: its share of each quantile."""
    if not _is_number(value):
        return
    for name, q in QUANTILES:
        if name != metric:
            continue
        low, weight = ranks(n, q)
        share = value * (1 - weight) if rank == low else value * weight if rank == low + 1 else None
        if share is not None:
            known = group.quantiles.get((metric, q))
            group.quantiles[(metric, q)] = share if known is None else known + share


def _is_number(value: Any) -> bool:
    """A figure of a malformed row (text where a number goes) is left out of a quantile."""
    return type(value) in (int, float)


def weighed(values: Sequence[float], weight: float) -> float | None:
    """The linear quantile from the value at the lower rank and the next (if any)."""
    if not values:
        return None
    low = values[0] * (1 - weight)
    return low + values[1] * weight if len(values) > 1 else low


ScoreSums = dict[tuple[Any, ...], dict[str, tuple[int, float | None, dict[str, int], bool]]]
"""Per group key and score name: the runs scored, the sum of the numbers and bools (None:
none), the runs per label, and whether every number of it is a bool."""


def score_summary_rows(
    query: Query, keys: Sequence[str], where: RunFilter, every: str | None = None
) -> ScoreSums:
    """Each group's current scores of the matching runs, per name (see :data:`ScoreSums`):
    one query over the scores, joined to their runs for the keys and filters."""
    terms, params = where.conditions()
    terms += [current_scores_sql("s"), sane_score_row_sql("s")]
    group = ", ".join([*(key_sql(key, every) for key in keys), "s.name", "s.kind", "s.label"])
    sql = (
        f"SELECT {group}, COUNT(*), SUM({sane_score_sql('s')}) FROM scores s "
        f"JOIN runs ON runs.local_id = s.local_id WHERE {' AND '.join(terms)} GROUP BY {group}"
    )
    sums: ScoreSums = {}
    width = len(keys)
    for row in query(sql, params):
        name, kind, label, count, total = row[width:]
        by_name = sums.setdefault(tuple(row[:width]), {})
        scored, known, labels, bools = by_name.get(name, (0, None, {}, True))
        if kind == "label":
            labels = {**labels, label: labels.get(label, 0) + count}
        else:
            known = total if known is None else known + total
            bools = bools and kind == "bool"
        by_name[name] = (scored + count, known, labels, bools)
    return sums


def _score_columns(
    pandas: Any, keys: Sequence[tuple[Any, ...]], sums: ScoreSums
) -> tuple[dict[str, Any], list[str]]:
    """The ``score.*`` columns of a summary for the groups ``keys``, in order, and
    those of them that are a bool score's share of True."""
    names = sorted({name for by_name in sums.values() for name in by_name}, key=score_column)
    columns: dict[str, Any] = {}
    shares: list[str] = []
    for name in names:
        found = [sums.get(key, {}).get(name, (0, None, {}, True)) for key in keys]
        column = score_column(name)
        columns[f"{column}_n"] = pandas.array([scored for scored, _, _, _ in found], dtype="int64")
        if any(known is not None for _, known, _, _ in found):
            means = [
                math.nan if known is None else known / (scored - sum(labels.values()))
                for scored, known, labels, _ in found
            ]
            columns[column] = pandas.array(means, dtype="float64")
            if all(bools for _, _, _, bools in found):
                shares.append(column)
        for label in sorted({label for _, _, labels, _ in found for label in labels}):
            counts = [labels.get(label, 0) for _, _, labels, _ in found]
            columns[f"{column}[{label}]"] = pandas.array(counts, dtype="int64")
    return columns, shares


def summary_frame(
    rows: Sequence[tuple[Any, ...]],
    keys: Sequence[str],
    every: str | None = None,
    timed: tuple[str, ...] | None = ("completed",),
    scores: ScoreSums | None = None,
) -> pd.DataFrame:
    """The summary's frame from :func:`summary_rows` (and :func:`score_summary_rows`)."""
    pandas = require_pandas()
    names = [*keys, "runs", *(f"n_{s}" for s in COUNTED_STATUSES), "tokens_total", "tokens_mean"]
    names += ["cost_total", "cost_mean", "priced", "unpriced"]
    names += ["tool_calls_per_run", "timed_runs", "paused_total"]
    names += [f"{m}_p{round(q * 100)}" for m, q in QUANTILES]
    rows = [row for row in rows if row[len(keys)]]  # without keys: one row, even of none
    raw = pandas.DataFrame.from_records(rows, columns=names)
    runs = raw["runs"].astype("int64")
    counts = {s: raw[f"n_{s}"].fillna(0).astype("int64") for s in COUNTED_STATUSES}
    ended = runs - counts["running"]
    failed = ended - counts["completed"] - counts["cancelled"] - counts["interrupted"]
    out = pandas.DataFrame(
        {
            "runs": runs,
            "completed": counts["completed"],
            "failed": failed,
            "cancelled": counts["cancelled"],
            "interrupted": counts["interrupted"],
            "running": counts["running"],
            "success_rate": (counts["completed"] / ended.where(ended > 0)).astype("float64"),
            "failure_rate": (failed / ended.where(ended > 0)).astype("float64"),
            "tokens_total": raw["tokens_total"].astype("Int64"),
            "tokens_mean": raw["tokens_mean"].astype("float64"),
            "cost_total": raw["cost_total"].astype("float64"),
            "cost_mean": raw["cost_mean"].astype("float64"),
            "unpriced": raw["unpriced"].astype("int64"),
            "no_usage": runs - raw["priced"].astype("int64") - raw["unpriced"].astype("int64"),
            "timed_runs": raw["timed_runs"].fillna(0).astype("int64"),
            "paused_total": raw["paused_total"].astype("float64"),
            **{
                f"{m}_p{round(q * 100)}": raw[f"{m}_p{round(q * 100)}"].astype("float64")
                for m, q in QUANTILES
            },
            "tool_calls_per_run": raw["tool_calls_per_run"].astype("float64"),
        },
        columns=list(SUMMARY_COLUMNS),
    )
    shares: list[str] = []
    if scores:
        group_keys = [tuple(row[: len(keys)]) for row in rows]
        score_figures, shares = _score_columns(pandas, group_keys, scores)
        for column, values in score_figures.items():
            out[column] = values
    frame: pd.DataFrame = out
    frame.attrs["timed"] = timed_note(timed)
    frame.attrs[SHARES] = shares
    if not keys:
        frame.index = pandas.Index(["all"] * len(frame), dtype=object)
        return as_summary(frame, every)
    index_columns = [_index_column(pandas, raw[key], key) for key in keys]
    if len(keys) == 1:
        frame.index = pandas.Index(index_columns[0], name=keys[0])
    else:
        frame.index = pandas.MultiIndex.from_arrays(index_columns, names=list(keys))
    return as_summary(frame, every)


def _index_column(pandas: Any, values: Any, key: str) -> Any:
    """A key's values typed as pandas' groupby would type them: the period a UTC time, a
    name a categorical, an id (the thread) text."""
    if key == PERIOD:  # a malformed row's time out of range: no period (NaT)
        return pandas.to_datetime(values, unit="s", utc=True, errors="coerce")
    if _KINDS.get(key) == "category":
        return pandas.Categorical(values, categories=sorted(values.dropna().unique()))
    return pandas.array(values, dtype="string")


METADATA_ROLLUP: Final = "run_metadata_rollup"
"""Each hour's counts and sums per metadata key, value, agent and status (``m018``)."""


SIDE_KEYS: Final = frozenset({"agent", PERIOD})
"""Keys a side row holds besides its metadata key's value."""


def side_table_key(keys: Sequence[str], where: RunFilter) -> str | None:
    """The metadata key whose side rows answer a summary by ``keys`` of ``where``'s runs,
    or None when the runs must be read."""
    named = [key for key in keys if metadata_key(key) is not None]
    if len(named) != 1 or any(key not in SIDE_KEYS for key in keys if key != named[0]):
        return None
    if (
        where.thread is not None
        or where.metadata is not None
        or where.scores is not None
        or where.tools is not None
        or where.recorded_upto is not None
        or (where.since or 0) < 0
    ):
        return None
    return named[0]


def side_summary_rows(
    query: Query,
    keys: Sequence[str],
    where: RunFilter,
    every: str | None,
    timed: tuple[str, ...] | None,
) -> list[tuple[Any, ...]]:
    """:func:`summary_rows` of a summary :func:`side_table_key` allows."""
    name = side_table_key(keys, where)
    assert name is not None
    at = list(keys).index(name)
    others = [key for key in keys if key != name]
    groups: dict[tuple[Any, ...], SummaryGroup] = {}
    counted: dict[tuple[Any, ...], list[Any]] = {}
    """Per other keys and status: the runs and figures the side rows counted."""
    sql, params = _rollup_counts_sql(keys, name, where, every)
    rows = query(sql, params)
    if any(row[-1] for row in rows):  # a rollup row edited by hand: read the runs
        return summary_rows(query, keys, where, every, timed)
    for row in rows:
        key, status, runs, figures = (
            tuple(row[: len(keys)]),
            row[len(keys)],
            row[len(keys) + 1],
            row[len(keys) + 2 : -1],
        )
        groups.setdefault(key, SummaryGroup()).add(status, runs, figures, _timed(timed, status))
        other = (*key[:at], *key[at + 1 :], status)
        counted[other] = _summed(counted.get(other), [runs, *figures])
    _add_runs_without_the_key(query, others, at, where, every, timed, groups, counted)
    _side_quantiles(query, keys, name, at, where, every, timed, groups)
    ordered = sorted(groups, key=lambda key: tuple(sqlite_order(value) for value in key))
    return [groups[key].row(key) for key in ordered]


def _timed(timed: tuple[str, ...] | None, status: str) -> bool:
    return timed is None or status in timed


def _summed(total: list[Any] | None, values: Sequence[Any]) -> list[Any]:
    if total is None:
        return list(values)
    return [
        a if b is None else b if a is None else a + b for a, b in zip(total, values, strict=True)
    ]


def _side_conditions(name: str, where: RunFilter) -> tuple[list[str], list[Any]]:
    """The side rows of key ``name`` that ``where`` keeps (its agent, status and since)."""
    terms, params = where.agent_and_status_sql("m.")
    terms.insert(0, "m.key = ?")
    params.insert(0, _key_name(name))
    if where.since is not None:
        terms.append("m.started_at >= ?")
        params.append(where.since)
    return terms, params


def _key_name(name: str) -> str:
    key = metadata_key(name)
    assert key is not None
    return key


def _side_key_sql(key: str, name: str, every: str | None) -> str:
    if key == name:
        return "m.value"
    return key_sql(key, every, table="m.")


def _rollup_counts_sql(
    keys: Sequence[str], name: str, where: RunFilter, every: str | None
) -> tuple[str, list[Any]]:
    """Per group and status, the runs with the key ``name`` and their figures (as
    :func:`counts_sql`'s rows, then whether a rollup row read is not sound:
    :func:`rollup_row_sound_sql`) from the hourly rollup: the stopped runs of whole
    hours; the running runs (found by the ``runs_running`` index) and the stopped ones of a
    ``since`` inside an hour (by the ``runs_by_started_at`` index) from their side rows."""
    terms, params = where.agent_and_status_sql("r.")
    terms.insert(0, "r.key = ?")
    params.insert(0, _key_name(name))
    whole = None
    if where.since is not None:
        whole = math.ceil(where.since / HOUR) * HOUR  # the first hour entirely after since
        terms.append("r.hour >= ?")
        params.append(whole)
    columns = ["r.value" if key == name else key_sql(key, every, "hour", "r.") for key in keys]
    group = ", ".join([*columns, "r.status"])
    unsound = f"MAX(NOT {rollup_row_sound_sql('r.')})"  # checked in the same scan
    parts = [
        f"SELECT {group}, SUM(r.runs), {rollup_read_figures('r.')}, {unsound} "
        f"FROM {METADATA_ROLLUP} r WHERE {' AND '.join(terms)} GROUP BY {group}"
    ]
    running: tuple[list[str], list[Any], str] = (
        ["runs.status = 'running'"],
        [],
        "runs INDEXED BY runs_running",
    )
    rest = [running]
    if whole is not None:
        partial = (
            ["runs.started_at < ?", STOPPED_SQL.format(row="runs")],
            [whole],
            "runs INDEXED BY runs_by_started_at",
        )
        rest.append(partial)
    side_terms, side_params = _side_conditions(name, where)
    side_group = ", ".join([*(_side_key_sql(key, name, every) for key in keys), "m.status"])
    for run_terms, run_params, source in rest:
        if where.since is not None:
            run_terms = [*run_terms, "runs.started_at >= ?"]
            run_params = [*run_params, where.since]
        parts.append(
            f"SELECT {side_group}, COUNT(*), {figures_sql('m.')}, 0 FROM {source} "
            f"JOIN {METADATA_TABLE} m ON m.local_id = runs.local_id "
            f"WHERE {' AND '.join([*run_terms, *side_terms])} GROUP BY {side_group}"
        )
        params += [*run_params, *side_params]
    return " UNION ALL ".join(parts), params


def _add_runs_without_the_key(
    query: Query,
    others: Sequence[str],
    at: int,
    where: RunFilter,
    every: str | None,
    timed: tuple[str, ...] | None,
    groups: dict[tuple[Any, ...], SummaryGroup],
    counted: dict[tuple[Any, ...], list[Any]],
) -> None:
    """The group of the runs without the key: every run's counts (read as a summary by the
    other keys reads them: the hourly rollup) less those of the side rows."""
    sql, params = counts_sql(others, where, every, rollup_is_sound(query))
    totals: dict[tuple[Any, ...], list[Any]] = {}
    for row in query(sql, params):
        other = (*row[: len(others)], row[len(others)])
        totals[other] = _summed(totals.get(other), row[len(others) + 1 :])
    for other, total in totals.items():
        side = counted.get(other)
        runs = total[0] - (side[0] if side else 0)
        if runs <= 0:
            continue
        figures: list[Any] = []
        for i in range(1, len(total), 2):
            count = total[i + 1] - (side[i + 1] if side else 0)
            known = None if total[i] is None else total[i] - ((side[i] or 0) if side else 0)
            figures += [known if count else None, count]
        *plain, status = other
        key = (*plain[:at], None, *plain[at:])
        groups.setdefault(key, SummaryGroup()).add(status, runs, figures, _timed(timed, status))


def _side_quantiles(
    query: Query,
    keys: Sequence[str],
    name: str,
    at: int,
    where: RunFilter,
    every: str | None,
    timed: tuple[str, ...] | None,
    groups: dict[tuple[Any, ...], SummaryGroup],
) -> None:
    walk = len(keys) == 1 and timed is not None and len(timed) == 1
    for metric in METRICS:
        if walk:
            assert timed is not None
            for key, group in groups.items():
                if key[0] is not None:
                    _walk(query, name, key[0], where, timed[0], metric, group)
        else:
            sql, params = _side_window_sql(keys, name, where, every, timed, metric)
            for row in query(sql, params):
                place_ranked(groups[tuple(row[: len(keys)])], metric, *row[len(keys) :])
        without = [
            (k, g) for k, g in groups.items() if k[at] is None and g.timed_counts.get(metric)
        ]
        if without:
            others = [key for key in keys if key != name]
            missing = (
                [f"NOT EXISTS (SELECT 1 FROM {METADATA_TABLE} m WHERE m.key = ? "
                 "AND m.local_id = runs.local_id)"],
                [_key_name(name)],
            )  # fmt: skip
            sql, params = window_quantiles_sql(others, where, every, timed, metric, missing)
            for row in query(sql, params):
                plain = tuple(row[: len(others)])
                key = (*plain[:at], None, *plain[at:])
                place_ranked(groups[key], metric, *row[len(others) :])


def _walk(
    query: Query,
    name: str,
    value: Any,
    where: RunFilter,
    status: str,
    metric: str,
    group: SummaryGroup,
) -> None:
    """One value's quantiles of ``metric``: walks along the side index in its order."""
    n = group.timed_counts.get(metric, 0)
    for q, low, count, weight in _quantile_ranks(metric, n):
        terms, params = _side_conditions(name, where)
        terms += ["m.value = ?", "m.status = ?", timed_sql(metric, "m.")]
        params += [value, status]
        source = f"{METADATA_TABLE} m INDEXED BY {METADATA_TABLE}_{metric}_order"
        sql, window = _walk_sql(f"m.{metric}", source, terms, low, count, n)
        values = [found for (found,) in query(sql, [*params, *window])]
        group.quantiles[(metric, q)] = weighed(values, weight)


def _side_window_sql(
    keys: Sequence[str],
    name: str,
    where: RunFilter,
    every: str | None,
    timed: tuple[str, ...] | None,
    metric: str,
) -> tuple[str, list[Any]]:
    """Each group's values of ``metric`` at the quantiles' ranks, from the side rows (as
    :func:`window_quantiles_sql` reads them from the runs)."""
    terms, params = _side_conditions(name, where)
    terms.append(timed_sql(metric, "m."))
    if timed is not None:
        terms.append(f"m.status IN ({', '.join('?' * len(timed))})")
        params.extend(timed)
    columns = [_side_key_sql(key, name, every) for key in keys]
    select_keys = "".join(f"{column} AS k{i}, " for i, column in enumerate(columns))
    key_names = "".join(f"k{i}, " for i in range(len(keys)))
    everything = "ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING"
    ranked = (
        f"SELECT {select_keys}ROW_NUMBER() OVER w - 1 AS i, COUNT(*) OVER (w {everything}) AS n, "
        f"m.{metric} AS x FROM {METADATA_TABLE} m WHERE {' AND '.join(terms)} "
        f"WINDOW w AS (PARTITION BY {', '.join(columns)} ORDER BY m.{metric})"
    )
    return f"SELECT {key_names}i, n, x FROM ({ranked}) WHERE {wanted_ranks(metric)}", params


def summary_by_sql(
    db: sqlite3.Connection,
    where: RunFilter,
    keys: Sequence[str],
    every: str | None,
    include: str | Sequence[str],
) -> pd.DataFrame:
    """The summary of ``where``'s runs in ``db``: the one engine of every summary (a file's,
    and runs held in memory through :func:`summary_in_memory`)."""
    timed = timed_statuses(include)

    def query(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return db.execute(sql, params).fetchall()

    if where.evaluations and side_table_key(keys, where) is not None:  # its side rows
        rows = side_summary_rows(query, keys, where, every, timed)
    else:
        rows = summary_rows(query, keys, where, every, timed)
    scores = score_summary_rows(query, keys, where, every)
    return summary_frame(rows, keys, every, timed, scores)


_SUMMARISED: Final = (
    "status",
    "started_at",
    *GROUPABLE,
    "metadata",
    "total_tokens",
    "cost_usd",
    "duration",
    "ttft",
    "paused_seconds",
    "tool_call_count",
)
"""The run columns a summary reads."""


def summary_in_memory(
    columns: Mapping[str, Sequence[Any]],
    scores: Sequence[tuple[Any, ...]],
    by: str | Sequence[str] | None,
    every: str | None,
    include: str | Sequence[str],
    extra: Sequence[str] = (),
) -> pd.DataFrame:
    """The summary of runs held in memory (a batch's, a slice, a joined listing): their
    figures copied into an in-memory SQLite file, summarised by :func:`summary_by_sql`.
    ``extra``: the table's own groupable columns (a joined history's ``origin``)."""
    keys = summary_keys(by, every, extra)
    names = (*_SUMMARISED, *extra)
    count = len(columns["local_id"])
    rowid: dict[str, int] = {}  # a run given twice is counted twice, its scores once
    for i, local_id in enumerate(columns["local_id"]):
        rowid.setdefault(local_id, i)
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        apply_migrations(db)
        for name in extra:
            db.execute(f"ALTER TABLE runs ADD COLUMN {name} TEXT")
        db.execute("BEGIN")
        db.executemany(
            f"INSERT INTO runs (local_id, {', '.join(names)}) VALUES (?{', ?' * len(names)})",
            zip(map(str, range(count)), *(columns[name] for name in names), strict=False),
        )
        db.executemany(
            "INSERT INTO scores (local_id, name, kind, number, label, source, created) "
            "VALUES (?, ?, ?, ?, ?, 'code', 0)",
            [(str(rowid[row[0]]), *row[1:]) for row in scores if row[0] in rowid],
        )
        db.execute("COMMIT")
        return summary_by_sql(db, RunFilter(), keys, every, include)
    finally:
        db.close()
