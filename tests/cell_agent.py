"""A scripted Chat Completions agent that works in the notebook through agentnb's notebook
tools: it lists the cells, adds a cell that prints, edits it (naming the hash the add gave),
runs it, and answers quoting what the cell printed. Each step is read from the request itself
(the last tool result it carries), so any number of runs may share it; a denial or an error
ends the run with an answer that quotes it. Serve it with
``agentnb_testing.serving_asgi(cell_agent)`` (base URL + ``/v1``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reading_agent import chat_agent, chunk

__all__ = ["ADDED", "EDITED", "cell_agent"]

ADDED = "print('agent was here')"
EDITED = "print('agent was here', 6 * 7)"
_NAMED = re.compile(r"cell (\S+) \(source hash ([0-9a-f]{16})\)")


def _answer(text: str) -> list[bytes]:
    return [chunk({"role": "assistant", "content": text}), chunk({}, "stop")]


def _call(name: str, arguments: dict[str, Any], step: int) -> list[bytes]:
    call = {"index": 0, "id": f"cell_{step}", "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}  # fmt: skip
    return [chunk({"role": "assistant", "tool_calls": [call]}), chunk({}, "tool_calls")]


def _frames(body: dict[str, Any]) -> list[bytes]:
    messages = body.get("messages", [])
    asked = next(str(m.get("content", "")) for m in messages if m.get("role") == "user")
    step = sum(1 for m in messages if m.get("role") == "assistant")
    last = str(messages[-1].get("content", "")) if step else ""
    mode, _, rest = asked.partition(": ")
    if mode in HOSTILE:
        return HOSTILE[mode](rest, step, last)
    if step == 0:
        return _call("notebook_list_cells", {}, step)
    if step == 1:
        return _call("notebook_add_cell", {"source": ADDED}, step)
    named = _NAMED.search(last)
    if step in (2, 3) and named is not None:
        cell_id, seen = named.groups()
        if step == 2:
            arguments = {"cell_id": cell_id, "source": EDITED, "source_hash": seen}
            return _call("notebook_edit_cell", arguments, step)
        return _call("notebook_run_cell", {"cell_id": cell_id, "source_hash": seen}, step)
    printed = [line for line in last.splitlines() if line.startswith("agent was here")]
    return _answer(f"The cell printed: {printed[0]}" if printed else f"Stopped: {last[:300]}")


def _run(code: str, step: int, last: str) -> list[bytes]:
    """``Run: code``: add the code, run it, answer with what came back."""
    named = _NAMED.search(last)
    if step == 0:
        return _call("notebook_add_cell", {"source": code}, step)
    if step == 1 and named is not None:
        cell_id, seen = named.groups()
        return _call("notebook_run_cell", {"cell_id": cell_id, "source_hash": seen}, step)
    return _answer(f"Ran: {last}")


def _markdown(text: str, step: int, last: str) -> list[bytes]:
    """``Markdown: text``: add it as a markdown cell."""
    if step == 0:
        return _call("notebook_add_cell", {"source": text, "cell_type": "markdown"}, step)
    return _answer(f"Added: {last}")


def _edit(cell_id: str, step: int, last: str) -> list[bytes]:
    """``Edit: id``: edit the cell ``id`` (of another notebook)."""
    if step == 0:
        arguments = {"cell_id": cell_id, "source": "1", "source_hash": "0" * 16}
        return _call("notebook_edit_cell", arguments, step)
    return _answer(f"Stopped: {last}")


def _flood(_: str, step: int, last: str) -> list[bytes]:
    """``Flood: ``: sixteen adds a step, as many steps as the client allows."""
    if "the most" in last:
        return _answer(f"Stopped: {last}")
    calls = [
        {"index": i, "id": f"add_{step}_{i}", "type": "function",
         "function": {"name": "notebook_add_cell", "arguments": json.dumps({"source": f"# {i}"})}}
        for i in range(16)
    ]  # fmt: skip
    return [chunk({"role": "assistant", "tool_calls": calls}), chunk({}, "tool_calls")]


HOSTILE: dict[str, Callable[[str, int, str], list[bytes]]] = {
    "Run": _run,
    "Markdown": _markdown,
    "Edit": _edit,
    "Flood": _flood,
}
"""What a message ``Mode: rest`` makes the agent do instead of its plain work."""


cell_agent = chat_agent(_frames)
"""The ASGI app."""
