"""The HTTP client of one platform: httpx's, with its connection pool split in shards so that
200 open streams cost what 12 do, and cookies read only from answers that set some.

httpcore's pool walks every connection it holds on each request and each response closed
(twice over for idle ones), and closes an idle connection whenever it holds more than its
keep-alive limit in all, busy ones included. With 200 streams open, every request paid for
200 connections and no connection was ever kept alive: each run's usage request opened and
closed a TCP connection of its own. :class:`ShardedTransport` spreads requests over
:data:`SHARDS` pools (each request to the one with the fewest requests in flight), so each
pool stays small, its walks short, and its keep-alive working.

One TLS context serves a transport's every connection, httpx's and agentnb's own
(:func:`tls_context`: httpx's own checks, from the user's ``verify=``); the default one is
made once per process: loading the certificate store takes tens of milliseconds, which every
new client used to spend on the event loop every stream shares. And httpx builds a urllib
request and an email message for every response, to look for cookies in it:
:class:`_Cookies` first checks that there is a ``Set-Cookie`` header at all.
"""

from __future__ import annotations

import functools
import os
import ssl
import urllib.request
from collections.abc import AsyncIterator
from typing import Any, NamedTuple

import httpcore
import httpx

from .._core.exceptions import ConfigurationError
from .network import AsyncioBackend
from .own_connections import OwnConnections

__all__ = [
    "SHARDS",
    "SIDE_CONNECTIONS",
    "HttpClients",
    "ShardedTransport",
    "Verify",
    "checked_verify",
    "new_http_clients",
    "proxied_schemes",
    "shared_ssl_context",
    "tls_context",
]

Verify = ssl.SSLContext | str | os.PathLike[str] | bool
"""What ``verify=`` takes, as httpx: True (certifi's store, or ``SSL_CERT_FILE`` /
``SSL_CERT_DIR``), False (no check), a CA bundle file or directory, or an
``ssl.SSLContext``."""

SHARDS = 16
"""Pools one platform's requests are spread over."""
_SHARD_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)
"""No cap on open connections (a stream holds one for its whole run: a cap would queue the
next run until it failed with a PoolTimeout); up to 20 idle ones kept per shard."""
SIDE_CONNECTIONS = 8
"""Side requests of one transport in flight at once (the others wait their turn)."""
_SIDE_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=SIDE_CONNECTIONS)


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """The default TLS context (certifi's store, ``SSL_CERT_FILE``/``SSL_CERT_DIR`` honoured),
    made once per process."""
    return _http11(httpx.create_ssl_context())


def checked_verify(verify: object) -> Verify:
    """``verify`` when it is one of the values :data:`Verify` allows (a path: one that
    exists), else a :class:`ConfigurationError` saying what is accepted."""
    if isinstance(verify, bool | ssl.SSLContext):
        return verify
    if isinstance(verify, str | os.PathLike):
        if not os.path.exists(verify):
            raise ConfigurationError(
                f"verify={os.fspath(verify)!r}: no such CA bundle file or directory"
            )
        return verify
    raise ConfigurationError(
        f"verify must be True, False, a CA bundle path or an ssl.SSLContext, not {verify!r}"
    )


def tls_context(verify: Verify = True) -> ssl.SSLContext:
    """The TLS context for ``verify``, made as httpx makes it (``httpx.create_ssl_context``);
    a CA bundle path as httpx's deprecated ``verify=<str>`` did, without the warning. A
    given ``ssl.SSLContext`` is used as it is (its ALPN set to HTTP/1.1, as httpcore does)."""
    if verify is True:
        return shared_ssl_context()
    if isinstance(verify, str | os.PathLike):
        path = os.fspath(verify)
        if os.path.isdir(path):
            return _http11(ssl.create_default_context(capath=path))
        return _http11(ssl.create_default_context(cafile=path))
    return _http11(httpx.create_ssl_context(verify=verify))


def _http11(context: ssl.SSLContext) -> ssl.SSLContext:
    context.set_alpn_protocols(["http/1.1"])
    return context


def pooled_transport(
    context: ssl.SSLContext | bool, limits: httpx.Limits
) -> httpx.AsyncHTTPTransport:
    """httpx's transport over :class:`~agentnb._http.network.AsyncioBackend` (httpx has no
    parameter for httpcore's network backend: its pool is made again with one)."""
    transport = httpx.AsyncHTTPTransport(verify=context, limits=limits)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.AsyncConnectionPool):  # else httpx changed: keep its own
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=pool._ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncioBackend(),
        )
    return transport


class _Released(httpx.AsyncByteStream):
    """A response body that tells its shard when it is closed."""

    def __init__(self, stream: httpx.AsyncByteStream, release: functools.partial[None]) -> None:
        self._stream = stream
        self._release: functools.partial[None] | None = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            self._done()

    def _done(self) -> None:
        release, self._release = self._release, None
        if release is not None:
            release()


class ShardedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, :data:`SHARDS` times; each request goes to the shard with the
    fewest requests in flight (the first of them on a tie, so sequential runs reuse one
    shard's kept-alive connections)."""

    def __init__(self, *, verify: ssl.SSLContext | bool = True, shards: int = SHARDS) -> None:
        context = tls_context(verify)
        self._shards = [pooled_transport(context, _SHARD_LIMITS) for _ in range(shards)]
        self._in_flight = [0] * shards

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        index = self._in_flight.index(min(self._in_flight))
        self._in_flight[index] += 1
        release = functools.partial(self._release, index)
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _Released(response.stream, release)
        return response

    def _release(self, index: int) -> None:
        self._in_flight[index] -= 1

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Cookies(httpx.Cookies):
    """httpx's cookie jar, which skips responses without cookies."""

    def extract_cookies(self, response: httpx.Response) -> None:
        headers = response.headers
        if "set-cookie" in headers or "set-cookie2" in headers:
            super().extract_cookies(response)


class _AsyncClient(httpx.AsyncClient):
    """httpx's client with :class:`_Cookies`."""

    def __init__(self, timeout: httpx.Timeout, transport: httpx.AsyncBaseTransport) -> None:
        super().__init__(timeout=timeout, transport=transport)
        self.cookies = {}

    @property
    def cookies(self) -> httpx.Cookies:
        return self._agentnb_cookies

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        self._agentnb_cookies = _Cookies(cookies)


class HttpClients(NamedTuple):
    """A transport's two HTTP clients, sharing one cookie jar."""

    streams: httpx.AsyncClient
    """Run streams (and everything else), on a :class:`ShardedTransport`."""
    side: httpx.AsyncClient
    """JSON side requests (a run's usage, a thread to create, listings): a small pool of
    its own, so that 200 runs ending at once reuse a few kept-alive connections instead of
    each opening one beside its stream (at most :data:`SIDE_CONNECTIONS` at a time)."""
    own: OwnConnections
    """agentnb's own connections for run streams and side requests
    (:mod:`agentnb._http.own_connections`), for the schemes in ``own_schemes``."""
    own_schemes: frozenset[str]
    """``http`` and ``https``, less those the environment names a proxy for (httpx honours
    it: those take httpx's path)."""

    def own_for(self, request: httpx.Request) -> OwnConnections | None:
        """agentnb's own connections when they can carry ``request`` (its scheme not
        proxied, its body in memory), else None: httpx's path."""
        if request.url.scheme not in self.own_schemes:
            return None
        if not isinstance(request.stream, httpx.ByteStream):
            return None
        return self.own

    async def aclose(self) -> None:
        await self.streams.aclose()
        if self.side is not self.streams:
            await self.side.aclose()
        await self.own.aclose()


WIRE = "own"
"""Which transport agentnb's own clients use (benchmarks compare): "own", "aiohttp" or
"httpx-aiohttp"."""


def new_http_clients(timeout: httpx.Timeout, verify: Verify = True) -> HttpClients:
    """The HTTP clients a transport makes when none was given to it, all on one TLS context."""
    context = tls_context(verify)
    if WIRE != "own":
        if WIRE == "aiohttp":
            from .aiohttp_transport import AiohttpTransport

            wire: httpx.AsyncBaseTransport = AiohttpTransport(context)
        else:
            import httpx_aiohttp

            wire = httpx_aiohttp.AiohttpTransport(
                verify=context, limits=httpx.Limits(max_connections=100_000)
            )
        client = _AsyncClient(timeout, wire)
        return HttpClients(client, client, OwnConnections(timeout, context), frozenset())
    streams = _AsyncClient(timeout, ShardedTransport(verify=context))
    side = _AsyncClient(timeout, pooled_transport(context, _SIDE_LIMITS))
    side.cookies = streams.cookies.jar  # one jar: a cookie set on either is sent by both
    own_schemes = frozenset({"http", "https"}) - proxied_schemes()
    return HttpClients(streams, side, OwnConnections(timeout, context), own_schemes)


def proxied_schemes() -> frozenset[str]:
    """The schemes the environment names a proxy for (``HTTP_PROXY``, ``HTTPS_PROXY``,
    ``ALL_PROXY``, either case), which httpx would use: those take httpx's path."""
    proxies = urllib.request.getproxies()
    if proxies.get("all"):
        return frozenset({"http", "https"})
    return frozenset(scheme for scheme in ("http", "https") if proxies.get(scheme))
