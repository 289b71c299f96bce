"""Free-form answers in the chat cell, kernel side: the built-in ``planner`` asks a question
(Operativus carries it), the views get it with the pending call, and a view's answer (the
``answer`` message the comm delivers) reaches the agent through the run's handle. The static
copy shows the question and the answer; refusals come back as notices.

The widget's ``send`` is replaced by a recorder: the seam between the kernel and the browser.
"""

from __future__ import annotations

from typing import Any

from agentnb_testing import PATIENCE_S, wait_until
from chat_cell_views import capture, notices, paused, replica_of, transcript_turn, view

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.handle import RunHandle
from agentnb._display.widget import ChatCell
from agentnb.server import ServerHandle
from agentnb.server.agents._planner_agent import QUESTION


def planner_cell(server: ServerHandle, agent: str = "planner", message: str = "Plan a trip") -> Any:
    client = AsyncAgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, record=False
    )
    stream = client.stream(agent, message)
    cell = ChatCell()
    recorder = capture(cell)
    cell.add(RunHandle.start(lambda: stream, run=stream.run))
    return cell, recorder


def asked_call(cell: ChatCell) -> dict[str, Any]:
    tools = transcript_turn(cell)["tools"]
    return next(iter(tools.values() if isinstance(tools, dict) else tools))


def test_an_answer_from_a_view_reaches_the_agent(server: ServerHandle) -> None:
    cell, recorder = planner_cell(server)
    wait_until(lambda: paused(cell))
    pending = asked_call(cell)
    assert pending["approval"]["question"] == QUESTION
    assert pending["approval"]["state"] == "awaiting"
    assert f"ask_user asked: {QUESTION}" in cell.static_bundle()["text/html"]
    recorder.wait_for(lambda: replica_of(recorder).turns[0]["meta"]["status"] == "paused")
    view(cell, {"kind": "answer", "t": 0, "call_id": pending["call_id"], "text": "Lisbon"})
    run = cell.wait(PATIENCE_S)
    assert run.status == "completed" and "plan for Lisbon" in run.text
    wait_until(lambda: transcript_turn(cell)["meta"]["status"] == "completed")
    answered = asked_call(cell)["approval"]
    assert (answered["state"], answered["answer"]) == ("approved", "Lisbon")
    html = cell.static_bundle()["text/html"]
    assert "Answered: Lisbon" in html and f"asked: {QUESTION}" in html
    assert notices(recorder) == []


def test_answers_the_handle_refuses_come_back_as_notices(server: ServerHandle) -> None:
    cell, recorder = planner_cell(server, agent="trader", message="Buy 1 NVDA")
    wait_until(lambda: paused(cell))
    tools = transcript_turn(cell)["tools"]
    call_id = next(c["call_id"] for c in tools if c["name"] == "place_trade")
    view(cell, {"kind": "answer", "t": 0, "call_id": call_id, "text": "yes"})
    recorder.wait_for(lambda: bool(notices(recorder)))
    assert "asks no question" in notices(recorder)[0]
    view(cell, {"kind": "answer", "t": 0, "call_id": call_id, "text": None})  # ignored
    view(cell, {"kind": "approve", "t": 0, "call_id": call_id})
    assert cell.wait(PATIENCE_S).status == "completed"
    view(cell, {"kind": "answer", "t": 0, "call_id": call_id, "text": "late"})
    recorder.wait_for(lambda: len(notices(recorder)) == 2)
    assert "Could not answer" in notices(recorder)[1]
