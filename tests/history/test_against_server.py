"""The history over the built-in server: every status with the right figures, retries and
resumes, batch, remote listings with pagination, and no key in the database file."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, client_for

import agentnb
from agentnb import runs
from agentnb._app.many.batch_runs import batch, run_batch
from agentnb._app.past.remote_runs import fetch_remote_runs, remote_runs
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.exceptions import AgentNBError
from agentnb._core.loop import run_sync
from agentnb._display.progress import Progress
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle
from agentnb.types import Connection, RunRequest, Via, batch_requests, send_batch


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "history.sqlite3") as opened:
        yield opened


async def run_quietly(client: AsyncAgentClient, agent: str, message: str) -> str:
    """Run to the end; return the local id whatever the outcome."""
    async with client:
        async with client.stream(agent, message) as stream:
            try:
                async for _ in stream:
                    pass
            except AgentNBError:
                pass
        return stream.run.local_id


# ---- every status, with the right figures ---------------------------------------------
@pytest.mark.parametrize("provider", ["operativus", "seekrflow", "runagent", "openai"])
async def test_completed_runs_match_what_the_server_reported(
    server: ServerHandle, store: HistoryStore, provider: str
) -> None:
    async with client_for(server, provider, recorder=store) as client:
        run = await client.run("finance_agent", "What is NVDA trading at?")
        record = store.get(run.local_id)
        assert record is not None
        assert record.status == "completed"
        assert record.run_id == run.run_id and record.thread_id == run.thread_id
        assert record.answer == run.text and "NVDA" in (record.answer or "")
        assert record.host == server.url_for(provider).split("//")[1].split("/")[0]
        assert record.ttft is not None and record.duration is not None
        assert 0 < record.ttft < record.duration
        assert record.started_at and record.first_token_at and record.finished_at
        assert record.started_at < record.first_token_at < record.finished_at
        assert record.event_count == run.event_count > 0
        assert record.tool_call_count == len(store.tool_calls([run.local_id]))
        usage = run.usage
        assert usage is not None
        assert (record.prompt_tokens, record.completion_tokens, record.total_tokens) == (
            usage.prompt_tokens,
            usage.completion_tokens,
            usage.total_tokens,
        )
        assert record.total_tokens and record.total_tokens > 0
        if provider == "operativus":  # and the platform's own account agrees
            (reported,) = await client.run_status("finance_agent", [run.run_id or ""])
            assert reported.total_tokens == record.total_tokens
            assert reported.prompt_tokens == record.prompt_tokens


async def test_tool_calls_are_recorded(server: ServerHandle, store: HistoryStore) -> None:
    async with client_for(server, recorder=store) as client:
        run = await client.run("finance_agent", "What is NVDA trading at?")
    calls = store.tool_calls([run.local_id])
    assert [c.name for c in calls] == [c.name for c in run.tool_calls]
    assert {c.name for c in calls} >= {"get_stock_price"}
    assert all(c.status == "succeeded" and c.duration is not None for c in calls)
    assert any("NVDA" in (c.arguments or "") for c in calls)


@pytest.mark.parametrize(
    ("fault", "provider", "status", "code"),
    [
        ("stream-error=503;times=9", "runagent", "failed", "CAPACITY_ERROR"),
        ("status=500;times=9", "operativus", "failed", "ServerError"),
        ("drop-after=4;no-ids", "operativus", "interrupted", "interrupted"),
    ],
)
async def test_unsuccessful_runs_are_recorded(
    server: ServerHandle,
    store: HistoryStore,
    fault: str,
    provider: str,
    status: str,
    code: str,
) -> None:
    client = client_for(server, provider, recorder=store, fault=fault, max_retries=0)
    local_id = await run_quietly(client, "finance_agent", "What is NVDA trading at?")
    record = store.get(local_id)
    assert record is not None
    assert (record.status, record.error_code) == (status, code)
    assert record.error_message
    assert record.finished_at is not None


async def test_cancelled_run_is_recorded(server: ServerHandle, store: HistoryStore) -> None:
    async with client_for(server, recorder=store, delay_ms=100) as client:
        async with client.stream("writer", "Write about SSE.") as stream:
            async for _ in stream:
                if stream.run.first_token_at is not None:
                    break
        record = store.get(stream.run.local_id)
    assert record is not None
    assert record.status == "cancelled"
    assert record.ttft is not None and record.duration is not None
    assert record.ttft <= record.duration
    assert record.answer or record.reasoning  # the part that arrived is kept


async def test_retries_and_resumes_are_counted(server: ServerHandle, store: HistoryStore) -> None:
    async with client_for(
        server, recorder=store, fault="status=503;times=1", backoff=0.01
    ) as client:
        retried = await client.run("echo", "hello")
    async with client_for(server, recorder=store, fault="drop-after=3") as client:
        resumed = await client.run("finance_agent", "What is NVDA trading at?")
    first, second = store.get(retried.local_id), store.get(resumed.local_id)
    assert first is not None and second is not None
    assert (first.status, first.retries, first.resumes) == ("completed", 1, 0)
    assert (second.status, second.retries, second.resumes) == ("completed", 0, 1)
    assert second.answer == resumed.text and "NVDA" in resumed.text


async def test_no_api_key_reaches_the_database_file(server: ServerHandle, tmp_path: Path) -> None:
    wrong_key = "wrong-key-" + uuid.uuid4().hex
    path = tmp_path / "keys.sqlite3"
    with HistoryStore(path) as store:
        for provider in ("operativus", "seekrflow", "runtools", "openai"):
            async with client_for(server, provider, recorder=store) as client:
                await client.run("finance_agent", "What is NVDA trading at?")
        await run_quietly(client_for(server, recorder=store, api_key=wrong_key), "echo", "hi")
        await run_quietly(
            client_for(server, "runtools", recorder=store, api_key=wrong_key), "echo", "x"
        )
        failed = store.runs().column("error_code")
        assert failed.count("AuthenticationError") == 2
    data = all_bytes(tmp_path)
    assert server.api_key.encode() not in data
    assert wrong_key.encode() not in data


def all_bytes(folder: Path) -> bytes:
    """The database, its WAL and shared-memory files, as they are on disk."""
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())


# ---- batch ---------------------------------------------------------------------------------
class Counting(Progress):
    def __init__(self) -> None:
        self.updates: list[tuple[int, int]] = []
        self.first_done = asyncio.Event()

    def update(self, done: int, failed: int, cost: float | None = None) -> None:
        self.updates.append((done, failed))
        self.first_done.set()

    def close(self) -> None:
        return None


async def test_batch_runs_everything_in_input_order_and_goes_past_failures(
    server: ServerHandle, store: HistoryStore
) -> None:
    messages = [f"message {i}" for i in range(10)]
    progress = Counting()
    # The first two requests answer 500; the client does not retry, so two runs fail.
    async with client_for(
        server, recorder=store, fault="status=500;times=2", max_retries=0
    ) as client:
        history = await run_batch(client, "echo", messages, concurrency=1, progress=progress)
    assert [r.message for r in history] == messages
    statuses = [r.status for r in history]
    assert statuses == ["failed", "failed"] + ["completed"] * 8
    assert [r.answer for r in history][2:] == messages[2:]
    assert progress.updates[-1] == (10, 2)
    assert len(store.runs()) == 10
    assert history.summary().loc["echo", "success_rate"] == pytest.approx(0.8)


async def test_batch_is_bounded_by_concurrency(server: ServerHandle, store: HistoryStore) -> None:
    async with client_for(server, recorder=store, delay_ms=20) as client:
        history = await run_batch(client, "echo", [f"m{i}" for i in range(8)], concurrency=3)
    spans = [(r.started_at, r.finished_at) for r in history]
    most = max(sum(1 for s, f in spans if s <= t < f) for t, _ in spans)  # type: ignore[operator]
    assert 1 < most <= 3


async def test_batch_refuses_an_option_the_dialect_lacks_before_anything_runs(
    server: ServerHandle, store: HistoryStore
) -> None:
    # OpenAI has no user id field: the batch is refused at once, as every other path does
    async with client_for(server, "openai", recorder=store) as client:
        with pytest.raises(agentnb.ConfigurationError, match="does not support user_id"):
            await run_batch(client, "echo", ["a", "b"], user_id="u1")
    assert len(store.runs(None)) == 0


async def test_cancelling_a_batch_stops_cleanly(server: ServerHandle, store: HistoryStore) -> None:
    messages = [f"message {i}" for i in range(8)]
    progress = Counting()
    async with client_for(server, recorder=store, delay_ms=10) as client:
        task = asyncio.ensure_future(
            run_batch(client, "writer", messages, concurrency=2, progress=progress)
        )
        await progress.first_done.wait()
        await asyncio.sleep(0.2)  # the next two runs are streaming now
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    statuses = [r.status for r in store.runs()]
    assert "running" not in statuses
    assert "completed" in statuses and "cancelled" in statuses
    assert len(statuses) < len(messages)  # the rest never started


def test_batch_bad_input_is_refused_before_anything_runs(store: HistoryStore) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="not one string"):
        batch("echo", "one message", client=object())  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match="item 1 is int"):
        batch("echo", ["a", 2], client=object())  # type: ignore[list-item, arg-type]
    with pytest.raises(agentnb.ConfigurationError, match="concurrency"):
        batch("echo", ["a"], concurrency=0, client=object())  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match="temperature"):
        batch("echo", ["a"], temperature=9, client=object())  # type: ignore[arg-type]
    with pytest.raises(agentnb.ConfigurationError, match="unknown run option"):
        batch("echo", ["a"], temprature=0.1, client=object())  # type: ignore[arg-type]
    assert len(store.runs()) == 0


def test_sync_batch_via_a_connection_shows_progress(
    connection: str, capfd: pytest.CaptureFixture[str]
) -> None:
    messages = ["alpha", "beta", "gamma", "delta"]
    history = batch("echo", messages, concurrency=2, via=connection)
    assert [r.answer for r in history] == messages
    assert [r.connection for r in history] == [connection] * 4
    err = capfd.readouterr().err
    assert "batch echo: 4/4 runs" in err and err.endswith("\n")
    assert sorted(runs(agent="echo").local_ids) == sorted(history.local_ids)


def test_a_batch_runs_each_request_in_a_place_made_as_its_turn_comes(connection: str) -> None:
    """``send_batch(place=...)``: each request's place is made within the concurrency, its
    run goes where it says, ``on_end`` is told before the place is left, and a place that
    could not be made fails its request alone, raised once the others ended."""
    said: list[str] = []
    lock = threading.Lock()
    inside = most = 0

    @contextlib.contextmanager
    def place(
        index: int, request: RunRequest, conn: Connection
    ) -> Iterator[tuple[Via, RunRequest]]:
        nonlocal inside, most
        if index == 2:
            raise RuntimeError("no room for request 2")
        with lock:
            inside += 1
            most = max(most, inside)
        try:
            yield conn, request.model_copy(update={"message": f"placed {index}"})
        finally:
            with lock:
                inside -= 1
                said.append(f"left {index}")

    def ended(index: int, run: agentnb.Run) -> None:
        said.append(f"ended {index}: {run.text}")

    requests = batch_requests("echo", ["a", "b", "c", "d", "e"])
    with pytest.raises(RuntimeError, match="no room for request 2"):
        send_batch(
            requests, via=connection, concurrency=2, progress=False, place=place, on_end=ended
        )
    assert 1 <= most <= 2
    for index in (0, 1, 3, 4):
        assert said.index(f"ended {index}: placed {index}") < said.index(f"left {index}")
    assert not any("2" in line for line in said)
    assert sorted(r.answer for r in runs(agent="echo")) == [f"placed {i}" for i in (0, 1, 3, 4)]


@pytest.mark.skipif(sys.platform == "win32", reason="pthread_kill is POSIX")
def test_interrupting_a_sync_batch_cancels_cleanly(
    server: ServerHandle, connection: str, capfd: pytest.CaptureFixture[str]
) -> None:
    from agentnb._history import default_store

    async def make() -> AsyncAgentClient:
        return client_for(server, recorder=default_store(), delay_ms=10)

    client = run_sync(make())

    main = threading.main_thread().ident or 0

    def interrupt_after_first_run() -> None:
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            if any(r.status == "completed" for r in runs()):
                time.sleep(0.2)  # the next runs are streaming now
                # a real SIGINT to the main thread, as a kernel interrupt sends
                signal.pthread_kill(main, signal.SIGINT)
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=interrupt_after_first_run)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            batch("writer", [f"m{i}" for i in range(8)], concurrency=2, client=client)
    finally:
        watcher.join()
        run_sync(client.aclose())
    statuses = [r.status for r in runs()]
    assert "running" not in statuses
    assert "completed" in statuses and "cancelled" in statuses
    assert len(statuses) < 8
    capfd.readouterr()


# ---- remote listings -------------------------------------------------------------------
@pytest.fixture
async def seekrflow_thread(
    server: ServerHandle, store: HistoryStore
) -> AsyncIterator[tuple[AsyncAgentClient, str, list[str]]]:
    """A SeekrFlow thread with 23 runs (more than one page of 20)."""
    async with client_for(server, "seekrflow", recorder=store) as client:
        first = await client.run("echo", "turn 0")
        thread = first.thread_id
        assert thread
        ids = [first.run_id or ""]
        for i in range(1, 23):
            run = await client.run("echo", f"turn {i}", thread_id=thread)
            ids.append(run.run_id or "")
        yield client, thread, ids


async def test_seekrflow_listing_reads_every_page_in_both_orders(
    seekrflow_thread: tuple[AsyncAgentClient, str, list[str]], store: HistoryStore
) -> None:
    client, thread, ids = seekrflow_thread
    newest_first = await fetch_remote_runs(client, thread_id=thread)
    assert newest_first.source == "remote"
    assert [r.run_id for r in newest_first] == ids[::-1]
    oldest_first = await fetch_remote_runs(client, thread_id=thread, order="asc")
    assert [r.run_id for r in oldest_first] == ids
    limited = await fetch_remote_runs(client, thread_id=thread, limit=7)
    assert [r.run_id for r in limited] == ids[::-1][:7]
    # local and remote analyse the same way, and agree on the figures
    local = {r.run_id: r for r in store.runs()}
    for remote in newest_first:
        assert remote.total_tokens == local[remote.run_id].total_tokens
        assert remote.status == "completed"
        assert remote.provider == "seekrflow"
    assert newest_first.summary().loc["echo", "runs"] == 23
    assert list(newest_first.to_pandas().columns) == list(store.runs().to_pandas().columns)


async def test_operativus_status_asks_in_chunks_of_100(
    server: ServerHandle, store: HistoryStore
) -> None:
    async with client_for(server, recorder=store) as client:
        made = [await client.run("echo", f"run {i}") for i in range(3)]
        unknown = [f"run_unknown_{i}" for i in range(150)]
        ids = [
            unknown[0],
            made[0].run_id,
            *unknown[1:120],
            made[1].run_id,
            *unknown[120:],
            made[2].run_id,
        ]
        history = await fetch_remote_runs(client, agent="echo", run_ids=ids)  # type: ignore[arg-type]
    assert sorted(r.run_id or "" for r in history) == sorted(r.run_id or "" for r in made)
    for record in history:
        local = next(r for r in made if r.run_id == record.run_id)
        assert record.total_tokens == (local.usage.total_tokens if local.usage else None)
        assert record.answer == local.text


def test_remote_runs_sync_face_and_bad_requests(server: ServerHandle) -> None:
    async def make() -> AsyncAgentClient:
        return client_for(server)

    client = run_sync(make())
    try:
        run = run_sync(client.run("echo", "sync"))
        history = remote_runs(client, agent="echo", run_ids=[run.run_id or ""])
        assert [r.run_id for r in history] == [run.run_id]
        with pytest.raises(agentnb.ConfigurationError, match="run_ids needs the agent"):
            remote_runs(client, run_ids=["x"])
        with pytest.raises(agentnb.ConfigurationError, match="say which runs"):
            remote_runs(client)
        with pytest.raises(agentnb.ConfigurationError, match="does not list runs"):
            remote_runs(client, thread_id="t")
    finally:
        run_sync(client.aclose())


# ---- numbers that mean what they say (issue 27) -----------------------------------------------
async def test_a_pause_for_a_person_is_its_own_figure(
    server: ServerHandle, store: HistoryStore
) -> None:
    async def slow_person(call: object) -> bool:
        await asyncio.sleep(0.6)  # a person deciding
        return True

    async with client_for(server, "operativus", recorder=store) as client:
        paused = await client.run("trader", "buy 3 NVDA", approve=slow_person)
        quick = await client.run("trader", "buy 3 NVDA", approve=True)
        await run_quietly(client, "no_such_agent", "hi")
    record = store.get(paused.local_id)
    assert record is not None and record.status == "completed"
    assert record.paused_seconds is not None and record.paused_seconds >= 0.6
    assert record.elapsed is not None and record.duration is not None
    assert record.duration == pytest.approx(record.elapsed - record.paused_seconds, abs=1e-6)
    assert record.duration < record.elapsed
    quick_record = store.get(quick.local_id)
    assert quick_record is not None and quick_record.paused_seconds is not None
    assert quick_record.duration is not None and quick_record.paused_seconds >= 0

    history = store.runs()
    summary = history.summary()
    assert summary.loc["trader", "timed_runs"] == 2
    assert summary.loc["trader", "paused_total"] == pytest.approx(
        record.paused_seconds + quick_record.paused_seconds
    )
    # the pause left out: the percentile is of the two runs' durations, not their wall times
    durations = sorted([record.duration, quick_record.duration])
    p95 = durations[0] + 0.95 * (durations[1] - durations[0])
    assert summary.loc["trader", "duration_p95"] == pytest.approx(p95)
    assert summary.loc["no_such_agent", "runs"] == 1
    assert summary.loc["no_such_agent", "timed_runs"] == 0  # not completed: not timed
    assert "completed runs" in summary.attrs["timed"]
    everything = history.summary(include="all")
    assert everything.loc["no_such_agent", "timed_runs"] == 1
    with pytest.raises(agentnb.ConfigurationError, match="include="):
        history.summary(include=[])
