"""The step evaluators of ``agentnb.evals`` (which tools, with which arguments, in which
order) on real tool calls: the built-in finance agent's own tools in an experiment, a
notebook's function the agent called scored later by ``agentnb.evals.evaluate``; a miss says
what was called."""

from __future__ import annotations

from pathlib import Path

import pytest

import agentnb
from agentnb import AgentClient, evals
from agentnb.evals import no_tool_called, tool_called, tool_sequence
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

# finance_agent on this question calls get_stock_price(NVDA), get_stock_price(AAPL), then
# the calculator twice; echo calls no tool
QUESTIONS = [{"id": "pair", "question": "Compare NVDA and AAPL"}]

STEPS = [
    tool_called("get_stock_price", arguments={"ticker": "AAPL"}),
    tool_called("get_stock_price", arguments={"ticker": "TSLA"}, name="looked_up_tsla"),
    tool_called("calculator", arguments={}, status="succeeded", name="calculated"),
    tool_sequence("get_stock_price", "calculator"),
    tool_sequence("calculator", "get_stock_price", name="backwards"),
    tool_sequence("get_stock_price", "calculator", contiguous=True, name="next_to"),
    tool_sequence("get_stock_price", "get_stock_price", contiguous=True, name="twice"),
    tool_sequence("get_stock_price", "calculator", strict=True, name="only_these"),
    no_tool_called(),
    no_tool_called("delete_portfolio", name="nothing_deleted"),
]


def scores_of(history: Path, agent: str) -> dict[str, object]:
    with HistoryStore(history) as later:  # a later process reads the file
        frame = later.runs().to_pandas().set_index("agent")
    row = frame.loc[agent].filter(like="score.").to_dict()
    return {name.removeprefix("score."): value for name, value in row.items()}


def test_step_evaluators_score_a_batch_on_the_agents_real_tool_calls(
    client: AgentClient, history: Path
) -> None:
    result = evals.experiment(
        "steps", ["finance_agent", "echo"], QUESTIONS, via=client, progress=False, evaluators=STEPS
    ).runs()
    assert "called_get_stock_price" in repr(result).splitlines()[1]
    assert scores_of(history, "finance_agent") == {
        "called_get_stock_price": True,
        "looked_up_tsla": False,
        "calculated": True,
        "tool_sequence": True,
        "backwards": False,
        "next_to": True,
        "twice": True,
        "only_these": False,  # it called four tools, not two
        "no_tool_called": False,
        "nothing_deleted": True,
    }
    assert scores_of(history, "echo") == {
        "called_get_stock_price": False,
        "looked_up_tsla": False,
        "calculated": False,
        "tool_sequence": False,
        "backwards": False,
        "next_to": False,
        "twice": False,
        "only_these": False,
        "no_tool_called": True,
        "nothing_deleted": True,
    }
    with HistoryStore(history) as later:
        [finance] = [run.local_id for run in later.runs() if run.agent == "finance_agent"]
        why = {s.name: s.comment for s in later.scores([finance]) if s.value is False}
    called = "called get_stock_price → get_stock_price → calculator → calculator"
    assert why == {
        "looked_up_tsla": called,
        "backwards": called,
        "only_these": called,
        "no_tool_called": called,
    }


def test_agentnb_evaluate_scores_the_notebooks_function_the_agent_called(
    server: ServerHandle, history: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", str(history))

    def position_value(ticker: str, shares: int) -> float:
        """The value of a position."""
        return 100.5 * shares

    store = HistoryStore(history)
    with AgentClient(
        "openai", base_url=server.url_for("openai"), api_key=server.api_key, recorder=store
    ) as tools_client:
        tools_client.run("finance_agent", "My AMD position?", tools=[position_value])
    store.close()
    scored = evals.evaluate(
        agentnb.runs(),
        tool_called("position_value", arguments={"ticker": "AMD"}),
        tool_called("position_value", arguments={"ticker": "NVDA"}, name="nvda_valued"),
        tool_sequence("position_value", strict=True),
        no_tool_called("get_stock_price", name="no_lookup"),
    )
    [row] = scored.to_pandas().filter(like="score.").to_dict("records")
    assert row == {
        "score.called_position_value": True,
        "score.nvda_valued": False,
        "score.tool_sequence": True,
        "score.no_lookup": True,
    }


def test_step_evaluators_refuse_what_they_cannot_check(client: AgentClient, history: Path) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="takes tools' names, not ''"):
        tool_called("")
    with pytest.raises(agentnb.ConfigurationError, match="a dict of the arguments to match"):
        tool_called("calculator", arguments=["1 + 1"])  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match=r"in order: \('a', 'b'\)"):
        tool_sequence()
    with pytest.raises(agentnb.ConfigurationError, match="takes tools' names, not 3"):
        tool_sequence("calculator", 3)  # type: ignore[arg-type]
    client.run("finance_agent", "What is NVDA trading at?")
    with HistoryStore(history) as store:
        record = store.runs()[0]
        calls = store.tool_calls([record.local_id])
    with pytest.raises(agentnb.ConfigurationError, match=r"agentnb\.evals\.evaluate"):
        tool_sequence("calculator")(record, {})
    assert tool_sequence("get_stock_price", "calculator")(record, {}, calls) is True
