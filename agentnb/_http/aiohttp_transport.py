"""httpx's interface on aiohttp's wire: an ``httpx.AsyncBaseTransport`` that sends each
``httpx.Request`` with aiohttp (its C ``llhttp`` parser, its pool, asyncio's TLS) and hands
back an ``httpx.Response`` whose body has not been read.

- The body is read undecoded (``auto_decompress=False``): agentnb undoes its codings itself,
  a bounded piece at a time (:mod:`agentnb._http.content_coding`). :class:`AiohttpBody`
  gives its raw bytes straight from aiohttp's reader (:meth:`AiohttpBody.read`), pushes
  them in the connection's own callback as each socket read brings them
  (:meth:`AiohttpBody.push`), or gives them through httpx's iteration like any body.
- Failures are httpx's exception types with the request, so the one map
  (:func:`agentnb._http.error_map.transport_error`) serves this transport and a user's own
  httpx client alike: a TLS failure is an ``httpx.ConnectError`` raised from the
  ``ssl.SSLError``; a malformed head a ``RemoteProtocolError`` saying "malformed response
  head".
- The keep-alive race: a request whose kept-alive connection closed before any byte of an
  answer is sent once more on a new connection (aiohttp does it only for idempotent
  methods); once a byte arrived, never (a run is never started twice).
- Closing a response before its body ended closes its connection; :meth:`AiohttpBody.discard`
  aborts it at once (no TLS close_notify exchange), so the server sees a stopped run's
  reader go.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import ssl
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import aiohttp
import httpx
from aiohttp.client_proto import ResponseHandler
from aiohttp.http_exceptions import PayloadEncodingError

__all__ = ["BODY", "AiohttpBody", "AiohttpTransport", "aiohttp_body", "mapped_errors"]

BODY = "agentnb_aiohttp_body"
"""The response extension that holds its :class:`AiohttpBody` (see :func:`aiohttp_body`)."""

DRAIN_SECONDS = 1.0
"""How long a closed response's body may take to end so that its connection is kept (what
arrives meanwhile is held by aiohttp's reader, which stops reading past its limit)."""
LARGE_BODY = 1024 * 1024
"""A request body past this size is written from a file object (aiohttp's advice)."""
MAX_HEADERS = 128
"""Header lines a response head may have (each at most 8 KiB: aiohttp's limits)."""


class _Attempt:
    """What the connector tells one send: whether its connection carried a request before."""

    __slots__ = ("fresh_only", "reused")

    def __init__(self, *, fresh_only: bool) -> None:
        self.fresh_only = fresh_only
        self.reused = False


_attempt: contextvars.ContextVar[_Attempt | None] = contextvars.ContextVar(
    "agentnb_http_attempt", default=None
)


class _Connector(aiohttp.TCPConnector):
    """aiohttp's connector, which tells a send whether its connection is a kept-alive one, and
    hands a retry a new connection only."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._carried: weakref.WeakSet[ResponseHandler] = weakref.WeakSet()

    async def connect(
        self,
        req: Any,
        traces: Any,
        timeout: Any,  # noqa: ASYNC109  (aiohttp's signature)
    ) -> aiohttp.connector.Connection:
        attempt = _attempt.get()
        while True:
            connection = await super().connect(req, traces, timeout)
            protocol = connection.protocol
            reused = protocol in self._carried
            if reused and attempt is not None and attempt.fresh_only:
                connection.close()  # idle connections may all be stale: a new one
                continue
            if protocol is not None:
                self._carried.add(protocol)
            if attempt is not None:
                attempt.reused = reused
            return connection


def _head_error(exc: BaseException) -> httpx.HTTPError:
    """An aiohttp failure before the head was read, as httpx's type."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        if isinstance(exc.message, str):  # not one byte of a head
            return httpx.RemoteProtocolError("Server disconnected without sending a response.")
        return httpx.RemoteProtocolError(
            "the server closed the connection inside the response head"
        )
    if isinstance(exc, aiohttp.ClientResponseError):  # llhttp refused what arrived
        part = "body" if isinstance(exc.__cause__, PayloadEncodingError) else "head"
        return httpx.RemoteProtocolError(f"malformed response {part}: {exc.message}")
    return _error(exc)


def _error(exc: BaseException) -> httpx.HTTPError:
    """An aiohttp failure as httpx's exception type (the cause kept: a TLS error's reason)."""
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(str(exc) or "timed out connecting")
    if isinstance(exc, aiohttp.ServerTimeoutError | TimeoutError):
        return httpx.ReadTimeout(str(exc) or "timed out reading from the server")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(str(exc.os_error) or str(exc))
    if isinstance(exc, aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(str(exc))
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError(str(exc))
    if isinstance(exc, aiohttp.ClientResponseError):
        return httpx.RemoteProtocolError(exc.message)
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(str(exc))
    return httpx.ReadError(str(exc) or type(exc).__name__)


def _cause(exc: BaseException) -> BaseException:
    """What the TLS error map looks for: the ``ssl`` error under a connector's failure."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return exc.certificate_error
    if isinstance(exc, aiohttp.ClientConnectorError):
        return exc.os_error
    return exc


@contextlib.contextmanager
def mapped_errors(request: httpx.Request | None = None, *, head: bool = False) -> Iterator[None]:
    """aiohttp's failures (and OS errors) raised as httpx's types with ``request``."""
    try:
        yield
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        mapped = _head_error(exc) if head else _error(exc)
        if request is not None:
            mapped.request = request
        raise mapped from _cause(exc)


class AiohttpBody(httpx.AsyncByteStream):
    """A response body on aiohttp's connection: :meth:`read` its raw bytes as they arrive,
    or iterate it as httpx does."""

    __slots__ = ("_content", "_draining", "_pushed_to", "_request", "_response")

    def __init__(
        self,
        response: aiohttp.ClientResponse,
        request: httpx.Request,
        draining: set[aiohttp.ClientResponse],
    ) -> None:
        self._response = response
        self._content = response.content
        self._request = request
        self._draining = draining
        self._pushed_to: ResponseHandler | None = None  # the connection that pushes

    async def read(self) -> bytes | None:
        """The bytes that arrived since the last read (waiting for some), None at the end."""
        content = self._content
        try:
            data = await content.readany()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            mapped = _error(exc)
            mapped.request = self._request
            raise mapped from exc
        return data or None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while (data := await self.read()) is not None:
            yield data

    def read_now(self) -> bytes | None:
        """The bytes that arrived and were not read yet, without waiting (None: none, or a
        failure that :meth:`read` raises)."""
        content = self._content
        if content.exception() is not None:
            return None
        return content.read_nowait() or None

    def push(self, take: Callable[[bytes], bool]) -> asyncio.Future[None] | None:
        """Hand the body's bytes to ``take`` in the connection's own callback, as each socket
        read brings them, instead of waking a reader's task for each: the returned future is
        done when ``take`` returns False (it has work for the task), the body ends, fails or
        its connection goes. Pushing stops then, or at :meth:`stop_push`; after it, :meth:`read`
        gives what is left, the end or the failure, as ever. None: bytes wait to be read, the
        body is over (:meth:`read_now` / :meth:`read` first), or the loop is not one of
        asyncio's own (uvloop's transports keep the protocol's methods they were given)."""
        content, connection = self._content, self._response.connection
        protocol = None if connection is None else connection.protocol
        if protocol is None or content.is_eof() or content.exception() is not None:
            return None
        loop = asyncio.get_running_loop()
        if not isinstance(loop, asyncio.BaseEventLoop):
            return None
        woken = loop.create_future()
        received, lost = protocol.data_received, protocol.connection_lost

        taking = False

        def data_received(data: bytes) -> None:
            nonlocal taking
            received(data)
            if taking:  # reading below resumes aiohttp's parser, which comes back here
                return
            taking = True
            try:
                while content.exception() is None:
                    piece = content.read_nowait()  # what this read (and a resume) brought
                    if not piece:
                        if content.is_eof():
                            break
                        return
                    if not take(piece):
                        break
            finally:
                taking = False
            wake()

        def connection_lost(exc: BaseException | None) -> None:
            lost(exc)
            wake()

        def wake() -> None:
            self.stop_push()
            if not woken.done():
                woken.set_result(None)

        # the instance's own attributes: asyncio looks the methods up at every call
        protocol.data_received = data_received  # type: ignore[method-assign]
        protocol.connection_lost = connection_lost  # type: ignore[method-assign]
        self._pushed_to = protocol
        return woken

    def stop_push(self) -> None:
        """The connection's bytes wait in aiohttp's reader again (see :meth:`push`)."""
        protocol, self._pushed_to = self._pushed_to, None
        if protocol is not None:
            del protocol.data_received, protocol.connection_lost

    def keep_read_timeout(self) -> float | None:
        """Turn aiohttp's read timer off for the rest of this body and return its timeout,
        for the reader to keep with one timer per body: aiohttp re-arms its timer on every
        socket read (a tenth of a stream's loop time)."""
        connection = self._response.connection
        protocol = None if connection is None else connection.protocol
        if protocol is None:
            return None
        timeout = protocol.read_timeout
        protocol.read_timeout = None  # the timer armed now is dropped at the next read
        return timeout

    def discard(self) -> None:
        """Close the connection now, whatever is left of the body (a run was stopped: the
        server must see its reader go). A TLS connection is aborted: no close_notify."""
        self.stop_push()
        connection = self._response.connection
        if connection is not None and connection.transport is not None:
            connection.transport.abort()
        self._response.close()

    async def aclose(self) -> None:
        """Give the connection back once the body ended: at once, or when its end arrives
        within :data:`DRAIN_SECONDS` (a run's stream is closed at its terminal event, often
        just before the body's last chunk); else close it."""
        self.stop_push()
        response, content = self._response, self._content
        if content.is_eof() or response.closed:
            response.release()
            return
        draining = self._draining
        draining.add(response)

        def give_up() -> None:
            draining.discard(response)
            response.close()

        def ended() -> None:
            gave_up.cancel()
            draining.discard(response)
            response.release()

        gave_up = asyncio.get_running_loop().call_later(DRAIN_SECONDS, give_up)
        content.on_eof(ended)  # a failure drops the callback: the timer closes it


def aiohttp_body(response: httpx.Response) -> AiohttpBody | None:
    """The body of a response this transport made (httpx's client wraps ``response.stream``
    in its own), else None: a user's own client's response."""
    body = response.extensions.get(BODY)
    return body if isinstance(body, AiohttpBody) else None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx's requests on one aiohttp session (see the module)."""

    def __init__(self, tls: ssl.SSLContext, *, keepalive_expiry: float = 5.0) -> None:
        self._tls = tls
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        self._draining: set[aiohttp.ClientResponse] = set()
        """Responses closed before their body's end, waiting for it (:meth:`AiohttpBody.aclose`)."""

    def _new_session(self) -> aiohttp.ClientSession:
        connector = _Connector(
            limit=0,  # a stream holds its connection for its whole run: no cap to queue on
            ssl=self._tls,
            keepalive_timeout=self._keepalive_expiry,
        )
        session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx's client keeps the cookies
            max_headers=MAX_HEADERS,
        )
        if hasattr(session, "_retry_connection"):
            # aiohttp re-sends an idempotent request once after any disconnect; agentnb
            # decides what is re-sent (the keep-alive race here, retries above): one way
            session._retry_connection = False
        return session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._session is None:
            self._session = self._new_session()
        timeout = request.extensions.get("timeout", {})
        limits = aiohttp.ClientTimeout(  # connect: the TLS handshake included
            total=None, connect=timeout.get("connect"), sock_read=timeout.get("read")
        )
        if not isinstance(request.stream, httpx.ByteStream):
            await request.aread()
        try:
            response = await self._send(request, limits, fresh_only=False)
        except _Stale:
            response = await self._send(request, limits, fresh_only=True)
        body = AiohttpBody(response, request, self._draining)
        return httpx.Response(
            response.status,
            headers=response.raw_headers,
            stream=body,
            request=request,
            extensions={
                "http_version": b"HTTP/1.1",
                "reason_phrase": (response.reason or "").encode("latin-1", "replace"),
                BODY: body,  # httpx's client wraps the stream: the body stays reachable
            },
        )

    async def _send(
        self, request: httpx.Request, limits: aiohttp.ClientTimeout, *, fresh_only: bool
    ) -> aiohttp.ClientResponse:
        assert self._session is not None
        attempt = _Attempt(fresh_only=fresh_only)
        token = _attempt.set(attempt)
        try:
            with mapped_errors(request, head=True):
                try:
                    return await self._session.request(
                        request.method,
                        str(request.url),
                        headers=request.headers.multi_items(),
                        data=_body(request.content),
                        allow_redirects=False,
                        compress=False,
                        timeout=limits,
                        server_hostname=request.extensions.get("sni_hostname"),
                    )
                except aiohttp.ServerDisconnectedError as exc:
                    if attempt.reused and not fresh_only and isinstance(exc.message, str):
                        raise _Stale from exc
                    raise
        finally:
            _attempt.reset(token)

    def __del__(self) -> None:
        # an httpx client never closed (a notebook's connections live until the kernel
        # exits) is let go quietly, as httpx's own would be: aiohttp would log an error
        session = self._session
        connector = None if session is None or session.closed else session.connector
        close = getattr(connector, "_close", None)  # the closing that needs no await
        if close is not None:
            with contextlib.suppress(Exception):
                close()

    async def aclose(self) -> None:
        for response in list(self._draining):
            response.close()
        self._draining.clear()
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _body(content: bytes) -> bytes | io.BytesIO | None:
    """A request body as aiohttp takes it: a large one as a file (aiohttp warns that raw
    bytes that large might hold the loop while they are written)."""
    if not content:
        return None
    return io.BytesIO(content) if len(content) > LARGE_BODY else content


class _Stale(Exception):
    """A kept-alive connection closed with no byte of an answer: send on a new one."""
