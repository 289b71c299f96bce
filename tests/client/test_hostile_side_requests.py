"""JSON side requests have a size cap, on every path a run or a listing takes: SeekrFlow's
thread (before the run) and run object (after it), Operativus' run status (after a run, and
``client.run_status``), SeekrFlow's ``client.list_runs``. Raw-socket servers on 127.0.0.1
answer each with a JSON body far past the cap; the client refuses it early, in bounded memory."""

from __future__ import annotations

import json
import logging
import tracemalloc
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import ProtocolError
from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.transport import JSON_BODY_LIMIT

REFUSED = f"larger than {JSON_BODY_LIMIT // (1024 * 1024)} MiB"
PEAK_LIMIT = 8 * JSON_BODY_LIMIT
"""Reading stops at the cap: memory stays within a few times it, never the whole answer."""


HUGE = 12 * JSON_BODY_LIMIT
"""Larger than the cap and than :data:`PEAK_LIMIT`: a client that read it whole would fail."""


async def huge_json(conn: Conn) -> None:
    """A 200 JSON answer far past the cap (the issue's 400 MB body, smaller for speed)."""
    await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b'{"id": "')
    piece = b"x" * (1024 * 1024)
    for _ in range(HUGE // len(piece)):
        await conn.send(piece)
    await conn.send(b'"}')


VERCEL_RUN = [
    {"type": "start", "messageId": "m1"},
    {"type": "text-delta", "id": "0", "delta": "fine"},
    {"type": "finish"},
]
OPERATIVUS_RUN = [
    {"event": "START", "data": {"runId": "r1", "sessionId": "s1"}},
    {"event": "CONTENT_DELTA", "data": "fine"},
    {"event": "STOP", "data": {}},
]


def stream_of(frames: list[dict[str, Any]]) -> bytes:
    body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames)
    return sse_head() + body.encode()


async def thread_then_stream(conn: Conn, request: Request) -> None:
    """SeekrFlow: a thread and a message are created, the run streams, its run object is huge."""
    if request.path == "/v1/threads":
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}))
        await conn.send(b'{"id": "t1"}')
    elif request.path.endswith("/messages"):
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"{}")
    elif request.path.endswith("/stream/vercel"):
        await conn.send(stream_of(VERCEL_RUN))
    else:
        await huge_json(conn)


async def huge_thread(conn: Conn, request: Request) -> None:
    await huge_json(conn)


async def stream_then_status(conn: Conn, request: Request) -> None:
    if request.method == "POST":
        await conn.send(stream_of(OPERATIVUS_RUN))
    else:
        await huge_json(conn)


async def with_peak(work: Callable[[], Awaitable[Any]]) -> tuple[Any, int]:
    """``work()``'s result or exception, and the peak memory it took."""
    tracemalloc.start()
    try:
        try:
            result: Any = await work()
        except Exception as exc:
            result = exc
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


def client(provider: str, url: str) -> AsyncAgentClient:
    return AsyncAgentClient(provider, base_url=url, record=False, max_retries=0)


async def test_a_huge_seekrflow_thread_answer_fails_the_run_before_it_starts() -> None:
    with HostileServer(huge_thread) as srv:
        async with client("seekrflow-vercel", srv.url) as c:
            error, peak = await with_peak(lambda: c.run("agent", "hi"))
    assert isinstance(error, ProtocolError) and REFUSED in str(error)
    assert "POST" in str(error) and "/v1/threads" in str(error)
    assert [r.path for r in srv.requests] == ["/v1/threads"]  # no run was started
    assert peak < PEAK_LIMIT


async def test_a_huge_seekrflow_run_object_keeps_the_run_without_usage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with HostileServer(thread_then_stream) as srv, caplog.at_level(logging.WARNING):
        async with client("seekrflow-vercel", srv.url) as c:
            run, peak = await with_peak(lambda: c.run("agent", "hi"))
    assert run.status == "completed" and run.text == "fine" and run.usage is None
    assert srv.requests[-1].method == "GET" and srv.requests[-1].path.startswith(
        "/v1/threads/t1/runs?"
    )
    assert any(REFUSED in record.getMessage() for record in caplog.records)
    assert peak < PEAK_LIMIT


async def test_a_huge_operativus_status_keeps_the_run_without_usage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with HostileServer(stream_then_status) as srv, caplog.at_level(logging.WARNING):
        async with client("operativus", srv.url) as c:
            run, peak = await with_peak(lambda: c.run("agent", "hi"))
    assert run.status == "completed" and run.text == "fine" and run.usage is None
    assert srv.requests[-1].path == "/api/agents/agent/runs/r1/status"
    assert any(REFUSED in record.getMessage() for record in caplog.records)
    assert peak < PEAK_LIMIT


@pytest.mark.parametrize(
    ("provider", "call"),
    [
        ("operativus", lambda c: c.run_status("agent", ["r1"])),
        ("operativus", lambda c: c.run_status("agent", ["r1", "r2"])),
        ("seekrflow", lambda c: c.list_runs("t1")),
    ],
    ids=["run_status one", "run_status batch", "list_runs"],
)
async def test_a_huge_listing_is_a_protocol_error(provider: str, call: Any) -> None:
    with HostileServer(huge_thread) as srv:
        async with client(provider, srv.url) as c:
            error, peak = await with_peak(lambda: call(c))
    assert isinstance(error, ProtocolError) and REFUSED in str(error)
    assert len(srv.requests) == 1
    assert peak < PEAK_LIMIT
