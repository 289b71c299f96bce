"""Client tools over Chat Completions from a server that is not agentnb's: a LiteLLM proxy
(``.tools/litellm``) over a scripted model (``litellm/scripted_model.py``, LiteLLM's
``CustomLLM``). The proxy streams the model's ``tool_calls`` as OpenAI does; agentnb runs the
notebook's function, sends the assistant ``tool_calls`` message and the ``tool`` message
back, and the same run ends with the answer that uses the result."""

from __future__ import annotations

import pytest
from agentnb_testing import PEER_TIMEOUT
from interop_testing import LITELLM_KEY

from agentnb import AsyncAgentClient

pytestmark = [pytest.mark.slow]


async def test_the_function_runs_and_the_run_ends_with_its_result(proxy_url: str) -> None:
    seen: list[tuple[str, int]] = []

    def position_value(ticker: str, shares: int = 1) -> float:
        """The value of a position."""
        seen.append((ticker, shares))
        return 100.5 * shares

    async with AsyncAgentClient(
        "openai", base_url=proxy_url, api_key=LITELLM_KEY, record=False, timeout=PEER_TIMEOUT
    ) as client:
        run = await client.run("portfolio", "portfolio", tools=[position_value])
    assert seen == [("NVDA", 3)]
    assert (run.status, run.text, run.finish_reason) == (
        "completed",
        "The position is worth 301.5.",
        "stop",
    )
    [call] = run.tool_calls
    assert (call.call_id, call.status, call.ran_by, call.output) == (
        "call_llm_1",
        "succeeded",
        "client",
        "301.5",
    )
    assert run.usage is not None and run.usage.total_tokens == 30  # both requests
