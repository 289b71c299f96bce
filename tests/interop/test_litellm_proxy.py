"""The built-in server's OpenAI dialect behind a LiteLLM proxy (``.tools/litellm``, pinned in
``tests/sdk_envs/litellm.txt``), read by the official ``openai`` SDK and by agentnb.

A proxy ends an answer at the first ``finish_reason``. The server runs its tools itself, so a
run must reach OpenAI clients as one model turn: the whole answer and the whole run's usage
through the proxy, exactly as the server gives them directly. The server's own calls ride in
``provider_specific_fields`` on the delta / message, the field LiteLLM keeps for what the
OpenAI spec lacks: it relays a stream's unchanged (other unknown delta fields it drops) and
gathers a non-streamed message's unknown fields there, so a client sees the same shape with
or without the proxy. Pinned here, so a LiteLLM release that changes this shows up.
"""

from __future__ import annotations

from typing import Any

import openai
import pytest
from agentnb_testing import PATIENCE_S, PEER_TIMEOUT
from interop_testing import LITELLM_KEY

from agentnb import AsyncAgentClient
from agentnb.server import ServerHandle
from agentnb.types import ToolCall

pytestmark = [pytest.mark.slow]

NVDA = [{"role": "user", "content": "What is NVDA trading at, and how did it move this week?"}]


def sdk(base_url: str, api_key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=PATIENCE_S)


def streamed(client: openai.OpenAI, model: str = "finance_agent") -> dict[str, Any]:
    text, reasons, usage, calls, results = [], [], None, {}, []
    with client.chat.completions.create(
        model=model,
        messages=NVDA,  # type: ignore[arg-type]
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        for chunk in stream:
            usage = chunk.usage or usage
            for choice in chunk.choices:
                text.append(choice.delta.content or "")
                reasons.append(choice.finish_reason)
                assert not choice.delta.tool_calls  # nothing for the client to execute
                extension = (choice.delta.model_extra or {}).get("provider_specific_fields", {})
                for piece in extension.get("agentnb_tool_calls", []):
                    call = calls.setdefault(piece["index"], {"name": "", "arguments": ""})
                    call["name"] += piece["function"].get("name") or ""
                    call["arguments"] += piece["function"].get("arguments") or ""
                if "agentnb_tool_result" in extension:
                    results.append(extension["agentnb_tool_result"]["output"])
    assert usage is not None
    return {
        "text": "".join(text),
        "finish_reasons": [r for r in reasons if r],
        "usage": (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens),
        "server_calls": list(calls.values()),
        "server_results": results,
    }


@pytest.fixture(scope="module")
def direct(server: ServerHandle) -> dict[str, Any]:
    """The run as the server gives it with no proxy between (the demo agents are
    deterministic: the same question gives the same answer and usage)."""
    with sdk(server.url_for("openai"), server.api_key) as client:
        return streamed(client)


def test_the_sdk_gets_the_whole_answer_and_usage_through_the_proxy(
    proxy_url: str, direct: dict[str, Any]
) -> None:
    with sdk(proxy_url, LITELLM_KEY) as client:
        proxied = streamed(client)
    assert "| NVDA |" in direct["text"] and len(direct["text"]) > 200
    assert proxied["text"] == direct["text"]
    assert proxied["finish_reasons"] == direct["finish_reasons"] == ["stop"]
    assert proxied["usage"] == direct["usage"]
    names = [call["name"] for call in direct["server_calls"]]
    assert names == ["get_stock_price", "calculator"]
    assert proxied["server_calls"] == direct["server_calls"]
    assert proxied["server_results"] == direct["server_results"] and direct["server_results"]


def test_a_non_streamed_answer_is_whole_through_the_proxy(
    server: ServerHandle, proxy_url: str
) -> None:
    with sdk(server.url_for("openai"), server.api_key) as client:
        plain = client.chat.completions.create(model="finance_agent", messages=NVDA)  # type: ignore[arg-type]
    with sdk(proxy_url, LITELLM_KEY) as client:
        proxied = client.chat.completions.create(model="finance_agent", messages=NVDA)  # type: ignore[arg-type]
    message, expected = proxied.choices[0].message, plain.choices[0].message
    assert message.content == expected.content and "| NVDA |" in (message.content or "")
    assert proxied.choices[0].finish_reason == "stop"
    assert message.tool_calls is None  # nothing for the proxy's client to execute
    assert proxied.usage is not None and plain.usage is not None
    assert proxied.usage.total_tokens == plain.usage.total_tokens
    kept = (message.model_extra or {})["provider_specific_fields"]["agentnb_tool_calls"]
    sent = (expected.model_extra or {})["provider_specific_fields"]["agentnb_tool_calls"]
    assert [call["name"] for call in sent] == ["get_stock_price", "calculator"]
    assert without_ids(kept) == without_ids(sent)


def without_ids(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in call.items() if k != "id"} for call in calls]


async def test_agentnb_gets_the_whole_run_through_the_proxy(
    server: ServerHandle, proxy_url: str
) -> None:
    async with AsyncAgentClient(
        "openai",
        base_url=server.url_for("openai"),
        api_key=server.api_key,
        record=False,
        timeout=PEER_TIMEOUT,
    ) as client:
        plain = await client.run("finance_agent", NVDA[0]["content"])
    async with AsyncAgentClient(
        "openai", base_url=proxy_url, api_key=LITELLM_KEY, record=False, timeout=PEER_TIMEOUT
    ) as client:
        proxied = await client.run("finance_agent", NVDA[0]["content"])
        follow_up = await client.run(
            "echo", "and in euros?", thread_id=proxied.thread_id, followups=True
        )
    assert proxied.status == plain.status == "completed"
    assert proxied.text == plain.text
    assert proxied.reasoning == plain.reasoning
    assert proxied.usage is not None and plain.usage is not None
    assert proxied.usage.total_tokens == plain.usage.total_tokens
    assert [c.name for c in plain.tool_calls] == ["get_stock_price", "calculator"]
    assert [tool_call(c) for c in proxied.tool_calls] == [tool_call(c) for c in plain.tool_calls]
    assert follow_up.status == "completed" and follow_up.text == "and in euros?"
    assert follow_up.followups == []  # LiteLLM keeps ``metadata`` (the ask) for itself


def tool_call(call: ToolCall) -> tuple[str, Any, Any, str]:
    """What agentnb shows of a call, less its id (each run has its own)."""
    return (call.name, call.arguments, call.output, call.status)
