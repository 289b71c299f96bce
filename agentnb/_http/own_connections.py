"""agentnb's own HTTP/1.1 connections for run streams, over TCP or TLS: the request written
by agentnb, the head parsed by agentnb, connections kept alive and reused across runs.

httpx/httpcore cost a run's stream about a third of agentnb's loop time before its first
event: the pool's walk, h11's state machine, anyio's locks, and a new TCP connection per run
(a body read past httpx could never go back to httpcore's pool). :class:`OwnConnections`
sends a request httpx built (:meth:`agentnb._client.transport.Transport.build`: headers,
cookies, JSON body) on a connection of its own, parses the head
(:mod:`agentnb._http.response_head`), and hands back an ``httpx.Response`` whose body is a
:class:`~agentnb._http.framing.RawBody` over the connection's buffered protocol.

- Keep-alive: closing a response whose body has ended (or ends within :data:`DRAIN_SECONDS`
  with what is left of it, at most :data:`DRAIN_BYTES`: a run's stream is closed at its
  terminal event, often just before the body's last chunk) puts its connection back in the
  pool, at most :data:`MAX_IDLE` idle per origin, each for :data:`KEEPALIVE_EXPIRY` seconds.
  One pool per transport, a deque per origin: taking or putting back a connection is O(1),
  so there is nothing to shard.
- A kept-alive connection the server closed while it was idle: the request is sent once more
  on a new connection, only when nothing at all came back on the old one (the server closed
  it without reading the request: the keep-alive race). Once any byte of an answer arrived,
  a failure is the transport's to map (a run is never started twice).
- ``https://`` is asyncio's TLS with the one context httpx's pools use too
  (:func:`agentnb._http.httpx_pools.tls_context`: httpx's certificate checks, the user's
  ``verify=``), SNI and the hostname checked; ALPN offers HTTP/1.1 only, as httpcore does
  for HTTP/1.1. Connections are kept per origin (scheme, host, port); at most
  :data:`HANDSHAKES_AT_ONCE` are being opened at once (the connect timeout counts from a
  handshake's turn).
- Failures raise httpx's exception types with the request, so the one map
  (:func:`agentnb._http.error_map.transport_error`) serves both paths (a TLS failure is an
  ``httpx.ConnectError`` raised from the ``ssl.SSLError``, as on httpx's path).

Which requests take this path is decided by :meth:`agentnb._http.httpx_pools.HttpClients.own_for`.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
from collections.abc import AsyncIterator

import httpx

from .framing import RawBody
from .network import Buffered, open_tcp
from .response_head import Head, parse_head, request_bytes

logger = logging.getLogger("agentnb.http")
"""Logs each request sent here, as httpx does its own (keys redacted: ``logs.HTTP_LOGGERS``)."""

__all__ = [
    "DRAIN_BYTES",
    "DRAIN_SECONDS",
    "HANDSHAKES_AT_ONCE",
    "KEEPALIVE_EXPIRY",
    "MAX_IDLE",
    "OwnBody",
    "OwnConnections",
]

MAX_IDLE = 320
"""Idle connections kept per origin (httpx's pools held 20 in each of 16 shards)."""
KEEPALIVE_EXPIRY = 5.0
"""Seconds an idle connection is kept (httpx's default)."""
DRAIN_SECONDS = 1.0
DRAIN_BYTES = 64 * 1024
"""How long, and how many more bytes, a closed response's body may take to end so that its
connection is kept."""

HANDSHAKES_AT_ONCE = 8
"""TLS connections being opened at once per pool; the others wait their turn. A handshake
costs the event loop about a millisecond of CPU (the certificate's checks), all of it in
callbacks no turn budget reaches: 200 runs starting together held the loop for 0.4 s."""

Origin = tuple[str, str, int]
"""Scheme, host, port."""


class Connection:
    """One connection (TCP, or TLS over it) and the protocol that buffers what arrives."""

    __slots__ = ("idle_since", "origin", "protocol", "transport")

    def __init__(self, origin: Origin, transport: asyncio.Transport, protocol: Buffered) -> None:
        self.origin = origin
        self.transport = transport
        self.protocol = protocol
        self.idle_since = 0.0

    def reusable(self, now: float) -> bool:
        """Idle, open, with nothing unasked-for waiting, and not past its expiry."""
        protocol = self.protocol
        return (
            not protocol.eof
            and not protocol.buffer
            and not self.transport.is_closing()
            and now - self.idle_since < KEEPALIVE_EXPIRY
        )

    def close(self) -> None:
        if self.origin[0] == "https":
            # no TLS close_notify exchange, which can outlive the loop: the server sees
            # the connection go at once (a stopped run's must)
            self.transport.abort()
        else:
            self.transport.close()


class _Stale(Exception):
    """A kept-alive connection closed with no byte of an answer: send on a new one."""


class OwnConnections:
    """The pool of one transport's stream connections (see the module's docstring)."""

    def __init__(self, timeout: httpx.Timeout, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: the context for ``https://`` (None: plain ``http://`` only)."""
        self._timeout = timeout
        self._tls = tls
        self._idle: dict[Origin, collections.deque[Connection]] = {}
        self._draining: set[Connection] = set()
        self._closed = False
        self._handshakes = asyncio.Semaphore(HANDSHAKES_AT_ONCE)

    async def send(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read its head; the body is read through the response."""
        url = request.url
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        data = request_bytes(request)
        stale = False
        while True:
            connection = None if stale else self._take(origin)
            reused = connection is not None
            if connection is None:
                connection = await self._connect(origin, request)
            try:
                head = await self._exchange(connection, data, request, reused=reused)
            except _Stale:
                connection.close()
                stale = True  # once, on a new connection (never on another kept-alive one)
                continue
            except BaseException:
                connection.close()
                raise
            logger.debug('HTTP Request: %s %s "HTTP/1.1 %d"', request.method, url, head.status)
            body = OwnBody(self, connection, head, self._timeout.read)
            return httpx.Response(
                head.status,
                headers=head.headers,
                stream=body,
                request=request,
                extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
            )

    def _take(self, origin: Origin) -> Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()  # the most recent: the least likely to have expired
            if connection.reusable(now):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: Origin, request: httpx.Request) -> Connection:
        scheme, host, port = origin
        tls = self._tls if scheme == "https" else None
        if scheme == "https" and tls is None:
            raise httpx.UnsupportedProtocol("no TLS context for https", request=request)
        try:
            if tls is None:
                transport, protocol = await open_tcp(host, port, self._timeout.connect)
            else:
                async with self._handshakes:
                    transport, protocol = await open_tcp(host, port, self._timeout.connect, tls=tls)
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"timed out connecting to {host}:{port}", request=request
            ) from None
        except OSError as exc:
            message = str(exc) or type(exc).__name__
            raise httpx.ConnectError(message, request=request) from exc
        return Connection(origin, transport, protocol)

    async def _exchange(
        self, connection: Connection, data: bytes, request: httpx.Request, *, reused: bool
    ) -> Head:
        protocol = connection.protocol
        connection.transport.write(data)
        if protocol.writing_paused:
            try:
                await protocol.wait_writable(self._timeout.write)
            except TimeoutError:
                raise httpx.WriteTimeout(
                    "timed out writing to the server", request=request
                ) from None
            except OSError as exc:
                raise httpx.WriteError(str(exc), request=request) from exc
        while True:
            parsed = parse_head(protocol.buffer, request.method) if protocol.buffer else None
            if parsed is not None:
                head, size = parsed
                del protocol.buffer[:size]
                if 100 <= head.status < 200:
                    continue  # informational (100 Continue, 103 Early Hints): the answer follows
                return head
            if protocol.eof:
                if reused and not protocol.buffer:
                    raise _Stale
                raise httpx.RemoteProtocolError(
                    "Server disconnected without sending a response."
                    if not protocol.buffer
                    else "the server closed the connection inside the response head",
                    request=request,
                )
            try:
                await protocol.wait_readable(self._timeout.read)
            except TimeoutError:
                raise httpx.ReadTimeout(
                    "timed out reading from the server", request=request
                ) from None

    def release(self, connection: Connection) -> None:
        """Put a connection whose last body ended back in the pool (or close it)."""
        self._draining.discard(connection)
        idle = self._idle.setdefault(connection.origin, collections.deque())
        if self._closed or len(idle) >= MAX_IDLE or connection.transport.is_closing():
            connection.close()
            return
        connection.idle_since = asyncio.get_running_loop().time()
        idle.append(connection)

    def drain(self, connection: Connection, body: RawBody) -> None:
        """Let the rest of a closed response's body arrive (within the drain limits), then
        keep its connection; close it when the body does not end in time."""
        protocol = connection.protocol
        loop = asyncio.get_running_loop()
        self._draining.add(connection)
        budget = [DRAIN_BYTES]

        def give_up() -> None:
            if connection in self._draining:
                self._draining.discard(connection)
                connection.close()

        timer = loop.call_later(DRAIN_SECONDS, give_up)

        def arrived(_: object) -> None:
            if connection not in self._draining:
                return
            budget[0] -= len(protocol.buffer)
            if body.finish_buffered():
                timer.cancel()
                self.release(connection)
            elif protocol.eof or budget[0] < 0:
                timer.cancel()
                give_up()
            else:
                protocol.new_waiter().add_done_callback(arrived)

        protocol.new_waiter().add_done_callback(arrived)

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            while idle:
                idle.pop().close()
        for connection in list(self._draining):
            connection.close()
        self._draining.clear()
        await asyncio.sleep(0)  # the loop closes the sockets in callbacks: let them run


class OwnBody(httpx.AsyncByteStream):
    """A response body on one of :class:`OwnConnections`' connections: ``raw`` undoes its
    framing over the connection's ``protocol`` (read directly by
    :func:`agentnb._http.pushed_body.pushed_body`); closing it gives the connection back when the
    body ended."""

    def __init__(
        self, pool: OwnConnections, connection: Connection, head: Head, timeout: float | None
    ) -> None:
        self._pool = pool
        self._connection: Connection | None = connection
        self._keep_alive = head.keep_alive
        self.protocol = connection.protocol
        self.raw = RawBody(connection.protocol, head.framing, b"", timeout)

    def discard(self) -> None:
        """Close the connection with the body (a run stopped: the server must see it go)."""
        self._keep_alive = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (piece := await self.raw.next_piece()) is not None:
            yield piece

    async def aclose(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        self.raw.close()
        if self._keep_alive and self.raw.finish_buffered():
            self._pool.release(connection)
        elif self._keep_alive and self.raw.may_end_by_itself():
            self._pool.drain(connection, self.raw)
        else:
            connection.close()
            await asyncio.sleep(0)  # the loop closes the socket in a callback: let it run
