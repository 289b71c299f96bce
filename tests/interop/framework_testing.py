"""A scripted OpenAI model for the frameworks the interop tests start (Strands, Agno,
LlamaIndex, Pydantic AI, Microsoft Agent Framework, CrewAI, LangGraph, Letta, OpenAI Agents
JS, Mastra: each its own server, from its venv or npm packages, with its OpenAI client pointed
here), and the one
way those tests start a framework's server on it.

The model answers from the request alone, so every run and thread may share it: a ``tool``
message last, it answers ``The sum is RESULT.``; asked to "add" with an ``add`` tool
declared, it thinks (``reasoning_content``) and calls ``add(2, 3)``; otherwise it answers
``This thread holds N questions.``, N the user messages it was sent. Usage rides on a last
chunk when the request asks for it (``stream_options.include_usage``). The Responses API
(``/v1/responses``) gets the same script, its reasoning a summary and its usage always.
Asked to "count", it sends ``1 `` and waits for its client to go, then sets ``MODEL_LEFT``:
Stop reached it. Its listing of models holds one, ``m``."""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from agentnb_testing import (
    PEER_TIMEOUT,
    asgi_body,
    free_port,
    sdk_npm_file,
    sdk_python,
    serving,
    serving_asgi,
)
from interop_testing import node_or_skip
from reading_agent import chat_agent, chunk

from agentnb import AsyncAgentClient, Run
from agentnb.types import ToolCall

__all__ = [
    "MODEL_COUNTING",
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
REASONING = "Adding it up."
ADD_ARGUMENTS = json.dumps({"a": 2, "b": 3})
MODEL_LEFT = threading.Event()
"""Set when a client the model was counting for went away (cleared by the test)."""
MODEL_COUNTING = threading.Event()
"""Set when the model has begun counting (cleared by the test)."""


def _said(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        return " ".join(str(part.get("text", "")) for part in content)
    return str(content or "")


def _reply(last: dict[str, Any], result: str | None, declared: list[Any], asked: int) -> str | None:
    """The scripted answer to a request whose last message is ``last``, ``result`` the tool
    result it ends with; None: think and call ``add(2, 3)``."""
    if result is not None:
        return f"The sum is {result}."
    if "add" in declared and "add" in _said(last):
        return None
    return f"This thread holds {asked} questions."


def _answer(body: dict[str, Any]) -> list[bytes]:
    messages = body.get("messages", [])
    declared = [tool.get("function", {}).get("name") for tool in body.get("tools") or []]
    last = messages[-1] if messages else {}
    result = _said(last) if last.get("role") == "tool" else None
    asked = sum(1 for m in messages if m.get("role") == "user")
    reply = _reply(last, result, declared, asked)
    if reply is None:
        call = {"index": 0, "id": "call_add_1", "type": "function",
                "function": {"name": "add", "arguments": ADD_ARGUMENTS}}  # fmt: skip
        frames = [chunk({"role": "assistant", "reasoning_content": REASONING})]
        frames.append(chunk({"tool_calls": [call]}))
    else:
        frames = [chunk({"role": "assistant", "content": reply})]
    frames.append(chunk({}, "tool_calls" if reply is None else "stop"))
    if (body.get("stream_options") or {}).get("include_usage"):
        usage = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m"}
        frames.append(f"data: {json.dumps({**usage, 'choices': [], 'usage': USAGE})}\n\n".encode())
    return frames


def _responses_answer(body: dict[str, Any]) -> list[bytes]:
    """The same script on the Responses API: the reasoning as a summary, usage always."""
    items = body.get("input") or []
    items = [{"role": "user", "content": items}] if isinstance(items, str) else items
    last = items[-1] if items else {}
    output = last.get("output") if last.get("type") == "function_call_output" else None
    declared = [tool.get("name") for tool in body.get("tools") or []]
    asked = sum(1 for item in items if item.get("role") == "user")
    reply = _reply(last, None if output is None else str(output), declared, asked)
    frames = [_event("response.created", response=_response("in_progress", []))]
    if reply is None:
        summary = [{"type": "summary_text", "text": REASONING}]
        done = [{"type": "reasoning", "id": "rs_1", "summary": summary},
                {"type": "function_call", "id": "fc_1", "call_id": "call_add_1", "name": "add",
                 "arguments": ADD_ARGUMENTS, "status": "completed"}]  # fmt: skip
    else:
        frames += _text_frames(reply)
        text = [{"type": "output_text", "text": reply, "annotations": []}]
        done = [{**_message([]), "content": text, "status": "completed"}]
    return [*frames, _event("response.completed", response=_response("completed", done))]


def _text_frames(text: str) -> list[bytes]:
    """A Responses API message opened and its ``text`` streamed (not yet done)."""
    added = _event("response.output_item.added", output_index=0, item=_message([]))
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    return [added, _event("response.output_text.delta", delta=text, **where)]


def _message(content: list[Any]) -> dict[str, Any]:
    return {"type": "message", "id": "msg_1", "role": "assistant", "content": content,
            "status": "in_progress"}  # fmt: skip


def _response(status: str, output: list[Any]) -> dict[str, Any]:
    usage = {"input_tokens": USAGE["prompt_tokens"], "output_tokens": USAGE["completion_tokens"],
             "total_tokens": USAGE["total_tokens"], "input_tokens_details": {"cached_tokens": 0},
             "output_tokens_details": {"reasoning_tokens": 0}}  # fmt: skip
    return {"id": "resp_1", "object": "response", "created_at": 0, "model": "m",
            "status": status, "output": output, "usage": usage}  # fmt: skip


def _event(kind: str, **fields: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps({'type': kind, **fields})}\n\n".encode()


async def _model(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The scripted model as an ASGI app (Chat Completions, and the Responses API at
    ``/v1/responses``): counting for a client until it goes, else answering at once."""
    raw = await asgi_body(scope, receive, send)
    if raw is None:
        return
    if scope["method"] == "GET":  # a listing of models (Letta checks the model is in it)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send(
            {"type": "http.response.body", "body": json.dumps({"data": [{"id": "m"}]}).encode()}
        )
        return
    responses = scope["path"].endswith("/responses")
    body = json.loads(raw or b"{}")
    said = (body.get("input") if responses else body.get("messages")) or [{}]
    if "count" not in _said({"content": said} if isinstance(said, str) else said[-1]):
        await (_answering_responses if responses else _answering)(scope, _replay(raw), send)
        return
    head = [(b"content-type", b"text/event-stream")]
    await send({"type": "http.response.start", "status": 200, "headers": head})
    counted = chunk({"role": "assistant", "content": "1 "})
    first = b"".join(_text_frames("1 ")) if responses else counted
    await send({"type": "http.response.body", "body": first, "more_body": True})
    MODEL_COUNTING.set()
    if (await receive())["type"] == "http.disconnect":
        MODEL_LEFT.set()


def _replay(raw: bytes) -> Any:
    """A ``receive`` that hands the body already read to the app answering it."""
    messages = [{"type": "http.request", "body": raw, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return receive


_answering = chat_agent(_answer)
_answering_responses = chat_agent(_responses_answer)


@contextmanager
def framework_server(
    tool: str,
    script: str,
    folder: Path,
    ready_path: str,
    *,
    on_demand: str | None = None,
    **env: str,
) -> Iterator[str]:
    """The scripted model, and ``frameworks/SCRIPT`` serving on it in ``folder`` until
    ``ready_path`` answers: the framework server's base URL. A ``.py`` script runs on
    ``.tools/TOOL``'s Python as ``SCRIPT PORT MODEL_URL`` (the model's base URL, ``/v1``
    included); a ``.mjs`` one so on Node.js, copied into ``folder`` beside a link to
    ``.tools/TOOL``'s npm packages (an ES module finds its imports only beside itself); a
    folder is a project of the CLI named TOOL, copied so and served by ``TOOL dev`` (its dev
    server, as its docs say) with ``PORT`` and ``MODEL_URL`` in its environment; ``env`` is
    added to it. ``on_demand``: why TOOL is not installed for every run (``sdk_python``)."""
    env = {**os.environ, **env}
    source = FRAMEWORKS / script
    if source.suffix == ".py":
        started = [str(sdk_python(tool, on_demand)), str(source)]
    else:
        packages = sdk_npm_file(tool, ".", on_demand).resolve()
        runner = node_or_skip()
        if source.is_dir():
            shutil.copytree(source, folder, dirs_exist_ok=True)
            started = [runner, str(packages / ".bin" / tool), "dev"]
            env["PATH"] = f"{Path(runner).parent}{os.pathsep}{env['PATH']}"
        else:
            shutil.copy(source, folder / script)
            started = [runner, str(folder / script)]
        (folder / "node_modules").symlink_to(packages, target_is_directory=True)
    with serving_asgi(_model) as model:
        port = free_port()
        env.update(PORT=str(port), MODEL_URL=f"{model}/v1")
        base = f"http://127.0.0.1:{port}"
        log = folder / f"{tool}.log"
        command = started if source.is_dir() else [*started, str(port), f"{model}/v1"]
        with serving(command, ready_url=base + ready_path, log_path=log, env=env, cwd=folder):
            yield base


def framework_client(dialect: str, url: str, **options: Any) -> AsyncAgentClient:
    """A client of ``url`` (``options``: the dialect's own, e.g. ``path``)."""
    return AsyncAgentClient(
        dialect, base_url=url, record=False, timeout=PEER_TIMEOUT, provider_options=options
    )


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
