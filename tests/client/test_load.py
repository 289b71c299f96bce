"""Load: 200 concurrent runs from one process against the built-in server.

The test process stands in for a kernel: its main thread starts the runs with
``agentnb.ask(display=False)`` from inside a running asyncio loop (as a cell does), then awaits
them on that loop while a probe task ticks on it. Every run must complete with its own text,
be in the history exactly once, and really stream at the same time as the others (a pool cap
would queue them). The load is in facts, never in timings; the lag percentiles are printed
(``-s``) and measured properly by ``benchmarks/bench_load.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from agentnb_testing import PATIENCE_S, STALL_TIMEOUT

import agentnb
from agentnb._app.front import connections as conns
from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.loop import run_sync
from agentnb._history import default_location, default_store
from agentnb.server import ServerHandle

RUNS = 200
WORDS = 120
"""Words per message: the server streams 3 words a chunk, so 40 chunks a run."""
CHUNK_DELAY_MS = 150
"""Per-chunk pacing, so every run lasts about six seconds and the 200 of them overlap: the
first run still streams while the others start, however slow a busy machine starts them."""
PROBE_S = 0.005


@pytest.fixture
def own_connections() -> Iterator[None]:
    """Connections made by the test are closed after it; the others are left as they were."""
    saved = dict(conns._connections)
    conns._connections.clear()
    try:
        yield
    finally:
        conns.close_all()
        conns._connections.update(saved)


@pytest.fixture
def load_connection(server: ServerHandle, own_connections: None) -> str:
    """A paced default-dialect (Operativus) connection to the session server."""
    agentnb.connect(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        name="load",
        headers={"X-AgentNB-Delay-Ms": str(CHUNK_DELAY_MS)},
    )
    return "load"


def messages(tag: str) -> list[str]:
    filler = " ".join(f"w{j}" for j in range(WORDS - 1))
    return [f"{tag}-{i:03d} {filler}" for i in range(RUNS)]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def start_and_await(
    via: str, texts: list[str]
) -> tuple[list[agentnb.types.RunHandle], dict[str, Any]]:
    """Start every run from this (main-thread) loop, then await them while a probe ticks."""
    handles = [agentnb.ask("echo", text, via=via, display=False) for text in texts]
    started_all = sum(not h.done for h in handles)
    ticks_in_flight = 0
    lateness: list[float] = []

    async def probe() -> None:
        nonlocal ticks_in_flight
        while True:
            before = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            lateness.append(time.perf_counter() - before - PROBE_S)
            if not all(h.done for h in handles):
                ticks_in_flight += 1

    ticker = asyncio.create_task(probe())
    try:
        await asyncio.gather(*handles, return_exceptions=True)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
    facts = {
        "not_done_after_start": started_all,
        "ticks_in_flight": ticks_in_flight,
        "lateness": lateness,
    }
    return handles, facts


def history_rows(tag: str) -> dict[str, list[tuple[str, str, str | None, int | None]]]:
    """Rows of this test's runs in the session history, grouped by message (read-only)."""
    path = default_location()
    assert isinstance(path, Path), "the suite's conftest points AGENTNB_HISTORY at a file"
    store = default_store()
    assert store is not None
    store.flush()  # the recorder's writes are queued; this reader is not the store
    found: dict[str, list[tuple[str, str, str | None, int | None]]] = {}
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        for message, local_id, status, answer, tokens in db.execute(
            "SELECT message, local_id, status, answer, total_tokens FROM runs WHERE message LIKE ?",
            (f"{tag}-%",),
        ):
            found.setdefault(message, []).append((local_id, status, answer, tokens))
    return found


@pytest.mark.slow
def test_200_concurrent_runs_all_finish_once_recorded_while_the_caller_stays_responsive(
    load_connection: str,
) -> None:
    tag = f"load-{uuid.uuid4().hex[:8]}"
    texts = messages(tag)

    handles, facts = asyncio.run(start_and_await(load_connection, texts))

    errors = [repr(h.exception()) for h in handles if h.exception() is not None]
    assert errors == [], f"{len(errors)} runs failed, e.g. {errors[:3]}"
    assert [h.status for h in handles] == ["completed"] * RUNS
    assert [h.text for h in handles] == texts, "each run answered its own message"
    assert all(h.run.usage is not None for h in handles), "usage fetched after every stream"

    # ask() returned before the runs ended, and the caller's loop kept running meanwhile
    assert facts["not_done_after_start"] > 0
    assert facts["ticks_in_flight"] >= 10, facts["ticks_in_flight"]

    # all streamed at once: every run had its first token before the first run completed
    # (with a 100-connection pool cap the 101st could not start before one ended)
    first_end = min(h.run.finished_at or 0.0 for h in handles)
    streaming_together = sum(
        1 for h in handles if h.run.first_token_at is not None and h.run.first_token_at < first_end
    )
    assert streaming_together > 100, streaming_together

    rows = history_rows(tag)
    assert sorted(rows) == sorted(texts), "none missing, none extra"
    duplicated = {m: len(r) for m, r in rows.items() if len(r) != 1}
    assert duplicated == {}, "each run is recorded exactly once"
    by_local_id = {r[0][0]: r[0] for r in rows.values()}
    assert sorted(by_local_id) == sorted(h.run.local_id for h in handles)
    for handle in handles:
        _, status, answer, tokens = by_local_id[handle.run.local_id]
        assert (status, answer, tokens) == (
            "completed",
            handle.text,
            handle.run.usage.total_tokens,  # type: ignore[union-attr]
        )

    lag = facts["lateness"]
    events = sum(h.run.event_count for h in handles)
    print(
        f"\n{RUNS} runs ({streaming_together} streaming at once), {events} events; "
        f"caller loop lag over {len(lag)} ticks: "
        f"p50 {percentile(lag, 0.5) * 1e3:.1f} ms, p95 {percentile(lag, 0.95) * 1e3:.1f} ms, "
        f"p99 {percentile(lag, 0.99) * 1e3:.1f} ms, max {max(lag) * 1e3:.1f} ms"
    )


CAPPED_WORDS = " ".join(f"w{j}" for j in range(30))
"""Ten chunks at 20 ms: the runs started together are all streaming when the first ends."""


async def finish_together_on_a_capped_pool(server: ServerHandle, runs: int) -> list[agentnb.Run]:
    http = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=runs),
        timeout=httpx.Timeout(PATIENCE_S, pool=1.0),
    )
    client = AsyncAgentClient(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        http_client=http,
        headers={"X-AgentNB-Delay-Ms": "20"},
        max_retries=1,
        backoff=0.05,
    )
    try:
        return await asyncio.gather(
            *(client.run("echo", f"capped {i} {CAPPED_WORDS}") for i in range(runs))
        )
    finally:
        await client.aclose()
        await http.aclose()


def test_runs_ending_together_on_a_full_pool_still_fetch_their_usage(
    server: ServerHandle,
) -> None:
    """Operativus reads usage with a second request after the stream: a run must not hold
    its stream's connection while it waits for another one, or runs that fill the pool and end
    together wait on each other until the pool timeout and lose their usage."""
    runs = run_sync(finish_together_on_a_capped_pool(server, 3), timeout=PATIENCE_S)
    assert [r.status for r in runs] == ["completed"] * 3
    assert [r.usage is not None for r in runs] == [True] * 3


def test_wait_reports_the_runs_own_timeout_not_a_wait_timeout(
    server: ServerHandle, own_connections: None
) -> None:
    """A run that fails with StreamTimeoutError (itself a TimeoutError, as is
    ``concurrent.futures.TimeoutError``) is not reported by ``wait(60)`` as the wait having
    timed out: under load that is how a starved run surfaces."""
    agentnb.connect(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        name="stalls",
        timeout=STALL_TIMEOUT,
        headers={"X-AgentNB-Fault": "stall-after=2;no-ids"},
    )
    handle = agentnb.ask("writer", "Write", via="stalls", display=False)
    with pytest.raises(agentnb.StreamTimeoutError, match="stalled"):
        handle.wait(PATIENCE_S)
    assert handle.status == "interrupted"
