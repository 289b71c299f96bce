"""Stop on an OpenAI Responses run says what happened: a foreground response (not
``background``) is stopped by closing its stream, and no ``POST /responses/{id}/cancel`` is
sent (the API cancels only background responses; a cancel of another answers 404 and was
reported as "the platform was not told to stop the run"). A background response is
cancelled with that request. A raw-socket server records what reached it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.run import Run


def _event(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


async def _platform(conn: Conn, request: Request) -> None:
    if request.path.endswith("/cancel"):
        body = b'{"error": {"message": "Only background responses can be cancelled."}}'
        await conn.send(http_head("404 Not Found", {"Content-Type": "application/json"}) + body)
        return
    response = {"id": "resp_1", "status": "in_progress", "model": "m", "output": []}
    await conn.send(
        sse_head()
        + _event("response.created", response=response, sequence_number=0)
        + _event(
            "response.output_text.delta", item_id="m1", output_index=0, content_index=0,
            delta="Hello", sequence_number=1,
        )
    )  # fmt: skip
    await asyncio.sleep(3600)  # the rest never comes: the person stops it


def _stopped(url: str, **options: Any) -> Run:
    async def go() -> Run:
        async with (
            AsyncAgentClient("openai-responses", base_url=url, record=False, **options) as client,
            client.stream("m", "hi") as stream,
        ):
            async for event in stream:
                if event.type == "text_delta":
                    break  # Stop
        return stream.run  # the client is closed: a cancel request has had its answer

    return asyncio.run(go())


def test_stop_of_a_foreground_response_sends_no_cancel_and_reports_no_failure() -> None:
    with HostileServer(_platform) as server:
        run = _stopped(server.url)
    assert run.status == "cancelled" and run.run_id == "resp_1"
    assert [r.path for r in server.requests] == ["/responses"]
    assert run.cancel_error is None


def test_stop_of_a_background_response_cancels_it_on_the_platform() -> None:
    with HostileServer(_platform) as server:
        run = _stopped(server.url, provider_options={"background": True})
    assert [r.path for r in server.requests] == ["/responses", "/responses/resp_1/cancel"]
    assert run.cancel_error is not None and "404" in run.cancel_error  # the server refused
