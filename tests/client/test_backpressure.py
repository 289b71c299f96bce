"""A consumer that pauses holds the server back: the client reads the socket only as the run's
reader pulls, so what a paused iteration leaves unread stays in aiohttp's bounded buffer and
the kernel's, and the server's writes block. Against a raw-socket server that counts what it
managed to write."""

from __future__ import annotations

import asyncio
import json
import time

from agentnb_testing import patient_polls
from hostile_server import Conn, HostileServer, Request, sse_head

from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.sync import AgentClient
from agentnb.events import TextDelta

PIECE = "x" * 4000
FLOOD = 64 * 1024 * 1024
"""Bytes the server tries to write while the consumer pauses."""


def frame(content: str) -> bytes:
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


END = b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'


async def test_a_paused_iteration_stops_the_socket_reads_and_loses_nothing() -> None:
    written = 0
    batch = frame(PIECE) * 16

    async def flood(conn: Conn, request: Request) -> None:
        nonlocal written
        await conn.send(sse_head())
        while written < FLOOD:
            await conn.send(batch)
            written += len(batch)
        await conn.send(END)

    with HostileServer(flood) as srv:
        client = AsyncAgentClient("openai", base_url=srv.url, record=False, max_run_mib=None)
        try:
            stream = client.stream("m", "hi")
            deltas = 0
            async for event in stream:
                deltas += isinstance(event, TextDelta)
                if deltas == 3:
                    break  # the consumer pauses, the stream stays open
            settled = -1
            for _ in patient_polls():  # until the server's writes stop getting anywhere
                if written == settled:
                    break
                settled = written
                await asyncio.sleep(0.1)
            held_back = written
            async for event in stream:  # the consumer comes back: the rest, all of it
                deltas += isinstance(event, TextDelta)
        finally:
            await client.aclose()
    assert held_back < FLOOD // 4, f"the server wrote {held_back:,} bytes to a paused consumer"
    assert stream.run.status == "completed"
    assert deltas == written // len(frame(PIECE))
    assert len(stream.run.text) == deltas * len(PIECE)


def test_a_paused_sync_iteration_stops_the_socket_reads_too() -> None:
    """The sync face runs the stream on agentnb's loop: it reads ahead only a few events of a
    consumer that stopped asking for them."""
    written = 0
    batch = frame(PIECE) * 16

    async def flood(conn: Conn, request: Request) -> None:
        nonlocal written
        await conn.send(sse_head())
        while written < FLOOD:
            await conn.send(batch)
            written += len(batch)
        await conn.send(END)

    with (
        HostileServer(flood) as srv,
        AgentClient("openai", base_url=srv.url, record=False, max_run_mib=None) as c,
        c.stream("m", "hi") as stream,
    ):
        deltas = 0
        for event in stream:
            deltas += isinstance(event, TextDelta)
            if deltas == 3:
                break  # the consumer pauses, the stream stays open
        settled = -1
        for _ in patient_polls():  # until the server's writes stop getting anywhere
            if written == settled:
                break
            settled = written
            time.sleep(0.1)
        held_back = written
        for event in stream:
            deltas += isinstance(event, TextDelta)
    assert held_back < FLOOD // 4, f"the server wrote {held_back:,} bytes to a paused consumer"
    assert stream.run.status == "completed"
    assert deltas == written // len(frame(PIECE))
