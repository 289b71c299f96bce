"""Small tables of plain texts (connections, agent listings, ``%agent_config``): one table,
HTML in a notebook and aligned text fitted to the terminal elsewhere."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import ClassVar, TypeVar

from .table import Column, Table, table_html, table_text
from .terminal import terminal_width

__all__ = ["ListTable", "PlainTable"]

T = TypeVar("T")


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


class ListTable(list[T]):
    """What a connection lists (its agents; an ACP agent's settings, commands, sessions),
    shown as a table (:meth:`_table`); empty, it says so (:attr:`none`)."""

    none: ClassVar[str]  # what an empty one says after the connection: "lists no agents"

    def __init__(self, connection: str, items: Iterable[T]) -> None:
        super().__init__(items)
        self.connection = connection

    def _table(self) -> PlainTable:
        raise NotImplementedError

    def __repr__(self) -> str:
        return repr(self._table()) if self else f"(connection {self.connection!r} {self.none})"

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()
