"""The terminal printer and the plain-text view draw a run with sub-agents as a tree: nested
calls indented under their parent with their agent, a sub-agent's text on its call's dimmed
lines, never in the answer. Events from agentnb's SeekrFlow translator."""

from __future__ import annotations

import io
import json

from nested_frames import (
    SUB_REASONING,
    SUB_TEXT,
    TOP_TEXT,
    deep_run_frames,
    finished,
    nested,
    nested_run_frames,
    started,
)

from agentnb._core.run import Run
from agentnb._display.call_tree import MAX_INDENT
from agentnb._display.run_text import run_text
from agentnb._display.terminal import TerminalPrinter
from agentnb.providers.seekrflow import SeekrFlowVercel
from agentnb.sse import ServerSentEvent
from agentnb.types import RunRequest


def printed(frames: list[dict[str, object]], *, color: bool = False) -> tuple[Run, str]:
    """What the printer writes while ``frames`` stream, as `RunHandle` calls it."""
    request = RunRequest(agent="planner", message="Compare", thread_id="t1")
    translator = SeekrFlowVercel().translator(request)
    run, out = Run(agent="planner", message="Compare"), io.StringIO()
    printer = TerminalPrinter(out, color=color)
    for frame in frames:
        for event in translator.translate(ServerSentEvent(data=json.dumps(frame))):
            run.apply(event)
            printer(run, event)
    printer(run, None)
    return run, out.getvalue()


def test_nested_calls_are_indented_under_their_parent_with_their_agent() -> None:
    _, text = printed(nested_run_frames())
    lines = text.splitlines()
    assert lines[:2] == ['→ research(ticker: "NVDA")', '→ research(ticker: "AMD")']
    assert f"  ┆ researcher thinking: {SUB_REASONING}" in lines
    assert f"  ┆ researcher: {SUB_TEXT}" in lines
    assert "  ┆ analyst: Looking up AMD." in lines
    assert '  ↳ [researcher] → get_price(ticker: "NVDA")' in lines
    assert '  ↳ [analyst] → get_price(ticker: "AMD")' in lines
    assert "    ↳ [checker] → verify(price: 181.2)" in lines
    assert any(line.startswith("    ✓ get_price") and "160.0" in line for line in lines)
    assert any(line.startswith("      ✓ verify") for line in lines)


def test_sub_agent_text_never_reaches_the_answer_line() -> None:
    run, text = printed(nested_run_frames())
    assert run.text == TOP_TEXT
    answer = [line for line in text.splitlines() if TOP_TEXT in line]
    assert answer == [TOP_TEXT]
    assert all(SUB_TEXT not in line or line.startswith("  ┆") for line in text.splitlines())


def test_sub_agent_lines_are_dimmed_in_colour() -> None:
    _, text = printed(nested_run_frames(), color=True)
    assert f"\x1b[2m  ┆ researcher: \x1b[0m\x1b[2m{SUB_TEXT}\x1b[0m" in text


def test_a_50_deep_tree_stops_indenting_and_says_the_depth() -> None:
    _, text = printed(deep_run_frames(50))
    deepest = next(line for line in text.splitlines() if "level_49" in line)
    assert deepest == "  " * MAX_INDENT + "↳ [depth 49] [agent_49] → level_49(level: 49)"


def test_the_plain_view_draws_the_same_tree() -> None:
    run, _ = printed(nested_run_frames())
    lines = run_text(run).splitlines()
    assert lines[:6] == [
        '→ research(ticker: "NVDA") ✓ NVDA is at 181.2',
        f"  ┆ researcher: {SUB_TEXT}",
        '  ↳ [researcher] → get_price(ticker: "NVDA") ✓ {"price": 181.2}',
        "    ↳ [checker] → verify(price: 181.2) ✓ ok",
        '→ research(ticker: "AMD") ✓ AMD is at 160',
        "  ┆ analyst: Looking up AMD.",
    ]
    assert lines[6:8] == [
        '  ↳ [analyst] → get_price(ticker: "AMD") ✓ {"price": 160.0}',
        TOP_TEXT,
    ]


def test_a_call_is_printed_once_with_its_arguments_when_they_stream_after_its_start() -> None:
    """The UI-message stream names a call (``tool-input-start``) before its arguments
    (``tool-input-available``), at the top and inside a sub-agent: one line each, with the
    arguments (was ``→ research()`` then ``→ research({...})``, and ``get_price()``)."""

    def input_start(call_id: str, name: str) -> dict[str, object]:
        return {"type": "tool-input-start", "toolCallId": call_id, "toolName": name}

    frames = [
        {"type": "start", "messageId": "m1"},
        input_start("r1", "research"),
        started("r1", "research", {"ticker": "NVDA"}),
        nested(input_start("p1", "get_price"), ["r1", "p1"], "researcher"),
        nested(started("p1", "get_price", {"ticker": "NVDA"}), ["r1", "p1"], "researcher"),
        nested(finished("p1", {"price": 181.2}), ["r1", "p1"], "researcher"),
        input_start("r2", "research"),  # never given arguments nor a result: shown at the end
        finished("r1", {"price": 181.2}),
        {"type": "finish"},
    ]
    _, text = printed(frames)
    starts = [line for line in text.splitlines() if "→" in line]
    assert starts == [
        '→ research(ticker: "NVDA")',
        '  ↳ [researcher] → get_price(ticker: "NVDA")',
        "→ research()",
    ]
