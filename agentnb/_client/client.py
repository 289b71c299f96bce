"""The client: opens a run's event stream and turns it into events and a :class:`Run`.

``AsyncAgentClient`` does the work on an event loop; ``AgentClient`` is its sync face for
scripts and notebook cells, running it on agentnb's background loop.

What a stream does when things go wrong:

- Before the stream has started (connect error, 429, 502/503/504, or a retryable in-stream
  error such as ``CAPACITY_ERROR`` before any content), the run request is retried with
  exponential backoff and full jitter, honouring ``Retry-After`` / ``retry_after``.
  400/401/403/404/413/422 are never retried.
- After it has started, a cut (connection reset, truncated body, a clean end before the
  dialect's terminal frame, a stall past the read timeout) is resumed with ``Last-Event-ID``
  or the dialect's cursor, so no delta is lost or applied twice. Where the dialect cannot
  resume (no event ids and no cursor), the run ends ``interrupted`` with its partial text and
  :class:`RunInterruptedError` says so: re-sending the request would start a second run.
- Cancelling (the task, or :meth:`RunStream.aclose` from another task) closes the HTTP
  connection at once and marks the run ``cancelled``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pydantic
from pydantic_core import from_json

from .._core.exceptions import (
    AgentNBError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    ProtocolError,
    StreamTimeoutError,
    TransportError,
    redact,
)
from .._core.recorder import RunRecorder
from .._core.request import Media, ModelSettings, RunRequest
from .._core.retry import RETRYABLE_STATUS, Retryable, RetryPolicy
from .._core.run import Run
from ..providers import HttpRequest, Provider, RemoteRun, get_provider
from .http_errors import content_type_error, is_event_stream, status_error
from .stream import RunStream, raise_for_run

__all__ = ["AsyncAgentClient"]

logger = logging.getLogger("agentnb")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0, write=30.0, pool=10.0)
"""Connect 10 s; read 60 s between two pieces of the body (keepalive comments count)."""

_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)
"""No cap on open connections: a stream holds one for its whole run, so httpx's default cap
(100) would queue the 101st concurrent run until it failed with a PoolTimeout."""
_ERROR_BODY_LIMIT = 64 * 1024


def _user_agent() -> str:
    from .. import __version__

    return f"agentnb/{__version__}"


def _mask(secret: str | None) -> str:
    if not secret:
        return "None"
    return "'***" + secret[-4:] + "'" if len(secret) >= 12 else "'***'"


def _as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds, not {timeout!r}")
    return httpx.Timeout(float(timeout))


def _check_base_url(base_url: str) -> str:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"invalid base_url {base_url!r}: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url must be an http:// or https:// URL with a host, not {base_url!r}"
        )
    return base_url.rstrip("/")


def _options_error(exc: pydantic.ValidationError) -> ConfigurationError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'value'}: {err['msg']}" for err in exc.errors()
    )
    return ConfigurationError(f"invalid run options: {problems}")


class AsyncAgentClient:
    """Runs agents on one platform (one dialect, one base URL, one key).

    ``provider`` is a registry name (``"seekrflow"``, ``"runagent"``, ``"operativus"``,
    ``"runtools"``, ``"vercel"``, ``"openai"``, ...) or a :class:`~agentnb.providers.Provider`.
    ``base_url`` may carry a path prefix; it defaults to the provider's public URL.
    Extra keyword arguments are the provider's options (e.g. ``path`` for ``vercel``).

    Use it on one event loop; ``async with`` (or :meth:`aclose`) closes the HTTP client it
    owns. The key never appears in reprs or error messages.
    """

    def __init__(
        self,
        provider: str | Provider,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_resumes: int = 3,
        recorder: RunRecorder | None = None,
        connection: str = "default",
        headers: Mapping[str, str] | None = None,
        http_client: httpx.AsyncClient | None = None,
        **provider_options: Any,
    ) -> None:
        self.provider = get_provider(provider, **provider_options)
        base = base_url or self.provider.default_base_url
        if not base:
            raise ConfigurationError(
                f"{self.provider.title} has no public URL: pass base_url=... "
                f"(e.g. the built-in server's url_for({self.provider.name!r}))"
            )
        self.base_url = _check_base_url(base)
        self._api_key = api_key or None
        if self._api_key:
            from .._history._scrub import register_secret

            register_secret(self._api_key)  # the history then never stores it, even in answers
        self.timeout = _as_timeout(timeout)
        self.retry = RetryPolicy(max_retries=max_retries, backoff=backoff, max_resumes=max_resumes)
        self.recorder = recorder
        self.connection = connection
        self._extra_headers = dict(headers or {})
        self._http = http_client
        self._owns_http = http_client is None
        self._closed = False

    # ---- lifecycle -------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"AsyncAgentClient(provider={self.provider.name!r}, base_url={self.base_url!r}, "
            f"api_key={_mask(self._api_key)}, connection={self.connection!r})"
        )

    async def __aenter__(self) -> AsyncAgentClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client this client created (not one that was passed in). Requests
        after this raise :class:`TransportError`; streams still open end with one."""
        self._closed = True
        if self._owns_http and self._http is not None:
            http, self._http = self._http, None
            await http.aclose()

    def _client(self) -> httpx.AsyncClient:
        if self._closed:
            raise TransportError(
                f"this {type(self).__name__} for {self.base_url} is closed; make a new one"
            )
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout, limits=_LIMITS)
        return self._http

    # ---- starting runs -----------------------------------------------------------------
    def stream(
        self,
        agent: str,
        message: str,
        *,
        thread_id: str | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        max_tokens: int | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
        response_format: dict[str, Any] | None = None,
        metadata: Mapping[str, str] | None = None,
        followups: bool = False,
        media: Sequence[Media] = (),
        team_id: str | None = None,
        user_id: str | None = None,
        org_id: str | None = None,
        **extra: Any,
    ) -> RunStream:
        """Start streaming a run: ``async with client.stream(...) as s: async for e in s``.

        Options are validated (ranges, and whether the dialect can send them) before any
        I/O; a bad one raises :class:`ConfigurationError`. ``extra`` goes into the body.
        """
        try:
            request = RunRequest(
                agent=agent,
                message=message,
                thread_id=thread_id,
                model_settings=ModelSettings(
                    temperature=temperature,
                    top_p=top_p,
                    max_tokens=max_tokens,
                    frequency_penalty=frequency_penalty,
                    presence_penalty=presence_penalty,
                ),
                response_format=response_format,
                metadata=dict(metadata or {}),
                followups=followups,
                media=tuple(media),
                team_id=team_id,
                user_id=user_id,
                org_id=org_id,
                extra=extra,
            )
        except pydantic.ValidationError as exc:
            raise _options_error(exc) from None
        return self.stream_request(request)

    def stream_request(
        self, request: RunRequest, *, run: Run | None = None, record: bool = True
    ) -> RunStream:
        """Start streaming ``request``; ``run`` is the Run to fold events into (a new one if
        None); ``record=False`` keeps this run out of the history. Raises
        :class:`ConfigurationError` at once for options the dialect lacks."""
        self.provider.check_request(request)
        if run is None:
            run = Run(agent=request.agent, message=request.message)
        run.provider = run.provider or self.provider.name
        run.connection = run.connection or self.connection
        run.thread_id = run.thread_id or request.thread_id
        return RunStream(self, request, run, record=record)

    async def run(self, agent: str, message: str, **options: Any) -> Run:
        """Run to the end and return the :class:`Run`.

        Raises if the run did not complete, with the run attached as ``.run``:
        :class:`StreamError` (the platform reported an error), :class:`RunInterruptedError`,
        :class:`RunCancelledError`, or the transport's typed error.
        """
        async with self.stream(agent, message, **options) as stream:
            async for _ in stream:
                pass
        raise_for_run(stream.run)
        return stream.run

    async def run_request(self, request: RunRequest, *, run: Run | None = None) -> Run:
        """:meth:`run` for a ready :class:`RunRequest`."""
        async with self.stream_request(request, run=run) as stream:
            async for _ in stream:
                pass
        raise_for_run(stream.run)
        return stream.run

    # ---- listings ----------------------------------------------------------------------
    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: str = "desc",
        page_size: int = 20,
    ) -> list[RemoteRun]:
        """The thread's runs as the platform lists them (SeekrFlow), newest first by default.

        Pages through with ``offset`` until a short page; ``limit=None`` reads every page.
        """
        if order not in ("asc", "desc"):
            raise ConfigurationError(f"order must be 'asc' or 'desc', not {order!r}")
        if page_size < 1 or (limit is not None and limit < 0):
            raise ConfigurationError("page_size must be 1 or more and limit 0 or more")
        if self.provider.list_runs_request(thread_id, limit=1, offset=0, order=order) is None:
            raise ConfigurationError(f"{self.provider.title} does not list runs")
        runs: list[RemoteRun] = []
        seen: set[str] = set()
        offset = 0
        while limit is None or len(runs) < limit:
            size = page_size if limit is None else min(page_size, limit - len(runs))
            page_request = self.provider.list_runs_request(
                thread_id, limit=size, offset=offset, order=order
            )
            assert page_request is not None
            page = self.provider.parse_runs(await self.send_json(page_request))
            fresh = [r for r in page if r.run_id not in seen]
            seen.update(r.run_id for r in fresh)
            runs.extend(fresh)
            offset += len(page)
            if len(page) < size or not fresh:
                break
        return runs if limit is None else runs[:limit]

    async def run_status(self, agent: str, run_ids: str | Sequence[str]) -> list[RemoteRun]:
        """The status of runs by id (Operativus), in batches of at most 100 ids per request.

        Unknown ids are simply absent from the result.
        """
        ids = [run_ids] if isinstance(run_ids, str) else list(dict.fromkeys(run_ids))
        if not ids:
            return []
        if self.provider.run_status_request(agent, ids[:1]) is None:
            raise ConfigurationError(f"{self.provider.title} does not report run status")
        size = max(1, self.provider.status_batch_size)
        found: list[RemoteRun] = []
        for start in range(0, len(ids), size):
            batch = ids[start : start + size]
            status_request = self.provider.run_status_request(agent, batch)
            assert status_request is not None
            try:
                body = await self.send_json(status_request)
            except NotFoundError:
                if len(batch) == 1:
                    continue  # the single-run endpoint answers 404 for an unknown id
                raise
            found.extend(self.provider.parse_runs(body))
        return found

    # ---- HTTP --------------------------------------------------------------------------
    def _secrets(self) -> list[str | None]:
        return [self._api_key]

    def _url(self, path: str) -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def _build(self, http: HttpRequest, *, accept: str) -> httpx.Request:
        headers = {
            "User-Agent": _user_agent(),
            "Accept": accept,
            **self.provider.auth_headers(self._api_key),
            **self._extra_headers,
            **http.headers,
        }
        try:
            return self._client().build_request(
                http.method,
                self._url(http.path),
                params=dict(http.params) or None,
                json=http.json,
                headers=headers,
                timeout=self.timeout,
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise ConfigurationError(
                redact(f"cannot build a request for {self._url(http.path)}: {exc}", self._secrets())
            ) from None

    def _where(self, request: httpx.Request) -> str:
        return redact(f"{request.method} {request.url}", self._secrets())

    async def _send(self, request: httpx.Request, *, stream: bool) -> httpx.Response:
        """Send; map transport failures to typed errors (retryable ones wrapped)."""
        where = self._where(request)
        url = redact(str(request.url), self._secrets())
        try:
            return await self._client().send(request, stream=stream)
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            error: AgentNBError = StreamTimeoutError(
                f"{where}: timed out connecting ({type(exc).__name__})", url=url
            )
            raise Retryable(error) from exc
        except httpx.TimeoutException as exc:
            raise StreamTimeoutError(
                f"{where}: no answer within the {self.timeout.read:g} s read timeout "
                f"({type(exc).__name__})",
                url=url,
            ) from exc
        except httpx.ConnectError as exc:
            message = redact(f"{where}: could not connect: {exc}", self._secrets())
            raise Retryable(ConnectError(message, url=url)) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            message = redact(
                f"{where}: the connection closed before an answer: {exc}", self._secrets()
            )
            raise Retryable(TransportError(message, url=url)) from exc
        except httpx.HTTPError as exc:
            message = redact(f"{where}: {type(exc).__name__}: {exc}", self._secrets())
            raise TransportError(message, url=url) from exc

    async def _error_body(self, response: httpx.Response) -> str:
        """Up to 64 KiB of an error answer's body, as text."""
        pieces: list[bytes] = []
        size = 0
        with contextlib.suppress(httpx.HTTPError):
            async for piece in response.aiter_bytes():
                pieces.append(piece)
                size += len(piece)
                if size >= _ERROR_BODY_LIMIT:
                    break
        await response.aclose()
        return b"".join(pieces)[:_ERROR_BODY_LIMIT].decode("utf-8", "replace")

    async def _check_status(self, response: httpx.Response) -> None:
        if response.status_code < 300:
            return
        request = response.request
        body = await self._error_body(response)
        if 300 <= response.status_code < 400:
            location = response.headers.get("location", "(no Location)")
            raise ProtocolError(
                redact(
                    f"{self._where(request)} → {response.status_code} redirect to {location}; "
                    f"use the final URL as base_url",
                    self._secrets(),
                ),
                url=redact(str(request.url), self._secrets()),
            )
        error = status_error(
            request.method,
            str(request.url),
            response.status_code,
            response.headers,
            body,
            self._secrets(),
        )
        if response.status_code in RETRYABLE_STATUS:
            raise Retryable(error, error.retry_after)
        raise error

    async def open_stream(self, http: HttpRequest) -> httpx.Response:
        """Send a stream request once; the response is an event stream, else a typed error."""
        request = self._build(http, accept="text/event-stream")
        response = await self._send(request, stream=True)
        await self._check_status(response)
        content_type = response.headers.get("content-type")
        if not is_event_stream(content_type):
            body = await self._error_body(response)
            raise content_type_error(
                request.method,
                str(request.url),
                response.status_code,
                content_type,
                body,
                self._secrets(),
            )
        return response

    async def _json_once(self, http: HttpRequest) -> Any:
        request = self._build(http, accept="application/json")
        response = await self._send(request, stream=True)
        await self._check_status(response)
        try:
            raw = await response.aread()
        except httpx.HTTPError as exc:
            raise TransportError(
                redact(f"{self._where(request)}: reading the answer failed: {exc}", self._secrets())
            ) from exc
        finally:
            await response.aclose()
        if not raw.strip():
            return None
        try:
            return from_json(raw)
        except ValueError:
            raise content_type_error(
                request.method,
                str(request.url),
                response.status_code,
                response.headers.get("content-type"),
                raw[:_ERROR_BODY_LIMIT].decode("utf-8", "replace"),
                self._secrets(),
                expected="JSON",
            ) from None

    async def send_json(self, http: HttpRequest, *, run: Run | None = None) -> Any:
        """Send a JSON request (retrying connect errors, 429 and 502/503/504) and return the
        parsed JSON answer; raises agentnb's typed errors. Providers get this as ``send``;
        retries made for a run count in its ``retries``."""
        attempt = 0
        while True:
            try:
                return await self._json_once(http)
            except Retryable as failure:
                await self._wait_to_retry(failure, attempt)
                attempt += 1
                if run is not None:
                    run.retries += 1

    async def _wait_to_retry(self, failure: Retryable, attempt: int) -> None:
        """Sleep before retry number ``attempt``, or raise the failure's error when no retry
        is left or the server asks for an unreasonable wait."""
        policy = self.retry
        if attempt >= policy.max_retries:
            raise failure.error from failure.__cause__
        if failure.retry_after is not None and failure.retry_after > policy.max_retry_after:
            raise failure.error from failure.__cause__
        await self._sleep(policy.delay(attempt, failure.retry_after))

    async def _sleep(self, seconds: float) -> None:
        """Every wait between attempts goes through here (tests observe the delays)."""
        await asyncio.sleep(seconds)
