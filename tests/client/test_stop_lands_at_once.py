"""A Stop lands where it is given: nothing that arrived after it is applied to the run.

A busy machine (or a fast platform) hands the client many frames in one read, and those
used to be applied one after another before the cancelled task reached its next await: a
listener stopping a run past 300 characters got 313 on a quiet machine and 513 on a busy one
(the quickstart notebook's cell). Here the server sends the whole answer in one write, the
burst a busy machine sees, and holds the connection open."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

import agentnb
from agentnb import Run, RunCancelledError
from agentnb._app.front.connections import connect, disconnect
from agentnb._client.clock import RunClock
from agentnb._client.recording import RunRecording
from agentnb._client.run_feed import RunFeed
from agentnb._core.request import RunRequest
from agentnb.events import Event, RunCompleted
from agentnb.providers import get_provider
from agentnb.sse import ServerSentEvent

PIECE = "0123456789"
PIECES = 60


def chunk(content: str) -> bytes:
    """One OpenAI ``chat.completion.chunk`` frame carrying answer text."""
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


def adk_chunk(content: str) -> bytes:
    """One Google ADK event frame carrying partial answer text."""
    body = {"invocationId": "i1", "partial": True, "content": {"parts": [{"text": content}]}}
    return f"data: {json.dumps(body)}\n\n".encode()


LISTENING = threading.Event()
"""Set once the test's listener is on the run: the burst comes after it (a listener joins
on agentnb's loop, and one joining after the whole burst was applied would see nothing)."""


async def the_answer_after_the_listener(frames: bytes, conn: Conn) -> None:
    await asyncio.to_thread(LISTENING.wait, PATIENCE_S)
    await conn.send(sse_head() + frames)


async def the_answer_in_one_burst(conn: Conn, request: Request) -> None:
    await the_answer_after_the_listener(chunk(PIECE) * PIECES, conn)
    await asyncio.sleep(PATIENCE_S)  # the run's end never comes: only a Stop ends it


async def adk_s_answer_in_one_burst_and_its_end(conn: Conn, request: Request) -> None:
    """ADK's server: a session made, then a run whose stream ends when it is over, here at
    once after its burst: the end that means "completed" arrives with the Stop."""
    if request.path.endswith("/sessions"):
        body = json.dumps({"id": "s1"}).encode()
        head = http_head("200 OK", {"Content-Type": "application/json"})
        await conn.send(head + body)
        return
    await the_answer_after_the_listener(adk_chunk(PIECE) * PIECES, conn)


BURSTS = {
    "openai-holding-on": ("openai", the_answer_in_one_burst),
    "adk-ending-at-once": ("adk", adk_s_answer_in_one_burst_and_its_end),
}


@pytest.fixture(params=sorted(BURSTS))
def burst_server(request: pytest.FixtureRequest) -> Iterator[HostileServer]:
    provider, handler = BURSTS[request.param]
    LISTENING.clear()
    with HostileServer(handler) as srv:
        connect(provider, base_url=srv.url, name="burst", api_key="k", record=False)
        try:
            yield srv
        finally:
            disconnect("burst")


@pytest.mark.parametrize("stop_past", [0, 35, 300])
def test_a_listener_s_stop_keeps_the_text_it_saw(
    burst_server: HostileServer, stop_past: int
) -> None:
    seen_at_stop: list[str] = []
    handle = agentnb.ask("m", "hi", via="burst", display=False)

    def stop_past_the_mark(run: Run, event: Event | None) -> None:
        if event is not None and len(run.text) > stop_past and not seen_at_stop:
            seen_at_stop.append(run.text)
            handle.cancel()

    handle.add_listener(stop_past_the_mark)
    LISTENING.set()
    with pytest.raises(RunCancelledError) as stopped:
        handle.wait(timeout=PATIENCE_S)
    expected = PIECE * (stop_past // len(PIECE) + 1)
    assert seen_at_stop == [expected]
    assert stopped.value.partial_text == expected
    assert handle.run.text == expected and handle.run.status == "cancelled"


def test_the_end_a_stream_brings_after_a_stop_is_not_the_runs() -> None:
    """The end of the body read in the same read as the Stop (ADK's stream ends when its run
    is over, so its end means "completed") is dropped with the frames: the run stays stopped.
    Driven on the feed itself: over a socket the body's end is seen after a turn of the event
    loop, where the cancellation lands first, save on a machine too busy to be made so."""
    run = Run(agent="a", message="hi")
    feed = RunFeed(run, RunClock(None, None), RunRecording(None, run), lambda event: event)
    feed.restart(get_provider("adk").translator(RunRequest(agent="a", message="hi")))
    applied: list[Event] = []
    feed.inline = applied.append
    frame = ServerSentEvent(data=adk_chunk(PIECE).decode().removeprefix("data: ").strip())
    assert feed.on_frame(frame) and run.text == PIECE
    feed.halt()
    assert feed.on_frame(frame) and run.text == PIECE  # a frame after the Stop: dropped
    assert feed.on_end() and feed.queue == []  # no RunCompleted waits for the stream's task
    assert all(not isinstance(event, RunCompleted) for event in applied)
