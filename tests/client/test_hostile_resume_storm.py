"""A server that cuts the stream after every event cannot make the client reconnect without
end: resumes back off with jitter, count as progress only when the run advanced, and are
bounded per minute and per run. Raw-socket servers on 127.0.0.1; the client's one sleep seam
records the waits instead of sleeping them, so the bounds are read, not timed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agentnb_testing import RecordedSleeps
from hostile_server import Conn, HostileServer, Request, sse_head

from agentnb import RunInterruptedError
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.retry import RetryPolicy


def client(provider: str, url: str, retry: RetryPolicy | None = None) -> AsyncAgentClient:
    c = AsyncAgentClient(provider, base_url=url, record=False)
    c.transport.sleep = RecordedSleeps()  # type: ignore[method-assign]
    if retry is not None:
        c.retry = c.transport.retry = retry
    return c


def openai_chunk(event_id: int, text: str) -> bytes:
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": text}}]}
    return f"id: {event_id}\ndata: {json.dumps(body)}\n\n".encode()


def ui_chunk(event_id: int, part: dict[str, Any]) -> bytes:
    return f"id: {event_id}\ndata: {json.dumps(part)}\n\n".encode()


def ui_first_events() -> bytes:
    return ui_chunk(0, {"type": "start", "messageId": "m1"}) + ui_chunk(
        1, {"type": "text-start", "id": "t1"}
    )


def next_id(request: Request) -> int:
    """The event after the one the client last saw (0 on the first request)."""
    last = request.headers.get("last-event-id")
    return int(last) + 1 if last is not None else 0


DIALECT_FRAMES = {
    "openai": lambda request: openai_chunk(next_id(request), "x"),
    "vercel": lambda request: (
        ui_first_events()
        if next_id(request) == 0
        else ui_chunk(next_id(request), {"type": "text-delta", "id": "t1", "delta": "x"})
    ),
}


@pytest.mark.parametrize("provider", sorted(DIALECT_FRAMES))
async def test_a_server_that_cuts_after_every_event_ends_the_run_bounded(provider: str) -> None:
    """Each request brings one new event, then the connection closes: real progress, but a
    storm. The run ends interrupted after at most ``max_resumes_per_minute`` resumes, and
    the waits between them grow."""
    frames = DIALECT_FRAMES[provider]

    async def one_event_then_cut(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + frames(request))

    with HostileServer(one_event_then_cut) as srv:
        async with client(provider, srv.url) as c:
            with pytest.raises(RunInterruptedError) as caught:
                await c.run("m", "hi")
    policy = c.retry
    assert len(srv.requests) == 1 + policy.max_resumes_per_minute
    assert "within a minute" in str(caught.value)
    run = caught.value.run
    assert run is not None and run.status == "interrupted"
    assert run.resumes == policy.max_resumes_per_minute
    delays: list[float] = c.transport.sleep.delays  # type: ignore[attr-defined]
    assert delays[0] == 0.0  # the first cut after a healthy stretch resumes at once
    assert all(later > 0 for later in delays[1:])
    assert policy == RetryPolicy() and sum(delays) <= STORM_SECONDS


async def test_resumes_are_bounded_per_run_however_slowly_they_come() -> None:
    """Cuts spread out enough never to fill a minute still end the run at the per-run bound."""
    policy = RetryPolicy(max_resumes_per_minute=1_000, max_resumes_per_run=5)

    async def one_event_then_cut(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + openai_chunk(next_id(request), "x"))

    with HostileServer(one_event_then_cut) as srv:
        async with client("openai", srv.url, retry=policy) as c:
            with pytest.raises(RunInterruptedError) as caught:
                await c.run("m", "hi")
    assert len(srv.requests) == 1 + 5
    assert "6 times in this run" in str(caught.value)


async def test_frames_that_bring_nothing_new_are_not_progress() -> None:
    """A resume answered with the run's opening frame again (same id, no content) and a cut
    is a resume without progress: three in a row end the run, whatever else the frames say."""

    async def opening_again(conn: Conn, request: Request) -> None:
        if len(srv.requests) == 1:
            await conn.send(sse_head() + ui_first_events() + ui_chunk(2, text_delta("a")))
        else:
            await conn.send(sse_head() + ui_chunk(3, {"type": "start-step"}))

    with HostileServer(opening_again) as srv:
        async with client("vercel", srv.url) as c:
            with pytest.raises(RunInterruptedError) as caught:
                await c.run("m", "hi")
    assert len(srv.requests) == 1 + c.retry.max_resumes
    assert "without progress" in str(caught.value)
    assert caught.value.partial_text == "a"


def text_delta(text: str) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t1", "delta": text}


STORM_SECONDS = 0.5 + 1 + 2 + 4 + 8 + 16 + 20
"""The default policy's longest storm (docs/security.md: "at most ~52 s of waits"): the first
of its 8 resumes a minute goes at once, the next 7 wait at most their ceilings, 0.5 s
doubling up to ``max_backoff`` (20 s)."""


def test_the_storm_bound_holds_for_every_jitter() -> None:
    """The waits of a storm's resumes never add up to a minute, so the per-minute bound is
    reached within ``STORM_SECONDS`` whatever the jitter drew."""
    policy = RetryPolicy()
    assert policy.max_resumes_per_minute == 8
    for _ in range(200):
        waits = [policy.resume_delay(n, None) for n in range(policy.max_resumes_per_minute)]
        assert waits[0] == 0.0 and sum(waits) <= STORM_SECONDS < 60.0
