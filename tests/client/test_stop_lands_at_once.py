"""A Stop lands where it is given: nothing that arrived after it is applied to the run.

A busy machine (or a fast platform) hands the client many frames in one read, and those
used to be applied one after another before the cancelled task reached its next await: a
listener stopping a run past 300 characters got 313 on a quiet machine and 513 on a busy one
(the quickstart notebook's cell). Here the server sends the whole answer in one write, the
burst a busy machine sees, and holds the connection open."""

from __future__ import annotations

import asyncio
import json

import pytest
from agentnb_testing import PATIENCE_S
from hostile_server import Conn, HostileServer, Request, sse_head

import agentnb
from agentnb import Run, RunCancelledError
from agentnb._app.connections import connect, disconnect
from agentnb.events import Event

PIECE = "0123456789"
PIECES = 60


def chunk(content: str) -> bytes:
    """One OpenAI ``chat.completion.chunk`` frame carrying answer text."""
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


async def the_answer_in_one_burst(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + chunk(PIECE) * PIECES)
    await asyncio.sleep(PATIENCE_S)  # the run's end never comes: only a Stop ends it


@pytest.fixture
def burst_server() -> object:
    with HostileServer(the_answer_in_one_burst) as srv:
        connect("openai", base_url=srv.url, name="burst", api_key="k", record=False)
        try:
            yield srv
        finally:
            disconnect("burst")


@pytest.mark.parametrize("stop_past", [0, 35, 300])
def test_a_listener_s_stop_keeps_the_text_it_saw(burst_server: object, stop_past: int) -> None:
    seen_at_stop: list[str] = []
    handle = agentnb.ask("m", "hi", via="burst", display=False)

    def stop_past_the_mark(run: Run, event: Event | None) -> None:
        if event is not None and len(run.text) > stop_past and not seen_at_stop:
            seen_at_stop.append(run.text)
            handle.cancel()

    handle.add_listener(stop_past_the_mark)
    with pytest.raises(RunCancelledError) as stopped:
        handle.wait(timeout=PATIENCE_S)
    expected = PIECE * (stop_past // len(PIECE) + 1)
    assert seen_at_stop == [expected]
    assert stopped.value.partial_text == expected
    assert handle.run.text == expected and handle.run.status == "cancelled"
