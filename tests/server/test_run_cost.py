"""Model and cost per run against the real server (uvicorn on 127.0.0.1), every dialect: the
demo agents report real model ids, and agentnb's cost is genai-prices' own figure for them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from genai_prices import Usage as PricedUsage
from genai_prices import calc_price

from agentnb import Run
from agentnb.server import DIALECT_PROVIDERS, ServerHandle
from agentnb.server.agents import AGENTS
from tests.agentnb_testing import client_for


async def _run(
    server: ServerHandle, dialect: str, agent: str, message: str, *, approve: bool | None = None
) -> Run:
    async with client_for(server, dialect, record=False) as client:
        return await client.run(agent, message, approve=approve)


def _genai_prices_figure(run: Run) -> float:
    assert run.usage is not None and run.model is not None and run.started_at is not None
    price = calc_price(
        PricedUsage(
            input_tokens=run.usage.prompt_tokens, output_tokens=run.usage.completion_tokens
        ),
        model_ref=run.model,
        genai_request_timestamp=datetime.fromtimestamp(run.started_at, UTC),
    )
    return float(price.total_price)


@pytest.mark.parametrize("dialect", DIALECT_PROVIDERS)
async def test_a_known_model_is_priced_as_genai_prices_prices_it(
    server: ServerHandle, dialect: str
) -> None:
    run = await _run(server, dialect, "finance_agent", "How did NVDA do this week?")
    assert run.status == "completed"
    assert run.model == AGENTS["finance_agent"].model == "gpt-4o-mini"
    assert run.usage is not None and run.usage.prompt_tokens and run.usage.completion_tokens
    assert run.cost_source == "genai-prices"
    assert run.cost == pytest.approx(_genai_prices_figure(run), rel=1e-12)
    assert run.cost is not None and run.cost > 0 and run.cost_reason is None


@pytest.mark.parametrize("agent", sorted(set(AGENTS) - {"echo"}))
async def test_each_demo_model_is_one_genai_prices_knows(server: ServerHandle, agent: str) -> None:
    demo = AGENTS[agent]
    dialect = "operativus" if demo.asks_questions else "vercel" if demo.needs_approval else "openai"
    approve = True if demo.needs_approval else None
    run = await _run(server, dialect, agent, "Write two paragraphs about NVDA.", approve=approve)
    assert run.status == "completed"
    assert run.model == AGENTS[agent].model != agent  # the chunks' model, not the request's
    assert run.cost == pytest.approx(_genai_prices_figure(run), rel=1e-12)


@pytest.mark.parametrize("dialect", DIALECT_PROVIDERS)
async def test_a_model_genai_prices_does_not_know_has_no_cost_and_says_why(
    server: ServerHandle, dialect: str
) -> None:
    run = await _run(server, dialect, "echo", "hello")
    assert run.status == "completed"
    assert run.model == "agentnb-echo"
    assert run.cost is None and run.cost_source is None
    assert run.cost_reason is not None
    assert "no price for the model 'agentnb-echo'" in run.cost_reason
    assert "set_prices" in run.cost_reason and "AGENTNB_PRICES" in run.cost_reason
