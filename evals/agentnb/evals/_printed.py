"""A result a notebook prints as its text: what every result of the evaluation shown as a
table or a few lines shares."""

from __future__ import annotations

from typing import Any

__all__ = ["PrintedAsText"]


class PrintedAsText:
    """``repr`` and IPython's pretty printer are the result's ``to_text()`` (a dataclass
    using it is declared with ``repr=False``, or its generated ``repr`` would win)."""

    __slots__ = ()

    def to_text(self) -> str:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())
