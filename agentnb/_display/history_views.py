"""A run history drawn: the text and HTML tables of its runs and of its tool calls, and its
plots (:mod:`.history_plot`). The package root installs :data:`HISTORY_VIEWS` as the
history's drawer (:mod:`agentnb._core.history_drawer`); a history hands it its title and
columns, and draws nothing itself.

The tables show the columns of :mod:`.history_columns`, one line per run. In the notebook's
HTML table every value is escaped, in cells and in hover titles: runs hold untrusted text.
The styles are inline (JupyterLab's sanitizer drops ``<style>`` elements from untrusted
outputs) and every cell sets its own alignment and ``white-space`` (JupyterLab's
``.jp-RenderedHTMLCommon td`` rule sets both). Colours come from the theme: JupyterLab's
``--jp-*`` variables with fallbacks that do not assume a light page, and status colours mixed
with the text colour around them (``currentColor``), so they darken on a light theme and
lighten on a dark one. A cut value ends in an ellipsis and keeps its whole text on hover; a
table wider than its output scrolls sideways. Clicking a header sorts the rows (again: the
other way) through an inline handler on the ``<thead>``; where handlers do not run
(untrusted or sanitized outputs, GitHub) the table reads the same, unsorted. There is no
filter box: filter with ``runs(agent=…, status=…, since=…, thread=…)`` or the DataFrame from
``.to_pandas()``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from html import escape
from typing import Any

from .._core.history_drawer import Columns, Plotted
from .._core.text import excerpt, visible
from .history_columns import Cell, TableColumn, shown_columns, text_table
from .history_plot import plot
from .summary_table import summary_html, summary_text
from .terminal import terminal_width

__all__ = [
    "HISTORY_VIEWS",
    "HistoryViews",
    "runs_html",
    "runs_text",
    "tool_calls_html",
    "tool_calls_text",
]


# ---- the runs as text ------------------------------------------------------------------


def runs_text(
    columns: Columns, rows: int, *, title: str | None, more: int, width: int | None
) -> str:
    """The first ``rows`` runs of history ``columns`` as an aligned table (fitted to
    ``width``), under ``title`` and over ``… and {more} more`` when given; a title alone
    when there are no rows to show."""
    if title is not None and not rows:
        return title
    table = text_table(columns, range(rows), time.time(), width)
    tail = f"\n… and {more} more" if more > 0 else ""
    return (f"{title}\n{table}" if title is not None else table) + tail


# ---- the runs as the notebook's HTML table ---------------------------------------------

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


def runs_html(columns: Columns, rows: int, *, title: str, more: int) -> str:
    """The first ``rows`` runs of history ``columns`` as a titled HTML table; ``more``
    counts the rows left out."""
    heading = f'<div style="font-weight:600;margin:0 0 0.3em">{escape(title)}</div>'
    tail = f"<div><em>… and {more} more</em></div>" if more > 0 else ""
    if not rows:
        return f'<div class="agentnb-runs">{heading}</div>'
    shown = shown_columns(columns, range(rows), time.time())
    head = "".join(_header(column) for column, _ in shown)
    body = "".join(
        "<tr>" + "".join(_cell(column, cells[r]) for column, cells in shown) + "</tr>"
        for r in range(rows)
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


# ---- the tool calls --------------------------------------------------------------------

SHOWN_CALLS = 20
"""Tool calls the HTML table shows; the rest are counted."""


def tool_calls_text(columns: Columns, *, title: str) -> str:
    """``title``, then the calls per tool (most called first), then the calls that ran
    without the user's approval."""
    lines = [title]
    counts = Counter(name or "(unnamed)" for name in columns["name"])
    lines += [f"  {visible(name)}: {n}" for name, n in counts.most_common()]
    unapproved = [
        (name, why) for name, why in zip(columns["name"], columns["unapproved"], strict=True) if why
    ]
    if unapproved:
        lines.append(f"⚠ {len(unapproved)} ran without your approval:")
        lines += [f"  {excerpt(name, 60, marked=True)}: {why}" for name, why in unapproved]
    return "\n".join(lines)


def tool_calls_html(columns: Columns, *, title: str) -> str:
    """The first :data:`SHOWN_CALLS` calls as an HTML table under ``title``: tool, status
    (and a mark for a call that ran without the user's approval), arguments, output or
    error."""
    total = len(columns["name"])
    rows = "".join(
        f"<tr><td>{escape(excerpt(columns['name'][i], 30, marked=True))}</td>"
        f"<td>{escape(str(columns['status'][i] or ''))}{_unapproved_mark(columns, i)}</td>"
        f"<td>{escape(excerpt(columns['arguments'][i], 60, marked=True))}</td>"
        f"<td>{escape(excerpt(columns['output'][i] or columns['error'][i], 60, marked=True))}"
        "</td></tr>"
        for i in range(min(total, SHOWN_CALLS))
    )
    more = total - min(total, SHOWN_CALLS)
    tail = f"<p><em>… and {more} more</em></p>" if more else ""
    return (
        f"<div><p><strong>{escape(title)}</strong></p>"
        "<table><thead><tr><th>tool</th><th>status</th><th>arguments</th>"
        f"<th>output / error</th></tr></thead><tbody>{rows}</tbody></table>{tail}</div>"
    )


def _unapproved_mark(columns: Columns, i: int) -> str:
    """`` · ⚠ approved by the server itself, not by you`` for a call that ran without the
    user's approval (HTML)."""
    unapproved = columns["unapproved"][i]
    return f" · <strong>⚠ {escape(unapproved)}</strong>" if unapproved else ""


# ---- the drawer the package root installs ------------------------------------------------


class HistoryViews:
    """A history's drawer (:class:`~agentnb._core.history_drawer.HistoryDrawer`): the
    functions of this module, and the plots."""

    runs_text = staticmethod(runs_text)
    runs_html = staticmethod(runs_html)
    tool_calls_text = staticmethod(tool_calls_text)
    tool_calls_html = staticmethod(tool_calls_html)
    summary_text = staticmethod(summary_text)
    summary_html = staticmethod(summary_html)

    @staticmethod
    def terminal_columns() -> int | None:
        return terminal_width(sys.stdout)

    @staticmethod
    def plot(history: Plotted, kind: str, ax: Any, options: dict[str, Any]) -> Any:
        return plot(history, kind, ax=ax, **options)


HISTORY_VIEWS = HistoryViews()
