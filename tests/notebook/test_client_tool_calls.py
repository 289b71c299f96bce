"""A run that ends asking the client for tool output (finish reason ``tool_calls``: a Responses
API function call, a plain model's ``tool_calls``) is shown as waiting for the client's tool
output, not as an error nor as a result that went missing, in the terminal, the static copy
and the plain text."""

from __future__ import annotations

import io

from agentnb._core.run import Run
from agentnb._display.run_text import CLIENT_TOOL_NOTE, NO_RESULT_NOTE, run_text, status_line
from agentnb._display.static_copy import static_bundle
from agentnb._display.terminal import TerminalPrinter
from agentnb.events import RunCompleted, ToolCallStarted


def ended(finish_reason: str) -> Run:
    run = Run(agent="assistant", message="What is the weather in Oslo?")
    run.start(at=100.0)
    for event in (
        ToolCallStarted(call_id="c1", name="get_weather", arguments={"city": "Oslo"}),
        RunCompleted(finish_reason=finish_reason, received_at=101.0),
    ):
        run.apply(event)
    return run


def test_a_call_left_for_the_client_says_the_agent_waits_for_its_output() -> None:
    run = ended("tool_calls")
    [call] = run.client_tool_calls
    assert call.status == "no_result" and run.status == "completed" and run.error is None
    assert status_line(run).startswith("completed — waiting for the client's tool output")
    bundle = static_bundle([run])
    assert CLIENT_TOOL_NOTE in bundle["text/html"] and NO_RESULT_NOTE not in bundle["text/html"]
    assert "left this call for the client to run" in bundle["text/markdown"]
    assert "waiting for the client's tool output" in run_text(run)
    out = io.StringIO()
    TerminalPrinter(out, color=False)(run, None)
    assert CLIENT_TOOL_NOTE in out.getvalue()


def test_a_result_the_server_never_reported_keeps_its_own_note() -> None:
    run = ended("stop")
    assert run.client_tool_calls == []
    html = static_bundle([run])["text/html"]
    assert "without the platform reporting" in html and CLIENT_TOOL_NOTE not in html
    assert NO_RESULT_NOTE.startswith("The run ended without the platform reporting")
    assert status_line(run).startswith("completed ·")
