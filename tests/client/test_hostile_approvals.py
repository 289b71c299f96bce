"""Tool approvals against raw-socket servers on 127.0.0.1 that break the Operativus approval
extension (``APPROVAL_REQUIRED`` / ``PAUSED`` frames, ``POST .../runs/{runId}/approvals``).

A broken frame, a broken answer to the decisions or a server that never stops asking ends the
run with a typed error (never a raw ``KeyError``/``TypeError``, never a hang); a decision POST
is never sent twice, since the server may already have run the tool; Stop during a pause ends
the run ``cancelled``; and a run nobody can decide on is denied with a reason that says so."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, growing_limits
from hostile_server import Conn, HostileServer, Request, http_head, sse_head
from operativus_pauses import (
    FINISH,
    FINISH_C1,
    KEY,
    PAUSE_FOR_C1,
    START,
    Answer,
    approval_required,
    client,
    decision_posts,
    frame,
    paused,
    paused_run,
    tool_start,
)

from agentnb import (
    AgentNBError,
    AuthenticationError,
    NotFoundError,
    ProtocolError,
    RunInterruptedError,
    ServerError,
    StreamStallError,
    TransportError,
)
from agentnb._client.async_client import AsyncAgentClient
from agentnb.events import RunPaused

APPROVALS = "/api/agents/agent/runs/r1/approvals"
NO_ONE = "no one could approve it: the caller was waiting for the run to end"


async def completes(conn: Conn, request: Request) -> None:
    await conn.send(sse_head() + FINISH_C1 + FINISH)


async def failure_of(srv: HostileServer, approve: Any = True, **options: Any) -> AgentNBError:
    """The typed error a run ends with (any other exception fails the test as it is)."""
    async with client(srv.url, **options) as c:
        with pytest.raises(AgentNBError) as caught:
            await c.run("agent", "Buy", approve=approve)
    error = caught.value
    assert error.run is not None and error.run.done  # type: ignore[attr-defined]
    return error


# ---- 1. malformed approval frames ------------------------------------------------------------

NOTHING_TO_DECIDE = [
    pytest.param(START + paused(), id="paused-with-no-pending-call"),
    pytest.param(START + paused("c1"), id="paused-naming-a-call-never-announced"),
    pytest.param(
        START + frame("APPROVAL_REQUIRED", {"name": "place_trade"}) + paused(), id="no-call-id"
    ),
    pytest.param(
        START + frame("APPROVAL_REQUIRED", {"id": 7, "name": "place_trade"}) + paused(),
        id="numeric-call-id",
    ),
    pytest.param(START + frame("APPROVAL_REQUIRED", [1, 2]) + paused(), id="list-data"),
    pytest.param(START + frame("APPROVAL_REQUIRED", 42) + paused(), id="number-data"),
    pytest.param(START + frame("PAUSED", [1]), id="paused-with-list-data"),
]


@pytest.mark.parametrize("stream", NOTHING_TO_DECIDE)
async def test_a_pause_with_no_call_awaiting_approval_is_a_protocol_error(stream: bytes) -> None:
    with HostileServer(paused_run(stream, completes)) as srv:
        error = await failure_of(srv)
    assert isinstance(error, ProtocolError)
    assert "paused" in str(error) and "no tool call awaits approval" in str(error)
    assert decision_posts(srv) == []  # nothing to decide: nothing was sent


async def test_a_pause_without_a_run_id_is_a_protocol_error() -> None:
    opening = frame("START", {"sessionId": "s1"})
    stream = opening + tool_start("c1") + approval_required("c1") + frame("PAUSED", {})
    with HostileServer(paused_run(stream, completes)) as srv:
        error = await failure_of(srv)
    assert isinstance(error, ProtocolError) and "run id" in str(error)
    assert decision_posts(srv) == []


async def test_an_approval_for_a_call_never_started_is_decided_like_any_other() -> None:
    stream = START + approval_required("ghost") + paused("ghost")
    finish = frame("TOOL_END", {"id": "ghost", "name": "place_trade", "result": "ok"}) + FINISH

    async def then(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + finish)

    with HostileServer(paused_run(stream, then)) as srv:
        async with client(srv.url) as c:
            run = await c.run("agent", "Buy", approve=True)
    assert run.status == "completed"
    assert [(t.call_id, t.status) for t in run.tool_calls] == [("ghost", "succeeded")]
    assert decision_posts(srv) == [
        {"decisions": [{"toolCallId": "ghost", "approved": True, "reason": None}]}
    ]


async def test_a_duplicated_approval_request_is_one_call_and_one_decision() -> None:
    stream = START + tool_start("c1") + approval_required("c1") + approval_required("c1")
    with HostileServer(paused_run(stream + paused("c1", "c1"), completes)) as srv:
        async with client(srv.url) as c:
            run = await c.run("agent", "Buy", approve=True)
    assert run.status == "completed"
    assert [(t.call_id, t.status) for t in run.tool_calls] == [("c1", "succeeded")]
    assert decision_posts(srv) == [
        {"decisions": [{"toolCallId": "c1", "approved": True, "reason": None}]}
    ]


# ---- 2. the decisions' answer ----------------------------------------------------------------


def answered(status: str, body: bytes, content_type: str = "application/json") -> Answer:
    async def then(conn: Conn, request: Request) -> None:
        await conn.send(http_head(status, {"Content-Type": content_type}) + body)

    return then


@pytest.mark.parametrize(
    ("answer", "error_type"),
    [
        (answered("500 Internal Server Error", b'{"error": "boom"}'), ServerError),
        (answered("404 Not Found", b'{"error": "no such run"}'), NotFoundError),
        (
            answered("401 Unauthorized", f'{{"error": "bad key {KEY}"}}'.encode()),
            AuthenticationError,
        ),
        (answered("200 OK", b"<html>hello</html>", "text/html"), ProtocolError),
    ],
    ids=["500", "404", "401-echoing-the-key", "html"],
)
async def test_a_refused_decision_ends_the_run_with_a_typed_error_sent_once(
    answer: Answer, error_type: type[AgentNBError]
) -> None:
    with HostileServer(paused_run(PAUSE_FOR_C1, answer)) as srv:
        error = await failure_of(srv, max_retries=2)
    assert isinstance(error, error_type)
    run = error.run  # type: ignore[attr-defined]
    assert run.status == "failed" and run.text == "Placing it. "
    assert KEY not in str(error) and KEY not in repr(run.error)
    assert len(decision_posts(srv)) == 1


async def test_a_decision_answer_whose_body_never_comes_stalls_out() -> None:
    async def silent(conn: Conn, request: Request) -> None:
        await conn.send(sse_head())
        await asyncio.sleep(60)

    # the idle limit covers the wait for the first reply too: it grows while a loaded machine
    # took longer than it to bring the pause, so the stall is the decisions' answer's
    for limit in growing_limits("the decisions posted"):
        with HostileServer(paused_run(PAUSE_FOR_C1, silent)) as srv:
            error = await failure_of(srv, idle_timeout=limit)
        if decision_posts(srv):
            break
    assert isinstance(error, StreamStallError) and "idle_timeout" in str(error)
    assert len(decision_posts(srv)) == 1  # a stall after the decisions is not a reason to resend


async def test_a_connection_closed_before_the_decisions_answer_is_not_resent() -> None:
    async def hang_up(conn: Conn, request: Request) -> None:
        return  # the server closes the connection: did it run the tool? nobody knows

    with HostileServer(paused_run(PAUSE_FOR_C1, hang_up)) as srv:
        error = await failure_of(srv, max_retries=3)
    assert isinstance(error, TransportError) and "not re-sent" in str(error)
    assert len(decision_posts(srv)) == 1


async def test_a_decision_answer_cut_mid_stream_is_not_resent() -> None:
    async def cut(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + FINISH_C1)  # no event ids: nothing to resume from

    with HostileServer(paused_run(PAUSE_FOR_C1, cut)) as srv:
        error = await failure_of(srv, max_retries=3)
    assert error.run.status == "interrupted"  # type: ignore[attr-defined]
    assert len(decision_posts(srv)) == 1


async def test_a_decision_answer_that_replays_the_run_is_not_applied_twice() -> None:
    async def replay(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + PAUSE_FOR_C1[: -len(paused("c1"))] + FINISH_C1 + FINISH)

    with HostileServer(paused_run(PAUSE_FOR_C1, replay)) as srv:
        async with client(srv.url) as c:
            run = await c.run("agent", "Buy", approve=True)
    assert run.text == "Placing it. Done."
    assert [(t.call_id, t.status) for t in run.tool_calls] == [("c1", "succeeded")]
    assert len(decision_posts(srv)) == 1


# ---- 3. pauses without end -------------------------------------------------------------------


async def test_a_server_that_asks_again_for_a_decided_call_ends_the_run() -> None:
    async def ask_again(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + approval_required("c1") + paused("c1"))

    with HostileServer(paused_run(PAUSE_FOR_C1, ask_again)) as srv:
        error = await failure_of(srv)
    assert isinstance(error, ProtocolError) and "'c1'" in str(error)
    assert len(decision_posts(srv)) == 1


def pausing_forever() -> Callable[[Conn, Request], Awaitable[None]]:
    """Each answer to the decisions asks for a new call (c2, c3, ...) and pauses again."""

    async def handler(conn: Conn, request: Request) -> None:
        if request.path.endswith("/runs/stream"):
            await conn.send(sse_head() + PAUSE_FOR_C1)
            return
        handler.calls += 1  # type: ignore[attr-defined]
        call = f"c{handler.calls + 1}"  # type: ignore[attr-defined]
        await conn.send(sse_head() + tool_start(call) + approval_required(call) + paused(call))

    handler.calls = 0  # type: ignore[attr-defined]
    return handler


async def test_each_pause_waits_for_its_own_decision_and_stop_ends_it_cancelled() -> None:
    pauses: list[list[str]] = []
    fourth_pause = asyncio.Event()
    with HostileServer(pausing_forever()) as srv:
        async with client(srv.url) as c, c.stream("agent", "Buy") as stream:

            async def read() -> None:
                async for event in stream:
                    if isinstance(event, RunPaused):
                        waiting = [t.call_id for t in stream.run.awaiting_approval]
                        pauses.append(waiting)
                        if len(pauses) <= 3:
                            stream.approvals.approve(waiting[0])
                        else:
                            fourth_pause.set()

            reader = asyncio.create_task(read())
            await asyncio.wait_for(fourth_pause.wait(), PATIENCE_S)
            assert stream.run.status == "paused"
            await asyncio.wait_for(stream.aclose(), PATIENCE_S)
            await asyncio.wait_for(reader, PATIENCE_S)
    assert pauses == [["c1"], ["c2"], ["c3"], ["c4"]]
    assert stream.run.status == "cancelled"
    posted = [[d["toolCallId"] for d in body["decisions"]] for body in decision_posts(srv)]
    assert posted == [["c1"], ["c2"], ["c3"]]  # the undecided c4 was never sent


# The raw-socket server's side of a connection the run_timeout cuts mid-request is, about once
# in 30 runs on a loaded machine, garbage-collected unclosed after the server's loop stopped
# (a leak of the test's server, not of agentnb's client): not a failure of this test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
async def test_a_policy_answering_pauses_without_end_is_bounded_by_run_timeout() -> None:
    for limit in growing_limits("a decision posted"):  # the run's limit covers its first reply
        with HostileServer(pausing_forever()) as srv:
            error = await failure_of(srv, run_timeout=limit)
        if posts := decision_posts(srv):
            break
    # the run's time limit, or the bound on pauses a run (MAX_PAUSES_PER_RUN), whichever first
    assert isinstance(error, StreamStallError) or "paused the run for decisions" in str(error)
    assert posts and all(len(body["decisions"]) == 1 for body in posts)  # never an empty one


# ---- 4. nobody can decide --------------------------------------------------------------------


async def test_a_blocking_run_denies_the_call_saying_no_one_could_approve_it() -> None:
    async def denied(conn: Conn, request: Request) -> None:
        reason = json.loads(request.body)["decisions"][0]["reason"]
        end = {"id": "c1", "name": "place_trade", "denied": True, "reason": reason}
        await conn.send(sse_head() + frame("TOOL_END", end) + FINISH)

    with HostileServer(paused_run(PAUSE_FOR_C1, denied)) as srv:
        async with client(srv.url) as c:
            run = await c.run("agent", "Buy")
    (decision,) = decision_posts(srv)[0]["decisions"]
    assert decision["toolCallId"] == "c1" and decision["approved"] is False
    assert decision["reason"].startswith(NO_ONE)
    (call,) = run.tool_calls
    assert run.status == "completed" and call.status == "denied"
    assert (call.error or "").startswith(NO_ONE)


# ---- the Vercel UI message stream -----------------------------------------------------------


def chunks(*items: dict[str, Any]) -> bytes:
    return "".join(f"data: {json.dumps(item)}\n\n" for item in items).encode()


VERCEL_PAUSE = chunks(
    {"type": "start", "messageId": "m1"},
    {"type": "tool-approval-request", "toolCallId": "ghost", "approvalId": "a1"},
    {"type": "finish"},
)


def vercel_server(then: bytes) -> Callable[[Conn, Request], Awaitable[None]]:
    async def handler(conn: Conn, request: Request) -> None:
        first = not any(m.get("role") == "assistant" for m in json.loads(request.body)["messages"])
        await conn.send(sse_head() + (VERCEL_PAUSE if first else then))

    return handler


async def test_vercel_an_approval_for_a_call_never_started_is_decided() -> None:
    then = chunks(
        {"type": "tool-output-available", "toolCallId": "ghost", "output": "ok"},
        {"type": "finish"},
    )
    with HostileServer(vercel_server(then)) as srv:
        async with AsyncAgentClient("vercel", base_url=srv.url, record=False) as c:
            run = await c.run("agent", "Buy", approve=True)
    assert run.status == "completed"
    assert [(t.call_id, t.status) for t in run.tool_calls] == [("ghost", "succeeded")]
    assert len(srv.requests) == 2


async def test_vercel_a_server_that_asks_again_for_a_decided_call_ends_the_run() -> None:
    # The answer to the decisions is the paused response again, frame for frame: it is taken
    # as a replay (nothing applied twice), and the stream ends with the run unfinished.
    with HostileServer(vercel_server(VERCEL_PAUSE)) as srv:
        async with AsyncAgentClient("vercel", base_url=srv.url, record=False) as c:
            with pytest.raises(RunInterruptedError, match="ended before the run finished") as e:
                await c.run("agent", "Buy", approve=True)
    run = e.value.run
    assert run is not None and [t.call_id for t in run.tool_calls] == ["ghost"]
    assert len(srv.requests) == 2


def with_ids(frames: bytes, first: int) -> bytes:
    """``frames`` with SSE ids ``first``, ``first + 1``, … (one per frame)."""
    blocks = [b for b in frames.split(b"\n\n") if b]
    return b"".join(b"id: %d\n" % (first + i) + b + b"\n\n" for i, b in enumerate(blocks))


async def test_a_decision_answer_numbering_its_events_afresh_is_applied() -> None:
    """The answer to the decisions is a new response: ids that start again at 1 (with new
    content) are not a replay that diverged, and the run goes on."""

    async def fresh_ids(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + with_ids(FINISH_C1 + FINISH, 1))

    with HostileServer(paused_run(with_ids(PAUSE_FOR_C1, 1), fresh_ids)) as srv:
        async with client(srv.url) as c:
            run = await c.run("agent", "Buy", approve=True)
    assert run.status == "completed"
    assert run.text == "Placing it. Done."
    assert len(decision_posts(srv)) == 1
