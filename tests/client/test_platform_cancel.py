"""Stop reaches the platform (issue 20): a cancelled SeekrFlow run's agent is stopped on the
built-in server through the cancel route the ``seekrai`` SDK uses, whichever way the run was
stopped; a cancel the platform refuses, answers with an error or never answers leaves the run
cancelled at once, with the failure kept on it and nothing raised."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, client_for
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

import agentnb
from agentnb import AsyncAgentClient, Run
from agentnb._client import platform_cancel
from agentnb.events import RunStarted, TextDelta
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

DIALECTS = ["seekrflow", "seekrflow-vercel"]


def server_status(server: ServerHandle, run_id: str | None) -> str:
    assert run_id is not None
    log = server.app.state.agentnb.runs.get(run_id)
    assert log is not None
    return str(log.status)


async def wait_for(condition: Callable[[], bool], seconds: float = PATIENCE_S) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.02)


@pytest.mark.parametrize("dialect", DIALECTS)
async def test_closing_the_stream_stops_the_agent_on_the_platform(
    server: ServerHandle, dialect: str
) -> None:
    async with client_for(server, dialect, delay_ms=50, record=False) as client:
        stream = client.stream("writer", "a long story", extra={"metadata": {"paragraphs": "40"}})
        async for event in stream:
            if isinstance(event, TextDelta):
                break
        await stream.aclose()
        run = stream.run
        assert run.status == "cancelled"  # at once, before the platform answers
        await wait_for(lambda: server_status(server, run.run_id) == "cancelled")
    assert run.cancel_error is None
    log = server.app.state.agentnb.runs.get(run.run_id)
    failure = log.failure()
    assert failure is not None and failure.message == "the run was cancelled: by the client"


async def test_a_handle_cancel_stops_the_agent_too(server: ServerHandle) -> None:
    async with client_for(server, "seekrflow", delay_ms=50, record=False) as client:
        started: asyncio.Event = asyncio.Event()

        async def consume() -> Run:
            async with client.stream(
                "writer", "story", extra={"metadata": {"paragraphs": "40"}}
            ) as s:
                async for event in s:
                    if isinstance(event, TextDelta):
                        started.set()
                return s.run

        task = asyncio.create_task(consume())
        await started.wait()
        task.cancel()  # what a kernel interrupt or the Stop button does to the reading task
        with pytest.raises(asyncio.CancelledError):
            await task
    runs = [log for log in server.app.state.agentnb.runs.all() if log.agent == "writer"]
    await wait_for(lambda: runs[-1].status == "cancelled")


async def test_cancelling_a_finished_run_is_refused_and_kept(server: ServerHandle) -> None:
    async with client_for(server, "seekrflow", record=False) as client:
        run = await client.run("echo", "hello")
        assert platform_cancel.cancel_on_platform(client.transport, run) is not None
        await asyncio.gather(*client.transport.background)
    assert run.cancel_error is not None
    assert f"run {run.run_id!r} is already completed" in run.cancel_error


async def test_a_dialect_without_a_cancel_operation_sends_nothing(server: ServerHandle) -> None:
    async with client_for(server, "openai", record=False) as client:
        run = Run(agent="echo", run_id="run_x")
        assert platform_cancel.cancel_on_platform(client.transport, run) is None


# ---- a platform that will not be stopped ---------------------------------------------------


def seekrflow_server(
    cancel: Callable[[Conn], object],
    names_after: float | None = 0.0,
    head_after: float | None = 0.0,
    asked: threading.Event | None = None,
) -> HostileServer:
    """A SeekrFlow server whose stream answers ``head_after`` seconds after the request
    (never, for None), names its run (``run_1``) with its first text ``names_after`` seconds
    later (never, for None) and then holds the stream open; it answers a cancel with
    ``cancel``. ``asked`` is set when the run's request arrives."""

    async def handle(conn: Conn, request: Request) -> None:
        if request.path == "/v1/threads":
            await conn.send(json_answer({"id": "thread_1"}))
        elif request.path.endswith("/messages"):
            await conn.send(json_answer({"id": "msg_1"}))
        elif request.path.endswith("/cancel"):
            await cancel(conn)  # type: ignore[misc]
        else:
            if asked is not None:
                asked.set()
            await asyncio.sleep(60 if head_after is None else head_after)
            await conn.send(sse_head())
            if names_after is not None:
                await asyncio.sleep(names_after)
                chunk = {"type": "text_delta", "text": "Once upon a time"}
                meta = {"run_id": "run_1"}
                frame = {"type": "streaming_chunk", "data": chunk, "meta_data": meta}
                await conn.send(f"data: {json.dumps(frame)}\n\n".encode())
            await asyncio.sleep(60)

    return HostileServer(handle)


def json_answer(body: object, status: str = "200 OK") -> bytes:
    data = json.dumps(body).encode()
    head = http_head(status, {"Content-Type": "application/json", "Content-Length": str(len(data))})
    return head + data


async def refuse(conn: Conn) -> None:
    await conn.send(
        json_answer({"error": {"message": "cannot cancel"}}, "500 Internal Server Error")
    )


async def hang(conn: Conn) -> None:
    await asyncio.sleep(60)


async def reset(conn: Conn) -> None:
    conn.writer.transport.abort()


@pytest.mark.parametrize("cancel", [refuse, hang, reset], ids=["500", "hang", "reset"])
async def test_a_cancel_that_fails_is_kept_on_the_run_not_raised(
    cancel: Callable[[Conn], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(platform_cancel, "CANCEL_TIMEOUT_S", 0.5)
    with seekrflow_server(cancel) as srv:
        async with AsyncAgentClient(
            "seekrflow", base_url=srv.url, record=False, backoff=0.0, max_retries=1
        ) as client:
            stream = client.stream("agent", "hello")
            async for event in stream:
                if isinstance(event, TextDelta):
                    break
            await stream.aclose()
            run = stream.run
            assert run.status == "cancelled" and run.run_id == "run_1"
        # closing the client waited for the cancel request, bounded by its timeout
    cancels = [r for r in srv.requests if r.path.endswith("/cancel")]
    assert cancels and cancels[0].path == "/v1/threads/thread_1/runs/run_1/cancel"
    assert json.loads(cancels[0].body) == {"agent_id": "agent"}
    assert run.status == "cancelled"
    assert run.cancel_error is not None
    assert run.cancel_error.startswith("the platform was not told to stop the run")


async def test_the_stream_closes_while_the_platform_holds_the_cancel_unanswered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(platform_cancel, "CANCEL_TIMEOUT_S", 30.0)  # not reached: held below
    answer = threading.Event()  # the server answers the cancel once the test sets it

    async def held(conn: Conn) -> None:
        await asyncio.to_thread(answer.wait, 60)
        await refuse(conn)

    with seekrflow_server(held) as srv:
        async with AsyncAgentClient("seekrflow", base_url=srv.url, record=False) as client:
            stream = client.stream("agent", "hello")
            async for event in stream:
                if isinstance(event, TextDelta):
                    break
            await stream.aclose()
            in_flight = [task for task in client.transport.background if not task.done()]
            assert stream.run.status == "cancelled" and stream.run.cancel_error is None
            assert in_flight, "the stream waited for the platform's answer to the cancel"
            answer.set()
            await asyncio.gather(*in_flight)
    assert [r.path for r in srv.requests if r.path.endswith("/cancel")]
    assert stream.run.cancel_error is not None and "cannot cancel" in stream.run.cancel_error


async def test_a_failed_cancel_is_kept_in_the_history_row(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The cancel's failure is known only after the run's end was recorded: the row gets it
    as its ``cancel_error`` column all the same."""
    monkeypatch.setattr(platform_cancel, "CANCEL_TIMEOUT_S", 0.5)
    store = HistoryStore(tmp_path / "history.db")
    with seekrflow_server(refuse) as srv:
        async with AsyncAgentClient(
            "seekrflow", base_url=srv.url, recorder=store, backoff=0.0, max_retries=1
        ) as client:
            stream = client.stream("agent", "hello")
            async for event in stream:
                if isinstance(event, TextDelta):
                    break
            await stream.aclose()
    store.flush()
    record = store.get(stream.run.local_id)
    assert record is not None and record.status == "cancelled"
    assert record.cancel_error is not None and "not told to stop" in record.cancel_error
    assert record.cancel_error == stream.run.cancel_error
    frame = store.runs().to_pandas()
    assert frame["cancel_error"].tolist() == [record.cancel_error]
    store.close()


def test_run_handle_cancel_reaches_the_platform(server: ServerHandle) -> None:
    """``handle.cancel()`` (what the chat cell's Stop calls through its controller) on an
    ``ask`` run tells the built-in server to stop the agent."""
    client = client_for(server, "seekrflow-vercel", delay_ms=50, record=False)
    handle = agentnb.ask(
        "writer", "a long story", client=client, display=False, metadata={"paragraphs": "40"}
    )
    deadline = time.monotonic() + PATIENCE_S
    while not (handle.run.text and handle.run.run_id):
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.02)
    handle.cancel()
    with pytest.raises(agentnb.RunCancelledError):
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "cancelled"
    deadline = time.monotonic() + PATIENCE_S
    while server_status(server, handle.run.run_id) != "cancelled":
        assert time.monotonic() < deadline, "the platform was not told to stop"
        time.sleep(0.02)


# ---- a run stopped before the platform named it -------------------------------------------


async def accept(conn: Conn) -> None:
    await conn.send(json_answer({"status": "cancelled"}))


def cancels(srv: HostileServer) -> list[str]:
    return [r.path for r in srv.requests if r.path.endswith("/cancel")]


async def test_a_stream_closed_before_the_platform_named_its_run_still_stops_it_there(
    tmp_path: Path,
) -> None:
    """Closed right after the response's head (SeekrFlow's first event, from the head, has
    no run id): the stream reads on until the platform names the run, then cancels it, and
    the history keeps the id."""
    store = HistoryStore(tmp_path / "history.db")
    with seekrflow_server(accept, names_after=0.3) as srv:
        async with AsyncAgentClient("seekrflow", base_url=srv.url, recorder=store) as client:
            stream = client.stream("agent", "hello")
            async for event in stream:
                assert isinstance(event, RunStarted) and event.run_id is None
                break
            await stream.aclose()
            assert stream.run.status == "cancelled" and stream.run.text == ""
            await asyncio.gather(*client.transport.background)
            assert stream.run.run_id == "run_1"
    assert cancels(srv) == ["/v1/threads/thread_1/runs/run_1/cancel"]
    assert stream.run.cancel_error is None
    store.flush()
    record = store.get(stream.run.local_id)
    assert record is not None and record.run_id == "run_1" and record.status == "cancelled"
    store.close()


async def test_a_task_cancelled_before_the_platform_named_its_run_still_stops_it_there() -> None:
    """The same when the task consuming the run is cancelled (a Stop, a kernel interrupt)
    while it waits for the first frame."""
    with seekrflow_server(accept, names_after=0.3) as srv:
        async with AsyncAgentClient("seekrflow", base_url=srv.url, record=False) as client:
            answered = asyncio.Event()
            stream = client.stream("agent", "hello")
            task = asyncio.create_task(stream.consume(lambda event: answered.set()))
            await answered.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert stream.run.status == "cancelled"
            await asyncio.gather(*client.transport.background)
            assert stream.run.run_id == "run_1"
    assert cancels(srv) == ["/v1/threads/thread_1/runs/run_1/cancel"]


# ---- a Stop before the platform answered or named the run (issue 53) ------------------------


async def stopped_at(srv: HostileServer, asked: threading.Event, stop_after: float) -> Run:
    """A run stopped ``stop_after`` seconds after its request reached the server, its
    consuming task cancelled (the Stop button, a kernel interrupt); the client is closed
    once every request the Stop left to send went out."""
    async with AsyncAgentClient("seekrflow", base_url=srv.url, record=False) as client:
        stream = client.stream("agent", "hello")
        task = asyncio.create_task(stream.consume())
        await asyncio.to_thread(asked.wait, PATIENCE_S)
        await asyncio.sleep(stop_after)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert stream.run.status == "cancelled"  # at once, whatever the platform does next
    return stream.run


@pytest.mark.parametrize("stop_after", [0.0, 0.1, 0.2, 0.3])
async def test_a_stop_before_the_response_head_still_stops_the_run_there(
    stop_after: float,
) -> None:
    """The head comes 400 ms after the request: the request goes on after the Stop, and
    once the platform names the run, it is told to stop it."""
    asked = threading.Event()
    with seekrflow_server(accept, head_after=0.4, asked=asked) as srv:
        run = await stopped_at(srv, asked, stop_after)
    assert cancels(srv) == ["/v1/threads/thread_1/runs/run_1/cancel"]
    assert run.run_id == "run_1" and run.cancel_error is None


@pytest.mark.parametrize("stop_after", [0.1, 1.0, 2.0])
async def test_a_stop_long_before_the_platform_names_the_run_still_stops_it_there(
    stop_after: float,
) -> None:
    """The run is named 2.5 s after the head (a platform that creates it slowly): read on
    after the Stop, the name arrives and the cancel goes out."""
    asked = threading.Event()
    with seekrflow_server(accept, names_after=2.5, asked=asked) as srv:
        run = await stopped_at(srv, asked, stop_after)
    assert cancels(srv) == ["/v1/threads/thread_1/runs/run_1/cancel"]
    assert run.run_id == "run_1" and run.cancel_error is None


@pytest.mark.parametrize("head_after", [None, 0.0], ids=["no-head", "no-name"])
async def test_a_run_never_named_says_the_platform_was_not_told(
    head_after: float | None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No head, or no name, within the bound after the Stop: nothing can be cancelled, and
    the run (and its history row) says so instead of a silent ``cancelled``."""
    monkeypatch.setattr(platform_cancel, "NAMING_TIMEOUT_S", 0.5)
    asked = threading.Event()
    store = HistoryStore(tmp_path / "history.db")
    with seekrflow_server(accept, names_after=None, head_after=head_after, asked=asked) as srv:
        async with AsyncAgentClient("seekrflow", base_url=srv.url, recorder=store) as client:
            stream = client.stream("agent", "hello")
            task = asyncio.create_task(stream.consume())
            await asyncio.to_thread(asked.wait, PATIENCE_S)
            await asyncio.sleep(0.1)
            # the Stop ends the run though the platform never answers (a Stop that waited
            # for it would wait for ever)
            await asyncio.wait_for(stream.aclose(), PATIENCE_S)
            with contextlib.suppress(asyncio.CancelledError):
                await task
    run = stream.run
    assert cancels(srv) == []
    assert run.status == "cancelled" and run.run_id is None
    assert run.cancel_error is not None and "not told to stop" in run.cancel_error
    assert "had not named the run" in run.cancel_error
    store.flush()
    record = store.get(run.local_id)
    assert record is not None and record.cancel_error == run.cancel_error
    store.close()
