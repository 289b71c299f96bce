"""An agent's free-form question (an AG-UI interrupt that names no tool call) answered over
a raw socket: the answer is the resume entry's payload."""

from __future__ import annotations

import json
from typing import Any

from hostile_server import Conn, HostileServer, Request, sse_head

from agentnb import AsyncAgentClient


def sse_body(*events: dict[str, Any]) -> bytes:
    return b"".join(f"data: {json.dumps(e)}\n\n".encode() for e in events)


async def test_a_persons_answer_to_a_question_resumes_the_run() -> None:
    question = {"id": "int_q", "reason": "input_required", "message": "Which account?"}
    paused = {"type": "interrupt", "interrupts": [question]}

    async def handler(conn: Conn, request: Request) -> None:
        body = json.loads(request.body)
        await conn.send(sse_head())
        if "resume" not in body:
            await conn.send(
                sse_body(
                    {"type": "RUN_STARTED", "threadId": body["threadId"], "runId": "r1"},
                    {"type": "RUN_FINISHED", "threadId": "t", "runId": "r1", "outcome": paused},
                )
            )
            return
        [entry] = body["resume"]
        answer = entry["payload"]["account"]
        await conn.send(
            sse_body(
                {"type": "RUN_STARTED", "threadId": body["threadId"], "runId": "r2"},
                {"type": "TEXT_MESSAGE_CONTENT", "messageId": "m", "delta": f"Paid from {answer}."},
                {"type": "RUN_FINISHED", "threadId": "t", "runId": "r2"},
            )
        )

    with HostileServer(handler) as server:
        async with (
            AsyncAgentClient("ag-ui", base_url=server.url, record=False) as client,
            client.stream("bank", "Pay the rent") as stream,
        ):
            async for event in stream:
                if event.type == "run_paused":
                    [call] = stream.run.awaiting_approval
                    stream.approvals.approve(call.call_id, answer={"account": "savings"})
        resumed = json.loads(server.requests[-1].body)
    run = stream.run
    assert run.status == "completed" and run.text == "Paid from savings."
    assert resumed["resume"] == [
        {"interruptId": "int_q", "status": "resolved", "payload": {"account": "savings"}}
    ]
    assert resumed["threadId"] == run.thread_id
