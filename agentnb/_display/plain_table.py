"""Small tables of plain texts (connections, agent listings, ``%agent_config``): one table,
HTML in a notebook and aligned text fitted to the terminal elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence

from .table import Column, Table, table_html, table_text
from .terminal import terminal_width

__all__ = ["PlainTable"]


class PlainTable:
    """``header`` and ``rows`` of plain text; the columns numbered in ``code`` are set as
    code, the last one wraps in text."""

    def __init__(
        self,
        header: Sequence[str],
        rows: Iterable[Sequence[str]],
        *,
        code: Sequence[int] = (),
        title: str = "",
        notes: Sequence[str] = (),
    ) -> None:
        last = len(header) - 1
        columns = [Column(h, code=i in code, wrap=i == last) for i, h in enumerate(header)]
        self.table = Table(columns, [list(row) for row in rows], title=title, notes=notes)

    def __repr__(self) -> str:
        return table_text(self.table, terminal_width(sys.stdout))

    def _repr_html_(self) -> str:
        return table_html(self.table)
