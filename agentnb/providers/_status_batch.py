"""Status requests of runs that end together, sent as one batch request (group commit).

A dialect whose stream lacks the usage reads it from the run's status once the stream ends.
With 200 runs ending within a second, that was 200 more requests on the loop. Here the first
run to end asks at once (a lone run waits no longer than before); runs that end while that
request is on its way wait for it, then go together in one request of up to ``limit`` ids
(Operativus' batch endpoint takes 100). Each waiting run gets its own entry of the answer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ._base import HttpRequest, RemoteRun, SendJson

__all__ = ["StatusBatches"]

StatusRequest = Callable[[str, Sequence[str]], "HttpRequest | None"]
ParseRuns = Callable[[Any], list[RemoteRun]]


@dataclass
class _Waiting:
    run_id: str
    answer: asyncio.Future[RemoteRun | None]
    send: SendJson


@dataclass
class _Agent:
    """One agent's queue on one loop, and the task that empties it."""

    queue: list[_Waiting] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class StatusBatches:
    """Fetches runs' status, merging the requests of runs that end while one is in flight."""

    def __init__(self, request: StatusRequest, parse: ParseRuns, *, limit: int = 100) -> None:
        self._request = request
        self._parse = parse
        self._limit = limit
        # Per loop: a client may be used from one asyncio.run() and then another.
        self._agents: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, _Agent]] = (
            weakref.WeakKeyDictionary()
        )

    async def fetch(self, agent: str, run_id: str, send: SendJson) -> RemoteRun | None:
        """The run's status (None when the platform does not know it). ``send`` carries
        the request of the batch this run leads, if it is the first of its batch."""
        loop = asyncio.get_running_loop()
        state = self._agents.setdefault(loop, {}).setdefault(agent, _Agent())
        waiting = _Waiting(run_id, loop.create_future(), send)
        state.queue.append(waiting)
        if state.task is None or state.task.done():
            state.task = loop.create_task(self._drain(state, agent))
        return await waiting.answer

    async def _drain(self, state: _Agent, agent: str) -> None:
        while state.queue:
            batch = [w for w in state.queue[: self._limit] if not w.answer.done()]
            del state.queue[: self._limit]
            if batch:
                await self._ask(agent, batch)

    async def _ask(self, agent: str, batch: list[_Waiting]) -> None:
        request = self._request(agent, [w.run_id for w in batch])
        if request is None:
            self._answer(batch, {})
            return
        try:
            runs = self._parse(await batch[0].send(request))
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.answer.cancel()
            raise
        except Exception as exc:  # each waiting run's own finalize decides what it means
            for waiting in batch:
                if not waiting.answer.done():
                    waiting.answer.set_exception(exc)
            return
        self._answer(batch, {run.run_id: run for run in runs})

    @staticmethod
    def _answer(batch: list[_Waiting], by_id: dict[str, RemoteRun]) -> None:
        for waiting in batch:
            if not waiting.answer.done():
                waiting.answer.set_result(by_id.get(waiting.run_id))
