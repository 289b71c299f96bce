"""Runs as an HTML table for notebooks: the columns of :mod:`._text`, one line per run.

Every value is escaped, in cells and in hover titles: runs hold untrusted text.

The styles are inline (JupyterLab's sanitizer drops ``<style>`` elements from untrusted
outputs) and every cell sets its own alignment and ``white-space`` (JupyterLab's
``.jp-RenderedHTMLCommon td`` rule sets both). Colours come from the theme: JupyterLab's
``--jp-*`` variables with fallbacks that do not assume a light page, and status colours
mixed with the text colour around them (``currentColor``), so they darken on a light theme
and lighten on a dark one. A cut value ends in an ellipsis and keeps its whole text on hover;
a table wider than its output scrolls sideways.

Clicking a header sorts the rows (again: the other way) through an inline handler on the
``<thead>``; where handlers do not run (untrusted or sanitized outputs, GitHub) the table
reads the same, unsorted. There is no filter box: filter with ``runs(agent=…, status=…,
since=…, thread=…)`` or the DataFrame from ``.to_pandas()``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from ._text_table import Cell, TableColumn, shown_columns

__all__ = ["html_table"]

_STATUS_COLOURS = {
    "completed": "var(--jp-success-color1, #388e3c)",
    "failed": "var(--jp-error-color1, #d32f2f)",
    "interrupted": "var(--jp-error-color1, #d32f2f)",
    "cancelled": "var(--jp-warn-color1, #f57c00)",
    "running": "var(--jp-brand-color1, #1976d2)",
}
"""The chat cell's colours for each ending (see js/src/widget.css)."""
_STATUS_MIX = 55
"""Percent of the status colour mixed with the text colour: ≥ 4.5:1 on JupyterLab's light
and dark backgrounds and their striped rows."""

_EM_PER_CHAR = 0.6
"""A column's ``chars`` in em (the sanitizer of untrusted outputs refuses ``ch``)."""
_BORDER = "var(--jp-border-color1, rgba(128, 128, 128, 0.5))"
_PAD = "padding:0.25em 0.6em"
_TABLE = (
    "border-collapse:collapse;table-layout:auto;width:auto;margin:0;"
    "font-size:var(--jp-ui-font-size1, 13px);font-variant-numeric:tabular-nums"
)

# Sorts the body's rows by the clicked column: a cell's data-key (numbers, times) or its
# text; empty cells last; a second click reverses. Kept in the attribute (no <script>).
_SORT = (
    "var th=event.target.closest('th');if(!th)return;"
    "var head=th.parentNode,i=[].indexOf.call(head.cells,th),"
    "body=head.closest('table').tBodies[0],up=th.getAttribute('aria-sort')!=='ascending';"
    "[].forEach.call(head.cells,function(c){c.removeAttribute('aria-sort');"
    "c.lastChild.textContent=''});"
    "th.setAttribute('aria-sort',up?'ascending':'descending');"
    "th.lastChild.textContent=up?' \\u25B2':' \\u25BC';"
    "var key=function(r){var c=r.cells[i],k=c.getAttribute('data-key');"
    "return k===null?c.textContent:k};"
    "var rows=[].slice.call(body.rows);"
    "rows.sort(function(a,b){var x=key(a),y=key(b);"
    "if(x===''||y==='')return (x==='')-(y==='');"
    "var d=(isNaN(x)||isNaN(y))?x.localeCompare(y):x-y;return up?d:-d});"
    "rows.forEach(function(r){body.appendChild(r)})"
)
_POINTER = "this.style.cursor='pointer'"


def html_table(
    columns: Mapping[str, Sequence[Any]],
    rows: Sequence[int],
    *,
    title: str,
    more: int,
    now: float,
) -> str:
    """The given rows of history ``columns`` as a titled HTML table; ``more`` counts the
    rows left out."""
    heading = f'<div style="font-weight:600;margin:0 0 0.3em">{escape(title)}</div>'
    tail = f"<div><em>… and {more} more</em></div>" if more > 0 else ""
    if not rows:
        return f'<div class="agentnb-runs">{heading}</div>'
    shown = shown_columns(columns, rows, now)
    head = "".join(_header(column) for column, _ in shown)
    body = "".join(
        "<tr>" + "".join(_cell(column, cells[r]) for column, cells in shown) + "</tr>"
        for r in range(len(rows))
    )
    return (
        f'<div class="agentnb-runs" style="max-width:100%;overflow-x:auto">{heading}'
        f'<table class="agentnb-runs-table" style="{_TABLE}">'
        f'<thead onclick="{escape(_SORT)}" onpointerover="{escape(_POINTER)}"><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table>{tail}</div>"
    )


def _align(column: TableColumn) -> str:
    return f"text-align:{'right' if column.right else 'left'};white-space:nowrap;{_PAD}"


def _header(column: TableColumn) -> str:
    style = f"{_align(column)};font-weight:600;border-bottom:1px solid {_BORDER}"
    # The trailing span holds the sort arrow.
    return (
        f'<th style="{style}" title="{escape(column.about)}">{escape(column.title)}'
        "<span></span></th>"
    )


def _cell(column: TableColumn, cell: Cell) -> str:
    style = _align(column)
    attrs = ""
    if column.chars:
        style += f";max-width:{column.chars * _EM_PER_CHAR:.1f}em;overflow:hidden"
        style += ";text-overflow:ellipsis"
    if column.title == "status" and cell.text in _STATUS_COLOURS:
        mix = f"color-mix(in srgb, {_STATUS_COLOURS[cell.text]} {_STATUS_MIX}%, currentColor)"
        style += f";color:{mix}"
    hover = cell.full or (cell.text if column.chars else "")
    if hover:
        attrs += f' title="{escape(hover)}"'
    if cell.key is not None:
        attrs += f' data-key="{_number(cell.key)}"'
    return f'<td style="{style}"{attrs}>{escape(cell.text)}</td>'


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
