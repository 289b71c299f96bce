"""The handle of something running (a server's thread, a notebook's MCP server) that a
``with`` block stops at its end."""

from __future__ import annotations

import abc
from types import TracebackType
from typing import Self

__all__ = ["Stoppable"]


class Stoppable(abc.ABC):
    @abc.abstractmethod
    def stop(self) -> None:
        """Stop it. Safe to call more than once."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
