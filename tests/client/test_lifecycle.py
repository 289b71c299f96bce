"""Cancellation, the recorder seam and the sync face, against the built-in server."""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import psutil
import pytest
from agentnb_testing import PATIENCE_S, client_for, ctrl_c_as_a_wait_takes_its_lock_back

from agentnb import AgentClient, AsyncAgentClient, RunCancelledError, RunFailedError
from agentnb._client import recording
from agentnb._core.exceptions import error_for_run
from agentnb._core.loop import run_sync
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb.events import TextDelta
from agentnb.server import ServerHandle

SLOW = {"X-AgentNB-Delay-Ms": "20"}


@pytest.fixture(autouse=True)
def short_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run here is short for the recording: its start is written with its end."""
    monkeypatch.setattr(recording, "FIRST_WRITE_SECONDS", 600.0)


def open_streams(server: ServerHandle) -> int:
    count: int = server.app.state.agentnb.streams.open
    return count


async def eventually(condition: Callable[[], bool], within: float = PATIENCE_S) -> None:
    """Poll until ``condition`` holds (the server notices a disconnect on its own time)."""
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


def server_log(server: ServerHandle, run_id: str | None) -> Any:
    assert run_id is not None
    return server.app.state.agentnb.runs.get(run_id)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = fail

    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        self.calls.append(("start", run.status))
        if self.fail:
            raise RuntimeError("disk full")

    def record_end(self, run: Run) -> None:
        self.calls.append(("end", run.status))
        if self.fail:
            raise RuntimeError("disk full")


# ---- cancellation ------------------------------------------------------------------------------
async def reading_past_first_text(
    stream: Any, after: Callable[[], Awaitable[Any]] | None = None
) -> asyncio.Task[Any]:
    """A task iterating ``stream`` (then awaiting ``after()``, its result the task's),
    returned once the stream's first text has arrived."""
    got_text = asyncio.Event()

    async def consume() -> Any:
        async for event in stream:
            if isinstance(event, TextDelta):
                got_text.set()
        return None if after is None else await after()

    task = asyncio.create_task(consume())
    await got_text.wait()
    return task


async def test_aclose_from_another_task_closes_the_connection_at_once(server: ServerHandle) -> None:
    async with client_for(server, headers=SLOW) as client:
        stream = client.stream("writer", "Write about streams", metadata={"paragraphs": "6"})
        consumer = await reading_past_first_text(stream)
        before = open_streams(server)
        assert before >= 1
        await stream.aclose()
        await consumer  # the iteration ends quietly
        assert stream.run.status == "cancelled"
        await eventually(lambda: open_streams(server) == before - 1)
        log = server_log(server, stream.run.run_id)
        assert not log.finished  # the run goes on on the server: it could be resumed
        await eventually(lambda: log.finished)
        assert log.status == "completed"
        assert len(stream.run.text) < len(log.answer_text())


async def test_a_consumer_stopped_by_aclose_goes_on_without_a_stray_cancellation(
    server: ServerHandle,
) -> None:
    async with client_for(server, headers=SLOW) as client:
        stream = client.stream("writer", "x", metadata={"paragraphs": "6"})
        after: list[str] = []

        async def go_on() -> str:
            await asyncio.sleep(0.01)  # the task is not left cancelled
            after.append("awaited after the loop")
            return "done"

        consumer = await reading_past_first_text(stream, go_on)
        await stream.aclose()
        assert await consumer == "done"
        assert after == ["awaited after the loop"]
        assert consumer.cancelling() == 0
    assert stream.run.status == "cancelled"


async def test_a_consumer_cancelled_from_outside_while_aclose_runs_stays_cancelled(
    server: ServerHandle,
) -> None:
    async with client_for(server, headers=SLOW) as client:
        stream = client.stream("writer", "x", metadata={"paragraphs": "6"})
        consumer = await reading_past_first_text(stream, lambda: asyncio.sleep(5))
        consumer.cancel()  # the user's own cancellation, at the same moment as a Stop
        await stream.aclose()
        with pytest.raises(asyncio.CancelledError):
            await consumer
    assert stream.run.status == "cancelled"


async def test_cancelling_the_task_cancels_the_run(server: ServerHandle) -> None:
    recorder = Recorder()
    async with client_for(server, headers=SLOW, recorder=recorder) as client:
        stream = client.stream("writer", "x", metadata={"paragraphs": "6"})
        task = await reading_past_first_text(stream)
        before = open_streams(server)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert stream.run.status == "cancelled" and stream.run.text
    # a short run's start is written with its end (recording.FIRST_WRITE_SECONDS)
    assert recorder.calls == [("start", "cancelled"), ("end", "cancelled")]
    await eventually(lambda: open_streams(server) == before - 1)


async def test_leaving_the_block_early_cancels(server: ServerHandle) -> None:
    async with client_for(server, headers=SLOW) as client:
        async with client.stream("writer", "x") as stream:
            async for event in stream:
                if isinstance(event, TextDelta):
                    break
        assert stream.run.status == "cancelled"
        async for _ in stream:  # a closed stream yields nothing more
            raise AssertionError("no events after aclose")


async def test_aclose_before_iterating_sends_nothing(server: ServerHandle) -> None:
    recorder = Recorder()
    async with client_for(server, recorder=recorder) as client:
        stream = client.stream("echo", "x")
        assert stream.run.status == "pending"
        await stream.aclose()
    assert stream.run.status == "cancelled" and recorder.calls == []


# ---- the recorder --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (None, "completed"),
        ("stream-error=500", "failed"),
        ("status=401", "failed"),
        ("drop-after=3;no-ids", "interrupted"),
    ],
)
async def test_recorder_sees_start_and_one_end(
    server: ServerHandle, fault: str | None, status: str
) -> None:
    recorder = Recorder()
    headers = {"X-AgentNB-Fault": f"{fault};tag={uuid.uuid4().hex}"} if fault else {}
    async with client_for(server, "vercel", recorder=recorder, headers=headers) as client:
        stream = client.stream("finance_agent", "NVDA?")
        try:
            async for _ in stream:
                pass
        except Exception:
            pass
    assert stream.run.status == status
    # a short run's start is written with its end (recording.FIRST_WRITE_SECONDS)
    assert recorder.calls == [("start", status), ("end", status)]


async def test_a_failing_recorder_never_breaks_the_run(
    server: ServerHandle, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="agentnb"):
        async with client_for(server, recorder=Recorder(fail=True)) as client:
            run = await client.run("echo", "still here")
    assert run.status == "completed" and run.text == "still here"
    assert sum("recorder failed" in r.getMessage() for r in caplog.records) == 2


async def test_run_raises_for_a_failed_run_with_the_run_attached(server: ServerHandle) -> None:
    headers = {"X-AgentNB-Fault": f"stream-error=500;tag={uuid.uuid4().hex}"}
    async with client_for(server, "runtools", headers=headers) as client:
        with pytest.raises(RunFailedError, match="Processing failed") as caught:
            await client.run("echo", "x")
    assert caught.value.code == "500" or caught.value.code == "STREAM_ERROR"
    assert caught.value.run is not None and caught.value.run.status == "failed"


# ---- the sync face ----------------------------------------------------------------------------------
def sync_client(server: ServerHandle, provider: str = "openai", **options: Any) -> AgentClient:
    return AgentClient(
        provider, **server.client_settings(provider), api_key=server.api_key, **options
    )


def test_sync_run_stream_and_listings(server: ServerHandle) -> None:
    with sync_client(server, "operativus") as client:
        run = client.run("finance_agent", "NVDA?")
        assert run.status == "completed" and run.tool_calls
        with client.stream("echo", "sync stream") as stream:
            events = list(stream)
        assert stream.run.text == "sync stream" and events[-1].type == "run_completed"
        (status,) = client.run_status("echo", [stream.run.run_id or ""])
        assert status.status == "COMPLETED"
        assert "***" in repr(client) and server.api_key not in repr(client)
    with sync_client(server, "seekrflow") as client:
        run = client.run("echo", "listed")
        assert [r.run_id for r in client.list_runs(run.thread_id or "")] == [run.run_id]


def test_sync_client_inside_a_running_event_loop(server: ServerHandle) -> None:
    """A notebook cell runs inside the kernel's loop: the sync face must not deadlock there."""

    async def cell() -> str:
        with sync_client(server) as client:
            return client.run("echo", "from inside a loop").text

    result: list[str] = []
    worker = threading.Thread(target=lambda: result.append(asyncio.run(cell())))
    worker.start()
    worker.join(PATIENCE_S)
    assert not worker.is_alive(), "AgentClient deadlocked inside a running loop"
    assert result == ["from inside a loop"]


def test_sync_stream_closed_early_cancels_the_run(server: ServerHandle) -> None:
    with sync_client(server, "vercel", headers=SLOW) as client:
        stream = client.stream("writer", "x", metadata={"paragraphs": "6"})
        for event in stream:
            if isinstance(event, TextDelta):
                break
        stream.close()
        assert stream.run.status == "cancelled"
        assert list(stream) == []


def test_a_ctrl_c_as_a_sync_stream_s_wait_takes_its_lock_back_is_the_interrupt(
    server: ServerHandle,
) -> None:
    """The sync stream waits for its next event on a queue, whose ``get`` is CPython's
    ``Condition.wait``: the interrupt landing as it takes its lock back is the interrupt
    (not ``RuntimeError``), and the run is cancelled, as at any other moment."""
    with sync_client(server, "vercel", headers=SLOW) as client:
        stream = client.stream("writer", "x", metadata={"paragraphs": "6"})
        with pytest.raises(KeyboardInterrupt), ctrl_c_as_a_wait_takes_its_lock_back():
            for _ in stream:
                pass
        assert stream.run.status == "cancelled"


def test_sync_errors_cross_over_typed(server: ServerHandle) -> None:
    headers = {"X-AgentNB-Fault": f"stream-error=500;tag={uuid.uuid4().hex}"}
    with sync_client(server, "runagent", headers=headers) as client:
        with pytest.raises(RunFailedError):
            client.run("echo", "x")
        with pytest.raises(RunCancelledError):
            raise_cancelled(client)


def raise_cancelled(client: AgentClient) -> None:
    stream = client.stream("echo", "never sent")
    stream.close()
    assert stream.run.status == "cancelled"
    error = error_for_run(stream.run)
    assert error is not None
    raise error


def test_a_client_left_open_closes_its_pooled_connections_with_its_event_loop(
    server: ServerHandle,
) -> None:
    """A client never closed, whose event loop ended (``asyncio.run`` in a script or a
    test): its kept-alive connections close as the loop ends, with nothing left for the
    garbage collector to warn about."""

    async def one_run() -> object:
        client = client_for(server)
        run = await client.run("echo", "left open")
        assert run.status == "completed"
        return client

    client = asyncio.run(one_run())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []


def connections_to(server: ServerHandle) -> set[str]:
    """This process's open sockets whose far end is ``server``."""
    port = httpx.URL(server.base_url).port
    return {
        f"{c.laddr} -> {c.raddr}"
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port
    }


def test_a_run_left_going_when_its_loop_ends_leaves_no_connection_open(
    server: ServerHandle,
) -> None:
    """A script's ``asyncio.run`` returns while a run still streams on a client never closed:
    the loop's end cancels the run, whose cancel request to the platform is asked for while
    the loop ends; no connection is opened then that nothing would close."""

    async def leave_a_run_going() -> AsyncAgentClient:
        client = client_for(server, "seekrflow", delay_ms=50, record=False)
        started = asyncio.Event()

        async def read() -> None:
            async for event in client.stream(
                "writer", "story", extra={"metadata": {"paragraphs": "40"}}
            ):
                if isinstance(event, TextDelta):
                    started.set()

        reader = asyncio.get_running_loop().create_task(read())
        await started.wait()
        assert not reader.done()
        return client

    before = connections_to(server)  # other tests' clients on agentnb's own loop
    client = asyncio.run(leave_a_run_going())
    assert connections_to(server) - before == set()
    del client


def test_a_client_dropped_while_its_loop_runs_closes_its_pooled_connections(
    server: ServerHandle,
) -> None:
    """A client used on agentnb's own loop (which never ends) and dropped without closing,
    inside a reference cycle (as a traceback holds it): its connections close once the
    collector takes it."""
    client = client_for(server)
    run = run_sync(client.run("echo", "dropped"))
    assert run.status == "completed"
    cycle: list[object] = [client]
    cycle.append(cycle)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del client, cycle
        gc.collect()
        run_sync(asyncio.sleep(0.1))  # the loop closes the connections
        gc.collect()
    assert [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)] == []
