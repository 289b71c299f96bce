"""A table kept apart from how it is drawn: the one place agentnb writes ``<table>``
(:func:`table_html`, inline styles only, as JupyterLab's sanitizer of untrusted outputs keeps)
and its text (:func:`table_text`, rich). Cells print what servers sent, so every text passes
:func:`~agentnb._core.text.visible` here, where it becomes output."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from html import escape
from typing import Any, Protocol

from rich.cells import cell_len
from rich.console import Console
from rich.table import Column as RichColumn
from rich.table import Table as RichTable
from rich.text import Text

from .._core.text import visible

__all__ = [
    "Cell",
    "Column",
    "Row",
    "ShownGrid",
    "Table",
    "in_blocks",
    "table_html",
    "table_text",
    "text_chars",
]


@dataclass(frozen=True, slots=True)
class Column:
    heading: str
    about: str = ""
    """The heading's hover text."""
    right: bool = False
    """A number: aligned right, and never cut (a cut number is wrong information)."""
    chars: int = 0
    """Words beyond this many characters end in "…" (0: never cut); a wrapped column is this
    wide in text instead, its lines folded, never cut."""
    wrap: bool = False
    """Long text wraps between words (never inside one) instead of keeping to one line."""
    head: bool = False
    """The row's label (``<th>``)."""
    width: str = ""
    """A CSS width for the HTML column (a fixed layout's share)."""
    code: bool = False
    """Set as code."""


@dataclass(frozen=True, slots=True)
class Cell:
    text: str = ""
    """What the cell says (one line unless its column wraps)."""
    title: str = ""
    """The whole value, on hover (line breaks kept)."""
    key: float | None = None
    """What sorting compares (numbers and times; text sorts by its text)."""
    html: str = ""
    """Markup already made safe (rendered markdown) shown in HTML instead of ``text``."""
    style: str = ""


Row = Sequence[Cell | str] | str
"""A row's cells (a ``str`` is a cell of text), or a ``str`` alone: a section heading over
the rows that follow, across the table."""


@dataclass(frozen=True)
class Table:
    columns: Sequence[Column]
    rows: Sequence[Row]
    title: str = ""
    notes: Sequence[str] = ()
    """Lines under the table (muted)."""
    name: str = ""
    """The HTML root's class."""
    sortable: bool = False
    """Clicking a heading sorts the rows (again: the other way)."""
    fixed: bool = False
    """The HTML takes the output's width and its columns share it (``width`` each)."""


def _cell(value: Cell | str) -> Cell:
    return value if isinstance(value, Cell) else Cell(value)


def _hover(text: str) -> str:
    return "\n".join(visible(line) for line in text.split("\n"))


# ---- HTML ----------------------------------------------------------------------------------
# JupyterLab's sanitizer of untrusted outputs keeps no <style> or <script>, only inline
# style, title, class, colspan and data-* (event handlers are dropped, so sorting is a bonus
# where they run), and no ch units; its td rule sets alignment and white-space, so every
# cell sets its own.

_PAD = "padding:0.25em 0.6em;vertical-align:top"
_RULE = "border-bottom:1px solid var(--jp-border-color1, rgba(128, 128, 128, 0.5))"
_EM_PER_CHAR = 0.6
"""A column's ``chars`` in em (the sanitizer refuses ``ch``)."""
_MUTED = "opacity:0.75;font-size:0.9em;margin:0.35em 0 0"
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


def _style(column: Column) -> str:
    side = "right" if column.right else "left"
    # Text wraps between words; a word breaks only where it alone is wider than its cell
    # (``anywhere`` would shrink a table inside to a letter a column: ``Tick|er``).
    wrapping = "white-space:nowrap"
    if column.wrap:
        wrapping = "white-space:normal;overflow-wrap:break-word;word-break:normal"
    style = f"{_PAD};text-align:{side};{wrapping}"
    if column.chars and not column.right:
        style += f";max-width:{column.chars * _EM_PER_CHAR:.1f}em;overflow:hidden"
        style += ";text-overflow:ellipsis"
    return style


def _heading_html(column: Column, sortable: bool) -> str:
    style = f"{_PAD};text-align:{'right' if column.right else 'left'};white-space:nowrap"
    width = f";width:{column.width}" if column.width else ""
    title = f' title="{escape(_hover(column.about))}"' if column.about else ""
    arrow = "<span></span>" if sortable else ""  # where the sort arrow goes
    return (
        f'<th style="{style};font-weight:600;{_RULE}{width}"{title}>'
        f"{escape(visible(column.heading))}{arrow}</th>"
    )


def _cell_html(column: Column, value: Cell | str) -> str:
    cell = _cell(value)
    tag = "th" if column.head else "td"
    style = _style(column) + (";font-weight:600" if column.head else "") + cell.style
    attrs = ""
    hover = cell.title or (cell.text if column.chars else "")
    if hover:
        attrs += f' title="{escape(_hover(hover))}"'
    if cell.key is not None:
        key = int(cell.key) if cell.key.is_integer() else cell.key
        attrs += f' data-key="{key!r}"'
    body = cell.html or escape(visible(cell.text))
    if column.code and not cell.html:
        body = f"<code>{body}</code>"
    return f'<{tag} style="{style}"{attrs}>{body}</{tag}>'


def _row_html(table: Table, row: Row) -> str:
    if isinstance(row, str):
        style = f"{_PAD};text-align:left;white-space:nowrap;font-weight:600;padding-top:0.6em"
        return (
            f'<tr><th colspan="{len(table.columns)}" style="{style};{_RULE}">'
            f"{escape(visible(row))}</th></tr>"
        )
    cells = zip(table.columns, row, strict=True)
    return "<tr>" + "".join(_cell_html(column, value) for column, value in cells) + "</tr>"


def table_html(table: Table) -> str:
    """``table`` as HTML that reads the same sanitized, in nbconvert and on GitHub: inline
    styles, the page's colours, and a table wider than its output scrolls in its own box."""
    layout = "table-layout:fixed;width:100%" if table.fixed else "table-layout:auto;width:auto"
    style = (
        f"border-collapse:collapse;{layout};margin:0 0 0.6em;color:inherit;"
        "background:transparent;font-variant-numeric:tabular-nums"
    )
    head = "".join(_heading_html(column, table.sortable) for column in table.columns)
    sort = f' onclick="{escape(_SORT)}"' if table.sortable else ""
    headed = any(column.heading for column in table.columns)
    thead = f"<thead{sort}><tr>{head}</tr></thead>" if headed else ""
    body = "".join(_row_html(table, row) for row in table.rows)
    title = (
        f'<div style="font-weight:600;margin:0 0 0.3em">{escape(visible(table.title))}</div>'
        if table.title
        else ""
    )
    notes = "".join(f'<div style="{_MUTED}">{escape(visible(n))}</div>' for n in table.notes)
    kind = escape(table.name.split(" ")[0])
    return (
        f'<div class="{escape(table.name)}" style="max-width:100%;overflow-x:auto">{title}'
        f'<table class="{kind}-table" style="{style}">{thead}<tbody>{body}</tbody></table>'
        f"{notes}</div>"
    )


# ---- text ----------------------------------------------------------------------------------


def text_chars(column: Column, cells: Sequence[Cell]) -> int:
    """The characters a column takes in text: its widest line, words capped at ``chars``."""
    widest = max([len(visible(column.heading)), *(len(visible(c.text)) for c in cells)])
    return min(widest, max(column.chars, len(column.heading))) if column.chars else widest


def _rich_column(
    column: Column, cells: Sequence[Cell], *, headed: bool, fitted: bool
) -> RichColumn:
    max_width = column.chars or None
    min_width = text_chars(column, cells) if column.right else None
    # Unfitted, a column is as wide as rich would measure it (its widest line, clamped):
    # given, rich skips measuring every cell again.
    width: int | None = None
    if not fitted:
        texts = [column.heading] if headed else []
        width = max([0, *(cell_len(visible(text)) for text in [*texts, *(c.text for c in cells)])])
        width = max(1, min(max(width, min_width or 0), max_width or width))
    return RichColumn(
        Text(visible(column.heading)),
        justify="right" if column.right else "left",
        no_wrap=not column.wrap,
        overflow="ellipsis" if column.chars and not column.wrap else "fold",
        max_width=max_width,
        min_width=min_width,
        width=width,
    )


def table_text(table: Table, width: int | None = None) -> str:
    """``table`` as aligned text (``rich``), at most ``width`` characters a line when given:
    words are cut with an ellipsis where they must be, numbers never. A section heading is
    a line of its own over its rows, which are indented under it."""
    rows = [row for row in table.rows if not isinstance(row, str)]
    sectioned = len(rows) < len(table.rows)
    indent = "  " if sectioned else ""
    headed = any(column.heading for column in table.columns)
    grid = RichTable(
        *(
            _rich_column(column, [_cell(row[i]) for row in rows], headed=headed, fitted=bool(width))
            for i, column in enumerate(table.columns)
        ),
        box=None,
        pad_edge=False,
        padding=(0, 1),
        show_edge=False,
        show_header=headed,
        header_style="",
    )
    for row in rows:
        grid.add_row(*(Text(visible(_cell(value).text)) for value in row))
    out = io.StringIO()
    console = Console(
        file=out,
        width=(width - len(indent)) if width else 100_000,
        color_system=None,
        force_jupyter=False,  # in a kernel rich would draw into the notebook, not the string
        force_interactive=False,
        highlight=False,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(grid)
    drawn = [indent + line.rstrip() for line in out.getvalue().splitlines()]
    lines = [table.title] if table.title else []
    lines += drawn[:headed]
    body = iter(drawn[headed:])
    lines += [visible(row) if isinstance(row, str) else next(body) for row in table.rows]
    lines += list(body)  # none, unless a wrapped cell took more than one line
    return "\n".join([*lines, *(visible(note) for note in table.notes)])


def in_blocks(table: Table, chars: int) -> list[Table]:
    """``table`` as tables whose lines fit ``chars`` characters: the row labels (``head``
    columns) in each, the other columns in as many blocks as it takes."""
    rows = [row for row in table.rows if not isinstance(row, str)]
    keys = [i for i, column in enumerate(table.columns) if column.head]
    figures = [i for i in range(len(table.columns)) if i not in keys]

    def taken(i: int) -> int:
        return 2 + text_chars(table.columns[i], [_cell(row[i]) for row in rows])

    room = chars - sum(taken(i) for i in keys)
    blocks: list[list[int]] = [[]]
    used = 0
    for i in figures:
        if blocks[-1] and used + taken(i) > room:
            blocks.append([])
            used = 0
        blocks[-1].append(i)
        used += taken(i)
    return [
        replace(
            table,
            columns=[table.columns[i] for i in shown],
            rows=[row if isinstance(row, str) else [row[i] for i in shown] for row in table.rows],
            notes=table.notes if n == len(blocks) - 1 else (),
            title=table.title if n == 0 else "",
        )
        for n, shown in enumerate(keys + block for block in blocks)
    ]


class ShownGrid(Protocol):
    """A question × arm grid: its static HTML and text, and ``wire()``, the plain values its
    view (js/src/runs_table_grid.js) draws: ``title``, ``arms``, ``expected``, ``rows`` of
    ``question``, ``expected`` and ``cells`` (each ``id``, ``answer``, ``scores``,
    ``errors``), and ``notes``."""

    def to_html(self) -> str: ...

    def to_text(self) -> str: ...

    def wire(self) -> dict[str, Any]: ...

    def beside(self, local_ids: Sequence[str]) -> dict[str, str] | None:
        """A display bundle shown under the runs Open or Compare shows (``local_ids``: its
        runs), or None: what the grid's owner adds (an experiment: the changes they made)."""
        ...
