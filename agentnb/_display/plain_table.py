"""A small HTML table that reads as a table with no stylesheet: marimo shows each output in a
shadow root of its own, and GitHub strips stylesheets, so its spacing is written on the cells."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape

_CELL = "padding:0.25em 0.8em 0.25em 0;text-align:left;vertical-align:top"


def plain_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, code: Sequence[int] = ()
) -> str:
    """``header`` and ``rows`` (plain text, escaped here) as an HTML table; the columns
    numbered in ``code`` are set as code."""
    head = "".join(f'<th style="{_CELL}">{escape(title)}</th>' for title in header)
    body = "".join(
        "<tr>" + "".join(_cell(text, i in code) for i, text in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(text: str, code: bool) -> str:
    shown = f"<code>{escape(text)}</code>" if code else escape(text)
    return f'<td style="{_CELL}">{shown}</td>'
