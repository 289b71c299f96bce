"""The ``trader`` demo agent: its ``place_trade`` tool runs only once a human approves.

It looks the ticker up, starts ``place_trade`` and asks for approval; the run pauses
(:class:`~agentnb.server._steps.Paused`) until the decision comes back through the dialect's
own channel (the AI SDK's approval response in the next chat request, or Operativus'
``/approvals`` extension). Approved: the DEMO order is filled (nothing is traded); denied: the
call is reported denied and the answer says so.
"""

from __future__ import annotations

import re
from collections.abc import Generator

from .._steps import Decision, Reasoning, Step, ToolDenied, ToolEnd
from ._agent_input import AgentInput, CallIds, DemoAgent, asked, final_answer, tickers_in, tool_call
from ._tools import MAX_SHARES, call_tool

__all__ = ["APPROVAL_REASON", "TraderAgent"]

APPROVAL_REASON = "Placing a trade needs a human's approval."
_SHARES = re.compile(r"(?<![\w.])(\d{1,7})(?![\w.])")
_SELL = re.compile(r"\bsell\b", re.IGNORECASE)


def _order(message: str) -> dict[str, object]:
    """What to trade: the first ticker, ``sell`` if the message says so, the first whole
    number as the share count (1 when there is none)."""
    match = _SHARES.search(message)
    shares = int(match.group(1)) if match else 1
    return {
        "ticker": tickers_in(message)[0],
        "side": "sell" if _SELL.search(message) else "buy",
        "shares": min(max(shares, 1), MAX_SHARES),
    }


class TraderAgent(DemoAgent):
    name = "trader"
    model = "gpt-4.1"
    """The model it reports it ran (a real id, so its runs are priced by genai-prices)."""
    description = "Places DEMO trades: quotes the price, then waits for a human to approve."
    tools: tuple[str, ...] = ("get_stock_price", "place_trade")
    needs_approval = True

    def steps(self, request: AgentInput) -> Generator[Step, Decision | None, None]:
        order = _order(request.message)
        ticker, side, shares = order["ticker"], order["side"], order["shares"]
        ids = CallIds(request.run_id)
        yield Reasoning(
            f"The user wants to {side} {shares} {ticker}. I check the demo price, then ask "
            "for approval before placing the order."
        )
        quote, error = yield from tool_call(ids, "get_stock_price", {"ticker": ticker})
        if quote is None:
            yield from final_answer(f"I cannot trade **{ticker}**: {error}.")
            return
        call_id = ids.next()
        decision = yield from asked(call_id, "place_trade", order, reason=APPROVAL_REASON)
        if decision is not None and decision.approved:
            output, failure = call_tool("place_trade", order)
            yield ToolEnd(call_id, "place_trade", output, failure)
            answer = _filled(output) if output is not None else f"The order failed: {failure}."
        else:
            reason = decision.reason if decision is not None else None
            yield ToolDenied(call_id, "place_trade", reason)
            answer = "I did not place the order: it was declined" + (
                f" ({reason})." if reason else "."
            )
        yield from final_answer(answer)


def _filled(output: dict[str, object]) -> str:
    return (
        f"Placed a **demo** order `{output['order_id']}`: {output['side']} {output['shares']} "
        f"{output['ticker']} at ${output['price']:,.2f} (total ${output['total']:,.2f}). "
        "_No real trade was made: agentnb's demo server invents its fills._"
    )
