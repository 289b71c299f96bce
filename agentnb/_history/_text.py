"""Runs as a plain aligned text table (reprs and the ``agentnb runs`` command; no pandas)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .._core.text import excerpt

__all__ = ["TABLE_COLUMNS", "cell_text", "short", "text_table"]

EXCERPT = 40


def short(text: Any, limit: int = EXCERPT) -> str:
    """One line of at most ``limit`` characters: a table cell."""
    return excerpt(text, limit)


def _when(seconds: Any) -> str:
    if seconds is None:
        return ""
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S")


def _secs(value: Any) -> str:
    return "" if value is None else f"{value:.2f}"


def _num(value: Any) -> str:
    return "" if value is None else str(value)


TABLE_COLUMNS: tuple[tuple[str, str, Callable[[Any], str], bool], ...] = (
    # (title, column, format, right-aligned)
    ("started", "started_at", _when, False),
    ("id", "local_id", lambda v: short(v, 12), False),
    ("agent", "agent", lambda v: short(v, 20), False),
    ("status", "status", _num, False),
    ("tokens", "total_tokens", _num, True),
    ("secs", "duration", _secs, True),
    ("ttft", "ttft", _secs, True),
    ("tools", "tool_call_count", _num, True),
    ("message", "message", short, False),
    ("error", "error_message", short, False),
)
"""What the short tables show of each run."""


def cell_text(column: str, value: Any) -> str:
    for _, name, fmt, _ in TABLE_COLUMNS:
        if name == column:
            return fmt(value)
    return short(value)


def text_table(columns: Mapping[str, Sequence[Any]], rows: Sequence[int]) -> str:
    """The given rows of history ``columns`` as an aligned table with a header line."""
    titles = [title for title, *_ in TABLE_COLUMNS]
    body = [[fmt(columns[name][i]) for _, name, fmt, _ in TABLE_COLUMNS] for i in rows]
    widths = [max([len(title), *(len(row[c]) for row in body)]) for c, title in enumerate(titles)]
    right = [align for *_, align in TABLE_COLUMNS]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if is_right else cell.ljust(width)
            for cell, width, is_right in zip(cells, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    return "\n".join([line(titles), *(line(row) for row in body)])
