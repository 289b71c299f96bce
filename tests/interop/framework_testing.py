"""A scripted Chat Completions model for the frameworks the interop tests start (Strands,
Agno, LlamaIndex, Pydantic AI, Microsoft Agent Framework: each its own server, from its venv,
with its OpenAI-compatible client pointed here), and the one way those tests start a
framework's server on it.

The model answers from the request alone, so every run and thread may share it: a ``tool``
message last, it answers ``The sum is RESULT.``; asked to "add" with an ``add`` tool
declared, it thinks (``reasoning_content``) and calls ``add(2, 3)``; otherwise it answers
``This thread holds N questions.``, N the user messages it was sent. Usage rides on a last
chunk when the request asks for it (``stream_options.include_usage``). Asked to "count", it
sends ``1 `` and waits for its client to go, then sets ``MODEL_LEFT``: Stop reached it."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentnb_testing import (
    PEER_TIMEOUT,
    asgi_body,
    free_port,
    sdk_python,
    serving,
    serving_asgi,
)
from reading_agent import chat_agent, chunk

from agentnb import AsyncAgentClient, Run
from agentnb.types import ToolCall

__all__ = [
    "MODEL_LEFT",
    "USAGE",
    "framework_client",
    "framework_server",
    "stopped_at_the_first_text",
    "the_second_turn",
    "the_sum",
    "the_whole_sum",
]

FRAMEWORKS = Path(__file__).resolve().parent / "frameworks"
USAGE = {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17}
MODEL_LEFT = threading.Event()
"""Set when a client the model was counting for went away (cleared by the test)."""


def _said(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content)
    return str(content or "")


def _answer(body: dict[str, Any]) -> list[bytes]:
    messages = body.get("messages", [])
    declared = [tool.get("function", {}).get("name") for tool in body.get("tools") or []]
    last = messages[-1] if messages else {}
    if last.get("role") == "tool":
        frames = [chunk({"role": "assistant", "content": f"The sum is {_said(last)}."})]
        finish = "stop"
    elif "add" in declared and "add" in _said(last):
        call = {"index": 0, "id": "call_add_1", "type": "function",
                "function": {"name": "add", "arguments": json.dumps({"a": 2, "b": 3})}}  # fmt: skip
        frames = [chunk({"role": "assistant", "reasoning_content": "Adding it up."})]
        frames.append(chunk({"tool_calls": [call]}))
        finish = "tool_calls"
    else:
        asked = sum(1 for m in messages if m.get("role") == "user")
        frames = [chunk({"role": "assistant", "content": f"This thread holds {asked} questions."})]
        finish = "stop"
    frames.append(chunk({}, finish))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        frames.append(f"data: {json.dumps({**usage, 'choices': [], 'usage': USAGE})}\n\n".encode())
    return frames


async def _model(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The scripted model as an ASGI app: counting for a client until it goes, else
    answering at once."""
    raw = await asgi_body(scope, receive, send)
    if raw is None:
        return
    messages = json.loads(raw or b"{}").get("messages") or [{}]
    if "count" not in _said(messages[-1]):
        await _answering(scope, _replay(raw), send)
        return
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    first = chunk({"role": "assistant", "content": "1 "})
    await send({"type": "http.response.body", "body": first, "more_body": True})
    if (await receive())["type"] == "http.disconnect":
        MODEL_LEFT.set()


def _replay(raw: bytes) -> Any:
    """A ``receive`` that hands the body already read to the app answering it."""
    messages = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


_answering = chat_agent(_answer)


@contextmanager
def framework_server(
    venv: str,
    script: str,
    folder: Path,
    ready_path: str,
    *,
    env: Mapping[str, str] | None = None,
    on_demand: str | None = None,
) -> Iterator[str]:
    """The scripted model, and ``frameworks/SCRIPT`` run by ``.tools/VENV``'s Python as
    ``SCRIPT PORT MODEL_URL`` (the model's base URL, ``/v1`` included) in ``folder``, with
    ``env`` added to the environment, until ``ready_path`` answers: the framework server's
    base URL. ``on_demand``: why the venv is not installed for every run (``sdk_python``)."""
    python = sdk_python(venv, on_demand)
    with serving_asgi(_model) as model:
        port = free_port()
        command = [str(python), str(FRAMEWORKS / script), str(port), f"{model}/v1"]
        base = f"http://127.0.0.1:{port}"
        log = folder / f"{venv}.log"
        environ = {**os.environ, **(env or {})}
        with serving(command, ready_url=base + ready_path, log_path=log, env=environ, cwd=folder):
            yield base


def framework_client(dialect: str, url: str) -> AsyncAgentClient:
    return AsyncAgentClient(dialect, base_url=url, record=False, timeout=PEER_TIMEOUT)


def the_sum(run: Run) -> ToolCall:
    """The run asked "please add 2 and 3" answered, and its one call of ``add``, made by the
    framework (its result is the framework's to give)."""
    assert (run.status, run.text) == ("completed", "The sum is 5."), run.error
    [call] = run.tool_calls
    assert (call.call_id, call.name, call.arguments) == ("call_add_1", "add", {"a": 2, "b": 3})
    assert (call.status, call.ran_by) == ("succeeded", None)
    return call


def the_whole_sum(run: Run) -> None:
    """The run asked "please add 2 and 3" carried whole: the framework's call of ``add`` with
    its result, the model's reasoning and the usage of both its calls, in the order they came,
    nothing left unread."""
    assert str(the_sum(run).output) == "5"
    assert run.reasoning == "Adding it up."
    assert run.usage is not None  # two model calls, each the scripted usage
    assert (run.usage.prompt_tokens, run.usage.total_tokens) == (24, 34)
    assert [part.kind for part in run.parts] == ["reasoning", "tool", "text"]
    assert not run.unknown_events


async def the_second_turn(client: AsyncAgentClient) -> Run:
    """ "hello", then "again?" in its thread, answered as a thread of two questions: the
    second run (the client closed)."""
    async with client:
        first = await client.run("calc", "hello")
        second = await client.run("calc", "again?", thread_id=first.thread_id)
    assert first.text == "This thread holds 1 questions."
    assert (second.status, second.thread_id) == ("completed", first.thread_id), second.error
    assert second.text == "This thread holds 2 questions."
    return second


async def stopped_at_the_first_text(client: AsyncAgentClient) -> Run:
    """A run asked to "count", stopped as its first text arrives (``MODEL_LEFT`` cleared
    first): the run, once the client closed (a cancel it sent in the background included)."""
    MODEL_LEFT.clear()
    async with client, client.stream("calc", "count") as stream:
        async for event in stream:
            if event.type == "text_delta":
                break  # Stop
    return stream.run
