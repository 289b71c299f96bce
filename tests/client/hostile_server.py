"""A tiny raw-socket HTTP server on 127.0.0.1 that sends exactly the bytes a test asks for.

It runs its own event loop in a thread, so a test can block (a sync client, a loop-lag probe)
without starving it. Each connection reads one request and hands it to the test's handler,
which writes whatever it likes and returns; the connection is then closed. Every request read
is kept in ``requests``, so a test can count what reached the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from agentnb_testing import PATIENCE_S

__all__ = ["Conn", "CuttingRelay", "HostileServer", "Request", "http_head", "sse_head"]


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


class Conn:
    """One accepted connection: write bytes, pause, or stop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_request(self) -> Request | None:
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0") or 0)
        body = await self.reader.readexactly(length) if length else b""
        return Request(method, path, headers, body)


Handler = Callable[[Conn, Request], Awaitable[None]]


def http_head(status: str = "200 OK", headers: dict[str, str] | None = None) -> bytes:
    """A response head that closes the connection after the body (no length, no chunks)."""
    lines = [f"HTTP/1.1 {status}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def sse_head(headers: dict[str, str] | None = None) -> bytes:
    return http_head("200 OK", {"Content-Type": "text/event-stream", **(headers or {})})


class HostileServer:
    """``with HostileServer(handler) as srv: ... srv.url ...``"""

    def __init__(self, handler: Handler, *, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: serve over TLS with this (server-side) context; ``url`` is then https."""
        self._handler = handler
        self._tls = tls
        self.requests: list[Request] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "http" if self._tls is None else "https"
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(PATIENCE_S)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(PATIENCE_S)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(PATIENCE_S)
        self._loop.close()

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self._tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _stop(self) -> None:
        assert self._server is not None
        self._server.close()
        # A connection accepted just now reaches its handler a few loop turns later; a task
        # cancelled before its first step would never close its socket. Stop the handlers
        # until none is left once the last accepted connection had time to reach one.
        while True:
            await asyncio.sleep(0.02)
            if not self._tasks:
                return
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = Conn(reader, writer)
        try:
            request = await conn.read_request()
            if request is not None:
                self.requests.append(request)
                await self._handler(conn, request)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            # the socket is closed by a callback the loop runs later: the loop may be closed
            # (the server stopped) before it does, which leaves the socket open
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()
            self._tasks.discard(task)


class CuttingRelay:
    """A handler that relays each request to a real server at ``upstream`` and cuts the first
    ``cuts`` event streams that pass through after ``cut_after`` whole events (the network
    dropped the connection); later ones pass whole. ``targets`` lists what was asked."""

    def __init__(self, upstream: str, cut_after: int, cuts: int = 1) -> None:
        self.upstream = upstream
        self.cut_after = cut_after
        self.cuts_left = cuts
        self.targets: list[str] = []

    async def __call__(self, conn: Conn, request: Request) -> None:
        import httpx  # the relay's own client, on the hostile server's loop

        self.targets.append(f"{request.method} {request.path}")
        headers = {k: v for k, v in request.headers.items() if k in _RELAYED}
        async with (
            httpx.AsyncClient(timeout=PATIENCE_S) as client,
            client.stream(
                request.method, self.upstream + request.path, headers=headers, content=request.body
            ) as answer,
        ):
            kind = answer.headers.get("content-type", "application/json")
            await conn.send(http_head(f"{answer.status_code} OK", {"Content-Type": kind}))
            cut = kind.startswith("text/event-stream") and self.cuts_left > 0
            self.cuts_left -= int(cut)
            pending, sent = b"", 0
            async for piece in answer.aiter_bytes():
                if not cut:
                    await conn.send(piece)
                    continue
                pending += piece
                while b"\n\n" in pending:
                    event, pending = pending.split(b"\n\n", 1)
                    await conn.send(event + b"\n\n")
                    sent += 1
                    if sent >= self.cut_after:
                        return


_RELAYED = ("authorization", "content-type", "accept", "last-event-id", "x-agentnb-delay-ms")
