"""httpx's interface on aiohttp's wire, through aiohttp's public API only.

One error table decides each failure with the request's progress in view: only a failure
to connect (the request never left) reads as httpx's connect errors, which may be retried;
a disconnect once it was sent never does, since a second request would be a second run.
"""

from __future__ import annotations

import asyncio
import io
import ssl
from collections.abc import AsyncIterator
from types import SimpleNamespace

import aiohttp
import httpx

from .wire_body import BODY, STOP

__all__ = ["AiohttpTransport"]

DRAIN_SECONDS = 1.0
"""How long a body closed before its end may take to end so that its connection is kept."""
LARGE_BODY = 1024 * 1024
"""A request body past this size is written from a file object (aiohttp's advice)."""
MAX_HEADERS = 128
"""Header lines a response head may have, each at most :data:`MAX_LINE` bytes."""
MAX_LINE = 8190


def _connect_error(exc: aiohttp.ClientConnectorError) -> httpx.HTTPError:
    return httpx.ConnectError(str(exc.os_error) or str(exc))


def _head_error(exc: BaseException) -> httpx.HTTPError:
    """A failure while the request was sent or its answer's head read."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "timed out connecting")
    if isinstance(exc, aiohttp.ClientConnectorError):  # the request never left
        return _connect_error(exc)
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        if isinstance(exc.message, str):  # not one byte of a head
            return httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.RemoteProtocolError(
            "the server closed the connection inside the response head"
        )
    if isinstance(exc, aiohttp.ClientResponseError):  # llhttp refused what arrived
        return httpx.RemoteProtocolError(f"malformed response head: {exc.message}")
    return _body_error(exc)


def _body_error(exc: BaseException) -> httpx.HTTPError:
    """A failure once the request was sent: never a connect error."""
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out reading from the server")
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(str(exc))
    if isinstance(exc, aiohttp.ClientPayloadError | aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(exc))
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(exc.message)
    return httpx.ReadError(str(exc) or type(exc).__name__)


def _cause(exc: BaseException) -> BaseException:
    """The ``ssl`` error under a connector's failure (what the TLS error map looks for)."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return exc.certificate_error
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error
    return exc


_FAILURES = (aiohttp.ClientError, OSError, TimeoutError)
"""What aiohttp raises for a failure on the wire (each mapped to httpx's errors)."""


def _mapped(exc: BaseException, request: httpx.Request, *, head: bool) -> httpx.HTTPError:
    mapped = _head_error(exc) if head else _body_error(exc)
    mapped.request = request
    return mapped


class AiohttpBody(httpx.AsyncByteStream):
    """A response body read as it arrives: aiohttp's reader stops reading the socket while
    nobody reads (backpressure)."""

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: httpx.Request,
        draining: dict[asyncio.Task[None], aiohttp.ClientResponse],
    ) -> None:
        self._response = response
        self._request = request
        self._draining = draining

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self  # not a generator: nothing is left to close when a reader stops early

    async def __anext__(self) -> bytes:
        try:
            data = await self._response.content.readany()
        except _FAILURES as exc:
            raise _mapped(exc, self._request, head=False) from _cause(exc)
        if not data:
            raise StopAsyncIteration
        return data

    def abort(self) -> None:
        """Close the connection now, whatever is left of the body: the server sees the
        reader go (a stopped run)."""
        self._response.close()

    async def aclose(self) -> None:
        """Give the connection back once the body ended, waiting up to
        :data:`DRAIN_SECONDS` for its end (a run is closed at its terminal event, often just
        before the body's last bytes); else close it."""
        response = self._response
        if response.closed or response.content.at_eof():
            response.release()
            return
        drain = asyncio.get_running_loop().create_task(_drain(response))
        self._draining[drain] = response
        drain.add_done_callback(self._draining.pop)


async def _drain(response: aiohttp.ClientResponse) -> None:
    try:
        async with asyncio.timeout(DRAIN_SECONDS):
            while await response.content.readany():
                pass
    except asyncio.CancelledError:
        response.close()
        raise
    except Exception:  # cut, or too slow: the connection goes
        response.close()
    else:
        response.release()


async def _note_reuse(
    session: aiohttp.ClientSession, context: SimpleNamespace, params: object
) -> None:
    context.trace_request_ctx.reused = True


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx's requests on one aiohttp session (see the module)."""

    def __init__(self, tls: ssl.SSLContext, *, keepalive_expiry: float = 5.0) -> None:
        self._tls = tls
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closer: asyncio.Task[None] | None = None
        self._draining: dict[asyncio.Task[None], aiohttp.ClientResponse] = {}

    def _new_session(self) -> aiohttp.ClientSession:
        self._loop = asyncio.get_running_loop()
        tracing = aiohttp.TraceConfig()
        tracing.on_connection_reuseconn.append(_note_reuse)
        connector = aiohttp.TCPConnector(
            limit=0,  # a stream holds its connection for its whole run: no cap to queue on
            ssl=self._tls,
            keepalive_timeout=self._keepalive_expiry,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,  # agentnb undoes codings itself, bounded (content_coding)
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps the cookies
            max_headers=MAX_HEADERS,
            max_line_size=MAX_LINE,
            max_field_size=MAX_LINE,
            trace_configs=[tracing],
        )
        self._closer = closer = self._loop.create_task(_close_with_loop(session))
        _closers.add(closer)  # a task only its transport holds would be collected with it
        closer.add_done_callback(_closers.discard)
        return session

    def _session_for(self, request: httpx.Request) -> aiohttp.ClientSession:
        session = self._session
        if session is not None and session.closed and self._loop is asyncio.get_running_loop():
            # its closer ran on this loop, which ends (asyncio.run cancels what is left, and a
            # run cancelled then asks the platform to stop it): a pool opened now would be
            # left open when the loop closes
            raise httpx.TransportError("the event loop is ending", request=request)
        if session is None or session.closed:  # closed: its loop ended
            session = self._new_session()
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self._session = self._session_for(request)
        timeout = request.extensions.get("timeout", {})
        limits = aiohttp.ClientTimeout(  # connect: the TLS handshake included
            total=None, connect=timeout.get("connect"), sock_read=timeout.get("read")
        )
        content = request.content if isinstance(request.stream, httpx.ByteStream) else None
        if content is None:
            content = await request.aread()
        while True:
            attempt = SimpleNamespace(reused=False)
            try:
                response = await self._session.request(
                    request.method,
                    str(request.url),
                    headers=request.headers.multi_items(),
                    data=_body(content),
                    allow_redirects=False,
                    compress=False,
                    timeout=limits,
                    server_hostname=request.extensions.get("sni_hostname"),
                    trace_request_ctx=attempt,
                )
                break
            except _FAILURES as exc:
                mapped = _mapped(exc, request, head=True)
                # the keep-alive race: a kept-alive connection closed with no byte of an
                # answer; each such one leaves the pool, so the last try is on a new one
                stale = isinstance(exc, aiohttp.ServerDisconnectedError)
                if not (attempt.reused and stale and "without sending" in str(mapped)):
                    raise mapped from _cause(exc)
        body = AiohttpBody(response, request, self._draining)
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=body,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                STOP: body.abort,
                BODY: body,
            },
        )

    def __del__(self) -> None:
        # a client never closed (a notebook's lives until the kernel exits) closes its
        # connections on its loop once it goes, as httpx's own is let go quietly
        # (builtins only: at the interpreter's exit this module's globals may be gone first)
        closer, loop = self._closer, self._loop
        if closer is not None and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(closer.cancel)
            except RuntimeError:  # the loop closed meanwhile
                return

    async def aclose(self) -> None:
        for drain, response in list(self._draining.items()):
            drain.cancel()
            response.close()
        session, self._session = self._session, None
        if self._closer is not None:
            self._closer.cancel()
        if session is not None:
            await session.close()


_closers: set[asyncio.Task[None]] = set()


async def _close_with_loop(session: aiohttp.ClientSession) -> None:
    """Close ``session`` when this task is cancelled: by its transport's ``aclose`` or
    collection, or by the end of its loop (``asyncio.run`` cancels the tasks left and runs
    them out), so a client never closed leaves no connection to a closed loop."""
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        await session.close()
        raise


def _body(content: bytes) -> bytes | io.BytesIO | None:
    """A request body as aiohttp takes it: a large one as a file (aiohttp warns that raw
    bytes that large might hold the loop while they are written)."""
    if not content:
        return None
    return io.BytesIO(content) if len(content) > LARGE_BODY else content
