"""An MCP App view's ``tools/call`` in the chat cell, kernel side: the message the view's
bridge sends (js/src/mcp_app.js) becomes a run of its own in the cell, its one call asking
through the gate (its card says the view made it), run on the server's session
(``tests/mcp/app_server.py``, the ``mcp`` SDK), answered to the view and kept in the history;
a second call while one waits, a tool the view may not call and an unknown view are refused
with an answer saying why, at once.

The widget's ``send`` is replaced by a recorder: the seam between the kernel and the browser.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from agentnb_testing import wait_until
from chat_cell_views import Recorder, capture, notices, view
from mcp_servers import run_calling, server_command, tools_of

import agentnb
from agentnb._app.mcp.mcp_apps import MAX_VIEW_CALLS, SHOWN_MIME, VIEW_AGENT
from agentnb._display.widget import ChatCell
from agentnb.server import ServerHandle

tools = tools_of("app_server.py")


def shown_view(server: ServerHandle, tools: agentnb.types.McpTools) -> str:
    """A view the agent's call of ``show_time`` showed: its id."""
    run = run_calling(server, tools, "apps__show_time", message="what time is it?")
    [call] = run.tool_calls
    assert call.shown is not None and call.shown["mime"] == SHOWN_MIME
    view_id: str = json.loads(call.shown["data"])["view"]
    return view_id


def answers(recorder: Recorder) -> list[dict[str, Any]]:
    return recorder.of_kind("mcp_app_answer")


def calling(view_id: str, rpc_id: int, name: str = "refresh_time") -> dict[str, Any]:
    return {
        "kind": "mcp_app_call",
        "view": view_id,
        "id": rpc_id,
        "name": name,
        "arguments": {"city": "Paris"},
    }


def test_a_view_s_call_asks_runs_answers_the_view_and_is_kept(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    view_id = shown_view(server, tools)
    cell = ChatCell()
    recorder = capture(cell)
    view(cell, calling(view_id, 7))
    wait_until(lambda: bool(cell.runs) and bool(cell.runs[0].awaiting_approval))
    [run] = cell.runs
    [call] = run.awaiting_approval
    assert (run.agent, run.asked) == (
        VIEW_AGENT,
        "The view of apps__show_time calls apps__refresh_time",
    )
    assert (call.name, call.agent, call.arguments) == (
        "apps__refresh_time",
        "the view of apps__show_time",
        {"city": "Paris"},
    )

    assert call.approval is not None
    assert call.approval.reason == (
        "the MCP App view of apps__show_time asks to call it (not the agent)"
    )
    view(cell, calling(view_id, 8))  # while the first waits
    wait_until(lambda: len(answers(recorder)) == 1)
    assert answers(recorder) == [
        {
            "kind": "mcp_app_answer",
            "view": view_id,
            "id": 8,
            "error": "a call of this view waits already: a view makes one call at a time",
        }
    ]

    view(cell, {"kind": "approve", "t": 0, "call_id": call.call_id})
    wait_until(lambda: len(answers(recorder)) == 2)
    assert answers(recorder)[1] == {
        "kind": "mcp_app_answer",
        "view": view_id,
        "id": 7,
        "result": {  # the server's result, as MCP's JSON
            "content": [{"type": "text", "text": "12:01 in Paris"}],
            "structuredContent": {"result": "12:01 in Paris"},
            "isError": False,
            "resultType": "complete",
        },
    }
    assert cell.runs[0].tool_calls[0].output == "12:01 in Paris"
    kept = agentnb.runs(agent=VIEW_AGENT)
    assert kept.to_pandas()["run_id"].size >= 1
    latest = kept[0]
    assert [(c.name, c.status, c.output) for c in latest.tool_calls] == [
        ("apps__refresh_time", "succeeded", "12:01 in Paris")
    ]


def test_a_denied_call_answers_the_view_with_the_denial(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    view_id = shown_view(server, tools)
    cell = ChatCell()
    recorder = capture(cell)
    view(cell, calling(view_id, "a"))
    wait_until(lambda: bool(cell.runs) and bool(cell.runs[0].awaiting_approval))
    [call] = cell.runs[0].awaiting_approval
    view(cell, {"kind": "deny", "t": 0, "call_id": call.call_id, "reason": "not now"})
    wait_until(lambda: len(answers(recorder)) == 1)
    [answer] = answers(recorder)
    assert answer["id"] == "a"
    assert answer["error"] == "the user denied this call: not now"


@pytest.mark.parametrize(
    ("name", "view_id", "said"),
    [
        ("nothing_here", None, "its server has no tool named 'nothing_here'"),
        ("refresh_time", "gone", "this view is no longer served by the kernel"),
    ],
)
def test_a_call_the_view_may_not_make_is_refused_at_once(
    server: ServerHandle,
    tools: agentnb.types.McpTools,
    name: str,
    view_id: str | None,
    said: str,
) -> None:
    real = shown_view(server, tools)
    cell = ChatCell()
    recorder = capture(cell)
    view(cell, calling(view_id or real, 1, name))
    wait_until(lambda: len(answers(recorder)) == 1)
    assert answers(recorder)[0]["error"].startswith(said)
    assert cell.runs == [], "nothing ran, nobody was asked"


def test_a_view_makes_at_most_its_bound_of_calls(server: ServerHandle) -> None:
    with agentnb.mcp_tools(command=server_command("app_server.py"), approve=False) as unasked:
        view_id = shown_view(server, unasked)
        cell = ChatCell()
        recorder = capture(cell)
        for n in range(MAX_VIEW_CALLS + 1):
            view(cell, calling(view_id, n))
            wait_until(lambda n=n: len(answers(recorder)) == n + 1)  # type: ignore[misc]
        said = [a.get("error") for a in answers(recorder)]
        assert said[:MAX_VIEW_CALLS] == [None] * MAX_VIEW_CALLS
        assert said[MAX_VIEW_CALLS] == (
            f"this view made {MAX_VIEW_CALLS} calls, the most one view may make"
        )


def test_a_view_s_call_is_never_retried_as_a_question(
    server: ServerHandle, tools: agentnb.types.McpTools
) -> None:
    view_id = shown_view(server, tools)
    asked_again: list[str] = []

    def never(text: str) -> Any:
        asked_again.append(text)
        raise AssertionError("nothing is sent")

    cell = ChatCell(on_followup=never, on_retry=never)
    recorder = capture(cell)
    view(cell, calling(view_id, 1, "show_time"))  # read-only: it runs unasked
    wait_until(lambda: len(answers(recorder)) == 1)
    view(cell, {"kind": "retry", "t": 0})
    wait_until(lambda: bool(notices(recorder)))
    assert notices(recorder) == ["This turn is a call an MCP App view made: it cannot be retried."]
    assert asked_again == []
