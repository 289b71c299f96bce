"""httpcore's network layer on plain asyncio: a protocol that buffers what arrives.

httpcore runs on asyncio through anyio, which costs each read of a socket a cancel scope
with a timer (the read timeout), a receive through anyio's stream wrappers, and each look at
an idle pooled connection ("did the server close it?") a dictionary of socket attributes and
a ``select`` call. With 200 streams that was a large part of the loop's time per event.

:class:`AsyncioBackend` does the same on an :class:`asyncio.Protocol`: a read returns at once
what has already arrived, and only a read that has to wait sets a timer; a closed connection
is seen from a flag the event loop sets. TLS is asyncio's own (``loop.start_tls`` here,
``create_connection(ssl=...)`` for agentnb's own connections: :func:`open_tcp`). Unix
sockets and socket options (which agentnb does not use) go to httpcore's own backend.
"""

# ruff: noqa: ASYNC109  (httpcore's interface takes timeout= arguments)
from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import Iterable
from typing import Any, Protocol

from httpcore import (
    AnyIOBackend,
    AsyncNetworkBackend,
    AsyncNetworkStream,
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

from .._core.loop import take_turn

__all__ = ["AsyncioBackend", "Buffered", "OwnStream", "Sink", "open_tcp"]

HAPPY_EYEBALLS_DELAY = 0.25
"""Seconds before trying a host's next address while the first still connects (as anyio)."""


class Sink(Protocol):
    """Takes what arrives on a connection as the event loop reads it (see :attr:`Buffered.sink`)."""

    def data(self, data: bytes) -> None: ...

    def ended(self) -> None: ...


class Buffered(asyncio.Protocol):
    """Keeps what arrives until a read takes it; pauses the socket while too much waits.

    While a :attr:`sink` is set (with nothing buffered), what arrives goes to it instead, in
    the event loop's callback: a body read that way wakes no task per read. :meth:`hold`
    pauses the socket while the sink has more than it can take in this turn of the loop."""

    HIGH_WATER = 256 * 1024

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.sink: Sink | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._paused = False  # too much buffered
        self._held = False  # the sink's work waits for a turn of the loop
        self._writable: asyncio.Future[None] | None = None

    # ---- what the event loop calls --------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        sink = self.sink
        if sink is not None:
            sink.data(data)
            return
        self.buffer += data
        if len(self.buffer) > self.HIGH_WATER and self.transport is not None:
            self.transport.pause_reading()
            self._paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        if self.sink is not None:
            self.sink.ended()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake()
        self._wake_writer(exc)
        if self.sink is not None:
            self.sink.ended()

    def hold(self) -> None:
        """Stop reading the socket until :meth:`release`."""
        if not self._held:
            self._held = True
            if not self._paused and self.transport is not None:
                self.transport.pause_reading()

    def release(self) -> None:
        if self._held:
            self._held = False
            if not self._paused and self.transport is not None:
                self.transport.resume_reading()

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._wake_writer(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake_writer(self, exc: Exception | None) -> None:
        writable, self._writable = self._writable, None
        if writable is not None and not writable.done():
            if exc is None:
                writable.set_result(None)
            else:
                writable.set_exception(exc)

    # ---- what the stream calls ----------------------------------------------------------
    def take(self, max_bytes: int) -> bytes:
        if len(self.buffer) <= max_bytes:
            data = bytes(self.buffer)
            self.buffer.clear()
        else:
            data = bytes(self.buffer[:max_bytes])
            del self.buffer[:max_bytes]
        if self._paused and len(self.buffer) <= self.HIGH_WATER // 4 and self.transport:
            self._paused = False
            if not self._held:
                self.transport.resume_reading()
        return data

    def new_waiter(self) -> asyncio.Future[None]:
        """A future the next arrival (data, end, error) completes."""
        self._waiter = waiter = asyncio.get_running_loop().create_future()
        return waiter

    async def wait_readable(self, timeout: float | None) -> None:
        loop = asyncio.get_running_loop()
        waiter = self.new_waiter()
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()

    @property
    def writing_paused(self) -> bool:
        """Whether the transport holds more unsent bytes than it wants to."""
        return self._writable is not None

    async def wait_writable(self, timeout: float | None) -> None:
        writable = self._writable
        if writable is None:
            return
        async with asyncio.timeout(timeout):
            await asyncio.shield(writable)


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


class OwnStream(AsyncNetworkStream):
    """A connection of :class:`AsyncioBackend`: ``protocol`` buffers what arrives."""

    def __init__(self, transport: asyncio.Transport, protocol: Buffered) -> None:
        self._transport = transport
        self._protocol = protocol
        self._unsent: list[bytes] = []

    @property
    def protocol(self) -> Buffered:
        """What the event loop feeds (a reader past httpcore takes its bytes directly)."""
        return self._protocol

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self._send_unsent()
        protocol = self._protocol
        if not protocol.buffer and not protocol.eof:
            try:
                await protocol.wait_readable(timeout)
            except TimeoutError:
                raise ReadTimeout("timed out reading from the server") from None
        if protocol.buffer:
            return protocol.take(max_bytes)
        if protocol.error is not None:
            raise ReadError(str(protocol.error) or type(protocol.error).__name__)
        return b""  # the server closed the connection

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Queue ``buffer``; what is queued goes out in one system call at the next read or
        the loop's next turn, whichever comes first (a request's head and body together:
        on loopback each send costs the sender the receiver's work too)."""
        if not buffer:
            return
        if self._transport.is_closing():
            raise WriteError("the connection is closed")
        if not self._unsent:
            asyncio.get_running_loop().call_soon(self._send_unsent)
        self._unsent.append(buffer)
        if sum(map(len, self._unsent)) < Buffered.HIGH_WATER:
            return
        self._send_unsent()
        try:
            await self._protocol.wait_writable(timeout)
        except TimeoutError:
            raise WriteTimeout("timed out writing to the server") from None
        except OSError as exc:
            raise WriteError(str(exc)) from exc

    def _send_unsent(self) -> None:
        if self._unsent:
            data = b"".join(self._unsent)
            self._unsent.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    async def aclose(self) -> None:
        # as anyio does: close (pending bytes may still go out), one turn of the loop for the
        # socket to be let go, then drop whatever could not be sent
        self._transport.close()
        await asyncio.sleep(0)
        self._transport.abort()
        await take_turn()  # 200 runs ending at once: their ends spread over turns

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(
                    self._transport, self._protocol, ssl_context, server_hostname=server_hostname
                )
        except TimeoutError:
            self._transport.close()
            raise ConnectTimeout("timed out in the TLS handshake") from None
        except (OSError, ssl.SSLError) as exc:
            self._transport.close()
            raise ConnectError(str(exc)) from exc
        if transport is None:
            raise ConnectError("the TLS handshake did not complete")
        assert isinstance(transport, asyncio.Transport)
        self._protocol.transport = transport
        return OwnStream(transport, self._protocol)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # an idle pooled connection the server has closed
            return bool(self._protocol.buffer) or self._protocol.eof
        names = {
            "ssl_object": "ssl_object",
            "client_addr": "sockname",
            "server_addr": "peername",
            "socket": "socket",
        }
        name = names.get(info)
        return None if name is None else self._transport.get_extra_info(name)


async def open_tcp(
    host: str,
    port: int,
    timeout: float | None,
    local_address: str | None = None,
    *,
    tls: ssl.SSLContext | None = None,
) -> tuple[asyncio.Transport, Buffered]:
    """A TCP connection whose arrivals a :class:`Buffered` protocol keeps, over TLS when
    ``tls`` is given (asyncio's own: SNI and the hostname check for ``host``, as the context
    says); TimeoutError after ``timeout`` seconds (the handshake included), OSError when it
    cannot connect (``ssl.SSLError`` is one: a certificate not trusted, a name that does not
    match)."""
    loop = asyncio.get_running_loop()
    delay = None if _is_ip_address(host) else HAPPY_EYEBALLS_DELAY  # one address: no race
    async with asyncio.timeout(timeout):
        transport, protocol = await loop.create_connection(
            Buffered,
            host,
            port,
            local_addr=None if local_address is None else (local_address, 0),
            happy_eyeballs_delay=delay,
            ssl=tls,
            server_hostname=host if tls is not None else None,
        )
    assert isinstance(transport, asyncio.Transport)
    return transport, protocol


class AsyncioBackend(AsyncNetworkBackend):
    """httpcore's network backend on asyncio's event loop (see the module's docstring)."""

    def __init__(self) -> None:
        self._fallback = AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        if socket_options:
            return await self._fallback.connect_tcp(
                host, port, timeout, local_address, socket_options
            )
        try:
            transport, protocol = await open_tcp(host, port, timeout, local_address)
        except TimeoutError:
            raise ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:
            raise ConnectError(str(exc) or type(exc).__name__) from exc
        return OwnStream(transport, protocol)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> AsyncNetworkStream:
        return await self._fallback.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
