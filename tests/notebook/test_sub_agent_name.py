"""A sub-agent that only streams text inside a call (no calls of its own) is named by its
text: `Run` keeps the agent that ran inside each call (``ToolCall.sub_agent``), and every
view labels the collapsed text with it (static copies, the terminal printer, the chat cell's
wire)."""

from __future__ import annotations

import io

from agentnb_testing import PATIENCE_S, Scripted
from chat_cell_views import capture, play, replica_of

from agentnb._core.run import Run
from agentnb._display.run_text import run_text
from agentnb._display.static_copy import static_html, static_markdown, static_text
from agentnb._display.terminal import TerminalPrinter
from agentnb._display.widget import ChatCell
from agentnb.events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)

WRITER_TEXT = "Semis look strong this quarter."


def text_only_events() -> list[Event]:
    """A planner calls ``research``; inside it the agent ``writer`` only thinks and writes."""
    return [
        ToolCallStarted(call_id="r1", name="research", arguments={"topic": "semis"}),
        ReasoningDelta(delta="Short and plain.", parent_call_id="r1", agent="writer"),
        TextDelta(delta=WRITER_TEXT, parent_call_id="r1", agent="writer"),
        ToolCallFinished(call_id="r1", output="done"),
        TextDelta(delta="Here is the summary."),
        RunCompleted(),
    ]


def folded(events: list[Event]) -> Run:
    run = Run(agent="planner", message="Summarise")
    for event in events:
        run.apply(event)
    return run


def test_the_call_keeps_the_name_of_the_agent_that_only_wrote_text_inside_it() -> None:
    call = folded(text_only_events()).tool_call("r1")
    assert call is not None
    assert (call.sub_agent, call.agent, call.agent_text) == ("writer", None, WRITER_TEXT)
    assert call.to_dict()["sub_agent"] == "writer"


def test_a_call_made_inside_names_the_sub_agent_too_and_the_first_name_stays() -> None:
    run = folded(
        [
            ToolCallStarted(call_id="r1", name="research"),
            ToolCallStarted(call_id="r1/q", name="quote", parent_call_id="r1", agent="analyst"),
            TextDelta(delta="later", parent_call_id="r1", agent="someone_else"),
            TextDelta(delta="unnamed", parent_call_id="r1/q"),
        ]
    )
    outer, inner = run.tool_call("r1"), run.tool_call("r1/q")
    assert outer is not None and inner is not None
    assert (outer.sub_agent, inner.sub_agent, inner.agent) == ("analyst", None, "analyst")


def test_every_static_copy_labels_the_text_with_the_sub_agent() -> None:
    run = folded(text_only_events())
    assert "Sub-agent writer text" in static_html([run])
    assert f"  ┆ writer: {WRITER_TEXT}" in static_text([run]).splitlines()
    assert "Sub\\-agent writer text" in static_markdown([run])  # markdown escapes the dash


def test_the_terminal_printer_and_plain_view_label_the_text_with_the_sub_agent() -> None:
    run, out = Run(agent="planner", message="Summarise"), io.StringIO()
    printer = TerminalPrinter(out, color=False)
    for event in text_only_events():
        run.apply(event)
        printer(run, event)
    printer(run, None)
    assert f"  ┆ writer: {WRITER_TEXT}" in out.getvalue().splitlines()
    assert f"  ┆ writer: {WRITER_TEXT}" in run_text(run).splitlines()


def test_the_chat_cells_copy_of_the_call_carries_the_sub_agent() -> None:
    stream = Scripted(text_only_events(), agent="planner", pace_every=1)
    cell = ChatCell(max_fps=1000)
    recorder = capture(cell)
    play(cell, recorder, stream, PATIENCE_S)
    replica = replica_of(recorder)
    assert replica.turns[0]["tools"]["r1"]["sub_agent"] == "writer"
