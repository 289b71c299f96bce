"""A hostile server cannot crash, hang, bloat or fool the client: raw-socket servers on
127.0.0.1 send deep JSON, absurd numbers, endless keep-alives, huge or compressed bodies,
replayed streams and requests closed after they were read. Only typed errors come out."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import tracemalloc
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, RecordedSleeps, growing_limits
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import (
    AgentClient,
    ProtocolError,
    RunInterruptedError,
    StreamTimeoutError,
    TransportError,
)
from agentnb._app.front.connections import connect, disconnect
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import StreamStallError
from agentnb._core.run import MAX_UNKNOWN_BYTES, MAX_UNKNOWN_EVENTS
from agentnb._http.content_coding import DECODE_RATIO_FLOOR
from agentnb.events import TextDelta
from agentnb.providers import HttpRequest

DEEP = "[" * 1500 + "]" * 1500
"""Tool-call arguments nested 1,500 levels deep: a 3 KB frame."""


def chunk(content: str) -> bytes:
    """One OpenAI ``chat.completion.chunk`` frame carrying answer text."""
    body = {"id": "c1", "choices": [{"index": 0, "delta": {"content": content}}]}
    return f"data: {json.dumps(body)}\n\n".encode()


def with_id(event_id: int, frame: bytes) -> bytes:
    return f"id: {event_id}\n".encode() + frame


DONE = b"data: [DONE]\n\n"


def client(provider: str, url: str, **options: Any) -> AsyncAgentClient:
    options.setdefault("record", False)
    c = AsyncAgentClient(provider, base_url=url, **options)
    c.transport.sleep = RecordedSleeps()  # type: ignore[method-assign]
    return c


# ---- only typed errors escape ----------------------------------------------------------------
async def test_deep_tool_arguments_in_openai_are_kept_as_text() -> None:
    call = {"index": 0, "id": "t1", "function": {"name": "f", "arguments": DEEP}}
    frame = {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]}

    async def stream(conn: Conn, request: Request) -> None:
        body = f"data: {json.dumps(frame)}\n\n".encode() + chunk("ok") + DONE
        await conn.send(sse_head() + body)

    with HostileServer(stream) as srv:
        async with client("openai", srv.url) as c:
            run = await c.run("m", "hi")
    assert run.status == "completed" and run.text == "ok"
    assert run.tool_calls[0].arguments == DEEP and run.tool_calls[0].arguments_text == DEEP


async def test_deep_tool_arguments_in_vercel_are_kept_as_text() -> None:
    frames = [
        {"type": "start", "messageId": "m1"},
        {"type": "tool-input-start", "toolCallId": "t1", "toolName": "f"},
        {"type": "tool-input-delta", "toolCallId": "t1", "inputTextDelta": DEEP},
        {"type": "tool-output-available", "toolCallId": "t1", "output": "fine"},
        {"type": "text-delta", "id": "0", "delta": "ok"},
        {"type": "finish"},
    ]

    async def stream(conn: Conn, request: Request) -> None:
        body = "".join(f"data: {json.dumps(f)}\n\n" for f in frames) + "data: [DONE]\n\n"
        await conn.send(sse_head() + body.encode())

    with HostileServer(stream) as srv:
        async with client("vercel", srv.url) as c:
            run = await c.run("m", "hi")
    assert run.status == "completed" and run.text == "ok"
    call = run.tool_calls[0]
    assert call.arguments == DEEP and call.output == "fine" and call.status == "succeeded"


async def test_a_frame_nested_too_deep_is_kept_verbatim() -> None:
    deep_frame = '{"a":' * 1500 + "1" + "}" * 1500

    async def stream(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + f"data: {deep_frame}\n\n".encode() + chunk("ok") + DONE)

    with HostileServer(stream) as srv:
        async with client("openai", srv.url) as c:
            run = await c.run("m", "hi")
    assert run.status == "completed" and run.unknown_events[0].data == deep_frame


async def test_an_absurd_retry_field_is_clamped() -> None:
    async def stream(conn: Conn, request: Request) -> None:
        if len(srv.requests) == 1:
            await conn.send(sse_head() + b"retry: 1" + b"0" * 400 + b"\n" + with_id(1, chunk("a")))
        elif len(srv.requests) == 2:
            await conn.send(sse_head())  # cut again at once: the next resume waits
        else:
            await conn.send(sse_head() + with_id(2, chunk("b")) + DONE)

    with HostileServer(stream) as srv:
        async with client("openai", srv.url) as c:
            run = await c.run("m", "hi")
    assert run.status == "completed" and run.text == "ab" and run.resumes == 2
    assert c.transport.sleep.delays[-1] == c.retry.max_backoff  # type: ignore[attr-defined]


# ---- time bounded --------------------------------------------------------------------------------
async def keepalives_forever(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + chunk("partial "))
    while True:
        await conn.send(b": keep-alive\n\n")
        await asyncio.sleep(0.05)


async def one_byte_at_a_time(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + chunk("partial "))
    while True:
        for byte in b"data: never finished":
            await conn.send(bytes([byte]))
            await asyncio.sleep(0.05)


async def unknown_frames_forever(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + chunk("partial "))
    while True:
        await conn.send(b'data: {"nothing": "this dialect knows"}\n\n')
        await asyncio.sleep(0.05)


@pytest.mark.parametrize(
    "handler", [keepalives_forever, one_byte_at_a_time, unknown_frames_forever]
)
async def test_idle_timeout_ends_a_stream_that_sends_no_event(handler: Any) -> None:
    for limit in growing_limits("the first event"):  # which the idle limit waits for too
        with HostileServer(handler) as srv:
            async with client("openai", srv.url, timeout=PATIENCE_S, idle_timeout=limit) as c:
                with pytest.raises(StreamStallError) as caught:
                    await c.run("m", "hi")  # the server never stops: only the idle limit ends it
        error = caught.value
        if error.partial_text:
            break
    assert isinstance(error, RunInterruptedError) and isinstance(error, StreamTimeoutError)
    assert error.partial_text == "partial " and error.run is not None
    assert error.run.status == "interrupted" and "idle_timeout" in str(error)


async def two_events_then_silence(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + chunk("one ") + chunk("two "))
    await asyncio.sleep(60)


async def test_idle_timeout_still_holds_after_a_consumer_slower_than_it() -> None:
    """The idle limit passes while the code iterating holds the first event (nothing reads);
    the second, read already, starts it over; then nothing comes: the limit ends the run (it
    used to be left without a timer, and the run waited for the read timeout)."""

    async def read_slowly(c: AsyncAgentClient, limit: float, read: list[str]) -> None:
        # a bound for a hang (the bug: no timer after the slow read, the read timeout's wait)
        async with asyncio.timeout(PATIENCE_S + 2 * limit), c.stream("m", "hi") as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    read.append(event.delta)
                    if event.delta == "one ":
                        await asyncio.sleep(limit * 1.6)

    for limit in growing_limits("both events"):  # the idle limit covers the first reply too
        read: list[str] = []
        with HostileServer(two_events_then_silence) as srv:
            async with client("openai", srv.url, timeout=4 * PATIENCE_S, idle_timeout=limit) as c:
                with pytest.raises(StreamStallError, match="idle_timeout"):
                    await read_slowly(c, limit, read)
        if read:
            break
    assert read == ["one ", "two "]  # the second, read during the wait, started the limit over


async def test_run_timeout_ends_a_run_that_never_finishes() -> None:
    async def forever(conn: Conn, request: Request) -> None:
        await conn.send(sse_head())
        while True:
            await conn.send(chunk("more "))
            await asyncio.sleep(0.05)

    with HostileServer(forever) as srv:
        async with client("openai", srv.url, run_timeout=1.0) as c:
            with pytest.raises(StreamStallError) as caught:
                await c.run("m", "hi")  # the server never stops: only the run limit ends it
    # what came within the limit: none at all on a loaded machine (seen beside two burners)
    partial = caught.value.partial_text
    assert partial == "more " * (len(partial) // 5)
    assert caught.value.run is not None and caught.value.run.status == "interrupted"
    assert "run_timeout" in str(caught.value)


def test_the_timeouts_reach_the_sync_client_and_connections() -> None:
    with HostileServer(keepalives_forever) as srv:
        # stalled before or after its first event, a run ends so: no limit races the machine
        sync = AgentClient("openai", base_url=srv.url, record=False, idle_timeout=1.0)
        with pytest.raises(StreamStallError):
            sync.run("m", "hi")
        sync.close()
        conn = connect("openai", base_url=srv.url, name="hostile", idle_timeout=3, run_timeout=9)
        assert (conn.client().idle_timeout, conn.client().run_timeout) == (3, 9)
        disconnect("hostile")


# ---- memory bounded ------------------------------------------------------------------------------
async def test_unknown_frames_are_kept_up_to_a_cap_and_counted() -> None:
    small = MAX_UNKNOWN_EVENTS + 5000
    big = b'data: {"x": "' + b"y" * 100_000 + b'"}\n\n'
    big_count = MAX_UNKNOWN_BYTES // 100_000 + 20

    async def stream(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + b'data: {"x": 1}\n\n' * small + big * big_count)
        await conn.send(chunk("ok") + DONE)

    with HostileServer(stream) as srv:
        async with client("openai", srv.url) as c:
            run = await c.run("m", "hi")
    assert run.status == "completed" and run.text == "ok"
    assert len(run.unknown_events) <= MAX_UNKNOWN_EVENTS
    assert sum(len(e.data) for e in run.unknown_events) <= MAX_UNKNOWN_BYTES
    assert run.unknown_dropped == small + big_count - len(run.unknown_events)
    assert f"unknown_dropped={run.unknown_dropped}" in repr(run)


@pytest.mark.parametrize("framing", ["declared", "endless"])
async def test_a_huge_json_answer_is_refused_quickly_in_bounded_memory(framing: str) -> None:
    async def huge(conn: Conn, request: Request) -> None:
        head = {"Content-Type": "application/json"}
        if framing == "declared":
            head["Content-Length"] = str(400 * 1024 * 1024)
        await conn.send(http_head("200 OK", head) + b'{"data": "')
        piece = b"x" * (1024 * 1024)
        while True:
            await conn.send(piece)

    with HostileServer(huge) as srv:
        async with client("operativus", srv.url, max_retries=0) as c:
            tracemalloc.start()
            try:
                with pytest.raises(ProtocolError, match="larger than 8 MiB"):
                    await c.send_json(HttpRequest("GET", "/status"))
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert peak < 64 * 1024 * 1024


SHARE = 128 * 1024
"""Decoded bytes a run may work through before the loop serves its other tasks (the client
inflates and parses 64 KiB at a time, then lets them go). A reader that works through a
compressed body in one go serves them only once per network read (a dozen for these)."""


async def count_turns(stop: asyncio.Event) -> int:
    """How many times the loop served this task until ``stop``."""
    turns = 0
    while not stop.is_set():
        turns += 1
        await asyncio.sleep(0)
    return turns


async def run_counting_turns(c: AsyncAgentClient) -> tuple[BaseException | None, int]:
    """The run's error, and how many times the loop served another task while it ran."""
    stop = asyncio.Event()
    probe = asyncio.create_task(count_turns(stop))
    error: BaseException | None = None
    try:
        await c.run("m", "hi")
    except Exception as exc:
        error = exc
    stop.set()
    return error, await probe


def gzip_server(body: bytes) -> HostileServer:
    async def send(conn: Conn, request: Request) -> None:
        await conn.send(sse_head({"Content-Encoding": "gzip"}) + body)

    return HostileServer(send)


async def test_a_gzip_bomb_is_refused_and_the_loop_stays_responsive() -> None:
    bomb = gzip.compress(b"\n" * (64 * 1024 * 1024), 9)  # ~65 KB on the wire
    with gzip_server(bomb) as srv:
        async with client("openai", srv.url) as c:
            error, turns = await run_counting_turns(c)
    assert isinstance(error, ProtocolError) and "decompresses" in str(error)
    assert turns >= DECODE_RATIO_FLOOR // SHARE  # it decoded at least the floor first


async def test_a_compressed_body_of_blank_lines_does_not_block_the_loop() -> None:
    # ~85:1, under the ratio cap: read to its end, a slice at a time
    blank = b"".join(b"\n" * 600 + b":" + os.urandom(3).hex().encode() + b"\n" for _ in range(8000))
    with gzip_server(gzip.compress(blank, 6)) as srv:
        async with client("openai", srv.url) as c:
            error, turns = await run_counting_turns(c)
    assert isinstance(error, RunInterruptedError)  # ended with no ids to resume from
    assert turns >= len(blank) // SHARE


# ---- nothing lost, nothing doubled ---------------------------------------------------------------
FIRST = [with_id(1, chunk("The answer ")), with_id(2, chunk("is 42. "))]


async def test_a_server_that_replays_from_the_start_is_not_applied_twice() -> None:
    async def replaying(conn: Conn, request: Request) -> None:
        if len(srv.requests) == 1:
            await conn.send(sse_head() + b"".join(FIRST))
        else:
            await conn.send(sse_head() + b"".join(FIRST) + with_id(3, chunk("Done.")) + DONE)

    with HostileServer(replaying) as srv:
        async with client("openai", srv.url) as c:
            run = await c.run("m", "hi")
    assert srv.requests[1].headers["last-event-id"] == "2"
    assert run.status == "completed" and run.text == "The answer is 42. Done."


async def test_a_server_that_restarts_with_another_answer_interrupts_the_run() -> None:
    async def regenerating(conn: Conn, request: Request) -> None:
        if len(srv.requests) == 1:
            await conn.send(sse_head() + b"".join(FIRST))
        else:
            other = [with_id(1, chunk("Well, ")), with_id(2, chunk("perhaps 41. ")), DONE]
            await conn.send(sse_head() + b"".join(other))

    with HostileServer(regenerating) as srv:
        async with client("openai", srv.url) as c:
            with pytest.raises(RunInterruptedError) as caught:
                await c.run("m", "hi")
    assert caught.value.partial_text == "The answer is 42. "
    assert "different" in str(caught.value)


async def test_a_cursor_resume_that_sends_its_opening_frame_again_continues() -> None:
    start = b'event: start\ndata: {"session_id": "s1", "run_id": "r1"}\n\n'

    def piece(index: int, text: str) -> bytes:
        return f'event: chunk\ndata: {{"index": {index}, "content": "{text}"}}\n\n'.encode()

    async def resuming(conn: Conn, request: Request) -> None:
        if len(srv.requests) == 1:
            await conn.send(sse_head() + start + piece(0, "a") + piece(1, "b"))
        else:
            done = b"event: done\ndata: {}\n\n"
            await conn.send(sse_head() + start + piece(2, "c") + done)

    with HostileServer(resuming) as srv:
        async with client("runagent", srv.url) as c:
            run = await c.run("m", "hi")
    assert json.loads(srv.requests[1].body)["parameters"]["resume_from_index"] == 2
    assert run.status == "completed" and run.text == "abc" and run.resumes == 1


async def test_a_run_post_is_not_resent_after_the_server_read_it() -> None:
    async def read_and_hang_up(conn: Conn, request: Request) -> None:
        return  # the request was read in full; the connection closes unanswered

    with HostileServer(read_and_hang_up) as srv:
        async with client("openai", srv.url, max_retries=3) as c:
            with pytest.raises(TransportError, match="not re-sent"):
                await c.run("m", "hi")
            assert len(srv.requests) == 1
            with pytest.raises(TransportError):
                await c.send_json(HttpRequest("GET", "/models"))
    # each of the GET's four attempts is re-sent once by aiohttp on a new connection after a
    # disconnect with no answer (RFC 9112 §9.3.1 allows it for idempotent methods); a POST never
    assert [r.method for r in srv.requests] == ["POST"] + ["GET"] * 8
