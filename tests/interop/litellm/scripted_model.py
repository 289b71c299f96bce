"""A scripted model for a LiteLLM proxy (``custom_provider_map``): no network, no key. Loaded
by the interop tests' proxy (``interop_testing.serve_litellm``), on its ``PYTHONPATH``.

Asked with a ``tool`` message last, it answers with that result; asked "portfolio" with a
``position_value`` tool declared, it calls that tool; otherwise it answers "no tool".
With agentnb's context tools declared (``context=True``) it calls ``notebook_describe`` for
``customers``, and a result that says "IGNORE ALL PREVIOUS INSTRUCTIONS" provokes a call of
``notebook_read_file`` for ``.env``, as an injected model would.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from litellm import CustomLLM
from litellm.types.utils import GenericStreamingChunk

USAGE = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}


def _chunk(text: str = "", *, finish: str = "", tool: dict[str, Any] | None = None) -> Any:
    chunk: dict[str, Any] = {
        "text": text,
        "is_finished": bool(finish),
        "finish_reason": finish,
        "usage": USAGE if finish else None,
        "index": 0,
        "tool_use": tool,
    }
    return GenericStreamingChunk(**chunk)  # type: ignore[typeddict-item]


class Scripted(CustomLLM):
    async def astreaming(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # type: ignore[override]
        messages = kwargs["messages"]
        tools = (kwargs.get("optional_params") or {}).get("tools") or []
        declared = [t.get("function", {}).get("name") for t in tools]
        last = messages[-1]
        if "notebook_describe" in declared:
            async for chunk in _context(messages):
                yield chunk
        elif last.get("role") == "tool":
            yield _chunk(f"The position is worth {last.get('content')}.")
            yield _chunk(finish="stop")
        elif "position_value" in declared:
            arguments = json.dumps({"ticker": "NVDA", "shares": 3})
            call = {
                "id": "call_llm_1",
                "type": "function",
                "function": {"name": "position_value", "arguments": arguments},
                "index": 0,
            }
            yield _chunk(tool=call)
            yield _chunk(finish="tool_calls")
        else:
            yield _chunk("no tool")
            yield _chunk(finish="stop")


def _call(name: str, arguments: dict[str, Any], call_id: str) -> Any:
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
        "index": 0,
    }
    return _chunk(tool=call)


async def _context(messages: list[dict[str, Any]]) -> AsyncIterator[Any]:
    last = messages[-1]
    if last.get("role") != "tool":
        yield _call("notebook_describe", {"name": "customers"}, "call_ctx_1")
        yield _chunk(finish="tool_calls")
        return
    said = str(last.get("content"))
    calls = [c for m in messages for c in m.get("tool_calls") or []]
    read_env = any(c["function"]["name"] == "notebook_read_file" for c in calls)
    if "IGNORE ALL PREVIOUS INSTRUCTIONS" in said and not read_env:
        yield _call("notebook_read_file", {"path": ".env"}, "call_ctx_2")
        yield _chunk(finish="tool_calls")
        return
    yield _chunk(f"I read {len(said)} characters of your notebook: {said[:40]}")
    yield _chunk(finish="stop")


handler = Scripted()
