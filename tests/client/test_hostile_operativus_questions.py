"""An agent's free-form question from raw-socket servers on 127.0.0.1 speaking the Operativus
approval extension with ``question`` / ``answer``: a 1 MB question, one full of control
characters and an empty one are kept exactly on the call, shown safely (terminal prompt,
static copy), and the typed answer reaches the server exactly once, as sent; an answer to a
run that already ended is refused and sends nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, sse_head
from operativus_pauses import (
    FINISH,
    FINISH_C1,
    START,
    client,
    decision_posts,
    frame,
    paused,
    paused_run,
    tool_start,
)

from agentnb import ConfigurationError
from agentnb._core.run import Run
from agentnb._display.approval_prompt import MAX_QUESTION, answer_prompt
from agentnb._display.static_copy import static_html
from agentnb.events import RunPaused

CONTROL = "\x1b[2J\x1b]0;pwned\x07where?\r\n\x00\u202e\x9b31m"
QUESTIONS = [
    pytest.param("Where to? " + "x" * (1024 * 1024), id="1MB"),
    pytest.param(CONTROL, id="control-characters"),
    pytest.param("", id="empty"),
]


def asking(question: str) -> bytes:
    request = {"id": "c1", "name": "ask_user", "approvalId": "a1", "question": question}
    return START + tool_start("c1") + frame("APPROVAL_REQUIRED", request) + paused("c1")


async def completes(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + FINISH_C1 + FINISH)


async def answered_run(question: str, answer: str) -> tuple[Run, HostileServer]:
    with HostileServer(paused_run(asking(question), completes)) as srv:
        async with client(srv.url) as c, c.stream("agent", "Plan") as stream:
            async for event in stream:
                if isinstance(event, RunPaused):
                    (call,) = stream.run.awaiting_approval
                    assert call.approval is not None and call.approval.question == question
                    stream.approvals.answer("c1", answer)
        with pytest.raises(ConfigurationError, match="already approved"):
            stream.approvals.answer("c1", "again")
        return stream.run, srv


@pytest.mark.parametrize("question", QUESTIONS)
async def test_a_hostile_question_is_kept_exactly_and_answered_once(question: str) -> None:
    run, srv = await answered_run(question, "Lisbon")
    assert run.status == "completed"
    (posted,) = decision_posts(srv)
    assert posted == {
        "decisions": [{"toolCallId": "c1", "approved": True, "reason": None, "answer": "Lisbon"}]
    }
    approval = run.tool_calls[0].approval
    assert approval is not None and (approval.question, approval.answer) == (question, "Lisbon")


@pytest.mark.parametrize("question", QUESTIONS)
async def test_a_hostile_question_is_shown_safely(question: str) -> None:
    run, _ = await answered_run(question, "fine")
    call = run.tool_calls[0]
    prompt = answer_prompt(call, question)
    shown = prompt.split("\n")[0]
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 for c in shown), repr(shown[:80])
    assert shown.isprintable(), repr(shown[:80])  # no format character either (bidi, zero-width)
    assert len(shown) <= MAX_QUESTION + len("ask_user asks: … (+9,999,999 chars)")
    html = static_html([run])
    assert "\x1b" not in html and "<script" not in html
    assert "Answered: fine" in html


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("y" * (1024 * 1024), id="1MB"),
        pytest.param(CONTROL, id="control-characters"),
        pytest.param("", id="empty"),
    ],
)
async def test_a_hostile_answer_reaches_the_server_as_typed(answer: str) -> None:
    run, srv = await answered_run("Where to?", answer)
    assert run.status == "completed"
    (posted,) = decision_posts(srv)
    assert posted["decisions"][0]["answer"] == answer
    approval = run.tool_calls[0].approval
    assert approval is not None and approval.answer == answer


async def test_a_question_that_is_not_text_is_no_question() -> None:
    request: dict[str, Any] = {"id": "c1", "name": "ask_user", "question": {"nested": [1]}}
    first = START + tool_start("c1") + frame("APPROVAL_REQUIRED", request) + paused("c1")
    with HostileServer(paused_run(first, completes)) as srv:
        async with client(srv.url) as c, c.stream("agent", "Plan") as stream:
            async for event in stream:
                if isinstance(event, RunPaused):
                    with pytest.raises(ConfigurationError, match="asks no question"):
                        stream.approvals.answer("c1", "x")
                    stream.approvals.approve("c1")
        assert json.loads(srv.requests[-2].body)["decisions"][0]["approved"] is True


async def test_an_answer_to_a_run_that_already_ended_is_refused_and_sends_nothing() -> None:
    request = {"id": "c1", "name": "ask_user", "approvalId": "a1", "question": "Where to?"}
    ended = START + tool_start("c1") + frame("APPROVAL_REQUIRED", request) + FINISH
    with HostileServer(paused_run(ended, completes)) as srv:
        async with client(srv.url) as c, c.stream("agent", "Plan") as stream:
            async for _ in stream:
                pass
        assert stream.run.status == "completed"
        with pytest.raises(ConfigurationError, match="not awaiting approval"):
            stream.approvals.answer("c1", "too late")
        with pytest.raises(ConfigurationError, match="0 calls wait for an answer"):
            stream.approvals.answer(None, "too late")
        assert decision_posts(srv) == []
