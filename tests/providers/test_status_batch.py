"""Usage of runs that end together is fetched in batch status requests (group commit)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
from agentnb_testing import client_for

from agentnb.providers import HttpRequest, RemoteRun
from agentnb.providers._status_batch import StatusBatches
from agentnb.providers.operativus import Operativus
from agentnb.server import ServerHandle


def status_request(agent: str, run_ids: Sequence[str]) -> HttpRequest:
    return HttpRequest("GET", f"/{agent}/status", params={"runIds": ",".join(run_ids)})


class Platform:
    """The send function a stream hands its provider: answers after ``delay`` with a run
    per id asked for (ids starting with ``gone`` are unknown), and records each request."""

    def __init__(self, delay: float = 0.01, fail: BaseException | None = None) -> None:
        self.requests: list[list[str]] = []
        self.delay = delay
        self.fail = fail

    async def send(self, http: HttpRequest) -> Any:
        ids = http.params["runIds"].split(",")
        self.requests.append(ids)
        await asyncio.sleep(self.delay)
        if self.fail is not None:
            raise self.fail
        return [{"id": i, "status": "COMPLETED", "usage": {"totalTokens": len(i)}} for i in ids]


def batches(limit: int = 100) -> StatusBatches:
    return StatusBatches(status_request, Operativus().parse_runs, limit=limit)


async def test_a_lone_run_asks_at_once_for_itself() -> None:
    platform = Platform()
    run = await batches().fetch("a", "run_1", platform.send)
    assert run is not None and run.run_id == "run_1"
    assert platform.requests == [["run_1"]]


async def test_runs_ending_while_a_request_is_in_flight_go_together() -> None:
    platform = Platform()
    statuses = batches()
    first = asyncio.ensure_future(statuses.fetch("a", "run_0", platform.send))
    await asyncio.sleep(0)  # the first request is on its way
    rest = [statuses.fetch("a", f"run_{i}", platform.send) for i in range(1, 31)]
    runs = await asyncio.gather(first, *rest)
    assert [r.run_id if r else None for r in runs] == [f"run_{i}" for i in range(31)]
    assert platform.requests == [["run_0"], [f"run_{i}" for i in range(1, 31)]]


async def test_a_batch_holds_at_most_the_platforms_limit() -> None:
    platform = Platform()
    statuses = batches(limit=4)
    runs = await asyncio.gather(*(statuses.fetch("a", f"r{i}", platform.send) for i in range(10)))
    assert all(r is not None for r in runs)
    assert [len(ids) for ids in platform.requests] == [4, 4, 2]


async def test_agents_are_asked_separately() -> None:
    platform = Platform()
    statuses = batches()
    await asyncio.gather(
        statuses.fetch("a", "x1", platform.send), statuses.fetch("b", "y1", platform.send)
    )
    assert sorted(platform.requests) == [["x1"], ["y1"]]


async def test_an_id_missing_from_the_answer_is_none() -> None:
    async def send(http: HttpRequest) -> Any:
        return [{"id": "other", "status": "COMPLETED"}]

    assert await batches().fetch("a", "run_1", send) is None


async def test_a_failed_request_fails_each_run_of_its_batch_and_not_the_next() -> None:
    failing = Platform(fail=ConnectionResetError("cut"))
    statuses = batches()
    outcomes = await asyncio.gather(
        *(statuses.fetch("a", f"r{i}", failing.send) for i in range(3)), return_exceptions=True
    )
    assert all(isinstance(o, ConnectionResetError) for o in outcomes)
    working = Platform()
    later = await statuses.fetch("a", "r9", working.send)
    assert later is not None and later.run_id == "r9"


async def test_a_run_stopped_while_waiting_leaves_the_others_their_answer() -> None:
    platform = Platform(delay=0.05)
    statuses = batches()
    first = asyncio.ensure_future(statuses.fetch("a", "r0", platform.send))
    await asyncio.sleep(0)
    stopped = asyncio.ensure_future(statuses.fetch("a", "r1", platform.send))
    kept = asyncio.ensure_future(statuses.fetch("a", "r2", platform.send))
    await asyncio.sleep(0)
    stopped.cancel()
    first_run, kept_run = await asyncio.gather(first, kept)
    assert first_run is not None and kept_run is not None and kept_run.run_id == "r2"
    assert stopped.cancelled()
    assert platform.requests == [["r0"], ["r2"]], "a cancelled run is not asked for"


def test_state_from_a_finished_event_loop_does_not_block_the_next() -> None:
    """A client used in one ``asyncio.run()`` and then another still gets answers."""
    statuses = batches()

    def one_run(run_id: str) -> RemoteRun | None:
        return asyncio.run(statuses.fetch("a", run_id, Platform().send))

    assert one_run("first") is not None
    assert one_run("second") is not None


async def test_concurrent_runs_on_the_built_in_server_each_get_their_own_usage(
    server: ServerHandle,
) -> None:
    async with client_for(server) as client:
        runs = await asyncio.gather(
            *(client.run("echo", f"message {i} " + "word " * i) for i in range(40))
        )
        assert all(run.status == "completed" for run in runs)
        assert all(run.usage is not None for run in runs)
        statuses = await client.run_status("echo", [run.run_id or "" for run in runs])
    reported = {s.run_id: s.total_tokens for s in statuses}
    assert [run.usage.total_tokens if run.usage else None for run in runs] == [
        reported[run.run_id or ""] for run in runs
    ]
    assert len(set(reported.values())) > 1, "the runs' usages differ, so a mix-up would show"


@pytest.mark.parametrize("dialect", ["seekrflow", "operativus"])
async def test_a_lone_run_still_gets_its_usage(server: ServerHandle, dialect: str) -> None:
    async with client_for(server, dialect) as client:
        run = await client.run("echo", "hello there")
    assert run.usage is not None and run.usage.total_tokens
