"""A server's error text is bounded and redacted, whatever the dialect: an in-stream error
frame (every dialect's), or its refusal or abort reason, two million characters long and
quoting the key, becomes an exception, a run's error and a history row of a bounded size,
without the key. Raw-socket servers on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import said_on_page
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import ProtocolError, RunFailedError
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.text import ERROR_CHARS
from agentnb.history import HistoryStore

KEY = "sk-errortext-0123456789abcdef"
HUGE = "x" * 2_000_000


def said(text: str) -> str:
    """What the hostile server reports: the key, then two million characters."""
    return f"the key {KEY} is not welcome here. {text}"


def error_frames(text: str) -> dict[str, str]:
    """Each dialect's stream reporting ``text`` as the run's failure."""
    quoted = json.dumps(text)
    return {
        "openai": f'data: {{"error": {{"message": {quoted}, "code": "bad"}}}}\n\n',
        "openai-responses": (
            f'event: error\ndata: {{"type": "error", "message": {quoted}, "code": "bad"}}\n\n'
        ),
        "anthropic": (
            "event: error\n"
            f'data: {{"type": "error", "error": {{"type": "api_error", "message": {quoted}}}}}\n\n'
        ),
        "adk": f'data: {{"errorCode": "BAD", "errorMessage": {quoted}}}\n\n',
        "ag-ui": f'data: {{"type": "RUN_ERROR", "message": {quoted}}}\n\n',
        "a2a": (
            'data: {"jsonrpc": "2.0", "id": 1, '
            f'"error": {{"code": -32000, "message": {quoted}}}}}\n\n'
        ),
        "langgraph": f'event: error\ndata: {{"error": "Bad", "message": {quoted}}}\n\n',
        "operativus": f'data: {{"event": "ERROR", "data": {quoted}}}\n\n',
        "runagent": f'event: error\ndata: {{"error": {quoted}}}\n\n',
        "runtools": f'event: error\ndata: {{"message": {quoted}, "code": "bad"}}\n\n',
        "seekrflow": f'data: {{"type": "error", "error": {quoted}}}\n\n',
        "vercel": f'data: {{"type": "error", "errorText": {quoted}}}\n\n',
    }


def frames(dialect: str, text: str) -> str:
    return error_frames(text)[dialect]


REASONS = {
    "vercel abort": (
        "vercel",
        lambda text: f'data: {{"type": "abort", "reason": {json.dumps(text)}}}\n\n',
    ),
    "anthropic refusal": (
        "anthropic",
        lambda text: (
            'event: message_start\ndata: {"type": "message_start", "message": {"id": "m", '
            '"role": "assistant", "content": [], "model": "claude", "usage": {}}}\n\n'
            'event: message_delta\ndata: {"type": "message_delta", "delta": {"stop_reason": '
            f'"refusal", "stop_details": {{"explanation": {json.dumps(text)}}}}}, "usage": {{}}}}\n\n'
            'event: message_stop\ndata: {"type": "message_stop"}\n\n'
        ),
    ),
}


def serving(stream: str) -> Any:
    async def handle(conn: Conn, request: Request) -> None:
        made_first = ("/sessions", "/threads", "/threads/s1/messages")  # a thread, its message
        if request.path.endswith(made_first):
            made = json.dumps({"id": "s1", "thread_id": "t1"}).encode()
            await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + made)
            return
        await conn.send(sse_head() + stream.encode())

    return handle


async def failed_run(dialect: str, stream: str, history: Path) -> RunFailedError:
    store = HistoryStore(history)
    with HostileServer(serving(stream)) as srv:
        async with AsyncAgentClient(
            dialect, base_url=srv.url, api_key=KEY, recorder=store, max_retries=0
        ) as client:
            with pytest.raises(RunFailedError) as caught:
                await client.run("agent", "hi")
    store.close()
    return caught.value


def assert_bounded(error: RunFailedError, history: Path) -> None:
    bound = ERROR_CHARS + 100  # the text, and a line saying how much was left out
    assert len(str(error)) <= bound
    assert error.run is not None and error.run.error is not None
    assert len(error.run.error.message) <= bound
    assert len(error.run.error.code or "") <= bound
    assert KEY not in str(error) and "***" in str(error)
    assert "more characters" in str(error)
    assert history.stat().st_size < 1_000_000
    assert KEY.encode() not in history.read_bytes()


@pytest.mark.parametrize("dialect", sorted(error_frames("")))
async def test_an_error_frame_of_two_million_characters_is_cut_and_redacted(
    dialect: str, tmp_path: Path
) -> None:
    said_on_page(
        "security.md",
        "| the failure a server reports in its stream (any dialect's error frame, a refusal's or "
        "an abort's reason) | 2,000 characters of its message, its lines kept; 200 of its code | "
        "cut after its secrets are redacted, with a line saying how many more characters were "
        "left out: the exception, `run.error` and the history hold the cut text |",
    )
    said_on_page(
        "security.md",
        "Every error text built from what a remote party sent (an error body, an in-stream error "
        "frame, a refusal's reason, a side request's answer quoted in an error, Phoenix's answer "
        "to `to_phoenix`) is redacted of the key sent to it, then cut.",
    )  # Phoenix's: tests/evals/test_phoenix_refusals.py
    history = tmp_path / "history.db"
    error = await failed_run(dialect, frames(dialect, said(HUGE)), history)
    assert_bounded(error, history)


@pytest.mark.parametrize("case", list(REASONS))
async def test_a_refusal_or_abort_reason_is_cut_and_redacted(case: str, tmp_path: Path) -> None:
    dialect, stream = REASONS[case]
    history = tmp_path / "history.db"
    error = await failed_run(dialect, stream(said(HUGE)), history)
    assert_bounded(error, history)


async def test_an_error_code_of_two_million_characters_is_cut(tmp_path: Path) -> None:
    stream = f'data: {{"error": {{"message": "bad", "code": {json.dumps(said(HUGE))}}}}}\n\n'
    error = await failed_run("openai", stream, tmp_path / "history.db")
    assert error.code is not None and len(error.code) <= 300 and KEY not in error.code


async def test_a_short_error_is_kept_whole_with_its_lines(tmp_path: Path) -> None:
    text = "Traceback (most recent call last):\n  File 'agent.py', line 3\nValueError: no"
    error = await failed_run("adk", frames("adk", text), tmp_path / "history.db")
    assert error.run is not None and error.run.error is not None
    assert error.run.error.message == text


@pytest.mark.parametrize("dialect", ["adk", "seekrflow"])
async def test_a_side_answer_quoted_in_an_error_is_cut_and_redacted(dialect: str) -> None:
    """A session or thread made without its id: the error quotes the answer, not the key."""

    async def handle(conn: Conn, request: Request) -> None:
        answer = json.dumps({"echo": said(HUGE)}).encode()
        await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + answer)

    with HostileServer(handle) as srv:
        async with AsyncAgentClient(dialect, base_url=srv.url, api_key=KEY, max_retries=0) as c:
            with pytest.raises(ProtocolError, match=r"without a (session|thread) id") as caught:
                await c.run("agent", "hi")
    assert KEY not in str(caught.value) and "***" in str(caught.value)
    assert len(str(caught.value)) < 1_000
