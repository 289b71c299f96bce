"""Cost and tokens per tool call, where the platform gives a sub-agent's usage inside the call
that ran it (SeekrFlow's and the AI SDK's nested ``finish`` chunks, LangGraph's subgraph
messages), against the built-in server's ``research_team`` (analysts on gpt-4o-mini, each
asking a quant on claude-haiku-4-5); costs checked against genai-prices' own figures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from agentnb_testing import client_for
from genai_prices import Usage as PricedUsage
from genai_prices import calc_price

from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

SUB_AGENT_MODELS = {"analyst": "gpt-4o-mini", "quant": "claude-haiku-4-5"}
QUESTION = "Compare NVDA and AAPL this week"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


def genai_cost(model: str, prompt: int, completion: int, at: float) -> float:
    usage = PricedUsage(input_tokens=prompt, output_tokens=completion)
    when = datetime.fromtimestamp(at, UTC)
    return float(calc_price(usage, model_ref=model, genai_request_timestamp=when).total_price)


@pytest.mark.parametrize("dialect", ["seekrflow-vercel", "vercel", "langgraph"])
async def test_sub_agents_usage_is_each_calls_cost(
    server: ServerHandle, store: HistoryStore, dialect: str
) -> None:
    async with client_for(server, dialect, recorder=store) as client:
        run = await client.run("research_team", QUESTION)
    assert run.usage is not None and run.usage.total_tokens
    delegating = [call for call in run.tool_calls if call.name in SUB_AGENT_MODELS]
    assert len(delegating) == 4  # two analysts, each asking a quant
    for call in delegating:
        assert call.usage is not None and call.usage.total_tokens, call.call_id
        assert call.model == SUB_AGENT_MODELS[call.name]
    plain = [call for call in run.tool_calls if call.name not in SUB_AGENT_MODELS]
    assert plain and all(call.usage is None and call.model is None for call in plain)
    # a sub-agent's figures are its own: they add up within the run's, never past it
    spent = sum(call.usage.total_tokens or 0 for call in delegating if call.usage)
    assert 0 < spent < run.usage.total_tokens

    calls = store.runs().tool_calls()
    frame = calls.to_pandas()
    for record in calls:
        if record.name not in SUB_AGENT_MODELS:
            assert (record.total_tokens, record.cost_usd, record.model) == (None, None, None)
            continue
        assert record.model == SUB_AGENT_MODELS[record.name]
        assert record.prompt_tokens and record.completion_tokens and record.started_at
        assert record.total_tokens == record.prompt_tokens + record.completion_tokens
        assert record.cost_source == "genai-prices"
        assert record.cost_usd == pytest.approx(
            genai_cost(
                SUB_AGENT_MODELS[record.name],
                record.prompt_tokens,
                record.completion_tokens,
                record.started_at.timestamp(),
            )
        )
    assert str(frame["total_tokens"].dtype) == "Int64"
    assert str(frame["model"].dtype) == "category"

    summary = calls.summary()
    for name in SUB_AGENT_MODELS:
        mine = frame[frame["name"] == name]
        assert summary.loc[name, "tokens_total"] == mine["total_tokens"].sum()
        assert summary.loc[name, "cost_total"] == pytest.approx(mine["cost_usd"].sum())
        assert summary.loc[name, "priced_calls"] == 2
    assert summary.loc["calculator", "priced_calls"] == 0
    assert summary["cost_total"].isna()["calculator"]  # unknown, not 0
    by_agent = calls.summary("agent")
    assert by_agent.loc["analyst", "cost_total"] == pytest.approx(
        frame[frame["agent"] == "analyst"]["cost_usd"].sum()
    )


async def test_a_dialect_without_usage_per_call_prices_no_call(
    server: ServerHandle, store: HistoryStore
) -> None:
    """AG-UI's ``SUBAGENT_FINISHED`` carries no usage (the spec gives it none): the calls
    have no cost, the run still has its own."""
    async with client_for(server, "ag-ui", recorder=store) as client:
        run = await client.run("research_team", QUESTION)
    assert run.cost is not None
    assert all(call.usage is None for call in run.tool_calls)
    summary = store.runs().tool_calls().summary()
    assert (summary["priced_calls"] == 0).all()
    assert summary["cost_total"].isna().all()


async def test_plot_cost_by_tool_draws_the_priced_calls(
    server: ServerHandle, store: HistoryStore
) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    async with client_for(server, "seekrflow-vercel", recorder=store) as client:
        await client.run("research_team", QUESTION)
    history = store.runs()
    ax = history.plot("cost", by="tool", every="day")
    lines = {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}
    summary = history.tool_calls().summary()
    assert set(lines) == set(SUB_AGENT_MODELS)  # tools without a cost draw no line
    for name, values in lines.items():
        assert values == [pytest.approx(summary.loc[name, "cost_total"])]
    tokens = history.plot("tokens", by="tool", every="day")
    assert {line.get_label() for line in tokens.get_lines()} == set(SUB_AGENT_MODELS)

    async with client_for(server, "operativus", recorder=store) as client:
        run = await client.run("finance_agent", "What is NVDA trading at?")
    only_flat = store.runs_by_ids([run.local_id])
    empty = only_flat.plot("cost", by="tool")
    assert not empty.get_lines()
    [note] = [text.get_text() for text in empty.texts]
    assert "reports none per call" in note


@pytest.mark.parametrize("dialect", ["seekrflow-vercel", "langgraph"])
async def test_a_calls_cost_is_the_same_in_every_view(
    server: ServerHandle, store: HistoryStore, dialect: str
) -> None:
    """The cost the history keeps for a call is the one its card, its static copy and its
    terminal line show (issue 28: every figure the same everywhere)."""
    from agentnb._display.run_text import run_text, usd
    from agentnb._display.static_copy import static_html
    from agentnb._display.widget_protocol import tool_wire

    async with client_for(server, dialect, recorder=store) as client:
        run = await client.run("research_team", QUESTION)
    recorded = {record.call_id: record for record in store.runs().tool_calls()}
    text, html = run_text(run), static_html([run])
    for call in run.tool_calls:
        wire = tool_wire(call)
        cost = recorded[call.call_id].cost_usd
        assert wire["cost"] == cost and wire["model"] == call.model, call.call_id
        if cost is None:
            continue
        shown = f"{call.model} · {usd(cost)}"
        assert shown in text, call.call_id
        assert shown in html, call.call_id
