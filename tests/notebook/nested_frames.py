"""A SeekrFlow run with sub-agents, as the platform streams it (``data-nestedToolEvent``
parts, seekrai 0.34's shapes) and as agentnb's own SeekrFlow translator reads it.

``planner`` asks two sub-agents at once through ``research`` calls ``r1`` and ``r2``; each
thinks, writes, and calls ``get_price`` with the same id ``p1`` (kept apart by their paths);
the sub-agent of ``r1`` goes on to a ``verify`` call nested one level deeper.
"""

from __future__ import annotations

import json
from typing import Any

from agentnb._core.run import Run
from agentnb.events import Event
from agentnb.providers.seekrflow import SeekrFlowVercel
from agentnb.sse import ServerSentEvent
from agentnb.types import RunRequest

TOP_TEXT = "NVDA trades at 181.2; AMD at 160."
SUB_TEXT = "Looking up NVDA for the planner."
SUB_REASONING = "The planner wants a price."


def nested(chunk: dict[str, Any], path: list[str], agent: str | None = None) -> dict[str, Any]:
    if agent is not None:
        chunk = {**chunk, "providerMetadata": {"metadata": {"agent_id": agent}}}
    data = {"toolCallPath": path, "depth": len(path), "sourceToolName": "research", "chunk": chunk}
    return {"type": "data-nestedToolEvent", "data": data}


def started(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {
        "type": "tool-input-available",
        "toolCallId": call_id,
        "toolName": name,
        "input": arguments,
    }


def finished(call_id: str, output: Any) -> dict[str, Any]:
    return {"type": "tool-output-available", "toolCallId": call_id, "output": output}


def text(delta: str) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t", "delta": delta}


def reasoning(delta: str) -> dict[str, Any]:
    return {"type": "reasoning-delta", "id": "r", "delta": delta}


def nested_run_frames() -> list[dict[str, Any]]:
    """The stream's parts, in order (a ``finish`` part at the end)."""
    return [
        {"type": "start", "messageId": "m1"},
        started("r1", "research", {"ticker": "NVDA"}),
        started("r2", "research", {"ticker": "AMD"}),
        nested(reasoning(SUB_REASONING), ["r1"], "researcher"),
        nested(text(SUB_TEXT), ["r1"], "researcher"),
        nested(text("Looking up AMD."), ["r2"], "analyst"),
        nested(started("p1", "get_price", {"ticker": "NVDA"}), ["r1", "p1"], "researcher"),
        nested(started("p1", "get_price", {"ticker": "AMD"}), ["r2", "p1"], "analyst"),
        nested(finished("p1", {"price": 160.0}), ["r2", "p1"]),
        nested(finished("p1", {"price": 181.2}), ["r1", "p1"]),
        nested(started("v1", "verify", {"price": 181.2}), ["r1", "p1", "v1"], "checker"),
        nested(finished("v1", "ok"), ["r1", "p1", "v1"]),
        finished("r1", "NVDA is at 181.2"),
        finished("r2", "AMD is at 160"),
        text(TOP_TEXT),
        {"type": "finish"},
    ]


def deep_run_frames(depth: int = 50) -> list[dict[str, Any]]:
    """One call per level, ``depth`` levels deep, each by its own agent, then an answer."""
    path = [f"d{i}" for i in range(depth)]
    frames: list[dict[str, Any]] = [{"type": "start", "messageId": "m1"}, started("d0", "ask", {})]
    for level in range(1, depth):
        chunk = started(path[level], f"level_{level}", {"level": level})
        frames.append(nested(chunk, path[: level + 1], f"agent_{level}"))
    frames += [text("deep done"), {"type": "finish"}]
    return frames


def events_from_frames(frames: list[dict[str, Any]]) -> list[Event]:
    """The events SeekrFlow's translator reads from ``frames``."""
    request = RunRequest(agent="planner", message="Compare NVDA and AMD", thread_id="t1")
    translator = SeekrFlowVercel().translator(request)
    events: list[Event] = []
    for frame in frames:
        events += translator.translate(ServerSentEvent(data=json.dumps(frame)))
    return events


def run_from_frames(frames: list[dict[str, Any]], *, agent: str = "planner") -> Run:
    """The `Run` SeekrFlow's translator folds from ``frames`` (times 1 s apart)."""
    run = Run(agent=agent, message="Compare NVDA and AMD")
    run.start(at=1000.0)
    for i, event in enumerate(events_from_frames(frames)):
        run.apply(event.model_copy(update={"received_at": 1001.0 + i}))
    return run
