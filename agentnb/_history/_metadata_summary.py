"""``summary(by="metadata.<key>")`` read from the hourly rollup ``run_metadata_rollup`` and
the side table ``run_metadata`` (its rows hold the run's figures:
:data:`~._metadata.SIDE_FIGURES`), never the runs: the figures of
:func:`._summary_sql.summary_rows`, in a fraction of its time on a large history.

- **Counts and sums**: the key's rows of the hourly rollup (:mod:`._metadata_rollup`: a row
  per hour, value, agent and status, tens of thousands at a million runs), grouped by its
  value (and the agent and the period, when asked); the running runs, and the stopped ones
  of a ``since`` inside an hour, from their side rows. A rollup that holds a row its
  triggers could not have made (:func:`._summary_sql.rollup_row_sound_sql`) is not read: the
  runs are, as for any other key.
- **Runs without the key** (a group of their own, as pandas groups them): the totals of all
  runs (from the hourly rollup) less what the key's rows counted.
- **Quantiles**: per value, a walk along the side table's index in the metric's order
  (key, value, status, metric) to the rank; with the agent or a period as keys, or several
  timed statuses, a window query over the side rows. The runs without the key: a window
  query over the runs, only when they have timed values.

It answers when the keys are one metadata key with, at most, ``agent`` and ``every``, and
the filters are among ``agent``, ``status`` and ``since``; else the runs are read
(:func:`._summary_sql.summary_rows`, the same figures).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Final

from ._metadata import METADATA_TABLE, metadata_key
from ._run_filter import RunFilter
from ._summary import PERIOD
from ._summary_sql import (
    HOUR,
    METRICS,
    QUANTILES,
    STOPPED_SQL,
    Query,
    SummaryGroup,
    counts_sql,
    figures_sql,
    key_sql,
    place_ranked,
    ranks,
    rollup_is_sound,
    rollup_read_figures,
    rollup_row_sound_sql,
    sqlite_order,
    summary_rows,
    timed_sql,
    wanted_ranks,
    weighed,
    window_quantiles_sql,
)

METADATA_ROLLUP: Final = "run_metadata_rollup"
"""Each hour's counts and sums per metadata key, value, agent and status (``m018``)."""

__all__ = ["side_summary_rows", "side_table_key"]

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
    """:func:`._summary_sql.summary_rows` of a summary :func:`side_table_key` allows."""
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
    :func:`._summary_sql.counts_sql`'s rows, then whether a rollup row read is not sound:
    :func:`._summary_sql.rollup_row_sound_sql`) from the hourly rollup: the stopped runs of whole
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
    for wanted, q in QUANTILES:
        if wanted != metric or not n:
            continue
        low, weight = ranks(n, q)
        count = 2 if low + 1 < n else 1
        terms, params = _side_conditions(name, where)
        terms += ["m.value = ?", "m.status = ?", timed_sql(metric, "m.")]
        params += [value, status]
        from_top = low > n // 2
        direction = "DESC" if from_top else "ASC"
        offset = n - low - count if from_top else low
        sql = (
            f"SELECT m.{metric} FROM {METADATA_TABLE} m INDEXED BY {METADATA_TABLE}_{metric}_order "
            f"WHERE {' AND '.join(terms)} ORDER BY m.{metric} {direction} LIMIT ? OFFSET ?"
        )
        if from_top:
            sql = f"SELECT * FROM ({sql}) ORDER BY 1"
        values = [found for (found,) in query(sql, [*params, count, offset])]
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
    :func:`._summary_sql.window_quantiles_sql` reads them from the runs)."""
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
