"""Dialects whose history lives on the client (``openai``, ``vercel``) send the whole earlier
turn with the next message, as each protocol defines it: the assistant's ``tool_calls`` and
the ``tool`` messages for OpenAI; step, reasoning and tool parts for UI messages. Checked on
what the built-in server receives on turn 2."""

from __future__ import annotations

import json
from typing import Any

from agentnb import AsyncAgentClient
from agentnb.server import ServerHandle
from agentnb.server._run_log import RunLog
from agentnb.server.agents import ChatMessage

QUESTION = "What is NVDA trading at?"


def runs_of_thread(server: ServerHandle, dialect: str, count: int) -> list[RunLog]:
    logs = [log for log in server.app.state.agentnb.runs.all() if log.dialect == dialect]
    return logs[-count:]


async def two_turns(server: ServerHandle, provider: str) -> tuple[Any, ...]:
    async with AsyncAgentClient(
        provider, **server.client_settings(provider), api_key=server.api_key, record=False
    ) as client:
        first = await client.run("finance_agent", QUESTION)
        second = await client.run("echo", "thanks", thread_id=first.thread_id)
    return first, second, client


async def test_openai_sends_the_tool_calls_and_their_results_on_turn_two(
    server: ServerHandle,
) -> None:
    first, second, _ = await two_turns(server, "openai")
    assert second.text == "thanks"
    log = runs_of_thread(server, "openai", 1)[0]
    history = list(log.request.history)
    roles = [m.role for m in history]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert history[0].content == QUESTION
    calls = [call for m in history for call in m.tool_calls]
    assert [c["function"]["name"] for c in calls] == ["get_stock_price", "calculator"]
    assert json.loads(calls[0]["function"]["arguments"]) == {"ticker": "NVDA"}
    tool_messages = [m for m in history if m.role == "tool"]
    assert [m.tool_call_id for m in tool_messages] == [c["id"] for c in calls]
    assert json.loads(tool_messages[0].content)["ticker"] == "NVDA"
    assert history[-1].content == first.text
    assert all(not m.reasoning for m in history)  # Chat Completions has no reasoning input


async def test_vercel_sends_the_whole_assistant_message_on_turn_two(
    server: ServerHandle,
) -> None:
    first, _, _ = await two_turns(server, "vercel")
    log = runs_of_thread(server, "vercel", 1)[0]
    history: list[ChatMessage] = list(log.request.history)
    assert [m.role for m in history] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "tool",
        "assistant",
    ]
    assistant = [m for m in history if m.role == "assistant"]
    assert assistant[0].reasoning.startswith("The user asks about NVDA")
    calls = [call for m in assistant for call in m.tool_calls]
    assert [c["function"]["name"] for c in calls] == ["get_stock_price", "calculator"]
    outputs = [json.loads(m.content) for m in history if m.role == "tool"]
    assert outputs[0]["ticker"] == "NVDA" and "result" in outputs[1]
    assert assistant[-1].content == first.text


async def test_the_vercel_message_keeps_the_sdk_part_shapes(server: ServerHandle) -> None:
    async with AsyncAgentClient(
        "vercel", base_url=server.base_url, api_key=server.api_key, record=False
    ) as client:
        run = await client.run("finance_agent", QUESTION)
        (user, assistant) = client.provider.history(run.thread_id or "")
    assert user["role"] == "user" and user["parts"] == [{"type": "text", "text": QUESTION}]
    kinds = [p["type"] for p in assistant["parts"]]
    assert kinds == [
        "step-start",
        "reasoning",
        "tool-get_stock_price",
        "step-start",
        "reasoning",
        "tool-calculator",
        "step-start",
        "text",
    ]
    tool = assistant["parts"][2]
    assert tool["state"] == "output-available" and tool["input"] == {"ticker": "NVDA"}
    assert assistant["parts"][-1] == {"type": "text", "text": run.text, "state": "done"}
