"""Summaries, by one engine: SQLite. A file's runs are summarised where they are (one
``GROUP BY`` over the runs for the counts and sums; one read of the timed runs' durations and
TTFTs, ranked by one numpy sort, for the quantiles); runs held in memory through an in-memory
file (:func:`summary_in_memory`). Also the summary of tool calls. A summary is a plain frame: what
shows it is above."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
from ._run_filter import RunFilter, metadata_key, metadata_key_sql
from ._scores import current_scores_sql, score_column

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "SHARES",
    "SUMMARY_COLUMNS",
    "ShownColumns",
    "is_share",
    "summarize_calls",
    "summary_by_sql",
    "summary_in_memory",
    "summary_keys",
    "summary_rows",
]

FrameOf = Callable[[Sequence[str]], "pd.DataFrame"]
"""A table's ``to_pandas``: the frame of the columns named."""

ShownColumns = str | Sequence[str] | None
"""The columns a summary shows (``columns=``): None the ones that answer the question first,
``"all"`` every one, or those named. The frame keeps all of them either way."""

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


def is_share(values: Iterable[object]) -> bool:
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


Query = Callable[[str, Sequence[Any]], Iterable[tuple[Any, ...]]]
"""Runs SQL with its parameters and returns its rows (a cursor: read once)."""

QUANTILES: Final = (("duration", 0.5), ("duration", 0.95), ("ttft", 0.5), ("ttft", 0.95))
"""The quantile columns of a summary, in order: ``duration_p50`` ... ``ttft_p95``."""
METRICS: Final = ("duration", "ttft")
_KINDS: Final = dict(RUN_COLUMNS)


def summary_rows(
    query: Query,
    keys: Sequence[str],
    where: RunFilter,
    every: str | None = None,
    timed: tuple[str, ...] | None = ("completed",),
) -> list[tuple[Any, ...]]:
    """One row per group, ordered by the keys (a missing key last): the keys, then the
    figures :func:`summary_frame` turns into the summary's frame. Two reads of the runs:
    their counts and sums per group, and the timed runs' values to rank."""
    sql, params = counts_sql(keys, where, every, timed)
    rows = list(query(sql, params))
    at = {tuple(row[: len(keys)]): i for i, row in enumerate(rows)}
    sql, params = timed_values_sql(keys, where, every, timed)
    quantiles: list[list[float | None]] = [[None] * len(QUANTILES) for _ in rows]
    for key, found in ranked_values(query(sql, params), len(keys)):
        i = at.get(key)
        if i is not None:  # else a malformed row's period, out of any range
            quantiles[i] = found
    return [(*row, *found) for row, found in zip(rows, quantiles, strict=True)]


def counts_sql(
    keys: Sequence[str], where: RunFilter, every: str | None, timed: tuple[str, ...] | None
) -> tuple[str, list[Any]]:
    """Per group, ordered as :func:`summary_rows` says: the keys, the runs, those of each of
    ``COUNTED_STATUSES``, then the figures of the sane values (tokens: total, mean; cost:
    total, mean, runs priced; runs unpriced; tool calls per run; timed runs, their pauses)."""
    terms, params = where.conditions()
    where_sql = f"WHERE {' AND '.join(terms)}" if terms else ""
    is_timed = "1" if timed is None else f"runs.status IN ({', '.join('?' * len(timed))})"
    tokens, cost, paused = _sane("total_tokens"), _sane("cost_usd"), _sane("paused_seconds")
    figures = [
        "COUNT(*)",
        *(f"COUNT(*) FILTER (WHERE runs.status = '{status}')" for status in COUNTED_STATUSES),
        f"SUM({tokens})",
        f"AVG({tokens})",
        f"SUM({cost})",
        f"AVG({cost})",
        f"COUNT({cost})",
        f"COUNT({_unpriced_sql()})",
        f"AVG({_sane('tool_call_count')})",
        f"COUNT(*) FILTER (WHERE {is_timed})",
        f"SUM({paused}) FILTER (WHERE {is_timed})",
    ]
    # "+": a key is grouped by a sort of the rows read, never by a walk along an index in the
    # key's order that looks a row up per run (runs_by_thread); the agent leads the index
    # holding the figures (runs_by_agent_figures), read in its order with no sort
    named = [
        f"{'' if key == 'agent' else '+'}{key_sql(key, every)} AS k{i}"
        for i, key in enumerate(keys)
    ]
    sql = f"SELECT {', '.join([*named, *figures])} FROM runs {where_sql}"
    if keys:
        groups = [f"k{i}" for i in range(len(keys))]
        order = ", ".join(f"{group} IS NULL, {group}" for group in groups)
        sql += f" GROUP BY {', '.join(groups)} ORDER BY {order}"
    timed_params = [] if timed is None else list(timed)
    return sql, [*timed_params, *timed_params, *params]


def _unpriced_sql() -> str:
    """1 for a run with a token count and no cost: no price was known."""
    tokens, cost = _sane("total_tokens"), _sane("cost_usd")
    return f"CASE WHEN {tokens} IS NOT NULL AND {cost} IS NULL THEN 1 END"


def _sane(column: str) -> str:
    """``sane_sql`` of a run's figure; for a column of fractions as the range alone
    (``sane_range_sql``: the same test there, a tenth cheaper over every run)."""
    if FIGURE_RANGES[column][2]:  # whole numbers: their kind is part of the test
        return sane_sql(column, "runs.")
    return f"CASE WHEN {sane_range_sql(column, 'runs.')} THEN runs.{column} END"


def key_sql(key: str, every: str | None) -> str:
    """A summary key as SQL: a column, a key of the run's metadata, or the start of the
    period a run started in."""
    name = metadata_key(key)
    if name is not None:
        return metadata_key_sql(name)
    if key != PERIOD or every is None:
        return f"runs.{key}"
    size, offset = PERIODS[every]
    return f"(CAST((runs.started_at - {offset}) / {size} AS INTEGER) * {size} + {offset})"


def timed_sql(metric: str) -> str:
    """The condition keeping a run whose ``metric`` is a sane figure: a quantile ranks those
    alone."""
    return f"runs.{metric} IS NOT NULL AND {sane_range_sql(metric, 'runs.')}"


def timed_values_sql(
    keys: Sequence[str], where: RunFilter, every: str | None, timed: tuple[str, ...] | None
) -> tuple[str, list[Any]]:
    """The keys and each timed metric's sane value (else NULL) of every timed run with one:
    what the quantiles rank."""
    terms, params = where.conditions()
    terms.append("(" + " OR ".join(f"({timed_sql(metric)})" for metric in METRICS) + ")")
    if timed is not None:
        terms.append(f"runs.status IN ({', '.join('?' * len(timed))})")
        params.extend(timed)
    values = [f"CASE WHEN {timed_sql(metric)} THEN runs.{metric} END" for metric in METRICS]
    columns = ", ".join([*(key_sql(key, every) for key in keys), *values])
    return f"SELECT {columns} FROM runs WHERE {' AND '.join(terms)}", params


def ranked_values(
    rows: Iterable[tuple[Any, ...]], width: int
) -> Iterator[tuple[tuple[Any, ...], list[float | None]]]:
    """Each group's ``QUANTILES`` (pandas' linear ones; None where the group has no value
    of the metric) of the values :func:`timed_values_sql` read: its ``width`` keys, then
    one value per metric; as (key, quantiles). A group is ranked by the codes of its keys
    (a key is any SQLite value: text, a number, NULL), never by comparing them."""
    import numpy as np  # comes with pandas, which a summary needs

    # read straight into columns (a key any value; a NULL metric, not timed, NaN: left out):
    # no list of the rows, no Python float kept per value
    kinds = [(f"k{i}", "O") for i in range(width)] + [(metric, "f8") for metric in METRICS]
    table = np.fromiter(rows, dtype=np.dtype(kinds))
    if not len(table):
        return
    codes, keys = _group_codes(np, [table[f"k{i}"] for i in range(width)], len(table))
    # one column per quantile, a row per group (NaN: no value), filled a metric at a time
    found = np.full((len(keys), len(QUANTILES)), np.nan)
    for metric in METRICS:
        at = [i for i, (name, _) in enumerate(QUANTILES) if name == metric]
        groups, ranked = _quantiles(np, codes, table[metric], [QUANTILES[i][1] for i in at])
        found[np.ix_(groups, at)] = ranked
    for key, values in zip(keys, found.tolist(), strict=True):
        yield key, [None if math.isnan(value) else value for value in values]


def _group_codes(np: Any, keys: Sequence[Any], rows: int) -> tuple[Any, list[tuple[Any, ...]]]:
    """Each row's group as a number, and each number's key: key column by key column,
    factorized (pandas' hashing, so text, numbers and NULL each stay themselves) and
    combined with the groups so far."""
    pandas = require_pandas()
    codes = np.zeros(rows, dtype="int64")
    named: list[tuple[Any, ...]] = [()]
    for i, column in enumerate(keys):
        found, uniques = pandas.factorize(column, use_na_sentinel=False)
        values = [None if pandas.isna(value) else value for value in uniques]
        if i == 0:  # the first key: its codes are the groups
            codes, named = found, [(value,) for value in values]
            continue
        present, codes = np.unique(codes * len(values) + found, return_inverse=True)
        named = [(*named[at // len(values)], values[at % len(values)]) for at in present.tolist()]
    return codes, named


def _quantiles(np: Any, codes: Any, values: Any, qs: Sequence[float]) -> tuple[Any, Any]:
    """The groups with a value that is not NaN, and their quantiles ``qs`` (a row per
    group, a column per q) as pandas computes them (linear: between the two ranks around
    ``q * (n - 1)``): one sort of every value by group, then each group's ranks read at its
    offset."""
    known = ~np.isnan(values)
    codes, values = codes[known], values[known]
    if not len(values):
        return codes, np.empty((0, len(qs)))
    order = np.argsort(values)
    order = order[np.argsort(codes[order], kind="stable")]  # by group, each in value order
    codes, values = codes[order], values[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    last = np.r_[starts[1:], len(values)] - 1
    found = np.empty((len(starts), len(qs)))
    for j, q in enumerate(qs):
        rank = q * (last - starts)
        below = starts + np.floor(rank).astype("int64")
        low, high = values[below], values[np.minimum(below + 1, last)]
        found[:, j] = low + (high - low) * (rank - np.floor(rank))
    return codes[starts], found


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
    name a categorical, an id (the thread) text; a name or id that is not text (a malformed
    row's) is none."""
    if key == PERIOD:  # a malformed row's time out of range: no period (NaT)
        return pandas.to_datetime(values, unit="s", utc=True, errors="coerce")
    texts = values.where(values.map(lambda value: isinstance(value, str)))  # else malformed
    if _KINDS.get(key) == "category":
        return pandas.Categorical(texts, categories=sorted(texts.dropna().unique()))
    return pandas.array(texts, dtype="string")


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
    rows = summary_rows(db.execute, keys, where, every, timed)
    scores = score_summary_rows(db.execute, keys, where, every)
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
