"""The ``finance_agent`` demo agent: it looks DEMO stock prices up and works out the week's
move with the calculator, then answers with a markdown table."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from .._steps import Finish, Reasoning, Step, Text, ToolStart
from ._agent_input import DEFAULT_TICKER, AgentInput, CallIds, DemoAgent, tickers_in, tool_call
from ._tools import price_table

__all__ = ["FinanceAgent"]

_MOVED_MOST = re.compile(r"\bmoved (the )?most\b", re.IGNORECASE)
_SHARES = re.compile(r"\b(\d{1,6})\s+shares?\b", re.IGNORECASE)
_NOTEBOOK_DATA = re.compile(
    r'<notebook-data id="(?P<id>[^"]+)">\n[^\n]*\n(?P<body>.*)\n</notebook-data id="(?P=id)">',
    re.S,
)
SAID_LINES = 5
"""Lines of a notebook read the demo agent repeats in its answer."""


class FinanceAgent(DemoAgent):
    name = "finance_agent"
    model = "gpt-4o-mini"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = "Looks up DEMO stock prices and computes the week's move with a calculator."
    tools: tuple[str, ...] = ("get_stock_price", "calculator")

    def steps(self, request: AgentInput) -> Iterator[Step]:
        everyone = _MOVED_MOST.search(request.message) is not None  # a follow-up it offers
        tickers = sorted(price_table().quotes) if everyone else tickers_in(request.message)
        ids = CallIds(request.run_id)
        if request.tool_results or request.client_tools:
            yield from _client_tool_steps(request, tickers[0], ids)
            return
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
        costs: dict[str, float] = {}
        shares = _SHARES.search(request.message)
        for quote in quotes if shares else ():
            expression = f"{shares[1]} * {quote['price']}" if shares else ""
            output, _ = yield from tool_call(ids, "calculator", {"expression": expression})
            if output is not None:
                costs[quote["ticker"]] = float(output["result"])
        if everyone and changes:
            most = max(changes, key=lambda ticker: abs(changes[ticker]))
            notes = [f"**{most}** moved most this week: {changes[most]:+.2f}%."]
        else:
            notes = []
        notes += [
            f"{shares[1]} shares of **{ticker}** cost **{_money(cost)}** at that price."
            for ticker, cost in costs.items()
            if shares
        ]
        answer = _finance_answer(quotes, changes, failures, notes)
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
    quotes: list[dict[str, Any]],
    changes: dict[str, float],
    failures: list[tuple[str, str]],
    notes: list[str],
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
    if notes:
        lines += [" ".join(notes), ""]
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


def _client_tool_steps(request: AgentInput, ticker: str, ids: CallIds) -> Iterator[Step]:
    """With tools the client declared: call the first one (a string parameter gets the
    ticker, a number 1), then answer with what the client sent back."""
    if request.tool_results:
        results = [_as_text(m.content) for m in request.tool_results]
        read = [_in_words(result) for result in results]
        if all(read):
            answer = " ".join(str(words) for words in read)
            yield Text(answer)
            yield Finish(final_output=answer)
            return
        said = "; ".join(results)
        yield Text(f"Your notebook's tool says: {said}")
        yield Finish(final_output=said)
        return
    declared = request.client_tools[0]
    parameters = declared.get("parameters") or {}
    arguments: dict[str, Any] = {}
    for name in parameters.get("required") or []:
        kind = (parameters.get("properties") or {}).get(name, {}).get("type")
        arguments[name] = ticker if kind == "string" else 1
    yield Reasoning(f"The client declared {declared.get('name')}; I call it.")
    yield ToolStart(ids.next(), str(declared.get("name")), arguments, client=True)
    yield Finish()


def _in_words(result: str) -> str | None:
    """What a context tool read of the notebook (a data block), said in a sentence as a model
    would answer from it; None for any other result. The demo runs no model: it repeats the
    read's first lines."""
    found = _NOTEBOOK_DATA.fullmatch(result.strip())
    if found is None:
        return None
    lines = [line.strip() for line in found["body"].splitlines() if line.strip()]
    if not lines:
        return "I read your notebook, and it had nothing to show."
    said = f"I read your notebook: {lines[0].rstrip('.:')}."
    rest = lines[1 : 1 + SAID_LINES]
    if rest:
        more = len(lines) - 1 - len(rest)
        said += f" It holds {'; '.join(line.rstrip('.:') for line in rest)}"
        said += f"; and {more} more lines." if more else "."
    return said


def _as_text(content: str) -> str:
    """A result as the client meant it: a JSON string (as UI messages carry one) unquoted."""
    try:
        value = json.loads(content)
    except ValueError:
        return content
    return value if isinstance(value, str) else content
