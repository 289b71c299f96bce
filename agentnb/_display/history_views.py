"""A run history's runs and tool calls drawn as tables (:mod:`.table`) from its title and
columns. No filter box: filter with ``runs(agent=…, status=…, since=…, thread=…)`` or the
DataFrame from ``.to_pandas()``."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import Any

from .._core.text import excerpt
from .history_columns import Columns, TableColumn, shown_columns
from .table import Cell, Column, Table, table_html, table_text, text_chars
from .terminal import terminal_width

__all__ = ["runs_html", "runs_text", "tool_calls_html", "tool_calls_text"]

SCANNED = ("started", "agent", "status", "message", "match", "model", "cost", "unapproved")
"""The columns the notebook's table shows, as the table to browse does by default
(js/src/runs_columns.js); the others are on the started time's hover, as they are a row's
details there."""
NARROW_DROPS = ("run", "thread", "tools", "ttft", "match", "tokens", "secs")
"""The columns a text table too wide for its terminal leaves out, first to last; then its
scores, the model and the error (a failed run's status still says so), so the question a
person scans keeps its room."""
LAST_DROPS = ("model", "error")
NARROW_CHARS = {"agent": 13, "model": 12, "error": 20, "match": 40}
"""Tighter caps for a text table fitted to a terminal."""
MIN_MESSAGE = 20
"""The narrowest message column a fitted table gives before it leaves out more columns."""

_STATUS_COLOURS = {
    "completed": "var(--jp-success-color1, #388e3c)",
    "failed": "var(--jp-error-color1, #d32f2f)",
    "interrupted": "var(--jp-error-color1, #d32f2f)",
    "cancelled": "var(--jp-warn-color1, #f57c00)",
    "running": "var(--jp-brand-color1, #1976d2)",
}
"""The chat cell's colours for each ending (js/src/widget.css), mixed 55% with the text
colour around them: >= 4.5:1 on JupyterLab's light and dark backgrounds."""

Shown = list[tuple[TableColumn, list[Cell]]]


def _table(shown: Shown, rows: int, caps: dict[str, int] | None = None, **options: Any) -> Table:
    caps = caps or {}
    columns = [
        Column(c.title, c.about, right=c.right, chars=caps.get(c.title, c.chars)) for c, _ in shown
    ]
    return Table(columns, [[cells[r] for _, cells in shown] for r in range(rows)], **options)


def runs_text(
    columns: Columns,
    rows: int,
    *,
    title: str | None,
    more: int,
    width: int | None,
    at_least: bool = False,
) -> str:
    """The first ``rows`` runs of history ``columns`` as an aligned table, under ``title``
    and over ``… and {more} more`` when given (``{more}+`` when ``at_least``: a search
    counted up to a cap); a title alone when there are no rows. With
    ``width`` (a terminal's columns) every line fits: columns are capped tighter, the least
    needed left out (:data:`NARROW_DROPS`) while the message would get fewer than
    :data:`MIN_MESSAGE` characters, and the message takes what is left."""
    if title is not None and not rows:
        return title
    shown = shown_columns(columns, range(rows), time.time())
    caps = {column.title: column.chars for column, _ in shown}
    if width is not None:
        caps.update({title: chars for title, chars in NARROW_CHARS.items() if title in caps})
        shown, caps["message"] = _fitted(shown, caps, width)
    notes = _more(more, at_least)
    return table_text(_table(shown, rows, caps, title=title or "", notes=notes), width)


def _more(more: int, at_least: bool) -> list[str]:
    return [f"… and {more:,}{'+' if at_least else ''} more"] if more > 0 else []


def _fitted(shown: Shown, caps: dict[str, int], width: int) -> tuple[Shown, int]:
    """The columns that fit in ``width`` and the message column's width."""

    def taken(column: TableColumn, cells: list[Cell]) -> int:
        return text_chars(Column(column.title, chars=caps[column.title]), cells)

    scores = [c.title for c, _ in shown if c.about.startswith("the run's score.")]
    drops = [*NARROW_DROPS, *scores, *LAST_DROPS]
    while True:
        others = [taken(c, cells) for c, cells in shown if c.title != "message"]
        room = width - sum(others) - 2 * (len(shown) - 1)
        present = {column.title for column, _ in shown}
        droppable = [title for title in drops if title in present]
        if room >= MIN_MESSAGE or not droppable:
            return shown, max(room, len("message"))
        shown = [(c, cells) for c, cells in shown if c.title != droppable[0]]


def runs_html(
    columns: Columns,
    rows: int,
    *,
    title: str,
    more: int,
    at_least: bool = False,
    scores: bool = True,
) -> str:
    """The first ``rows`` runs of history ``columns`` as a titled HTML table of the columns
    a person scans (:data:`SCANNED`, and with ``scores`` the runs' scores: what an evaluation
    just computed; without, they are a row's details, as in the table to browse, which this
    table then stands for); ``more`` counts the rows left out (as :func:`runs_text`)."""
    if not rows:
        return table_html(Table([], [], title=title, name="agentnb-runs"))
    every = shown_columns(columns, range(rows), time.time())
    shown = [
        (c, [_coloured(c, cell) for cell in cells]) for c, cells in every if _scanned(c, scores)
    ]
    details = [(c, cells) for c, cells in every if not _scanned(c, scores)]
    if shown and shown[0][0].title == "started" and details:
        started = [_with_details(cell, details, r) for r, cell in enumerate(shown[0][1])]
        shown[0] = (shown[0][0], started)
    notes = _more(more, at_least)
    return table_html(
        _table(shown, rows, title=title, notes=notes, name="agentnb-runs", sortable=True)
    )


def _scanned(column: TableColumn, scores: bool) -> bool:
    """A column of :data:`SCANNED`, or with ``scores`` a score."""
    return column.title in SCANNED or (scores and column.about.startswith("the run's score."))


def _with_details(cell: Cell, details: Shown, row: int) -> Cell:
    """The started cell with the row's other columns on hover (ids, figures, the error),
    as the table to browse shows them in a row's details."""
    lines = [f"{c.title}: {cells[row].title or cells[row].text}" for c, cells in details]
    hover = "\n".join([cell.title, *(line for line in lines if not line.endswith(": "))])
    return Cell(cell.text, hover, cell.key)


def _coloured(column: TableColumn, cell: Cell) -> Cell:
    colour = _STATUS_COLOURS.get(cell.text) if column.title == "status" else None
    if colour is None:
        return cell
    mix = f"color-mix(in srgb, {colour} 55%, currentColor)"
    return Cell(cell.text, cell.title, cell.key, style=f";color:{mix}")


# ---- the tool calls --------------------------------------------------------------------

SHOWN_CALLS = 20
"""Tool calls the HTML table shows; the rest are counted."""


def tool_calls_text(columns: Columns, counts: Mapping[str, int], *, title: str) -> str:
    """``title``, then the ``counts`` of calls per tool, then the calls that ran without the
    user's approval, fitted to the terminal."""
    width = terminal_width(sys.stdout)  # None for a pipe, a file or a notebook
    rows = [[name, str(count)] for name, count in counts.items()]
    tools = Table([Column("tool"), Column("calls", right=True)], rows, title=title)
    shown = [table_text(tools, width)]
    unapproved = [
        [excerpt(name, 60), why]
        for name, why in zip(columns["name"], columns["unapproved"], strict=True)
        if why
    ]
    if unapproved:
        heading = f"⚠ {len(unapproved)} ran without your approval:"
        why = Table([Column("tool"), Column("why", wrap=True)], unapproved, title=heading)
        shown.append(table_text(why, width))
    return "\n".join(shown)


def tool_calls_html(columns: Columns, *, title: str) -> str:
    """The first :data:`SHOWN_CALLS` calls as an HTML table under ``title``: tool, status
    (and a mark for a call that ran without the user's approval), arguments, output or
    error."""
    total = len(columns["name"])
    rows = [
        [
            excerpt(columns["name"][i], 30, marked=True),
            str(columns["status"][i] or "")
            + (f" · ⚠ {columns['unapproved'][i]}" if columns["unapproved"][i] else ""),
            excerpt(columns["arguments"][i], 60, marked=True),
            excerpt(columns["output"][i] or columns["error"][i], 60, marked=True),
        ]
        for i in range(min(total, SHOWN_CALLS))
    ]
    more = total - len(rows)
    return table_html(
        Table(
            [Column(heading) for heading in ("tool", "status", "arguments", "output / error")],
            rows,
            title=title,
            notes=[f"… and {more} more"] if more else [],
        )
    )
