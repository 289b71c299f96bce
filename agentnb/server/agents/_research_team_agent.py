"""The ``research_team`` demo agent: a lead that delegates to sub-agents (agent-as-tool).

The lead calls one ``analyst`` per ticker; the analysts work in parallel (their steps
interleave). Each analyst reasons, looks its ticker up with ``get_stock_price`` and asks a
``quant`` sub-agent (two levels deep) for the week's move, which uses the ``calculator``; the
analyst then writes a one-line report, which is its call's output. The lead writes the answer
from the reports. An analyst whose lookup fails says so in its own text and its call fails.

Sub-agents number their calls in their own id space (``call_analyst_1`` in every analyst), as
real agent-as-tool platforms do: a call is told apart by its path (see
:class:`~agentnb.server._steps.SubAgent`).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import replace
from typing import Any, TypeVar

from .._steps import (
    AnyStep,
    Nested,
    Reasoning,
    SubAgent,
    SubAgentDone,
    Text,
    ToolEnd,
    ToolStart,
)
from ._agent_input import AgentInput, CallIds, DemoAgent, final_answer, tickers_in, tool_call
from ._tools import ToolOutput, price_table

__all__ = ["ResearchTeamAgent"]

LEAD = "research_team"
ANALYST = "analyst"
QUANT = "quant"
SUB_AGENT_MODELS = {ANALYST: "gpt-4o-mini", QUANT: "claude-haiku-4-5"}
"""The model each sub-agent reports it ran (real ids, priced by genai-prices), where the
dialect carries a sub-agent's usage."""

_R = TypeVar("_R")
Report = dict[str, Any]


class ResearchTeamAgent(DemoAgent):
    name = LEAD
    model = "claude-sonnet-4-5"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = (
        "Delegates to sub-agents: one DEMO analyst per ticker, in parallel, each asking a "
        "quant sub-agent for the week's move; then the lead writes the answer."
    )
    tools: tuple[str, ...] = (ANALYST,)

    def steps(self, request: AgentInput) -> Iterator[AnyStep]:
        tickers = tickers_in(request.message)
        ids = CallIds(request.run_id)
        yield Reasoning(
            f"I split the work: one analyst per ticker ({', '.join(tickers)}), working in "
            "parallel; then I write the answer from their reports."
        )
        calls = [(ids.next(), ticker) for ticker in tickers]
        for call_id, ticker in calls:
            yield ToolStart(call_id, ANALYST, {"ticker": ticker}, delegate=ANALYST)
        analysts = [
            _delegate(call_id, ANALYST, LEAD, _analyst(ticker)) for call_id, ticker in calls
        ]
        reports = yield from _together(analysts)
        for (call_id, _ticker), (report, error) in zip(calls, reports, strict=True):
            yield ToolEnd(call_id, ANALYST, report, error)
        answer = _answer([report for report, _ in reports], [e for _, e in reports if e])
        yield from final_answer(answer)


def _analyst(ticker: str) -> Generator[AnyStep, None, tuple[Report | None, str | None]]:
    """One ticker's report: ``(report, None)``, or ``(None, error)`` when the lookup fails."""
    ids = CallIds(ANALYST)
    yield Reasoning(f"I look up {ticker} in the demo table, then ask the quant for the move.")
    quote, error = yield from tool_call(ids, "get_stock_price", {"ticker": ticker})
    if quote is None:
        yield Text(f"I could not look up {ticker}: {error}.")
        return None, f"the analyst could not look up {ticker}: {error}"
    call_id = ids.next()
    arguments = {"price": quote["price"], "week_ago_close": quote["week_ago_close"]}
    yield ToolStart(call_id, QUANT, arguments, delegate=QUANT)
    change = yield from _delegate(call_id, QUANT, ANALYST, _quant(quote))
    yield ToolEnd(call_id, QUANT, {"change_pct": change}, None)
    direction = "up" if (change or 0.0) >= 0 else "down"
    moved = f"{direction} {abs(change):.2f}%" if change is not None else "move unknown"
    line = f"{ticker} ({quote['name']}) trades at ${quote['price']:,.2f}, {moved} on the week."
    yield Text(line)
    return {"ticker": ticker, "price": quote["price"], "change_pct": change, "report": line}, None


def _quant(quote: ToolOutput) -> Generator[AnyStep, None, float | None]:
    ids = CallIds(QUANT)
    yield Reasoning("The move is (price - week ago) / week ago * 100: the calculator does it.")
    expression = f"({quote['price']} - {quote['week_ago_close']}) / "
    expression += f"{quote['week_ago_close']} * 100"
    output, error = yield from tool_call(ids, "calculator", {"expression": expression})
    if output is None:
        yield Text(f"The calculator failed: {error}.")
        return None
    change = round(float(output["result"]), 2)
    yield Text(f"{change:+.2f}%")
    return change


def _delegate(
    call_id: str, agent: str, parent: str, steps: Generator[AnyStep, None, _R]
) -> Generator[AnyStep, None, _R]:
    """A sub-agent's steps as seen from the agent that called it: each one :class:`Nested`
    under ``call_id`` (a step already nested one level deeper gets ``call_id`` in front)."""
    here = SubAgent((call_id,), agent, parent, agent, SUB_AGENT_MODELS.get(agent))
    while True:
        try:
            step = next(steps)
        except StopIteration as done:
            yield Nested(here, SubAgentDone())
            result: _R = done.value
            return result
        if isinstance(step, Nested):
            deeper = step.where
            where = replace(deeper, path=(call_id, *deeper.path))
            yield Nested(where, step.step)
        elif isinstance(step, Reasoning | Text | ToolStart | ToolEnd | SubAgentDone):
            yield Nested(here, step)


def _together(runs: list[Generator[AnyStep, None, _R]]) -> Generator[AnyStep, None, list[_R]]:
    """Sub-agents working in parallel: their steps interleave, one from each in turn."""
    results: dict[int, _R] = {}
    while len(results) < len(runs):
        for index, run in enumerate(runs):
            if index in results:
                continue
            try:
                yield next(run)
            except StopIteration as done:
                results[index] = done.value
    return [results[index] for index in range(len(runs))]


def _answer(reports: list[Report | None], errors: list[str]) -> str:
    lines = ["### Research team report", ""]
    lines += [f"- {report['report']}" for report in reports if report is not None]
    lines += [f"- {error[0].upper()}{error[1:]}." for error in errors]
    moved = [r for r in reports if r is not None and r["change_pct"] is not None]
    if len(moved) > 1:
        best = max(moved, key=lambda r: r["change_pct"])
        lines += ["", f"**{best['ticker']}** moved most this week ({best['change_pct']:+.2f}%)."]
    lines += [
        "",
        f"_Prices come from agentnb's bundled demo table (as of {price_table().as_of}): "
        "invented numbers, not real market data._",
    ]
    return "\n".join(lines)
