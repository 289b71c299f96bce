"""Reading evaluation's columns of a history file, which is outside input: JSON text within
the parser's bounds, a time agentnb writes, ids a few hundred at a time."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from pydantic_core import from_json

from agentnb import HistoryError

__all__ = ["chunks", "read_json", "read_time"]

CHUNK: Final = 500
"""Run ids a query names at once (SQLite's bound on a statement's parameters)."""

EARLIEST: Final = 0.0
LATEST: Final = 2.0**33
"""The times agentnb writes: Unix seconds from 1970 on."""


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def read_json(value: object, what: str) -> Any:
    """``value`` from a JSON column, parsed; a :class:`~agentnb.HistoryError` saying
    ``what`` it is when it is not JSON text (a history file is outside input)."""
    if type(value) is not str:
        raise HistoryError(f"{what} in the run history is {type(value).__name__}, not JSON text")
    try:
        return from_json(value)
    except (ValueError, RecursionError) as exc:
        raise HistoryError(
            f"{what} in the run history is not the JSON agentnb writes: {exc}"
        ) from None


def read_time(value: object, what: str) -> datetime:
    """Unix seconds from the file as a UTC datetime; a HistoryError when it is no time
    agentnb writes."""
    if isinstance(value, int | float) and type(value) is not bool and EARLIEST <= value <= LATEST:
        return datetime.fromtimestamp(value, UTC)
    raise HistoryError(f"{what} in the run history is no time agentnb writes: {value!r:.40}")
