"""A finance run streamed from the built-in server and what it comes to, to compare runs cut
and resumed (or applied another way) with one streamed whole: the `Outcome` of a run (text,
reasoning, tools, usage, follow-ups and the order of its content) and a client whose retry
waits are recorded in ``.waits``, not slept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentnb_testing import RecordedSleeps, client_for

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.run import Run
from agentnb.events import Event, ReasoningDelta, TextDelta, ToolCallDelta, ToolCallStarted
from agentnb.server import ServerHandle

__all__ = ["QUESTION", "Outcome", "client_with_waits", "comparable", "outcome", "stream_all"]

QUESTION = "What is NVDA trading at, and how did it move this week?"


def client_with_waits(
    server: ServerHandle, provider: str, fault: str | None = None, **options: Any
) -> AsyncAgentClient:
    """The shared ``client_for`` (with the server fault ``fault``), its waits recorded in
    ``.waits`` instead of slept."""
    client = client_for(server, provider, fault=fault, **options)
    waits = RecordedSleeps()
    client.transport.sleep = waits  # type: ignore[method-assign]
    client.waits = waits  # type: ignore[attr-defined]
    return client


@dataclass
class Outcome:
    text: str
    reasoning: str
    tools: list[tuple[str, Any, Any, str]]
    usage: Any
    followups: list[str]
    content: list[tuple[str, str]]


def outcome(run: Run, events: list[Event]) -> Outcome:
    content = []
    calls: dict[str, str] = {}  # call ids differ per run: compare them by order
    for e in events:
        if isinstance(e, TextDelta | ReasoningDelta):
            content.append((e.type, e.delta))
        elif isinstance(e, ToolCallStarted):
            content.append((e.type, calls.setdefault(e.call_id, f"call #{len(calls)}")))
        elif isinstance(e, ToolCallDelta):
            content.append((e.type, e.arguments_delta))
    return Outcome(
        text=run.text,
        reasoning=run.reasoning,
        tools=[(c.name, c.arguments, c.output, c.status) for c in run.tool_calls],
        usage=run.usage.model_dump() if run.usage else None,
        followups=list(run.followups),
        content=content,
    )


def comparable(found: Outcome, baseline: Outcome) -> Outcome:
    """Usage is the server's count for each run; the finance answer is deterministic."""
    return Outcome(**{**found.__dict__, "usage": baseline.usage})


async def stream_all(
    client: AsyncAgentClient, agent: str = "finance_agent"
) -> tuple[Run, list[Event], str | None]:
    async with client.stream(agent, QUESTION, followups=True) as stream:
        events = [event async for event in stream]
    return stream.run, events, stream.last_event_id
