"""A run's metadata as dimensions: ``runs(metadata={"user": "alice"})`` filters by it and
``summary(by="metadata.user")`` groups by it.

The ``metadata`` column holds a JSON object per run; the side table ``run_metadata``
(``key``, ``value``, ``local_id`` and the run's figures, :data:`SIDE_FIGURES`), kept by
triggers whichever agentnb version writes the file (:func:`metadata_schema`), holds one row
per top-level key, so a filter or a group reads an index instead of parsing every run's
JSON. A value is compared as text: a string
as itself, anything else as its JSON text (``3``, ``true``, ``{"a":1}``); a JSON ``null``
is no value (:func:`metadata_text`, the same rule in Python).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from .._core.exceptions import ConfigurationError
from ._figures import FIGURE_RANGES, sane_sql

__all__ = [
    "METADATA_PREFIX",
    "METADATA_TABLE",
    "SIDE_FIGURES",
    "metadata_filter",
    "metadata_key",
    "metadata_key_sql",
    "metadata_pairs_sql",
    "metadata_schema",
    "metadata_text",
]

METADATA_TABLE: Final = "run_metadata"
METADATA_PREFIX: Final = "metadata."
"""A summary key, a plot's ``by`` or a DataFrame column ``metadata.<key>``: that key of
each run's metadata."""

_VALUE_SQL: Final = (
    "CASE j.type WHEN 'text' THEN j.value WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' "
    "ELSE CAST(j.value AS TEXT) END"
)
"""A ``json_each`` row's value as text (:func:`metadata_text`'s rule)."""


SIDE_FIGURES: Final = (
    "status",
    "started_at",
    "agent",
    "total_tokens",
    "cost_usd",
    "tool_call_count",
    "paused_seconds",
    "duration",
    "ttft",
)
"""The run's columns each side row repeats, so a summary by a metadata key reads the side
table alone (:mod:`._metadata_summary`), in the key's order, never the runs."""


def metadata_schema(*, guarded: bool) -> tuple[str, ...]:
    """The side table (clustered by key and value: a group's rows are next to each other),
    its indexes (by run, for the triggers; by group, status and each timed figure, for a
    quantile's walk), the triggers that keep it and the statement that fills it from the
    runs already recorded (``m015``, which copied every figure as it was: ``guarded=False``;
    :func:`guarded_metadata` remakes the triggers to copy sane figures only)."""
    figures = ", ".join(
        f"{name} {kind}"
        for name, kind in zip(
            SIDE_FIGURES,
            ("TEXT", "REAL", "TEXT", "INTEGER", "REAL", "INTEGER", "REAL", "REAL", "REAL"),
            strict=True,
        )
    )
    return (
        f"CREATE TABLE {METADATA_TABLE} (key TEXT NOT NULL, value TEXT NOT NULL, "
        f"local_id TEXT NOT NULL, {figures}, PRIMARY KEY (key, value, local_id)) WITHOUT ROWID",
        f"CREATE INDEX {METADATA_TABLE}_by_run ON {METADATA_TABLE} (local_id)",
        *(
            f"CREATE INDEX {METADATA_TABLE}_{metric}_order ON {METADATA_TABLE} "
            f"(key, value, status, {metric}, started_at) WHERE {metric} IS NOT NULL"
            for metric in ("duration", "ttft")
        ),
        _metadata_fill(guarded),
        *_metadata_triggers(guarded),
        f"CREATE TRIGGER {METADATA_TABLE}_delete AFTER DELETE ON runs WHEN old.metadata "
        f"IS NOT NULL BEGIN DELETE FROM {METADATA_TABLE} WHERE local_id = old.local_id; END",
    )


def guarded_metadata() -> tuple[str, ...]:
    """The statements that remake the side table's triggers to copy sane figures only and
    fill it again from the runs (``m017``): whatever it held (a figure copied before the
    guard, a row written by another tool) is gone."""
    return (
        f"DROP TRIGGER {METADATA_TABLE}_insert",
        f"DROP TRIGGER {METADATA_TABLE}_update",
        f"DELETE FROM {METADATA_TABLE}",
        _metadata_fill(guarded=True),
        *_metadata_triggers(guarded=True),
    )


def _metadata_fill(guarded: bool) -> str:
    return f"{_keys_of('runs', guarded)} FROM runs, {_pairs('runs')} WHERE j.type <> 'null'"


def _metadata_triggers(guarded: bool) -> tuple[str, ...]:
    watched = ", ".join(("metadata", "local_id", *SIDE_FIGURES))
    changed = " OR ".join(f"old.{name} IS NOT new.{name}" for name in ("metadata", *SIDE_FIGURES))
    return (
        f"CREATE TRIGGER {METADATA_TABLE}_insert AFTER INSERT ON runs "
        f"WHEN new.metadata IS NOT NULL BEGIN {_keys_of('new', guarded)} FROM {_pairs('new')} "
        "WHERE j.type <> 'null'; END",
        f"CREATE TRIGGER {METADATA_TABLE}_update AFTER UPDATE OF {watched} ON runs "
        f"WHEN old.local_id IS NOT new.local_id OR (new.metadata IS NOT NULL AND ({changed})) "
        "OR old.metadata IS NOT new.metadata BEGIN "
        f"DELETE FROM {METADATA_TABLE} WHERE local_id = old.local_id; "
        f"{_keys_of('new', guarded)} FROM {_pairs('new')} WHERE j.type <> 'null'; END",
    )


def _keys_of(row: str, guarded: bool) -> str:
    figures = ", ".join(SIDE_FIGURES)
    values = ", ".join(
        sane_sql(name, f"{row}.") if guarded and name in FIGURE_RANGES else f"{row}.{name}"
        for name in SIDE_FIGURES
    )
    return (
        f"INSERT OR REPLACE INTO {METADATA_TABLE} (key, value, local_id, {figures}) "
        f"SELECT j.key, {_VALUE_SQL}, {row}.local_id, {values}"
    )


def _pairs(row: str) -> str:
    """The top-level pairs of ``row``'s metadata (none unless it is a JSON object: text
    that is no JSON must not fail the run's write)."""
    return (
        f"json_each(CASE WHEN json_valid({row}.metadata) "
        f"AND json_type({row}.metadata) = 'object' THEN {row}.metadata ELSE '{{}}' END) j"
    )


def metadata_pairs_sql(row: str) -> str:
    """A query of ``row``'s top-level metadata pairs as the side table keeps them, once
    each: ``key`` and ``value`` (text), a JSON ``null`` left out."""
    return (
        f"SELECT DISTINCT j.key AS key, {_VALUE_SQL} AS value FROM {_pairs(row)} "
        "WHERE j.type <> 'null'"
    )


def metadata_text(value: Any) -> str | None:
    """A metadata value as the history compares it: a string as itself, None (JSON null)
    as no value, anything else as its compact JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def metadata_key(name: str) -> str | None:
    """The metadata key ``name`` (``metadata.<key>``) names, or None for another name."""
    if not name.startswith(METADATA_PREFIX):
        return None
    key = name[len(METADATA_PREFIX) :]
    if not key or "\x00" in key:
        raise ConfigurationError(f"{name!r} names no metadata key: write metadata.<key>")
    return key


def metadata_key_sql(key: str, table: str = "runs.") -> str:
    """A run's value of the metadata ``key`` as SQL (NULL when it has none): a lookup in
    the side table by its primary key."""
    quoted = "'" + key.replace("'", "''") + "'"
    return (
        f"(SELECT m.value FROM {METADATA_TABLE} m "
        f"WHERE m.local_id = {table}local_id AND m.key = {quoted})"
    )


def metadata_filter(metadata: object) -> tuple[tuple[str, str], ...] | None:
    """``runs(metadata=...)`` checked: each key and the text its value must equal."""
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping) or not metadata:
        raise ConfigurationError(
            "metadata must be a dict of key: value that every run kept must hold "
            f"(e.g. {{'user': 'alice'}}), not {metadata!r}"
        )
    pairs: list[tuple[str, str]] = []
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or "\x00" in key:
            raise ConfigurationError(f"a metadata key must be a non-empty str, not {key!r}")
        text = metadata_text(value)
        if text is None:
            raise ConfigurationError(
                f"metadata={{{key!r}: None}} matches nothing: a run without {key!r} has no "
                "value to compare; give the value it must have"
            )
        for part in (key, text):
            try:
                part.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigurationError(
                    f"metadata {part!r} is not valid text (it holds a lone surrogate)"
                ) from None
        pairs.append((key, text))
    return tuple(pairs)
