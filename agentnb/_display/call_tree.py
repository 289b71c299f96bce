"""A run's tool calls as the tree the views draw: which calls sit inside which.

A call is drawn inside its parent (``ToolCall.parent_call_id``) only when that parent
arrived before it; any other call is drawn at the top, where its own part is. The rule needs
no trust in the platform: a parent that never came (a path to no known call), a call naming
itself, or two calls naming each other cannot make a cycle or hide a call, and the live view
(js/src/tree.js) reaches the same tree from the same order.

Deep trees are walked without recursion, and the views cap the indentation at
:data:`MAX_INDENT` levels (a deeper call says its depth instead).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from .._core.run import ToolCall

__all__ = ["MAX_INDENT", "CallTree", "call_tree", "sub_agent_name"]

MAX_INDENT = 8
"""Levels of nesting the views indent; deeper calls stay at this indent and show their depth."""


@dataclass
class CallTree:
    """The calls of one run, each with the calls drawn inside it and its nesting level."""

    children: dict[str, list[ToolCall]] = field(default_factory=dict)
    level: dict[str, int] = field(default_factory=dict)
    """0 for a call drawn at the top, its parent's level + 1 inside it."""

    def is_nested(self, call: ToolCall) -> bool:
        return self.level.get(call.call_id, 0) > 0

    def inside(self, call: ToolCall) -> list[ToolCall]:
        """The calls drawn directly inside ``call``, in arrival order."""
        return self.children.get(call.call_id, [])

    def walk(self, root: ToolCall) -> Iterator[tuple[ToolCall, bool]]:
        """``(call, True)`` when a call opens and ``(call, False)`` when it closes, depth
        first from ``root``, without recursion (a path can be thousands of calls deep)."""
        stack: list[tuple[ToolCall, bool]] = [(root, True)]
        while stack:
            call, opening = stack.pop()
            yield call, opening
            if opening:
                stack.append((call, False))
                stack.extend((child, True) for child in reversed(self.inside(call)))


def call_tree(calls: Sequence[ToolCall]) -> CallTree:
    """The tree of ``calls`` (a run's ``tool_calls``, in arrival order)."""
    tree = CallTree()
    for call in calls:
        parent = call.parent_call_id
        if parent is not None and parent in tree.level:
            tree.children.setdefault(parent, []).append(call)
            tree.level[call.call_id] = tree.level[parent] + 1
        else:
            tree.level[call.call_id] = 0
    return tree


def sub_agent_name(call: ToolCall, tree: CallTree) -> str | None:
    """The agent working inside ``call``, where the platform named it: the one ``Run`` kept
    from its text, reasoning or calls, else the agent of the calls drawn inside it."""
    if call.sub_agent:
        return call.sub_agent
    return next((child.agent for child in tree.inside(call) if child.agent), None)
