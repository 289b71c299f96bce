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

__all__ = [
    "METADATA_PREFIX",
    "METADATA_TABLE",
    "SIDE_FIGURES",
    "metadata_filter",
    "metadata_key",
    "metadata_key_sql",
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
