"""The server's HTTP/1.1 protocol: uvicorn's h11 protocol plus a deadline for request heads.

uvicorn's keep-alive timeout only runs between requests, and the first byte a client sends
cancels it; nothing bounds how long a request head may take. So a client can hold a
connection forever by sending a partial head and then a byte now and then (slowloris). Here a
connection that is waiting for a request head (a new connection, or one kept alive after a
response) must deliver the whole head within ``head_timeout_s``: otherwise it gets a
``408 Request Timeout`` (or, if it sent nothing at all, is just closed).
"""

from __future__ import annotations

import asyncio
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

__all__ = ["HEAD_TIMEOUT_S", "HeadDeadlineProtocol", "with_head_timeout"]

HEAD_TIMEOUT_S = 5.0

_TIMEOUT_TEXT = b"the request head did not arrive in time\n"
REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\n"
    b"content-length: " + str(len(_TIMEOUT_TEXT)).encode() + b"\r\n\r\n" + _TIMEOUT_TEXT
)


class HeadDeadlineProtocol(H11Protocol):
    """h11, where a request head must arrive within ``head_timeout_s`` of the connection
    starting to wait for one."""

    head_timeout_s: float = HEAD_TIMEOUT_S

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_head_state()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._follow_head_state()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_head_state()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def _follow_head_state(self) -> None:
        """Run the deadline while the connection waits for a request head, and only then."""
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            self._cancel_head_deadline()
        elif self.head_deadline is None:
            self.head_deadline = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        if self.head_deadline is not None:
            self.head_deadline.cancel()
            self.head_deadline = None

    def _head_timed_out(self) -> None:
        self.head_deadline = None
        if self.transport.is_closing():
            return
        partial_head, _ = self.conn.trailing_data
        if partial_head:
            self.transport.write(REQUEST_TIMEOUT)
        self.transport.close()


def with_head_timeout(seconds: float) -> type[HeadDeadlineProtocol]:
    """The protocol class with its own head deadline (uvicorn instantiates the class)."""
    if seconds <= 0:
        raise ValueError(f"the head timeout must be positive, got {seconds}")

    class Configured(HeadDeadlineProtocol):
        head_timeout_s = seconds

    return Configured
