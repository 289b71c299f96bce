"""The sync face: ``AgentClient`` runs an :class:`AsyncAgentClient` on agentnb's background
loop, so scripts and notebook cells can call it without an event loop of their own (and it
works inside a running one without deadlocking)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any, Unpack, overload

from .._core.approvals import ApprovalGate, ApprovalPolicy
from .._core.loop import get_loop, interrupt_kept, run_sync, submit, wait_for, wait_slices
from .._core.request import RunOptions, RunRequest, as_request
from .._core.run import Run
from .._core.stoppable import Closing
from ..events import Event
from ..providers import Provider, RemoteAgent, RemoteRun
from .async_client import AsyncAgentClient
from .client_options import ClientOptions
from .stream import AsyncRunStream

__all__ = ["AgentClient", "RunStream"]

_END = object()
AHEAD = 32
"""Events the loop reads ahead of a sync consumer: one that stops asking stops the reads."""


class RunStream(Closing):
    """A run's events for sync code: ``for event in stream``. ``.run`` is live.

    The stream runs on agentnb's background loop; events cross over through a queue.
    ``close()`` (or leaving the ``with`` block, or a ``KeyboardInterrupt`` while waiting)
    cancels the run. At a :class:`~agentnb.events.RunPaused`, decide on the calls awaiting
    approval with ``stream.approvals.approve/deny`` (from this thread or any other).
    """

    def __init__(self, stream: AsyncRunStream) -> None:
        self._stream = stream
        self.run = stream.run
        self._queue: queue.Queue[Any] = queue.Queue()
        self._room: asyncio.Semaphore | None = None  # the loop's side of AHEAD
        self._pump: concurrent.futures.Future[None] | None = None
        self._done = threading.Event()
        self._exhausted = False
        self._closed = False

    def __repr__(self) -> str:
        return repr(self._stream).replace("<AsyncRunStream", "<RunStream", 1)

    @property
    def approvals(self) -> ApprovalGate:
        """The run's decisions on tool calls awaiting approval (thread-safe)."""
        return self._stream.approvals

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if self._exhausted or self._closed:
            raise StopIteration
        if self._pump is None:
            self._pump = submit(self._forward())
        try:
            item = self._next_item()
        except KeyboardInterrupt:
            self.close()
            raise
        if item is _END:
            self._exhausted = True
            raise StopIteration
        if isinstance(item, BaseException):
            self._exhausted = True
            raise item
        event: Event = item
        if self._room is not None:
            get_loop().call_soon_threadsafe(self._room.release)
        return event

    def _next_item(self) -> Any:
        """The next item the loop queued, waited for in :func:`wait_slices` (so that a
        Ctrl-C lands while no event comes)."""
        for piece in wait_slices():
            try:
                with interrupt_kept():
                    return self._queue.get(timeout=piece)
            except queue.Empty:
                continue
        raise AssertionError("wait_slices() without a timeout never ends")

    async def _forward(self) -> None:
        room = self._room = asyncio.Semaphore(AHEAD)
        try:
            async with self._stream as stream:
                async for event in stream:
                    self._queue.put(event)
                    await room.acquire()
        except asyncio.CancelledError:
            self._queue.put(_END)
            raise
        except BaseException as exc:
            self._queue.put(exc)
        else:
            self._queue.put(_END)
        finally:
            self._done.set()

    def close(self, timeout: float = 10.0) -> None:
        """Cancel the run if it is still going, and wait (a little) until it is closed."""
        if self._closed:
            return
        self._closed = True
        if self._pump is None:
            run_sync(self._stream.aclose(), timeout=timeout)
            return
        self._pump.cancel()
        wait_for(self._done, timeout)


class AgentClient(Closing):
    """The sync face of :class:`AsyncAgentClient` (same arguments), for scripts and cells.

    Everything runs on agentnb's background event loop, so it works inside a running loop
    (a notebook cell) without deadlocking. A ``KeyboardInterrupt`` while waiting cancels
    the run.
    """

    def __init__(
        self,
        provider: str | Provider,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        connection: str = "default",
        **options: Unpack[ClientOptions],
    ) -> None:
        self._async = AsyncAgentClient(
            provider, base_url=base_url, api_key=api_key, connection=connection, **options
        )

    @property
    def aio(self) -> AsyncAgentClient:
        """The async client behind this one (use it on agentnb's loop only)."""
        return self._async

    @property
    def base_url(self) -> str:
        return self._async.base_url

    @property
    def provider(self) -> Provider:
        return self._async.provider

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncAgentClient", "AgentClient", 1)

    def close(self) -> None:
        run_sync(self._async.aclose())

    @overload
    def run(self, request: RunRequest, /, *, approve: ApprovalPolicy = None) -> Run: ...

    @overload
    def run(
        self,
        agent: str,
        message: str,
        /,
        *,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> Run: ...

    def run(
        self,
        agent: str | RunRequest,
        message: str | None = None,
        /,
        *,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> Run:
        """Run to the end: ``client.run(agent, message)`` or ``client.run(request)``; see
        :meth:`AsyncAgentClient.run` (also for ``approve``)."""
        return run_sync(self._async.run(as_request(agent, message, options), approve=approve))

    @overload
    def stream(self, request: RunRequest, /, *, approve: ApprovalPolicy = None) -> RunStream: ...

    @overload
    def stream(
        self,
        agent: str,
        message: str,
        /,
        *,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> RunStream: ...

    def stream(
        self,
        agent: str | RunRequest,
        message: str | None = None,
        /,
        *,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> RunStream:
        """Stream a run: ``for event in client.stream(agent, message)`` (or
        ``client.stream(request)``); ``.run`` is live. ``approve`` as in
        :meth:`AsyncAgentClient.stream`."""
        return RunStream(self._async.stream(as_request(agent, message, options), approve=approve))

    def attach(
        self,
        agent: str,
        run_id: str,
        *,
        thread_id: str | None = None,
        message: str = "",
        local_id: str | None = None,
        started_at: float | None = None,
        record: bool = True,
        approve: ApprovalPolicy = None,
    ) -> RunStream:
        """Stream a run already going on the platform: ``for event in client.attach(...)``;
        as :meth:`AsyncAgentClient.attach` (errors for a dialect that cannot, before I/O)."""
        stream = self._async.attach(
            agent,
            run_id,
            thread_id=thread_id,
            message=message,
            local_id=local_id,
            started_at=started_at,
            record=record,
            approve=approve,
        )
        return RunStream(stream)

    def list_runs(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: str = "desc",
        page_size: int = 20,
        agent: str | None = None,
    ) -> list[RemoteRun]:
        return run_sync(
            self._async.list_runs(
                thread_id, limit=limit, order=order, page_size=page_size, agent=agent
            )
        )

    def run_status(self, agent: str, run_ids: str | Sequence[str]) -> list[RemoteRun]:
        return run_sync(self._async.run_status(agent, run_ids))

    def list_agents(self) -> list[RemoteAgent]:
        """The agents the platform says it serves (see ``AsyncAgentClient.list_agents``)."""
        return run_sync(self._async.list_agents())
