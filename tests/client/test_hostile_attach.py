"""Attaching to a run (issue 20) against a raw-socket SeekrFlow that misbehaves: a run that
has already ended, an attach stream that is cut again and again, one that sends nothing, one
that sends garbage, one that replays a different run. Each ends with a typed error or a
finished run, keeps what arrived, and never hangs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

from agentnb import AsyncAgentClient, Run
from agentnb._core.exceptions import AgentNBError, RunInterruptedError
from agentnb.events import UnknownEvent

THREAD, RUN = "thread_1", "run_1"
ATTACH = f"/v1/threads/{THREAD}/runs/{RUN}/attach"
WORDS = ["The ", "run ", "goes ", "on ", "to ", "its ", "end."]


def frame(chunk: dict[str, Any] | str) -> bytes:
    data = chunk if isinstance(chunk, str) else json.dumps(chunk)
    return f"data: {data}\n\n".encode()  # data-only, as SeekrFlow streams


def run_frames(words: list[str] = WORDS, *, run_id: str = RUN) -> list[bytes]:
    """A whole SeekrFlow (Vercel frames) run, as its attach route streams it from the start."""
    frames = [frame({"type": "start", "messageId": "msg_1", "messageMetadata": {"runId": run_id}})]
    frames.append(frame({"type": "text-start", "id": "t1"}))
    frames += [frame({"type": "text-delta", "id": "t1", "delta": word}) for word in words]
    frames += [frame({"type": "text-end", "id": "t1"}), frame({"type": "finish"}), frame("[DONE]")]
    return frames


async def attach_all(url: str, **options: Any) -> tuple[Run, list[Any]]:
    async with AsyncAgentClient(
        "seekrflow-vercel", base_url=url, record=False, backoff=0.0, **options
    ) as client:
        stream = client.attach("agent", RUN, thread_id=THREAD)
        events = [event async for event in stream]
        return stream.run, events


def attaches(srv: HostileServer) -> list[Request]:
    return [r for r in srv.requests if r.path == ATTACH]


async def test_attaching_to_a_run_the_platform_says_has_ended_is_a_typed_error() -> None:
    async def ended(conn: Conn, request: Request) -> None:
        body = json.dumps({"detail": f"run {RUN} is already completed"}).encode()
        head = http_head("409 Conflict", {"Content-Type": "application/json"})
        await conn.send(head + body)

    with HostileServer(ended) as srv:
        async with AsyncAgentClient("seekrflow-vercel", base_url=srv.url, record=False) as c:
            stream = c.attach("agent", RUN, thread_id=THREAD)
            with pytest.raises(AgentNBError, match="already completed") as caught:
                async for _ in stream:
                    pass
    assert len(attaches(srv)) == 1  # a refusal is not retried
    assert stream.run.status == "failed" and caught.value.run is stream.run


async def test_an_attach_cut_each_time_after_progress_reattaches_and_completes() -> None:
    """Each attach streams the run from its start and is cut two frames further on: the
    frames already applied are skipped, so the answer is whole and nothing is doubled."""
    whole = run_frames()

    async def cut_later_each_time(conn: Conn, request: Request) -> None:
        shown = 2 + 2 * len(attaches(srv))
        await conn.send(sse_head() + b"".join(whole[:shown]))

    with HostileServer(cut_later_each_time) as srv:
        run, events = await attach_all(srv.url, max_resumes=3)
    assert run.status == "completed", run.error
    assert run.text == "".join(WORDS)
    assert [e.seq for e in events] == list(range(len(events)))
    assert len(attaches(srv)) >= 3


async def test_an_attach_that_sends_nothing_ends_interrupted_without_hanging() -> None:
    async def empty(conn: Conn, request: Request) -> None:
        await conn.send(sse_head())  # a head, then the connection closes

    with HostileServer(empty) as srv:
        async with AsyncAgentClient(
            "seekrflow-vercel", base_url=srv.url, record=False, backoff=0.0, max_resumes=2
        ) as client:
            stream = client.attach("agent", RUN, thread_id=THREAD)
            with pytest.raises(RunInterruptedError, match="gave up after 2") as caught:
                async for _ in stream:
                    pass
    assert stream.run.status == "interrupted" and caught.value.partial_text == ""
    assert len(attaches(srv)) == 3  # the attach, then two attempts without progress


async def test_an_attach_cut_with_no_progress_keeps_the_partial_answer() -> None:
    whole = run_frames()

    async def always_cut(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + b"".join(whole[:5]))

    with HostileServer(always_cut) as srv:
        async with AsyncAgentClient(
            "seekrflow-vercel", base_url=srv.url, record=False, backoff=0.0, max_resumes=2
        ) as client:
            stream = client.attach("agent", RUN, thread_id=THREAD)
            with pytest.raises(RunInterruptedError) as caught:
                async for _ in stream:
                    pass
    assert stream.run.text == "The run goes " == caught.value.partial_text
    assert stream.run.status == "interrupted"


async def test_garbage_in_an_attach_stream_is_kept_and_the_run_completes() -> None:
    whole = run_frames()
    garbage = [b"data: {not json\n\n", frame({"type": "no-such-part", "x": 1}), b": note\n\n"]

    async def noisy(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + b"".join(whole[:3] + garbage + whole[3:]))

    with HostileServer(noisy) as srv:
        run, events = await attach_all(srv.url)
    assert run.status == "completed" and run.text == "".join(WORDS)
    kept = [e for e in events if isinstance(e, UnknownEvent)]
    assert any("not json" in e.data for e in kept)
    assert any("no-such-part" in e.data for e in kept)


async def test_a_reattach_that_replays_another_answer_is_not_merged() -> None:
    """After a cut, the attach route sends a run whose start differs from what was applied:
    agentnb ends the run interrupted with the first answer rather than splice two."""
    first, other = run_frames(), run_frames(["Something ", "else ", "entirely."])

    async def changes_its_story(conn: Conn, request: Request) -> None:
        frames = first[:5] if len(attaches(srv)) == 1 else other
        await conn.send(sse_head() + b"".join(frames))

    with HostileServer(changes_its_story) as srv:
        async with AsyncAgentClient(
            "seekrflow-vercel", base_url=srv.url, record=False, backoff=0.0
        ) as client:
            stream = client.attach("agent", RUN, thread_id=THREAD)
            with pytest.raises(RunInterruptedError) as caught:
                async for _ in stream:
                    pass
    assert stream.run.text == "The run goes " == caught.value.partial_text
    assert "Something" not in stream.run.text
