"""The text or reasoning block each agent of a run has open, for the dialects that stream an
answer as blocks (AG-UI's messages, the AI SDK's parts): a block opens with its first delta,
takes the deltas of its kind, and closes when a delta of the other kind comes (which opens the
next), when the agent does something else, or when the call that started a sub-agent ends.
The dialect renders a block's start and end; this keeps which one is open where."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .. import _steps as steps

__all__ = ["Block", "Kind", "OpenBlocks"]

Kind = Literal["text", "reasoning"]
"""What a block holds: the answer's text or reasoning."""


@dataclass(frozen=True)
class Block:
    kind: Kind
    id: str
    """The block's id on the wire (the dialect names it: ``OpenBlocks(name)``)."""
    where: steps.SubAgent | None
    """The sub-agent whose block it is (``None``: the top agent's)."""

    @property
    def path(self) -> tuple[str, ...]:
        return self.where.path if self.where is not None else ()


class OpenBlocks:
    """The block open for each agent of one run; ``name(kind, number)`` is the id of the
    ``number``-th block it opens (from 1)."""

    def __init__(self, name: Callable[[Kind, int], str]) -> None:
        self.name = name
        self.open: dict[tuple[str, ...], Block] = {}
        self.count = 0

    def delta(
        self, step: steps.Text | steps.Reasoning, where: steps.SubAgent | None = None
    ) -> tuple[list[Block], list[Block], Block]:
        """A delta comes (of a sub-agent's when ``where``): the block it closes (one of the
        other kind), the one it opens (when none of its kind was), and the block it goes in."""
        kind: Kind = "text" if isinstance(step, steps.Text) else "reasoning"
        path = where.path if where is not None else ()
        current = self.open.get(path)
        if current is not None and current.kind == kind:
            return [], [], current
        closed = self.close(path)
        self.count += 1
        block = self.open[path] = Block(kind, self.name(kind, self.count), where)
        return closed, [block], block

    def close(self, path: tuple[str, ...] = ()) -> list[Block]:
        """The agent at ``path`` (the top one by default) does something else: its open block,
        if any, closes."""
        current = self.open.pop(path, None)
        return [] if current is None else [current]

    def close_inside(self, call_path: tuple[str, ...]) -> list[Block]:
        """A delegating call ends: the blocks its sub-agents (and theirs) left open close."""
        inside = [path for path in self.open if path[: len(call_path)] == call_path]
        return [block for path in inside for block in self.close(path)]

    def close_all(self) -> list[Block]:
        return [block for path in list(self.open) for block in self.close(path)]
