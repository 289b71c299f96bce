"""AsyncRunStream.consume: a run applied as the event loop reads it (what every background run,
client.run and batch use) gives the same events, in the same order, with the run folded the
same way, as iterating the stream; a cut at any point in it loses and repeats nothing; and
it steps the iteration only for the events the stream's task handles itself."""

from __future__ import annotations

import random
from typing import Any

import pytest
from run_outcomes import QUESTION, client_with_waits, comparable, outcome, stream_all

from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.stream import AsyncRunStream
from agentnb._core.run import Run
from agentnb.events import Event, RunCompleted, RunStarted
from agentnb.server import DIALECT_PROVIDERS, ServerHandle

PROVIDERS = sorted(DIALECT_PROVIDERS)  # the dialects the built-in server speaks
AGENTS = ["finance_agent", "research_team"]


def shape(event: Event) -> dict[str, Any]:
    """An event without what differs per run (ids, times, usage)."""
    data = event.model_dump(
        exclude={"received_at", "run_id", "thread_id", "usage", "execution_time"}
    )
    return {k: v for k, v in data.items() if not k.endswith("call_id") and k != "approval_id"}


async def iterated(client: AsyncAgentClient, agent: str) -> tuple[Run, list[Event]]:
    async with client.stream(agent, QUESTION, followups=True) as stream:
        events = [event async for event in stream]
    return stream.run, events


async def consumed(client: AsyncAgentClient, agent: str) -> tuple[Run, list[Event], list[int]]:
    """The run consumed, its events as the callback got them, and the run's event count
    each time (the event is applied before the callback sees it)."""
    events: list[Event] = []
    counts: list[int] = []
    stream = client.stream(agent, QUESTION, followups=True)

    def seen(event: Event) -> None:
        events.append(event)
        counts.append(stream.run.event_count)

    async with stream:
        await stream.consume(seen)
    return stream.run, events, counts


@pytest.mark.parametrize("agent", AGENTS)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_consuming_gives_the_events_and_run_iterating_gives(
    server: ServerHandle, provider: str, agent: str
) -> None:
    async with client_with_waits(server, provider) as client:
        run_a, events_a = await iterated(client, agent)
        run_b, events_b, counts = await consumed(client, agent)
    assert run_b.status == run_a.status == "completed"
    assert [shape(e) for e in events_b] == [shape(e) for e in events_a]
    assert [e.seq for e in events_b] == list(range(len(events_b)))
    assert counts == [e.seq + 1 for e in events_b]
    expected = outcome(run_a, events_a)
    assert comparable(outcome(run_b, events_b), expected) == expected


async def test_a_consumed_run_steps_the_iteration_only_for_its_end(server: ServerHandle) -> None:
    steps: list[type[Event]] = []
    original = AsyncRunStream.__anext__

    async def counted(self: AsyncRunStream) -> Event:
        event = await original(self)
        steps.append(type(event))
        return event

    AsyncRunStream.__anext__ = counted  # type: ignore[method-assign]
    try:
        async with client_with_waits(server, "operativus") as client:
            run, events, _ = await consumed(client, "finance_agent")
    finally:
        AsyncRunStream.__anext__ = original  # type: ignore[method-assign]
    assert run.status == "completed" and len(events) > 20
    assert steps == [RunCompleted], "every other event was applied as it was read"
    assert isinstance(events[0], RunStarted)


async def test_cuts_at_random_points_of_a_consumed_run_lose_and_repeat_nothing(
    server: ServerHandle,
) -> None:
    rng = random.Random(20261123)
    for provider in PROVIDERS:
        # ids on the baseline only, to count its frames: SeekrFlow's cuts have none
        async with client_with_waits(server, provider, "ids") as client:
            run, events, last_id = await stream_all(client)
        baseline = outcome(run, events)
        assert last_id is not None and run.status == "completed"
        frames = int(last_id.rpartition(":")[2]) + 1
        for _ in range(3):
            cut = rng.randrange(1, frames)
            async with client_with_waits(server, provider, f"drop-after={cut}") as client:
                run, found, _ = await consumed(client, "finance_agent")
            assert run.status == "completed", (provider, cut, run.error)
            assert run.resumes == 1, (provider, cut)
            assert comparable(outcome(run, found), baseline) == baseline, (provider, cut)
            assert [e.seq for e in found] == list(range(len(found)))
