"""Each hour's counts and sums per metadata key and value, agent and status: what
``summary(by="metadata.<key>")`` reads instead of a side row per run, as ``runs_rollup`` is
for the other keys.

``run_metadata_rollup`` holds, for the runs that have stopped, one row per hour, key, value,
agent and status, with the figures of ``runs_rollup`` (sane figures only,
:mod:`._figures`). Triggers on ``runs`` keep it from each run's metadata JSON (its top-level
pairs, a value as :func:`._metadata.metadata_text` writes it), never from the side table
``run_metadata``: a row written into the side table by hand changes no count. A run's start
and checkpoints cost it nothing; its end, one addition per key.
"""

from __future__ import annotations

from typing import Final

from ._metadata import METADATA_TABLE, SIDE_FIGURES, metadata_pairs_sql
from ._summary_sql import (
    HOUR_SQL,
    STOPPED_SQL,
    counted_in,
    rollup_figure_columns,
    rollup_figure_names,
    rollup_fill_figures,
    taken_out_of,
)

__all__ = ["METADATA_ROLLUP", "metadata_rollup_fill", "metadata_rollup_schema"]

METADATA_ROLLUP: Final = "run_metadata_rollup"
_KEYS: Final = ("key", "value", "agent", "status")
_WATCHED: Final = ("metadata", *SIDE_FIGURES)
"""The run's columns a rollup row depends on: a change to any of them moves the run."""


def metadata_rollup_schema() -> tuple[str, ...]:
    """The rollup, its index (by key first: a summary reads one key's rows), the triggers
    that keep it and the statement that fills it (``m018``)."""
    return (
        f"CREATE TABLE {METADATA_ROLLUP} (hour INTEGER NOT NULL, key TEXT NOT NULL, "
        "value TEXT NOT NULL, agent TEXT, status TEXT, runs INTEGER NOT NULL DEFAULT 0, "
        f"{rollup_figure_columns()})",
        # every column, so a summary reads one key's rows from the index alone, in order
        f"CREATE INDEX {METADATA_ROLLUP}_key ON {METADATA_ROLLUP} "
        f"(key, hour, value, agent, status, runs, {rollup_figure_names()})",
        metadata_rollup_fill(),
        *_triggers(),
    )


def metadata_rollup_fill() -> str:
    """The statement filling the (empty) rollup from the side table's stopped runs (the side
    rows were just made from the runs: one per run and distinct pair, as the triggers count
    them)."""
    return (
        f"INSERT INTO {METADATA_ROLLUP} (hour, key, value, agent, status, runs, "
        f"{rollup_figure_names()}) SELECT {HOUR_SQL.format(row='m')}, m.key, m.value, m.agent, "
        f"m.status, COUNT(*), {rollup_fill_figures('m')} FROM {METADATA_TABLE} m "
        f"WHERE {STOPPED_SQL.format(row='m')} GROUP BY 1, m.key, m.value, m.agent, m.status"
    )


def _triggers() -> tuple[str, ...]:
    changed = " OR ".join(f"old.{name} IS NOT new.{name}" for name in _WATCHED)
    on = f"AFTER UPDATE OF {', '.join(_WATCHED)} ON runs"
    kept = "{row}.metadata IS NOT NULL AND " + STOPPED_SQL
    return (
        f"CREATE TRIGGER {METADATA_ROLLUP}_insert AFTER INSERT ON runs "
        f"WHEN {kept.format(row='new')} BEGIN {_added('new')} END",
        f"CREATE TRIGGER {METADATA_ROLLUP}_update_old {on} "
        f"WHEN {kept.format(row='old')} AND ({changed}) BEGIN {_removed('old')} END",
        f"CREATE TRIGGER {METADATA_ROLLUP}_update_new {on} "
        f"WHEN {kept.format(row='new')} AND ({changed}) BEGIN {_added('new')} END",
        f"CREATE TRIGGER {METADATA_ROLLUP}_delete AFTER DELETE ON runs "
        f"WHEN {kept.format(row='old')} BEGIN {_removed('old')} END",
    )


def _run_rows(row: str) -> str:
    """The rollup rows ``row``'s pairs count in (its hour, agent and status)."""
    return (
        f"hour = {HOUR_SQL.format(row=row)} AND agent IS {row}.agent AND status IS "
        f"{row}.status AND (key, value) IN ({metadata_pairs_sql(row)})"
    )


def _added(row: str) -> str:
    """Trigger statements counting ``row`` in each of its pairs' rows (made if missing)."""
    hour = HOUR_SQL.format(row=row)
    return (
        f"INSERT INTO {METADATA_ROLLUP} (hour, key, value, agent, status) "
        f"SELECT {hour}, p.key, p.value, {row}.agent, {row}.status "
        f"FROM ({metadata_pairs_sql(row)}) p WHERE NOT EXISTS (SELECT 1 FROM {METADATA_ROLLUP} "
        f"WHERE key = p.key AND hour = {hour} AND value = p.value AND agent IS {row}.agent "
        f"AND status IS {row}.status); "
        f"UPDATE {METADATA_ROLLUP} SET {counted_in(row)}runs = runs + 1 WHERE {_run_rows(row)};"
    )


def _removed(row: str) -> str:
    """Trigger statements taking ``row`` out of its pairs' rows (gone when they count none)."""
    return (
        f"UPDATE {METADATA_ROLLUP} SET {taken_out_of(row)}runs = runs - 1 "
        f"WHERE {_run_rows(row)}; "
        f"DELETE FROM {METADATA_ROLLUP} WHERE {_run_rows(row)} AND runs <= 0;"
    )
