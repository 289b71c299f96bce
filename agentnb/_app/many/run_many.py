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
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Final, TypeVar

from ..._client.async_client import AsyncAgentClient
from ..._client.stream import AsyncRunStream
from ..._core.approvals import ApprovalPolicy
from ..._core.exceptions import ConfigurationError, RateLimitError
from ..._core.request import RunRequest, checked_number
from ..._core.run import Run
from ..._display.progress import NoProgress, Progress
from ..._history import HistoryStore
from ..._tracing import batch_span
from ..front.connections import store_of
from ..past.history_tables import RunHistory

__all__ = [
    "AfterRun",
    "Link",
    "Place",
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
Place = Callable[[int, RunRequest], AbstractContextManager[tuple[AsyncAgentClient, RunRequest]]]
"""Where the request of an index runs: the client and the request as it goes there, from a
context manager entered when its turn comes and left once its run ended (see
:func:`run_requests`)."""


@dataclass
class _Tally:
    """What a batch's progress shows: runs done, failed, and the cost so far."""

    progress: Progress
    done: int = 0
    failed: int = 0
    cost: float = 0.0
    priced: bool = field(default=False)

    def ended(self, run: Run) -> None:
        if run.cost is not None:
            self.cost += run.cost
            self.priced = True
        self._count(failed=run.status != "completed")

    def lost(self) -> None:
        """A request that never ran (its place could not be made): failed."""
        self._count(failed=True)

    def _count(self, *, failed: bool) -> None:
        self.done += 1
        self.failed += failed
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
    place: Place | None = None,
) -> RunHistory:
    """Run ``requests`` as :func:`run_batch` does (at most ``concurrency`` at once), and
    return their runs in the requests' order.

    A run the platform refused with 429 after the client's retries is sent again (up to
    ``RATE_LIMITED_AGAIN`` times, after the client's shared back-off): the refused run
    stays in the history, failed, and the new one takes its place. ``link`` is told of each
    run before it starts, ``after`` of each run once it ended for good. ``client`` is one
    client for every request, or one per request (an experiment's arms on their own
    connections: each ACP agent is one).

    ``place(index, request)`` puts each request somewhere of its own (an experiment's pair in
    a copy of a workspace, on a connection working there): entered in a worker thread when
    the request's turn comes, holding its place in ``concurrency``, it gives the client and
    the request as it goes there; it is left in a worker thread once the run ended and
    ``after`` was told. A request whose place could not be entered has no run: the others go
    on, and then its error is raised (the first such)."""
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
    streams: dict[int, AsyncRunStream] = {}
    """Each request's stream (its last, once the platform refused one with 429)."""
    unplaced: dict[int, BaseException] = {}
    if place is None:  # each made now, so a cancelled batch ends the runs not started too
        streams.update(
            (index, c.stream(request, approve=approve))
            for index, (c, request) in enumerate(zip(clients, requests, strict=True))
        )
        if link is not None:
            await asyncio.to_thread(link, [(i, s.run) for i, s in streams.items()])

    async def attempt(stream: AsyncRunStream) -> BaseException | None:
        stream.approvals.deny_undecided(UNATTENDED_BATCH)
        return await stream.run_to_end()  # a failed run is recorded failed; the batch goes on

    async def new_stream(index: int, client: AsyncAgentClient, request: RunRequest) -> None:
        """Request ``index``'s stream, a new run of it; ``link`` is told."""
        streams[index] = client.stream(request, approve=approve)
        if link is not None:
            await asyncio.to_thread(link, [(index, streams[index].run)])

    async def run_of(
        index: int, client: AsyncAgentClient, request: RunRequest, slot: _Slot
    ) -> None:
        """The run of request ``index`` (its stream made first where none is), sent again
        while the platform refuses it with 429, ``after`` told once it ended."""
        if index not in streams:
            await new_stream(index, client, request)
        try:
            for again in range(1 + RATE_LIMITED_AGAIN):
                if again:
                    await new_stream(index, client, request)
                async with slot:
                    error = await attempt(streams[index])
                if not isinstance(error, RateLimitError):
                    break
        finally:
            tally.ended(streams[index].run)
        if after is not None:
            await asyncio.to_thread(after, index, streams[index].run)

    async def one(index: int) -> None:
        if place is None:
            await run_of(index, clients[index], requests[index], limit)
            return
        async with limit:
            placed = place(index, requests[index])
            try:
                client, request = await _entered_in_a_thread(placed)
            except Exception as exc:  # its place could not be made: no run, the others go on
                unplaced[index] = exc
                tally.lost()
                return
            async with _left_in_a_thread(placed):
                await run_of(index, client, request, contextlib.nullcontext())

    def ended_runs() -> list[Run]:
        return [streams[index].run for index in sorted(streams)]

    agents = ", ".join(dict.fromkeys(request.agent for request in requests))
    # tracing on: the runs' tasks copy the batch's span, each links to it
    with batch_span(agents, len(requests), ended_runs):
        tasks = [asyncio.ensure_future(one(index)) for index in range(len(requests))]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stream in streams.values():
                await stream.aclose()  # the runs not started yet end cancelled too
            raise
    if unplaced:
        raise unplaced[min(unplaced)]
    runs = ended_runs()
    return _result([run.local_id for run in runs], runs, store)


_T = TypeVar("_T")

_Slot = asyncio.Semaphore | contextlib.nullcontext[None]
"""What a run's attempt holds while it runs: a place in the batch's concurrency, or nothing
more (a placed request holds its place already)."""


async def _entered_in_a_thread(placed: AbstractContextManager[_T]) -> _T:
    """``placed`` (a request's place) entered in a worker thread: making it may block (a copy
    made). A batch cancelled meanwhile leaves it again once it is made."""
    entering = asyncio.ensure_future(asyncio.to_thread(placed.__enter__))
    try:
        return await asyncio.shield(entering)
    except asyncio.CancelledError:
        await asyncio.wait([entering])
        if not entering.cancelled() and entering.exception() is None:
            await asyncio.to_thread(placed.__exit__, None, None, None)
        raise


@contextlib.asynccontextmanager
async def _left_in_a_thread(entered: AbstractContextManager[object]) -> AsyncIterator[None]:
    """Leaves ``entered`` (a request's place) at the end, in a worker thread: leaving may
    block (a copy removed)."""
    try:
        yield
    except BaseException as exc:
        if not await asyncio.to_thread(entered.__exit__, type(exc), exc, exc.__traceback__):
            raise
    else:
        await asyncio.to_thread(entered.__exit__, None, None, None)


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
