"""The ``research_team`` demo agent: a lead that delegates to sub-agents, two levels deep and
two in parallel, read by agentnb's own client over every dialect of the built-in server.

Dialects that can say a call is a sub-agent's give the Run the tree (each nested call's
parent, agent and depth; a sub-agent's text on its call, not in the answer); the others give
it flattened (the sub-agents' calls as calls of the run, under run-wide ids)."""

from __future__ import annotations

import pytest
from agentnb_testing import client_for

from agentnb import Run
from agentnb.server import ServerHandle
from agentnb.server._steps import Finish, Nested, Reasoning, Text, ToolEnd, ToolStart
from agentnb.server.agents import AGENTS, AgentInput
from agentnb.types import ToolCall

QUESTION = "Compare NVDA and AAPL this week"
NESTING = ["seekrflow-vercel", "vercel", "ag-ui", "langgraph"]
FLAT = ["seekrflow", "openai", "operativus", "runtools", "a2a"]
TEXT_ONLY = ["runagent"]
"""Streams no tool calls at all: the answer only."""


def test_the_lead_delegates_to_parallel_analysts_each_with_a_quant() -> None:
    steps = list(AGENTS["research_team"].steps(AgentInput(QUESTION, run_id="run_abc")))
    nested = [s for s in steps if isinstance(s, Nested)]
    top = [s for s in steps if not isinstance(s, Nested)]
    assert [type(s) for s in top] == [
        Reasoning,
        ToolStart,
        ToolStart,
        ToolEnd,
        ToolEnd,
        Text,
        Finish,
    ]
    lead_calls = [s for s in top if isinstance(s, ToolStart)]
    assert [(c.name, c.arguments, c.delegate) for c in lead_calls] == [
        ("analyst", {"ticker": "NVDA"}, "analyst"),
        ("analyst", {"ticker": "AAPL"}, "analyst"),
    ]
    # the analysts work in parallel: their steps interleave, and reuse their own call ids
    first_two = [n.where.path[0] for n in nested[:2]]
    assert first_two == [lead_calls[0].call_id, lead_calls[1].call_id]
    lookups = [
        n for n in nested if isinstance(n.step, ToolStart) and n.step.name == "get_stock_price"
    ]
    assert [n.step.call_id for n in lookups] == ["call_analyst_1", "call_analyst_1"]
    assert {n.where.path for n in lookups} == {(c.call_id,) for c in lead_calls}
    # two levels deep: the quant's calculator call sits under the analyst's quant call
    deepest = [n for n in nested if n.where.depth == 2]
    assert {n.where.name for n in deepest} == {"quant"}
    assert {n.where.parent for n in deepest} == {"analyst"}
    assert {n.where.path[1] for n in deepest} == {"call_analyst_2"}


def test_an_analyst_that_cannot_look_up_its_ticker_says_so_and_its_call_fails() -> None:
    steps = list(AGENTS["research_team"].steps(AgentInput("NVDA and ZZZZ", run_id="run_x")))
    [failed] = [s for s in steps if isinstance(s, ToolEnd) and s.error is not None]
    assert failed.name == "analyst" and "ZZZZ" in failed.error
    said = [
        n.step.text
        for n in steps
        if isinstance(n, Nested) and isinstance(n.step, Text) and n.where.path == (failed.call_id,)
    ]
    assert said and "could not look up ZZZZ" in said[0]
    answer = next(s for s in steps if isinstance(s, Text))
    assert "NVDA" in answer.text and "ZZZZ" in answer.text


async def _run(server: ServerHandle, dialect: str, question: str = QUESTION) -> Run:
    async with client_for(server, dialect, record=False) as client:
        return await client.run("research_team", question)


def _answer_only(run: Run) -> None:
    assert run.status == "completed", run.error
    assert run.text.startswith("### Research team report")
    assert "NVDA (NVIDIA Corp.) trades at" in run.text
    assert "+2.31%" not in run.text.split("\n")[0]
    assert "I look up" not in run.reasoning and "I look up" not in run.text


def _children(run: Run, call: ToolCall) -> dict[str, ToolCall]:
    found = [c for c in run.tool_calls if c.parent_call_id == call.call_id]
    assert len({c.name for c in found}) == len(found)
    return {c.name: c for c in found}


@pytest.mark.parametrize("dialect", NESTING)
async def test_a_nesting_dialect_gives_the_run_the_tree(server: ServerHandle, dialect: str) -> None:
    run = await _run(server, dialect)
    _answer_only(run)
    analysts = [c for c in run.tool_calls if c.name == "analyst"]
    assert [(c.depth, c.parent_call_id) for c in analysts] == [(0, None), (0, None)]
    for analyst in analysts:
        assert analyst.agent_text.endswith("on the week.")
        assert analyst.agent_reasoning.startswith("I look up")
        assert analyst.status == "succeeded"
        assert (analyst.agent, analyst.sub_agent) == (None, "analyst")
        inside = _children(run, analyst)
        assert set(inside) == {"get_stock_price", "quant"}
        assert {(c.agent, c.depth) for c in inside.values()} == {("analyst", 1)}
        quant = inside["quant"]
        assert quant.agent_text.endswith("%")
        assert inside["get_stock_price"].sub_agent is None and quant.sub_agent == "quant"
        [calculator] = _children(run, quant).values()
        assert (calculator.name, calculator.agent, calculator.depth) == ("calculator", "quant", 2)
        assert calculator.status == "succeeded"
        assert calculator.call_id != quant.call_id != analyst.call_id
    assert len({c.call_id for c in run.tool_calls}) == len(run.tool_calls) == 8


@pytest.mark.parametrize("dialect", FLAT)
async def test_a_dialect_that_cannot_nest_answers_flattened(
    server: ServerHandle, dialect: str
) -> None:
    run = await _run(server, dialect)
    _answer_only(run)
    names = sorted(call.name for call in run.tool_calls)
    assert names == ["analyst"] * 2 + ["calculator"] * 2 + ["get_stock_price"] * 2 + ["quant"] * 2
    assert all(call.depth == 0 and call.agent_text == "" for call in run.tool_calls)
    assert len({call.call_id for call in run.tool_calls}) == 8


@pytest.mark.parametrize("dialect", NESTING)
async def test_a_failed_delegation_keeps_the_sub_agents_text(
    server: ServerHandle, dialect: str
) -> None:
    run = await _run(server, dialect, "NVDA and ZZZZ")
    assert run.status == "completed"
    [lookup] = [c for c in run.tool_calls if c.arguments == {"ticker": "ZZZZ"} and c.depth]
    assert lookup.agent == "analyst" and lookup.name == "get_stock_price"
    [failed] = [c for c in run.tool_calls if c.call_id == lookup.parent_call_id]
    assert failed.name == "analyst" and failed.depth == 0
    assert "could not look up ZZZZ" in failed.agent_text
    if dialect == "langgraph":  # a subgraph ends with an update, which has no error flag
        assert lookup.status == "failed"
    elif dialect != "ag-ui":  # AG-UI's TOOL_CALL_RESULT has no error flag: the error is content
        assert failed.status == lookup.status == "failed"
        assert failed.error is not None and "ZZZZ" in failed.error


@pytest.mark.parametrize("dialect", TEXT_ONLY)
async def test_a_dialect_without_tool_calls_streams_the_answer(
    server: ServerHandle, dialect: str
) -> None:
    run = await _run(server, dialect)
    _answer_only(run)
    assert run.tool_calls == []
