"""A Microsoft Agent Framework agent for DevUI (``devui tests/interop/devui_agents``), on a
scripted chat client (no network, no key): asked anything, the model calls ``position_value``,
which the framework runs itself; given its result, it answers with it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from agent_framework import (
    Agent,
    BaseChatClient,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    FunctionInvocationLayer,
    Message,
)


def position_value(ticker: str, shares: int = 1) -> float:
    """The value of a position."""
    return 100.5 * shares


class Scripted(FunctionInvocationLayer, BaseChatClient):
    def _updates(self, messages: list[Message]) -> list[ChatResponseUpdate]:
        results = [c for c in messages[-1].contents if c.type == "function_result"]
        usage = Content.from_usage(
            {"input_token_count": 10, "output_token_count": 5, "total_token_count": 15}
        )
        if results:
            text = Content.from_text(f"The position is worth {results[0].result}.")
            return [
                ChatResponseUpdate(role="assistant", contents=[text]),
                ChatResponseUpdate(role="assistant", contents=[usage], finish_reason="stop"),
            ]
        call = Content.from_function_call(
            "call_1", "position_value", arguments='{"ticker": "NVDA", "shares": 3}'
        )
        return [
            ChatResponseUpdate(role="assistant", contents=[call, usage], finish_reason="tool_calls")
        ]

    def _inner_get_response(
        self, *, messages: Any, stream: bool, options: Any, **kwargs: Any
    ) -> Any:
        updates = self._updates(list(messages))
        if stream:

            async def _stream() -> AsyncIterator[ChatResponseUpdate]:
                for update in updates:
                    yield update

            return self._build_response_stream(_stream())

        async def _whole() -> ChatResponse:
            return ChatResponse.from_updates(updates)

        return _whole()


agent = Agent(
    client=Scripted(), name="finance", instructions="Value positions.", tools=[position_value]
)
