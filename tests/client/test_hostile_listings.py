"""Every remote loop is bounded: a platform cannot keep agentnb asking.

Raw-socket servers on 127.0.0.1 play platforms whose listing of a thread's runs always has a
next page (a full page of fresh runs, A2A's ``nextPageToken``), in every dialect that lists
runs; one that answers a status request for two runs with a thousand; one that answers a
page slowly; and, in every dialect that pauses for decisions, one that asks again after each
answer. Each is stopped at its documented bound (``_client/listing_bounds.py``,
``_client/stream.py: MAX_PAUSES_PER_RUN``) with an error saying which bound and what to do.
Before the bounds, ``remote_runs()`` read every page a server offered (the servers here stop
offering after a few thousand, so the test ends either way) and a pausing server was
answered as long as it asked.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable
from typing import Any

import pytest
from approval_dialects import DIALECTS, AskedCall
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb._app.past.remote_runs import remote_runs
from agentnb._client import listing_bounds
from agentnb._client.async_client import AsyncAgentClient
from agentnb._client.listing_bounds import LISTING_PAGES, LISTING_ROWS
from agentnb._client.stream import MAX_PAUSES_PER_RUN
from agentnb._core.exceptions import ProtocolError, RunInterruptedError

GIVES_UP_AFTER = LISTING_PAGES * 3
"""Pages a server offers before it ends its listing (so a test without the bound ends)."""


def _json(body: Any) -> bytes:
    data = json.dumps(body).encode()
    head = http_head(
        "200 OK", {"Content-Type": "application/json", "Content-Length": str(len(data))}
    )
    return head + data


def _page_size(request: Request) -> int:
    query = dict(p.split("=", 1) for p in request.path.partition("?")[2].split("&") if "=" in p)
    if "limit" in query:
        return int(query["limit"])
    return int(json.loads(request.body)["params"]["pageSize"])


def _runs(dialect: str, ids: list[str]) -> Any:
    if dialect == "langgraph":
        return [{"run_id": i, "thread_id": "t", "status": "success"} for i in ids]
    if dialect == "a2a":
        tasks = [{"id": i, "contextId": "t", "status": {"state": "completed"}} for i in ids]
        return {"jsonrpc": "2.0", "id": "1", "result": {"tasks": tasks, "nextPageToken": "more"}}
    return [{"id": i, "thread_id": "t", "status": "completed"} for i in ids]


def endless_listing(dialect: str) -> Callable[[Conn, Request], Any]:
    """Every page full of fresh runs, with a next page, until ``GIVES_UP_AFTER`` pages."""
    pages = itertools.count()
    fresh = itertools.count()

    async def handle(conn: Conn, request: Request) -> None:
        size = 0 if next(pages) >= GIVES_UP_AFTER else _page_size(request)
        ids = [f"run-{next(fresh)}" for _ in range(size)]
        body = _runs(dialect, ids)
        if dialect == "a2a" and not ids:
            body["result"].pop("nextPageToken")
        await conn.send(_json(body))

    return handle


LISTING_DIALECTS = {
    "seekrflow": {},
    "seekrflow-vercel": {},
    "langgraph": {},
    "a2a": {"provider_options": {"path": "", "version": "1.0"}},
}


@pytest.mark.parametrize("dialect", sorted(LISTING_DIALECTS))
def test_a_listing_that_always_has_a_next_page_stops_at_the_page_bound(dialect: str) -> None:
    with HostileServer(endless_listing(dialect)) as server:
        client = AsyncAgentClient(
            dialect, base_url=server.url, record=False, **LISTING_DIALECTS[dialect]
        )
        with pytest.raises(ProtocolError) as caught:
            remote_runs(client, thread_id="t", agent="a")
        asked = len(server.requests)
    assert asked <= LISTING_PAGES, asked
    message = str(caught.value)
    assert f"did not end within {LISTING_PAGES} pages" in message
    assert "limit=N" in message


def test_a_listing_stops_at_the_row_bound() -> None:
    async def go(url: str) -> None:
        async with AsyncAgentClient("langgraph", base_url=url, record=False) as client:
            await client.list_runs("t", page_size=1000)

    with HostileServer(endless_listing("langgraph")) as server:
        with pytest.raises(ProtocolError, match=f"did not end within {LISTING_ROWS} runs"):
            asyncio.run(go(server.url))
        assert len(server.requests) <= LISTING_ROWS // 1000


def test_a_listing_stops_at_its_time_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A page that never finishes arriving (the head, then silence) ends the listing at its
    time bound, not at the read timeout of each of its requests."""
    monkeypatch.setattr(listing_bounds, "LISTING_SECONDS", 0.5)

    async def silent(conn: Conn, request: Request) -> None:
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + b"[")
        await asyncio.sleep(3600)

    with HostileServer(silent) as server:
        client = AsyncAgentClient("langgraph", base_url=server.url, record=False)
        with pytest.raises(ProtocolError, match=r"did not end within 0\.5 s"):
            remote_runs(client, thread_id="t")


def test_a_status_answer_gives_no_more_runs_than_were_asked() -> None:
    async def flood(conn: Conn, request: Request) -> None:
        await conn.send(_json([{"id": f"run-{i}", "status": "COMPLETED"} for i in range(1000)]))

    with HostileServer(flood) as server:
        client = AsyncAgentClient("operativus", base_url=server.url, record=False)
        listed = remote_runs(client, agent="a", run_ids=["run-1", "run-2"])
    assert len(listed) == 2


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_platform_that_pauses_after_every_answer_is_given_up(dialect: str) -> None:
    pauses = itertools.count()
    streams = 0

    async def handle(conn: Conn, request: Request) -> None:
        nonlocal streams
        if dialect == "langgraph" and request.path == "/threads":
            await conn.send(_json({"thread_id": "t1"}))
            return
        if request.method == "GET":
            await conn.send(_json({}))
            return
        streams += 1
        n = next(pauses)
        paused, ended = DIALECTS[dialect]([AskedCall(f"c{n}", "wire_money", {"n": n}, "ok?")])
        paused = paused.replace(b'"int0"', f'"int{n}"'.encode())  # a new question each time
        paused = paused.replace(b'"a0"', f'"a{n}"'.encode())
        # each continuation is a new response, as the Responses API makes one
        paused = paused.replace(b'"resp_1"', f'"resp_{n}"'.encode())
        await conn.send(sse_head() + (paused if n < GIVES_UP_AFTER else ended))

    async def go(url: str) -> None:
        options = {"provider_options": {"path": "", "version": "0.3"}} if dialect == "a2a" else {}
        async with AsyncAgentClient(dialect, base_url=url, record=False, **options) as client:
            await client.run("agent", "hi", approve=True)

    with HostileServer(handle) as server, pytest.raises(RunInterruptedError) as caught:
        asyncio.run(go(server.url))
    assert streams == MAX_PAUSES_PER_RUN + 1, str(caught.value)
    assert f"paused the run for decisions {MAX_PAUSES_PER_RUN + 1} times" in str(caught.value)
    assert caught.value.run is not None and caught.value.run.status == "interrupted"
