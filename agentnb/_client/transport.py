"""HTTP for one platform: build a request with the key's headers, send it, turn every failure
into agentnb's typed errors, and wait between attempts (the :class:`~agentnb._client.wire.Wire`
a dialect spoken over HTTP gets).

Both the client (JSON side requests, listings) and a run's stream go through one
:class:`Transport`, so a failure is mapped the same way whichever asked, and no error, log
line or chained exception carries the key.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic_core import from_json

from .._core.exceptions import (
    AgentNBError,
    ConfigurationError,
    NotFoundError,
    ProtocolError,
    TransportError,
)
from .._core.retry import RETRYABLE_STATUS, Retryable, RetryPolicy
from .._core.secrets import REDACTED, key_advice
from .._core.version import __version__
from .._http import (
    KNOWN_SERVERS,
    SIDE_CONNECTIONS,
    KnownServer,
    Verify,
    abort,
    accept_encoding,
    content_type_error,
    decoded_body,
    decoder_for,
    is_event_stream,
    is_json,
    new_http_client,
    status_error,
    transport_error,
)
from ..providers import HttpRequest, Provider, WireRequest
from .logs import install_log_redaction
from .origins import KeyScope, Origin
from .wire import Opened, Wire

__all__ = [
    "DEFAULT_TIMEOUT",
    "ERROR_BODY_LIMIT",
    "JSON_BODY_LIMIT",
    "Transport",
]

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0, write=30.0, pool=10.0)
"""Connect 10 s; read 60 s between two pieces of the body."""

ERROR_BODY_LIMIT = 64 * 1024
"""Bytes of an error answer read for its message."""
JSON_BODY_LIMIT = 8 * 1024 * 1024
"""A JSON side answer (thread, run object, run status) larger than this is refused."""

_KEY_HEADERS = ("authorization", "x-api-key", "api-key")
"""Headers that carry a key whichever dialect's (an ``http_client``'s defaults included)."""

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
"""Methods whose request may be sent twice to the same effect."""

install_log_redaction()


def user_agent() -> str:
    return f"agentnb/{__version__}"


def join_url(base_url: str, path: str) -> str:
    """``path`` below ``base_url``: the one place a request's URL is made.

    An empty path is ``base_url`` exactly as given (an endpoint URL, trailing slash or not);
    otherwise one ``/`` joins them, so neither a slash is added at the end nor a part of the
    base's path dropped; the base's query string stays at the end. An absolute ``http(s)://``
    path (an endpoint the platform named, such as an A2A agent card's) is used as it is.
    """
    if not path:
        return base_url
    if path.startswith(("http://", "https://")):
        return path
    parts = urlsplit(base_url)
    joined = parts.path.rstrip("/") + "/" + path.lstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, joined, parts.query, parts.fragment))


class Transport(Wire):
    """Sends one platform's requests over HTTP (the :class:`Wire` a dialect whose ``wire``
    is ``http`` gets). :meth:`aclose` closes the HTTP client it created (not one that was
    passed in)."""

    def __init__(
        self,
        provider: Provider,
        *,
        base_url: str,
        api_key: str | None,
        timeout: httpx.Timeout,
        retry: RetryPolicy,
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        verify: Verify = True,
        trusted_origins: frozenset[Origin] = frozenset(),
        connection: str = "default",
    ) -> None:
        super().__init__(
            provider, base_url, connection=connection, timeout=timeout, retry=retry, api_key=api_key
        )
        self._extra_headers = dict(headers or {})
        self.keys = KeyScope(base_url, trusted_origins)
        """Which URLs the key and ``headers`` go to (:mod:`agentnb._client.origins`)."""
        self._credentials = {
            name.lower()
            for name in (*provider.auth_headers("x"), *self._extra_headers, *_KEY_HEADERS)
        }
        self._given_http = http_client
        self._verify = verify
        self._http: httpx.AsyncClient | None = None
        self._side_slots = asyncio.Semaphore(SIDE_CONNECTIONS)
        self._known_server: str | None = None
        """What a 404 of a run's request adds: which dialect the origin answers like."""

    # ---- lifecycle -------------------------------------------------------------------
    async def aclose(self) -> None:
        await super().aclose()
        if self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        """The HTTP client: the one given to the transport, else its own
        (:func:`agentnb._http.new_http_client`: aiohttp on the wire)."""
        if self._closed:
            raise TransportError(f"the client for {self.base_url} is closed; make a new one")
        if self._given_http is not None:
            return self._given_http
        if self._http is None:
            self._http = new_http_client(self.timeout, self._verify)
        return self._http

    def where(self, request: httpx.Request) -> str:
        return self.redact(f"{request.method} {request.url}")

    def _scrub_auth(self, request: httpx.Request) -> None:
        """A sent request stays reachable (``error.__cause__.request``, ``response.request``):
        blank its key."""
        for name in self.provider.auth_headers("x"):
            if name in request.headers:
                request.headers[name] = REDACTED

    def _key_advice(self, request: httpx.Request) -> str:
        """What a 401 or 403 tells a person about the key: none sent, or refused. Nothing
        where the connection's key was held back from this origin (that is said instead)."""
        sent = self._sent_a_key(request)
        if not sent and self._api_key and not self.keys.allows(request.url):
            return ""
        return key_advice(self.connection, sent=sent)

    def _sent_a_key(self, request: httpx.Request) -> bool:
        """Whether ``request`` carried a key: the connection's, or a header the caller set."""
        names = {name.lower() for name in (*self.provider.auth_headers("x"), *_KEY_HEADERS)}
        return any(name.lower() in names for name in request.headers)

    # ---- requests ----------------------------------------------------------------------
    def url(self, path: str) -> str:
        return join_url(self.base_url, path)

    def build(self, http: HttpRequest, *, accept: str, keyless: bool = False) -> httpx.Request:
        """The request ``http`` describes, with the key and the connection's headers only
        when its URL is on the base URL's origin or a trusted one (:class:`KeyScope`), and
        never with ``keyless`` (a probe of agentnb's own outside the base URL's path)."""
        client = self._client()
        try:
            url = httpx.URL(self.url(http.path))
            keyed = not keyless and self.keys.allows(url)
            headers = {
                "User-Agent": user_agent(),
                "Accept": accept,
                "Accept-Encoding": accept_encoding(),
                **(self.provider.auth_headers(self._api_key) if keyed else {}),
                **(self._extra_headers if keyed else {}),
                **http.headers,
            }
            request = client.build_request(
                http.method,
                url,
                params=dict(http.params) or None,
                json=http.json,
                headers=headers,
                timeout=self.timeout,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol, UnicodeEncodeError) as exc:
            raise ConfigurationError(
                self.redact(f"cannot build a request for {self.url(http.path)}: {exc}")
            ) from None
        if not keyed:  # an http_client's own default headers may carry a credential too
            for name in self._credentials.intersection(request.headers.keys()):
                del request.headers[name]
        return request

    async def send(
        self,
        request: httpx.Request,
        *,
        stream: bool,
        idempotent: bool | None = None,
        keyless: bool = False,
    ) -> httpx.Response:
        """Send; map transport failures to typed errors (retryable ones wrapped).

        A request is retryable after a failure only when it provably never reached the
        server (connect errors, pool and connect timeouts), or when sending it twice does no
        harm: ``idempotent`` (default: by its method) allows a retry after the connection
        broke once the request was written."""
        if idempotent is None:
            idempotent = request.method in IDEMPOTENT_METHODS
        try:
            # never a redirect with the key (httpx keeps X-API-Key and headers= across
            # origins), nor an http_client's auth= where the key does not go
            keyed = not keyless and self.keys.allows(request.url)
            auth = httpx.USE_CLIENT_DEFAULT if keyed else None
            response = await self._client().send(
                request, stream=stream, follow_redirects=False, auth=auth
            )
        except httpx.HTTPError as exc:
            self._scrub_auth(request)
            where, url = self.where(request), self.redact(str(request.url))
            mapped = transport_error(exc, where, url, self.timeout.read, idempotent, self.redact)
            raise mapped from exc
        self._scrub_auth(request)  # sent: it lives on only as response.request
        return response

    async def close_response(self, response: Opened, *, keep: bool) -> None:
        """Close a stream's response; ``keep``: its connection may carry another request once
        the body ended (False when the run was stopped: the server must see it go). Over
        HTTP nothing is held past that (:meth:`Wire.let_go`)."""
        if isinstance(response, httpx.Response):
            if not keep:
                abort(response)
            await response.aclose()

    def where_of(self, response: Opened) -> str:
        if isinstance(response, httpx.Response):
            return self.where(response.request)
        return response.where

    async def read_capped(self, response: httpx.Response, limit: int) -> tuple[bytes, bool]:
        """Up to ``limit`` bytes of the body, and whether there was more. Closes it."""
        pieces: list[bytes] = []
        size = 0
        more = False
        body = decoded_body(response, self.where(response.request))
        try:
            async with contextlib.aclosing(body):
                async for piece in body:
                    pieces.append(piece)
                    size += len(piece)
                    if size > limit:
                        more = True
                        break
        finally:
            await response.aclose()
        return b"".join(pieces)[:limit], more

    async def error_body(self, response: httpx.Response) -> str:
        """Up to 64 KiB of an error answer's body, as text."""
        body = b""
        with contextlib.suppress(httpx.HTTPError, ProtocolError):
            body, _ = await self.read_capped(response, ERROR_BODY_LIMIT)
        await response.aclose()
        return body.decode("utf-8", "replace")

    async def check_status(self, response: httpx.Response) -> None:
        if response.status_code < 300:
            return
        request = response.request
        body = await self.error_body(response)
        if 300 <= response.status_code < 400:
            location = response.headers.get("location", "(no Location)")
            raise ProtocolError(
                self.redact(
                    f"{self.where(request)} → {response.status_code} redirect to {location}; "
                    f"use the final URL as base_url"
                ),
                url=self.redact(str(request.url)),
            )
        error = status_error(
            request.method,
            str(request.url),
            response.status_code,
            response.headers,
            body,
            (self._api_key,),
            key_advice=self._key_advice(request),
        )
        if response.status_code in (401, 403) and not self.keys.allows(request.url):
            error.args = (f"{error}; {self.keys.why_keyless(request.url)}",)
        if response.status_code in RETRYABLE_STATUS:
            raise Retryable(error, error.retry_after)
        raise error

    async def open_stream(self, http: WireRequest, *, idempotent: bool = False) -> httpx.Response:
        """Send a stream request once; the response is an event stream, else a typed error
        (a JSON answer is the dialect's to read when it has ``json_answers``: JSON-RPC errors).
        ``idempotent``: a resume, which may be re-sent after the connection broke."""
        request = self.build(over_http(http), accept="text/event-stream")
        response = await self.send(request, stream=True, idempotent=idempotent)
        try:
            await self.check_status(response)
        except NotFoundError as error:
            raise await self.framework_named(error) from None
        content_type = response.headers.get("content-type")
        try:
            decoder_for(response.headers, lambda: self.where(request))  # one it can undo
        except ProtocolError:
            await response.aclose()
            raise
        if self.provider.json_answers and is_json(content_type):
            return response
        if not is_event_stream(content_type):
            raise content_type_error(response, await self.error_body(response), (self._api_key,))
        return response

    async def framework_named(self, error: NotFoundError) -> NotFoundError:
        """A 404 of a run's request (or a step before it), saying which dialect to use when
        the origin answers a known framework's listing (Google ADK's ``GET /list-apps``);
        the origin is asked once per connection, and any other answer adds nothing. The
        listing is at the host's root: outside the base URL's path, it is asked without the
        key and the connection's headers (:meth:`KeyScope.below_base`)."""
        if self._known_server is None:
            self._known_server = ""
            for server in KNOWN_SERVERS:
                if server.dialect != self.provider.name and await self._lists(server, error):
                    self._known_server = server.hint
                    break
        if self._known_server:
            error.args = (f"{error}{self._known_server}",)
        return error

    async def _lists(self, server: KnownServer, error: NotFoundError) -> bool:
        with contextlib.suppress(AgentNBError, Retryable, httpx.HTTPError, ValueError):
            url = httpx.URL(error.url or "").copy_with(path=server.listing, query=None)
            listing = HttpRequest("GET", str(url))
            keyless = not self.keys.below_base(url)
            request = self.build(listing, accept="application/json", keyless=keyless)
            response = await self.send(request, stream=True, keyless=keyless)
            body, _ = await self.read_capped(response, ERROR_BODY_LIMIT)
            return response.status_code == 200 and server.lists_agents(
                body.decode("utf-8", "replace")
            )
        return False

    async def _json_once(self, http: HttpRequest) -> Any:
        request = self.build(http, accept="application/json")
        async with self._side_slots:
            response = await self.send(request, stream=True)
            await self.check_status(response)
            try:
                raw, more = await self.read_capped(response, JSON_BODY_LIMIT)
            except httpx.HTTPError as exc:
                raise TransportError(
                    self.redact(f"{self.where(request)}: reading the answer failed: {exc}")
                ) from None
        if more:
            raise ProtocolError(
                f"{self.where(request)}: the answer is larger than "
                f"{JSON_BODY_LIMIT // (1024 * 1024)} MiB; refusing to read it",
                url=self.redact(str(request.url)),
            )
        if not raw.strip():
            return None
        try:
            return from_json(raw)
        except ValueError as exc:
            if "recursion limit" in str(exc):
                raise ProtocolError(
                    f"{self.where(request)}: the JSON answer is nested too deeply to read ({exc})",
                    url=self.redact(str(request.url)),
                ) from None
            body = raw[:ERROR_BODY_LIMIT].decode("utf-8", "replace")
            raise content_type_error(response, body, (self._api_key,), expected="JSON") from None

    async def send_json(
        self, http: WireRequest, *, on_retry: Callable[[], None] | None = None
    ) -> Any:
        """Send a JSON request and return the parsed answer; raises agentnb's typed errors.
        Retries connect errors, 429 and 502/503/504, and for GETs a connection broken before
        the answer. ``on_retry()`` is called per retry."""
        http = over_http(http)
        attempt = 0
        await self.paced()
        while True:
            try:
                return await self._json_once(http)
            except Retryable as failure:
                await self.wait_to_retry(failure, attempt)
                attempt += 1
                if on_retry is not None:
                    on_retry()


def over_http(http: WireRequest) -> HttpRequest:
    """``http`` as the HTTP request it must be on this transport: a dialect's requests of
    another wire (:class:`~agentnb.providers.RpcCall`) are its wire's transport's."""
    if not isinstance(http, HttpRequest):
        raise ConfigurationError(
            f"a {type(http).__name__} is sent by its dialect's own transport, not over HTTP"
        )
    return http
