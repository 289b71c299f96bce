"""Runs as an HTML table for notebooks. Every value is escaped: runs hold untrusted text."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ._text import TABLE_COLUMNS

__all__ = ["html_table"]

_HOVER = 500
_STATUS_COLOURS = {
    "completed": "#1a7f37",
    "failed": "#cf222e",
    "interrupted": "#bc4c00",
    "cancelled": "#6e7781",
    "running": "#0969da",
}


def html_table(
    columns: Mapping[str, Sequence[Any]], rows: Sequence[int], *, title: str, more: int
) -> str:
    head = "".join(
        f'<th style="text-align:{"right" if right else "left"}">{escape(name)}</th>'
        for name, _, _, right in TABLE_COLUMNS
    )
    body = "".join(_row(columns, i) for i in rows)
    tail = f"<p><em>… and {more} more</em></p>" if more > 0 else ""
    return (
        f'<div class="agentnb-runs"><p><strong>{escape(title)}</strong></p>'
        f'<table class="dataframe"><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
        f"</table>{tail}</div>"
    )


def _row(columns: Mapping[str, Sequence[Any]], i: int) -> str:
    cells = []
    for _, name, fmt, right in TABLE_COLUMNS:
        value = columns[name][i]
        text = escape(fmt(value))
        style = f"text-align:{'right' if right else 'left'}"
        if name == "status" and value in _STATUS_COLOURS:
            style += f";color:{_STATUS_COLOURS[value]}"
        full = escape(value[:_HOVER]) if isinstance(value, str) and len(value) > len(text) else ""
        hover = f' title="{full}"' if full else ""
        cells.append(f'<td style="{style}"{hover}>{text}</td>')
    return f"<tr>{''.join(cells)}</tr>"
