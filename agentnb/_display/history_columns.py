"""What the run tables show of each run: one column model for the text table, the notebook's
HTML (:mod:`.history_views`) and the table to browse (:func:`page_rows`, :func:`column_heads`),
so all three show the same columns the same way (the columns: the Run history page, "The
static table"). Cells hold what servers sent: every character that would not show as itself
is written ``⟨U+202E⟩`` (:func:`~agentnb._core.text.visible`), so nothing in a cell can
reorder or hide text. No pandas."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .._core.pricing import usd
from .._core.text import typed_words, visible
from .table import Cell

__all__ = [
    "MONTHS",
    "TableColumn",
    "column_heads",
    "full_time",
    "page_rows",
    "short_time",
    "shown_columns",
]

EXCERPT = 40
HOVER = 500
"""Characters of a value kept for its hover text."""
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_time(seconds: float, now: float) -> str:
    """A moment in local time, as short as it can be next to ``now``: ``14:03:12`` the same
    day, ``Nov 21 14:03`` the same year, ``2023-11-14`` otherwise (English month names, so
    the table reads the same in every locale)."""
    moment, today = datetime.fromtimestamp(seconds), datetime.fromtimestamp(now)
    if moment.date() == today.date():
        return f"{moment:%H:%M:%S}"
    if moment.year == today.year:
        return f"{MONTHS[moment.month - 1]} {moment.day:>2} {moment:%H:%M}"
    return f"{moment:%Y-%m-%d}"


def full_time(seconds: float) -> str:
    """A moment in local time with its UTC offset: ``2025-11-21 14:03:12+01:00``."""
    return datetime.fromtimestamp(seconds).astimezone().isoformat(sep=" ", timespec="seconds")


Columns = Mapping[str, Sequence[Any]]
CellReader = Callable[[Columns, int, float], Cell]


@dataclass(frozen=True, slots=True)
class TableColumn:
    """A column of the run tables."""

    title: str
    about: str
    """The header's hover text."""
    read: CellReader
    """(history columns, row, now) → the cell."""
    right: bool = False
    chars: int = 0
    """The most characters shown (0: as many as it takes); longer text ends in "…"."""


def _text_cell(name: str) -> CellReader:
    def read(columns: Columns, i: int, now: float) -> Cell:
        values = columns.get(name)  # a search's snippet is the only optional column
        return Cell() if values is None else _text(values[i])

    return read


def _typed_cell(columns: Columns, i: int, now: float) -> Cell:
    """The message as the person typed it: an ``@`` turn's notebook data left out."""
    value = columns["message"][i]
    return _text(None if value is None else typed_words(str(value)))


def _text(value: Any) -> Cell:
    whole = "" if value is None else str(value).strip()
    if not whole:
        return Cell()
    full = "\n".join(visible(line) for line in whole[:HOVER].split("\n"))
    return Cell(visible(" ".join(whole.split()))[:HOVER], full)


def _score_title(name: str) -> str:
    short = name.removeprefix("score.")
    return name if short in _BY_TITLE else short


def _score(name: str) -> CellReader:
    def read(columns: Columns, i: int, now: float) -> Cell:
        value = columns[name][i]
        if isinstance(value, bool):
            return Cell("✓" if value else "✗", str(value), float(value))
        if isinstance(value, float):
            return Cell(f"{value:.3g}", repr(value), value)
        return _text(value)

    return read


_MARKDOWN = re.compile(r"[#*`|>]+|:?-{3,}:?|:?-{2,}:(?=\s|$)")
"""Markdown's syntax in a snippet of an answer: headings, emphasis, code marks, tables."""
MATCH_LEAD = 12
"""Characters of context a match cell shows before the first matched word."""


def _match(columns: Columns, i: int, now: float) -> Cell:
    """A search's snippet as a reader sees it (markdown's syntax left out, each matched word
    between « and »), starting at the first match when it is further in than
    :data:`MATCH_LEAD` characters, so a narrow column still shows it; whole on hover."""
    values = columns.get("snippet")  # only while searching
    if values is None or not values[i]:
        return Cell()
    text = visible(" ".join(_MARKDOWN.sub(" ", str(values[i])).split()))
    at = text.find("«")
    return Cell("…" + text[at:] if at > MATCH_LEAD else text, text)


def _started(columns: Columns, i: int, now: float) -> Cell:
    seconds = columns["started_at"][i]
    if seconds is None:
        return Cell()
    return Cell(short_time(seconds, now), full_time(seconds), float(seconds))


def _run_id(columns: Columns, i: int, now: float) -> Cell:
    return _text(columns["run_id"][i] or columns["local_id"][i])


def _error(columns: Columns, i: int, now: float) -> Cell:
    malformed = columns.get("malformed")  # a row of the file that was: its bad fields left out
    if malformed is not None and malformed[i]:
        return _text(f"malformed row: {malformed[i]}")
    code, message = columns["error_code"][i], columns["error_message"][i]
    cell = _text(message or code)
    if code and message:
        return Cell(cell.text, f"{code}: {cell.title}")
    return cell


def _count_cell(name: str, thousands: bool = False) -> CellReader:
    def read(columns: Columns, i: int, now: float) -> Cell:
        value = columns[name][i]
        if value is None:
            return Cell()
        return Cell(f"{int(value):,}" if thousands else str(int(value)), key=float(value))

    return read


def _cost(columns: Columns, i: int, now: float) -> Cell:
    value = columns["cost_usd"][i]
    if value is None:
        return Cell()
    return Cell(usd(value), f"{usd(value)} ({columns['cost_source'][i]})", float(value))


def _unapproved(columns: Columns, i: int, now: float) -> Cell:
    count = columns["unapproved_calls"][i]
    if not count:
        return Cell()
    return Cell(f"⚠ {int(count)}", f"{int(count)} tool call(s) ran without your approval", count)


def _seconds_cell(name: str) -> CellReader:
    def read(columns: Columns, i: int, now: float) -> Cell:
        value = columns[name][i]
        return Cell() if value is None else Cell(f"{value:.2f}", key=float(value))

    return read


TABLE_COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("started", "when the run started (local time)", _started),
    TableColumn("agent", "the agent", _text_cell("agent"), chars=20),
    TableColumn("status", "how the run ended", _text_cell("status")),
    TableColumn("message", "the message typed", _typed_cell, chars=EXCERPT),
    TableColumn("match", "where the search words are, each between « and »", _match, chars=60),
    TableColumn("tokens", "total tokens", _count_cell("total_tokens", thousands=True), right=True),
    TableColumn("model", "the model that ran", _text_cell("model"), chars=18),
    TableColumn("cost", "the cost in USD (its source on hover)", _cost, right=True),
    TableColumn("secs", "duration in seconds", _seconds_cell("duration"), right=True),
    TableColumn("ttft", "seconds to the first token", _seconds_cell("ttft"), right=True),
    TableColumn("tools", "tool calls", _count_cell("tool_call_count"), right=True),
    TableColumn(
        "unapproved",
        "tool calls that ran without your approval (a server's own approval, a call run "
        "although denied, or with other arguments than were shown)",
        _unapproved,
        right=True,
    ),
    TableColumn("error", "the error, for runs that did not complete", _error, chars=EXCERPT),
    TableColumn("thread", "the thread (session) id", _text_cell("thread_id"), chars=14),
    TableColumn("run", "the platform's run id (else agentnb's local id)", _run_id, chars=13),
)
"""The run tables' columns, in order."""
_BY_TITLE = {column.title: column for column in TABLE_COLUMNS}


def shown_columns(
    columns: Columns, rows: Sequence[int], now: float
) -> list[tuple[TableColumn, list[Cell]]]:
    """Each column some of ``rows`` fills, with its cells."""
    shown = []
    scores = [  # a run's current scores, where the history handed them (``score.<name>``)
        TableColumn(_score_title(name), f"the run's {name}", _score(name), right=True)
        for name in sorted(name for name in columns if name.startswith("score."))
    ]
    for column in [*TABLE_COLUMNS[:-2], *scores, *TABLE_COLUMNS[-2:]]:
        cells = [column.read(columns, i, now) for i in rows]
        if any(cell.text for cell in cells):
            shown.append((column, cells))
    return shown


def column_heads(columns: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """What the table to browse needs to draw each column's head, from ``(title, type)``
    pairs (the history's page columns: how each sorts and filters)."""
    return [
        {
            "title": title,
            "about": _BY_TITLE[title].about,
            "type": kind,
            "right": _BY_TITLE[title].right,
        }
        for title, kind in columns
    ]


def page_rows(columns: Columns, titles: Sequence[str], now: float) -> list[dict[str, Any]]:
    """Each run of a page (history ``columns`` holding the page's rows) as the table to
    browse shows it: ``{"id": local_id, "cells": [[text, hover], ...]}``, the cells in the
    order of ``titles``."""
    shown = [_BY_TITLE[title] for title in titles]
    rows = []
    for i, local_id in enumerate(columns["local_id"]):
        cells = [column.read(columns, i, now) for column in shown]
        rows.append({"id": str(local_id), "cells": [[cell.text, cell.title] for cell in cells]})
    return rows
