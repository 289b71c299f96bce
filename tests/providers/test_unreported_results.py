"""A tool call whose result never arrives (a proxy drops agentnb's ``agentnb_tool_result``
extension; a plain model leaves its calls for the client to execute): the call ends
``no_result``, with its arguments and no output, not ``succeeded``; the next turn's history
leaves it out (OpenAI refuses a ``tool_calls`` entry no ``tool`` message answers)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agentnb import AsyncAgentClient
from agentnb._core.run import Run
from agentnb.events import RunCompleted, ToolCallFinished
from agentnb.providers.openai import OpenAITranslator
from agentnb.sse import ServerSentEvent


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-7", "object": "chat.completion.chunk", "choices": [choice]}


def call(index: int, call_id: str | None, name: str | None, arguments: str) -> dict[str, Any]:
    item: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        item.update(id=call_id, type="function")
        item["function"]["name"] = name
    return chunk({"tool_calls": [item]})


# What LiteLLM relays from a server that ran a tool: the call, then the answer, no outcome.
PROXIED = [
    chunk({"role": "assistant", "content": ""}),
    call(0, "call_1", "get_stock_price", '{"ticker":'),
    call(0, None, None, ' "NVDA"}'),
    chunk({}, "tool_calls"),
    chunk({"content": "NVDA is $875.40."}),
    chunk({}, "stop"),
]


def fold(frames: list[dict[str, Any]]) -> tuple[Run, OpenAITranslator]:
    translator = OpenAITranslator("thread_1")
    run = Run(agent="m", message="q")
    for data in [*map(json.dumps, frames), "[DONE]"]:
        for event in translator.translate(ServerSentEvent(data=data)):
            run.apply(event)
    return run, translator


def test_a_call_without_a_reported_result_ends_no_result() -> None:
    run, _ = fold(PROXIED)
    (only,) = run.tool_calls
    assert only.status == "no_result"
    assert only.arguments == {"ticker": "NVDA"}
    assert (only.output, only.error) == (None, None)
    assert only.finished_at is not None
    assert run.status == "completed" and run.text == "NVDA is $875.40."
    assert run.finish_reason == "stop"


def test_the_translator_does_not_claim_the_call_finished() -> None:
    translator = OpenAITranslator(None)
    events = [
        e
        for data in [*map(json.dumps, PROXIED), "[DONE]"]
        for e in translator.translate(ServerSentEvent(data=data))
    ]
    assert not any(isinstance(e, ToolCallFinished) for e in events)
    assert isinstance(events[-1], RunCompleted)


def test_a_run_that_ends_on_tool_calls_leaves_them_no_result() -> None:
    # A plain model asks the client to run its tools: finish_reason "tool_calls", no answer.
    run, translator = fold([call(0, "call_9", "search", '{"q": "x"}'), chunk({}, "tool_calls")])
    assert [c.status for c in run.tool_calls] == ["no_result"]
    assert run.finish_reason == "tool_calls"
    assert translator.history.messages() == []


def test_the_history_keeps_answered_calls_and_leaves_out_the_others() -> None:
    frames = [
        call(0, "call_1", "get_stock_price", '{"ticker": "NVDA"}'),
        call(1, "call_2", "calculator", '{"expression": "1+1"}'),
        chunk(
            {
                "provider_specific_fields": {
                    "agentnb_tool_result": {"id": "call_1", "output": {"price": 1}}
                }
            }
        ),
        chunk({"content": "Done."}),
        chunk({}, "stop"),
    ]
    run, translator = fold(frames)
    assert [c.status for c in run.tool_calls] == ["succeeded", "no_result"]
    assert translator.history.messages() == [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_stock_price", "arguments": '{"ticker": "NVDA"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": '{"price": 1}'},
        {"role": "assistant", "content": "Done."},
    ]


@asynccontextmanager
async def litellm_like() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A raw-socket server on 127.0.0.1 streaming :data:`PROXIED`; keeps each request body."""
    bodies: list[dict[str, Any]] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":")[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        bodies.append(json.loads(await reader.readexactly(length)))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
        writer.write(b"Connection: close\r\n\r\n")
        for data in [*map(json.dumps, PROXIED), "[DONE]"]:
            writer.write(f"data: {data}\n\n".encode())
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/v1", bodies


async def test_no_result_end_to_end_and_in_the_next_turn() -> None:
    async with litellm_like() as (url, bodies):
        client = AsyncAgentClient("openai", base_url=url, record=False)
        async with client:
            first = await client.run("gpt", "What is NVDA at?")
            await client.run("gpt", "thanks", thread_id=first.thread_id)
    (only,) = first.tool_calls
    assert (only.status, only.arguments) == ("no_result", {"ticker": "NVDA"})
    sent = bodies[1]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "user"]
    assert sent[1] == {"role": "assistant", "content": "NVDA is $875.40."}
