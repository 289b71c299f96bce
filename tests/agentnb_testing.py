"""Shared test helpers (importable from every test folder: pytest puts ``tests/`` on the path
for its root conftest): one way to make a client for the built-in server, one scripted stream.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from agentnb import AsyncAgentClient, Run
from agentnb.events import Event
from agentnb.server import ServerHandle

__all__ = ["Scripted", "client_for"]


def client_for(
    server: ServerHandle, dialect: str = "operativus", **options: Any
) -> AsyncAgentClient:
    """An async client for ``dialect`` on the built-in server, retrying without waiting."""
    options.setdefault("backoff", 0.0)
    return AsyncAgentClient(
        dialect, base_url=server.url_for(dialect), api_key=server.api_key, **options
    )


class Scripted:
    """A stream source (what ``RunHandle`` consumes) replaying ``events`` into ``.run``:
    each stamped with its position and arrival time, one loop turn apart. With
    ``pause_after=n`` it sets ``paused`` (a thread-safe flag) and waits for ``gate`` before
    the n-th event."""

    def __init__(
        self,
        events: list[Event],
        *,
        agent: str = "echo",
        message: str = "hi",
        pause_after: int | None = None,
    ) -> None:
        self.run = Run(agent=agent, message=message)
        self.events = events
        self.pause_after = pause_after
        self.gate = asyncio.Event()
        self.paused = threading.Event()
        self.closed = False

    async def __aenter__(self) -> Scripted:
        self.run.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.closed = True

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._events()

    async def _events(self) -> AsyncIterator[Event]:
        for i, event in enumerate(self.events):
            if self.pause_after is not None and i == self.pause_after:
                self.paused.set()
                await self.gate.wait()
            await asyncio.sleep(0)
            stamped = event.model_copy(update={"seq": i, "received_at": time.time()})
            self.run.apply(stamped)
            yield stamped
