"""Allow for this run in the chat cell, kernel side: the view's Approve carrying
``for_run`` (the message the comm delivers for "Allow for this run") approves the first read
of the notebook and lets the run's later reads pass without a pause, each shown approved by
that decision. A scripted agent on 127.0.0.1 (``tests/reading_agent.py``) reads three times.

The widget's ``send`` is replaced by a recorder: the seam between the kernel and the browser.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from agentnb_testing import PATIENCE_S, serving_asgi, wait_until
from chat_cell_views import capture, notices, paused, transcript_turn, view
from reading_agent import reading_agent

from agentnb._app.context.context_tools import Kernel, context_tools
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.handle import RunHandle
from agentnb._display.widget import ChatCell


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with serving_asgi(reading_agent) as base:
        yield f"{base}/v1"


def test_allow_for_this_run_from_a_view_lets_the_later_reads_pass(url: str) -> None:
    tools = context_tools(Kernel({"cfg": {"host": "db.internal"}}), "0123456789abcdef")
    client = AsyncAgentClient("openai", base_url=url, api_key="k", record=False)
    stream = client.stream("m", "what is in my notebook?", tools=tools)
    cell = ChatCell()
    recorder = capture(cell)
    handle = RunHandle.start(lambda: stream, run=stream.run)
    cell.add(handle)
    wait_until(lambda: paused(cell))
    (first,) = transcript_turn(cell)["tools"]
    assert first["approval"]["for_run"] == "reads of the notebook"
    reason = first["approval"]["reason"]
    assert reason.startswith("reads the notebook once approved")
    shown = first["approval"]["shown"]  # what the card heads the call with, and shows apart
    assert shown["head"] == reason.split("\n")[0]
    assert shown["sends"] == reason.split("\n")[1:]
    view(cell, {"kind": "approve", "t": 0, "call_id": first["call_id"], "for_run": True})
    run = handle.wait(PATIENCE_S)
    assert run.text == "done"
    wait_until(lambda: transcript_turn(cell)["meta"]["status"] == "completed")
    calls = list(transcript_turn(cell)["tools"])
    assert [(c["name"], c["status"], c["approval"]["state"]) for c in calls] == [
        ("notebook_variables", "succeeded", "approved"),
        ("notebook_describe", "succeeded", "approved"),
        ("notebook_error", "succeeded", "approved"),
    ]
    assert [c["approval"]["decision_reason"] for c in calls[1:]] == [
        f"reads of the notebook allowed for this run (with the decision on {first['call_id']})"
    ] * 2
    assert notices(recorder) == []
