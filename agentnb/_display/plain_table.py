"""A small HTML table of plain texts (agent cards, listings) on the one table model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .table import Column, Table, table_html


def plain_table(
    header: Sequence[str], rows: Iterable[Sequence[str]], *, code: Sequence[int] = ()
) -> str:
    """``header`` and ``rows`` (plain text) as an HTML table; the columns numbered in
    ``code`` are set as code."""
    columns = [Column(title, code=i in code) for i, title in enumerate(header)]
    return table_html(Table(columns, [list(row) for row in rows]))
