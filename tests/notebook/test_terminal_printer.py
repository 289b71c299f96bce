"""The terminal printer (``agentnb run``, terminal IPython) and the plain-text view show every
state a tool call or a run can be in: awaiting approval, paused, approved, denied with the
reason, and a result that never arrived. Runs of the built-in ``trader`` agent, and a
LiteLLM-like stream read through the real ``openai`` translator."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

from agentnb_testing import PATIENCE_S

from agentnb._app.front import connections as conns
from agentnb._app.front.run_start import start_run
from agentnb._core.pricing import usd
from agentnb._core.request import build_request
from agentnb._core.run import Run
from agentnb._display.approval_prompt import TerminalApprover, printed_with, question, whole_call
from agentnb._display.run_text import NO_RESULT_NOTE, run_text, summary_line
from agentnb._display.terminal import TerminalPrinter
from agentnb.approvals import ApprovalDecision
from agentnb.events import (
    Event,
    RunPaused,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallFinished,
    ToolCallStarted,
)
from agentnb.providers.openai import OpenAITranslator
from agentnb.server import ServerHandle
from agentnb.sse import ServerSentEvent
from agentnb.types import ToolCall

ASKS = "  ‖ place_trade awaits approval: Placing a trade needs a human's approval."
PAUSED = "‖ paused: waiting for a decision on place_trade"


def trade(server: ServerHandle, approve: Any, *listeners: Any) -> tuple[Run, str]:
    """A ``trader`` run printed to a string; the run and what was printed."""
    out = io.StringIO()
    conn = conns.connect(
        "operativus", base_url=server.base_url, api_key=server.api_key, name="printer"
    )
    handle = start_run(
        conn,
        build_request("trader", "buy 3 NVDA"),
        listeners=(TerminalPrinter(out, color=False), *listeners),
        approve=approve,
        record=False,
    )
    handle.wait(PATIENCE_S)
    return handle.run, out.getvalue()


def test_a_denied_call_shows_the_wait_the_pause_and_the_reason(server: ServerHandle) -> None:
    def too_risky(call: ToolCall) -> ApprovalDecision:
        return ApprovalDecision(call.call_id, False, "too risky")

    run, printed = trade(server, too_risky)
    lines = printed.splitlines()
    assert '→ place_trade(ticker: "NVDA", side: "buy", shares: 3)' in lines
    assert (
        lines.index(ASKS) < lines.index(PAUSED) < lines.index("  ⊘ place_trade denied: too risky")
    )
    assert printed.count("denied: too risky") == 1  # the decision and the denial: said once
    assert lines[-1].startswith("completed · ") and "2 tool call(s) (1 denied)" in lines[-1]
    assert run.tool_calls[-1].status == "denied"


def test_an_approved_call_says_so_before_its_result(server: ServerHandle) -> None:
    _, printed = trade(server, True)
    lines = printed.splitlines()
    approved = lines.index("  ✓ place_trade approved")
    assert lines[approved + 1].startswith("  ✓ place_trade (") and "filled" in lines[approved + 1]


def test_a_pause_left_to_a_human_is_shown_while_it_waits(server: ServerHandle) -> None:
    paused = threading.Event()
    waiting: list[str] = []

    def on_pause(run: Run, event: Event | None) -> None:
        if isinstance(event, RunPaused):
            waiting.extend(call.call_id for call in run.awaiting_approval)
            paused.set()

    out = io.StringIO()
    conn = conns.connect(
        "operativus", base_url=server.base_url, api_key=server.api_key, name="printer"
    )
    handle = start_run(
        conn,
        build_request("trader", "buy 3 NVDA"),
        listeners=(TerminalPrinter(out, color=False), on_pause),
        record=False,
    )
    assert paused.wait(PATIENCE_S)
    assert out.getvalue().splitlines()[-1] == PAUSED
    handle.approve(waiting[0])
    handle.wait(PATIENCE_S)
    assert "  ✓ place_trade approved" in out.getvalue().splitlines()


def test_colors_mark_waiting_and_denial() -> None:
    run = Run(agent="trader", message="m")
    out = io.StringIO()
    printer = TerminalPrinter(out, color=True)
    for event in fold_trader_denial():
        run.apply(event)
        printer(run, event)
    assert "\x1b[33m  ‖ place_trade awaits approval" in out.getvalue()  # yellow: waiting
    assert "\x1b[31m  ⊘ place_trade denied: no" in out.getvalue()  # red: denied


def fold_trader_denial() -> list[Event]:
    return [
        ToolCallStarted(call_id="c1", name="place_trade", arguments={"ticker": "NVDA"}),
        ToolApprovalRequested(call_id="c1", reason="needs a human"),
        ToolApprovalResponded(call_id="c1", approved=False, reason="no", decided_by="user"),
    ]


def test_a_call_asked_about_at_the_prompt_reads_once() -> None:
    """Under its ``→`` line the prompt asks the question alone; a call its approval request
    announces is the prompt's to show; one decided without the prompt gets its line then."""
    run, out = Run(agent="trader", message="m"), io.StringIO()
    printer = printed_with(TerminalPrinter(out, color=False), TerminalApprover(out))
    announced = ToolApprovalRequested(call_id="c2", name="sell", arguments={"ticker": "NVDA"})
    for event in [*fold_trader_denial()[:2], announced, RunPaused()]:
        run.apply(event)
        printer(run, event)
    trade, sell = run.tool_calls
    assert question(trade, printer.asked("c1")) == "Approve place_trade? [y/N] "
    assert question(sell, printer.asked("c2")) == 'Approve sell(ticker: "NVDA")? [y/N] '
    assert out.getvalue().splitlines() == [
        '→ place_trade(ticker: "NVDA")',
        "  ‖ place_trade awaits approval: needs a human",
        "  ‖ sell awaits approval",  # no paused line: the prompt is the wait
    ]
    policy = ToolApprovalRequested(call_id="c3", name="buy", arguments={})
    for event in [policy, ToolApprovalResponded(call_id="c3", approved=True, decided_by="policy")]:
        run.apply(event)
        printer(run, event)
    assert out.getvalue().splitlines()[-2:] == ["→ buy()", "  ✓ buy approved"]


# A LiteLLM-like stream: the server ran the tool but its result never reaches the client.
PROXIED = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_stock_price", "arguments": '{"ticker": 1}'},
                        }
                    ]
                },
            }
        ]
    },
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]},
    {"choices": [{"index": 0, "delta": {"content": "NVDA is $875.40."}}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
]


def test_a_result_that_never_arrived_is_said_at_the_end() -> None:
    translator = OpenAITranslator("thread_1")
    run = Run(agent="m", message="q")
    out = io.StringIO()
    printer = TerminalPrinter(out, color=False)
    for data in [*map(json.dumps, PROXIED), "[DONE]"]:
        for event in translator.translate(ServerSentEvent(data=data)):
            run.apply(event)
            printer(run, event)
    printer(run, None)
    lines = out.getvalue().splitlines()
    assert "  ? get_stock_price: no result" in lines
    assert f"    {NO_RESULT_NOTE}" in lines
    assert "1 tool call(s) (1 without a result)" in lines[-1]
    assert "✓ get_stock_price" not in out.getvalue()  # never claimed as succeeded
    plain = run_text(run)
    assert "→ get_stock_price(ticker: 1) ? no result" in plain


def test_the_plain_view_shows_waiting_and_denied_calls() -> None:
    run = Run(agent="trader", message="m")
    for event in fold_trader_denial()[:2]:
        run.apply(event)
    assert '→ place_trade(ticker: "NVDA") ‖ awaiting approval' in run_text(run)
    run.apply(fold_trader_denial()[2])
    assert '→ place_trade(ticker: "NVDA") ⊘ denied: no' in run_text(run)


def test_the_approval_question_shows_the_whole_arguments_safely() -> None:
    long_note = "x" * 300
    call = ToolCall(
        call_id="c1",
        name="place\x1b]52;c;aGk=\x07_trade",
        arguments={"ticker": "NVDA\x1b[2J", "note": long_note},
    )
    asked = question(call)
    assert "\x1b" not in asked and "\x07" not in asked
    assert "place⟨U+001B⟩]52;c;aGk=⟨U+0007⟩_trade wants to run:" in asked.splitlines()
    assert '  ticker: "NVDA\\u001b[2J"' in asked.splitlines()
    assert f'  note: "{long_note[:199]}… (+102 chars)' in asked.splitlines()
    assert (
        "⚠ the tool name place⟨U+001B⟩]52;c;aGk=⟨U+0007⟩_trade is not a plain identifier" in asked
    )
    assert asked.endswith("? (1 value is clipped: v shows the whole call) [y/N/v] ")
    whole = whole_call(call)
    assert f'  note: "{long_note}"' in whole.splitlines()
    assert whole.endswith("? [y/N] ")


def test_the_summary_line_shows_the_model_and_the_cost_genai_prices_gives(
    server: ServerHandle,
) -> None:
    run, printed = trade(server, True)
    assert run.model == "gpt-4.1"  # the trader's, as its run status reports it
    assert run.cost is not None and run.cost_source == "genai-prices"
    summary = printed.splitlines()[-1]
    assert f" · {run.model} · {usd(run.cost)}" in summary
    assert summary == summary_line(run)


def test_usd_writes_cents_or_three_significant_digits() -> None:
    # The same cases as js/test/turn.test.js's test of formatUsd.
    cases = [
        (0, "$0.00"),
        (0.000435, "$0.000435"),
        (0.0123, "$0.0123"),
        (0.5, "$0.50"),
        (0.123456, "$0.123"),
        (1, "$1.00"),
        (1234.567, "$1,234.57"),
        (1e-9, "$0.000000001"),
    ]
    assert [usd(value) for value, _ in cases] == [text for _, text in cases]


def test_a_call_that_returned_nothing_shows_no_output_rather_than_null() -> None:
    run, out = Run(agent="a", message="m"), io.StringIO()
    printer = TerminalPrinter(out, color=False)
    for event in (
        ToolCallStarted(call_id="c", name="notify", arguments={}),
        ToolCallFinished(call_id="c", output=None),
    ):
        run.apply(event)
        printer(run, event)
    finished = out.getvalue().splitlines()[-1]
    assert finished.startswith("  ✓ notify (") and finished.endswith(" s)")  # no ": null"
    assert "→ notify() ✓" in run_text(run).splitlines()
