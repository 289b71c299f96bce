"""The demo agents. Deterministic: the same input always gives the same steps.

An agent yields whole steps (a reasoning paragraph, a tool call, the answer); the run producer
cuts text into stream-sized chunks and paces them.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator
from typing import Any

from ._agent_input import (
    DEFAULT_TICKER,
    Agent,
    AgentInput,
    CallIds,
    ChatMessage,
    InputProblem,
    tickers_in,
    tool_call,
)
from ._judge_agent import JudgeAgent
from ._numbers import ascii_int
from ._planner import PlannerAgent
from ._research import ResearchTeamAgent
from ._schema_instances import SchemaError, instance_for
from ._steps import Finish, Reasoning, Step, Text
from ._tools import price_table
from ._trader import TraderAgent

__all__ = ["AGENTS", "Agent", "AgentInput", "ChatMessage", "InputProblem", "get_agent"]

MAX_PARAGRAPHS = 200
DEFAULT_PARAGRAPHS = 5


class FinanceAgent:
    name = "finance_agent"
    model = "gpt-4o-mini"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = "Looks up DEMO stock prices and computes the week's move with a calculator."
    tools: tuple[str, ...] = ("get_stock_price", "calculator")
    needs_approval = False
    asks_questions = False

    def check(self, request: AgentInput) -> None:
        return None

    def steps(self, request: AgentInput) -> Iterator[Step]:
        tickers = tickers_in(request.message)
        ids = CallIds(request.run_id)
        yield Reasoning(_finance_plan(tickers))
        quotes: list[dict[str, Any]] = []
        failures: list[tuple[str, str]] = []
        for ticker in tickers:
            output, error = yield from tool_call(ids, "get_stock_price", {"ticker": ticker})
            if output is None:
                failures.append((ticker, error or "lookup failed"))
            else:
                quotes.append(output)
        if quotes:
            yield Reasoning(" Now I compute each week's percentage move with the calculator.")
        changes: dict[str, float] = {}
        for quote in quotes:
            expression = f"({quote['price']} - {quote['week_ago_close']}) / "
            expression += f"{quote['week_ago_close']} * 100"
            output, _ = yield from tool_call(ids, "calculator", {"expression": expression})
            if output is not None:
                changes[quote["ticker"]] = float(output["result"])
        answer = _finance_answer(quotes, changes, failures)
        yield Text(answer)
        first = quotes[0]["ticker"] if quotes else DEFAULT_TICKER
        yield Finish(final_output=answer, followups=_finance_followups(first, request))


def _finance_plan(tickers: list[str]) -> str:
    names = ", ".join(tickers)
    return (
        f"The user asks about {names}. I will look up the latest price with get_stock_price "
        "(the bundled demo table), then work out the move over the week."
    )


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _finance_answer(
    quotes: list[dict[str, Any]], changes: dict[str, float], failures: list[tuple[str, str]]
) -> str:
    lines: list[str] = []
    if quotes:
        lines += [
            "### Demo quotes",
            "",
            "| Ticker | Company | Price | Week ago | Week change |",
            "|:--|:--|--:|--:|--:|",
        ]
        for q in quotes:
            change = changes.get(q["ticker"])
            shown = f"{change:+.2f}%" if change is not None else "n/a"
            lines.append(
                f"| {q['ticker']} | {q['name']} | {_money(q['price'])} | "
                f"{_money(q['week_ago_close'])} | {shown} |"
            )
        lines.append("")
        for q in quotes:
            change = changes.get(q["ticker"], 0.0)
            direction = "up" if change >= 0 else "down"
            lines.append(
                f"**{q['ticker']}** ({q['name']}) trades at **{_money(q['price'])}**, "
                f"{direction} {abs(change):.2f}% on the week."
            )
        lines.append("")
    for ticker, error in failures:
        lines += [f"I could not look up **{ticker}**: {error}.", ""]
    table = price_table()
    lines.append(
        f"_Prices come from agentnb's bundled demo table (as of {table.as_of}): "
        "invented numbers, not real market data._"
    )
    return "\n".join(lines)


def _finance_followups(ticker: str, request: AgentInput) -> tuple[str, ...]:
    if not request.followups:
        return ()
    others = [t for t in sorted(price_table().quotes) if t != ticker]
    return (
        f"How does {ticker} compare with {others[0]} this week?",
        f"What would 10 shares of {ticker} cost?",
        "Which stock in the demo table moved most this week?",
    )


class EchoAgent:
    name = "echo"
    model = "agentnb-echo"
    """The model it reports it ran: one genai-prices does not know (a private model,
    so its runs have no cost)."""
    description = "Answers with the user's message, unchanged (for tests)."
    tools: tuple[str, ...] = ()
    needs_approval = False
    asks_questions = False

    def check(self, request: AgentInput) -> None:
        return None

    def steps(self, request: AgentInput) -> Iterator[Step]:
        yield Text(request.message)
        followups = ("Say it again.", "Say it louder.") if request.followups else ()
        yield Finish(final_output=request.message, followups=followups)


class WriterAgent:
    name = "writer"
    model = "claude-haiku-4-5"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = "Writes a long markdown document (headings, lists, code, a table)."
    tools: tuple[str, ...] = ()
    needs_approval = False
    asks_questions = False

    def check(self, request: AgentInput) -> None:
        _paragraphs(request)

    def steps(self, request: AgentInput) -> Iterator[Step]:
        count = _paragraphs(request)
        yield Reasoning(f"Outline: an introduction, {count} sections and a summary table.")
        document = _document(request.message, count)
        yield Text(document)
        followups = (
            ("Shorten it to one page.", "Add a section on testing.") if request.followups else ()
        )
        yield Finish(final_output=document, followups=followups)


def _paragraphs(request: AgentInput) -> int:
    raw = request.options.get("paragraphs", str(DEFAULT_PARAGRAPHS))
    count = ascii_int(raw)
    if count is None:
        shown = raw if len(raw) <= 20 else raw[:20] + "…"
        raise InputProblem("paragraphs", f"paragraphs must be an integer, got {shown!r}")
    if not 1 <= count <= MAX_PARAGRAPHS:
        raise InputProblem("paragraphs", f"paragraphs must be between 1 and {MAX_PARAGRAPHS}")
    return count


_TOPICS = (
    ("Why stream", "A streamed answer shows progress at once, so a reader can stop early."),
    ("Events", "Every frame becomes a typed event: reasoning, text, tool calls and the end."),
    ("Resuming", "Event ids let a client reconnect and continue where the cut happened."),
    ("Tools", "Tool calls show their arguments and their results as cards in the cell."),
    ("Usage", "Token counts and timings are kept for every run, ready for a table."),
)


def _document(subject: str, count: int) -> str:
    title = subject.strip().splitlines()[0][:80] if subject.strip() else "A streamed document"
    parts = [f"# {title}", "", "This document was written by agentnb's demo `writer` agent.", ""]
    for number in range(1, count + 1):
        parts += _section(number)
    parts += [
        "## Summary",
        "",
        "| Section | Topic |",
        "|--:|:--|",
        *(f"| {n} | {_TOPICS[(n - 1) % len(_TOPICS)][0]} |" for n in range(1, count + 1)),
        "",
    ]
    return "\n".join(parts)


def _section(number: int) -> list[str]:
    topic, sentence = _TOPICS[(number - 1) % len(_TOPICS)]
    lines = [f"## {number}. {topic}", "", f"{sentence} Section {number} explains it briefly.", ""]
    if number % 2 == 1:
        lines += ["- first point", "- second point", "  - a nested detail", ""]
    else:
        lines += ["```python", f"def section_{number}() -> int:", f"    return {number}", "```", ""]
    if number % 3 == 0:
        lines += ["1. read the frame", "2. translate it", "3. show it", ""]
    return lines


class StructuredAgent:
    name = "structured"
    model = "gpt-4o"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = (
        "Answers with JSON valid for the request's JSON schema, each field filled to fit "
        "its name (a ticker and its DEMO price, a summary, ...)."
    )
    tools: tuple[str, ...] = ()
    needs_approval = False
    asks_questions = False

    def check(self, request: AgentInput) -> None:
        self._instance(request)

    def steps(self, request: AgentInput) -> Iterator[Step]:
        instance = self._instance(request)
        yield Text(json.dumps(instance, ensure_ascii=False))
        followups = ("Fill it with other values.",) if request.followups else ()
        yield Finish(final_output=instance, followups=followups)

    def _instance(self, request: AgentInput) -> Any:
        if request.response_format is None:
            return {
                "agent": self.name,
                "message": request.message,
                "words": len(request.message.split()),
            }
        try:
            return instance_for(request.response_format, request.message)
        except SchemaError as exc:
            raise InputProblem("response_format", f"unusable JSON schema: {exc}") from None


AGENTS: dict[str, Agent] = {
    agent.name: agent
    for agent in (
        FinanceAgent(),
        EchoAgent(),
        WriterAgent(),
        StructuredAgent(),
        TraderAgent(),
        PlannerAgent(),
        ResearchTeamAgent(),
        JudgeAgent(),
    )
}


def get_agent(name: str) -> Agent | None:
    return AGENTS.get(name)


def unknown_agent(name: str) -> str:
    """What a 404 for agent ``name`` says: the closest agent's name first when there is one,
    then every agent of this server."""
    close = difflib.get_close_matches(name, AGENTS, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"unknown agent {name!r}; {hint}this server has: {', '.join(sorted(AGENTS))}"
