"""Many runs at once: :func:`run_requests` runs a batch's requests on agentnb's loop, a
bounded number at a time, every run recorded (what ``agentnb.batch`` and
``agentnb.types.send_batch`` run from a thread, with a progress bar).

A failing run is recorded as failed and the others go on; cancelling (a kernel interrupt)
cancels the runs in flight, which end ``cancelled``, and starts no more.

Nobody can click Approve in a batch: a tool call awaiting approval is decided by the batch's
``approve=`` policy, and one it leaves undecided (every one, without a policy) is denied with
the reason "no one could approve it: batch runs are unattended", so no run waits forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from .._client.async_client import AsyncAgentClient
from .._client.stream import AsyncRunStream
from .._core.approvals import ApprovalPolicy
from .._core.exceptions import ConfigurationError, RateLimitError
from .._core.request import RunRequest, checked_number
from .._core.run import Run
from .._display.progress import NoProgress, Progress
from .._history import HistoryStore
from .._tracing import batch_span
from .connections import store_of
from .history_tables import RunHistory

__all__ = [
    "AfterRun",
    "Link",
    "check_concurrency",
    "one_per_agent_and_settings",
    "run_requests",
]

UNATTENDED_BATCH = "batch runs are unattended"
"""Why a batch denies the calls its ``approve=`` policy leaves undecided."""

CANCEL_GRACE = 10.0
"""Seconds ``batch()`` waits, after an interrupt, for the runs in flight to end cancelled."""

RATE_LIMITED_AGAIN: Final = 20
"""Times a batch sends a question again whose run the platform refused with 429 after the
client's own retries (the client's shared back-off paces them): a rate limit slows a batch,
it does not lose its questions."""


def check_concurrency(concurrency: int) -> int:
    return checked_number(concurrency, "concurrency", whole=True, least=1)


Link = Callable[[Sequence[tuple[int, Run]]], None]
"""Called with ``(request index, run)`` for runs about to start (in a worker thread)."""
AfterRun = Callable[[int, Run], None]
"""Called with ``(request index, run)`` once the run ended for good (in a worker thread)."""


@dataclass
class _Tally:
    """What a batch's progress shows: runs done, failed, and the cost so far."""

    progress: Progress
    done: int = 0
    failed: int = 0
    cost: float = 0.0
    priced: bool = field(default=False)

    def ended(self, run: Run) -> None:
        self.done += 1
        self.failed += run.status != "completed"
        if run.cost is not None:
            self.cost += run.cost
            self.priced = True
        self.progress.update(self.done, self.failed, self.cost if self.priced else None)


async def run_requests(
    client: AsyncAgentClient | Sequence[AsyncAgentClient],
    requests: Sequence[RunRequest],
    concurrency: int = 8,
    *,
    store: HistoryStore | None = None,
    progress: Progress | None = None,
    approve: ApprovalPolicy = None,
    link: Link | None = None,
    after: AfterRun | None = None,
) -> RunHistory:
    """Run ``requests`` as :func:`run_batch` does (at most ``concurrency`` at once), and
    return their runs in the requests' order.

    A run the platform refused with 429 after the client's retries is sent again (up to
    ``RATE_LIMITED_AGAIN`` times, after the client's shared back-off): the refused run
    stays in the history, failed, and the new one takes its place. ``link`` is told of each
    run before it starts, ``after`` of each run once it ended for good. ``client`` is one
    client for every request, or one per request (an experiment's arms on their own
    connections: each ACP agent is one)."""
    clients = [client] * len(requests) if isinstance(client, AsyncAgentClient) else client
    if len(clients) != len(requests):
        raise ConfigurationError("run_requests takes one client, or one per request")
    for each in {id(c): c for c in clients}.values():
        mine = [r for r, c in zip(requests, clients, strict=True) if c is each]
        for request in one_per_agent_and_settings(mine):
            each.provider.check_request(request)  # an option the dialect lacks fails the batch
    limit = asyncio.Semaphore(check_concurrency(concurrency))
    if store is None and clients:
        store = store_of(clients[0])
    tally = _Tally(progress or NoProgress())
    streams = [
        c.stream(request, approve=approve) for c, request in zip(clients, requests, strict=True)
    ]
    runs = [stream.run for stream in streams]
    if link is not None:
        await asyncio.to_thread(link, list(enumerate(runs)))

    async def attempt(stream: AsyncRunStream) -> BaseException | None:
        async with limit:
            stream.approvals.deny_undecided(UNATTENDED_BATCH)
            return await stream.run_to_end()  # a failed run is recorded failed; the batch goes on

    async def one(index: int) -> None:
        stream = streams[index]
        try:
            error = await attempt(stream)
            for _ in range(RATE_LIMITED_AGAIN):
                if not isinstance(error, RateLimitError):
                    break
                stream = streams[index] = clients[index].stream(requests[index], approve=approve)
                runs[index] = stream.run
                if link is not None:
                    await asyncio.to_thread(link, [(index, stream.run)])
                error = await attempt(stream)
        finally:
            tally.ended(stream.run)
        if after is not None:
            await asyncio.to_thread(after, index, stream.run)

    agents = ", ".join(dict.fromkeys(request.agent for request in requests))
    with batch_span(agents, runs):  # tracing on: the runs' tasks copy it, each links to it
        tasks = [asyncio.ensure_future(one(index)) for index in range(len(streams))]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stream in streams:
                await stream.aclose()  # the runs not started yet end cancelled too
            raise
    return _result([run.local_id for run in runs], runs, store)


def one_per_agent_and_settings(requests: Sequence[RunRequest]) -> list[RunRequest]:
    """A request of each kind the batch sends (they differ only by message within a kind)."""
    kinds: dict[str, RunRequest] = {}
    for request in requests:
        kinds.setdefault(request.model_copy(update={"message": ""}).model_dump_json(), request)
    return list(kinds.values())


def _result(
    local_ids: Sequence[str], runs: Sequence[Run], store: HistoryStore | None
) -> RunHistory:
    """The runs ``local_ids`` from the history, in that order; those it lacks (they could
    not be written) from memory (``runs``) rather than lost."""
    by_run = {run.local_id: run for run in runs}
    if store is None or store.closed:
        return RunHistory.from_runs([by_run[i] for i in local_ids if i in by_run])
    stored = store.runs_by_ids(local_ids, table=RunHistory)
    if len(stored) == len(local_ids):
        return stored
    by_id = {record.local_id: record for record in stored}
    fallback = RunHistory.from_runs(
        [by_run[i] for i in local_ids if i not in by_id and i in by_run]
    )
    missing = {record.local_id: record for record in fallback}
    records = [by_id.get(i) or missing[i] for i in local_ids if i in by_id or i in missing]
    tool_calls = [*stored.tool_calls(), *fallback.tool_calls()]
    return RunHistory.from_records(records, tool_calls=tool_calls)
