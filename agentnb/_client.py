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
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncGenerator, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, NoReturn

import anyio
import httpx
import pydantic
from pydantic_core import from_json

from ._errors_http import content_type_error, is_event_stream, status_error
from ._exceptions import (
    AgentNBError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    ProtocolError,
    RunCancelledError,
    RunInterruptedError,
    StreamError,
    StreamTimeoutError,
    TransportError,
    redact,
)
from ._loop import run_sync, submit
from ._recorder import RunRecorder
from ._request import Media, ModelSettings, RunRequest
from ._retry import RETRYABLE_STATUS, RetryPolicy
from ._run import Run, RunErrorInfo
from .events import (
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from .providers import HttpRequest, Provider, RemoteRun, Translator, get_provider
from .sse import ServerSentEvent, SSEDecoder

__all__ = ["AgentClient", "AsyncAgentClient", "RunStream", "SyncRunStream"]

logger = logging.getLogger("agentnb")

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0, write=30.0, pool=10.0)
"""Connect 10 s; read 60 s between two pieces of the body (keepalive comments count)."""

_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=20)
"""No cap on open connections: a stream holds one for its whole run, so httpx's default cap
(100) would queue the 101st concurrent run until it failed with a PoolTimeout."""
_ERROR_BODY_LIMIT = 64 * 1024
_CONTENT_EVENTS = (TextDelta, ReasoningDelta, ToolCallStarted, ToolCallDelta, ToolCallFinished)


def _user_agent() -> str:
    from . import __version__

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


class _Retryable(Exception):
    """An attempt failed in a way that a later identical request may not (internal)."""

    def __init__(self, error: AgentNBError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


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
            from ._history._scrub import register_secret

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
            raise _Retryable(error) from exc
        except httpx.TimeoutException as exc:
            raise StreamTimeoutError(
                f"{where}: no answer within the {self.timeout.read:g} s read timeout "
                f"({type(exc).__name__})",
                url=url,
            ) from exc
        except httpx.ConnectError as exc:
            message = redact(f"{where}: could not connect: {exc}", self._secrets())
            raise _Retryable(ConnectError(message, url=url)) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            message = redact(
                f"{where}: the connection closed before an answer: {exc}", self._secrets()
            )
            raise _Retryable(TransportError(message, url=url)) from exc
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
            raise _Retryable(error, error.retry_after)
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
            except _Retryable as failure:
                await self._wait_to_retry(failure, attempt)
                attempt += 1
                if run is not None:
                    run.retries += 1

    async def _wait_to_retry(self, failure: _Retryable, attempt: int) -> None:
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


def raise_for_run(run: Run) -> None:
    """Raise the :class:`RunError` that says why ``run`` did not complete (nothing if it did)."""
    if run.status == "completed":
        return
    info = run.error
    if run.status == "cancelled":
        raise RunCancelledError("the run was cancelled", partial_text=run.text, run=run)
    if run.status == "interrupted":
        message = info.message if info else "the stream ended before the run finished"
        raise RunInterruptedError(message, partial_text=run.text, run=run)
    if run.status == "failed":
        raise StreamError(
            info.message if info else "the run failed",
            code=info.code if info else None,
            retry_after=info.retry_after if info else None,
            partial_text=run.text,
            run=run,
        )
    raise RunInterruptedError(
        f"the run ended in status {run.status!r}", partial_text=run.text, run=run
    )


class RunStream:
    """One run's events, as they arrive. ``.run`` is the :class:`Run` they fold into.

    ``async for event in stream`` yields each event after stamping ``seq``/``received_at``
    and applying it to ``.run``. A ``RunFailed`` event is yielded and ends the iteration;
    transport and protocol failures raise typed errors after marking the run. ``aclose()``
    (also from another task) cancels: the connection is closed at once, the run is marked
    ``cancelled`` and an iteration in progress ends quietly.
    """

    def __init__(
        self, client: AsyncAgentClient, request: RunRequest, run: Run, *, record: bool = True
    ) -> None:
        self.run = run
        self._recorder = client.recorder if record else None
        self.request = request
        self._client = client
        self._provider = client.provider
        self._gen: AsyncGenerator[Event, None] | None = None
        self._scope: anyio.CancelScope | None = None
        self._closing = False
        self._finished = asyncio.Event()
        self._response: httpx.Response | None = None
        self._translator: Translator | None = None
        self._recorded = False
        self._seq = 0
        self._last_id: str | None = None
        self._server_retry_ms: int | None = None
        self._content_started = False
        self._retries = 0
        self._resumes_in_a_row = 0

    @property
    def last_event_id(self) -> str | None:
        """The last SSE event id received: what a resume sends as ``Last-Event-ID``."""
        return self._last_id

    def __repr__(self) -> str:
        r = self.run
        return (
            f"<RunStream {r.provider} agent={r.agent!r} status={r.status} events={r.event_count}>"
        )

    # ---- protocol ----------------------------------------------------------------------
    async def __aenter__(self) -> RunStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __aiter__(self) -> RunStream:
        return self

    async def __anext__(self) -> Event:
        if self._closing or self._finished.is_set():
            raise StopAsyncIteration
        if self._gen is None:
            self._gen = self._events()
        with anyio.CancelScope() as scope:
            self._scope = scope
            try:
                return await self._gen.__anext__()
            finally:
                self._scope = None
        raise StopAsyncIteration  # only reached when aclose() cancelled the scope

    async def aclose(self) -> None:
        """Cancel the run if it is still going: close the connection, mark it cancelled."""
        if self._finished.is_set():
            return
        self._closing = True
        if self._scope is not None:  # another task is inside __anext__
            self._scope.cancel()
            await self._finished.wait()
            return
        if self._gen is not None:
            gen, self._gen = self._gen, None
            await gen.aclose()
        if not self._finished.is_set():  # never iterated: nothing was sent
            self.run.finish("cancelled")
            self._finished.set()

    # ---- the run -------------------------------------------------------------------------
    async def _events(self) -> AsyncGenerator[Event, None]:
        run = self.run
        try:
            self._mark_sent()
            request = await self._provider.prepare(self.request, self._send_json)
            self.request = request
            run.thread_id = run.thread_id or request.thread_id
            async with contextlib.aclosing(self._stream(request)) as events:
                async for event in events:
                    yield event
        except (asyncio.CancelledError, GeneratorExit):
            run.finish("cancelled")
            raise
        except AgentNBError as exc:
            info = RunErrorInfo(
                str(exc), code=type(exc).__name__, retry_after=getattr(exc, "retry_after", None)
            )
            run.finish("failed", info)
            raise
        except Exception as exc:  # a bug must still end the run visibly
            run.finish("failed", RunErrorInfo(f"internal error: {exc!r}", code=type(exc).__name__))
            raise
        finally:
            await self._close_response()
            if not run.done:
                run.finish("cancelled" if self._closing else "interrupted")
            self._record_end()
            self._finished.set()

    async def _stream(self, request: RunRequest) -> AsyncGenerator[Event, None]:
        """The state machine: open, read, and retry or resume until a terminal event."""
        translator = self._new_translator(request)
        http = self._provider.stream_request(request)
        resuming = False
        while True:
            try:
                response = await self._client.open_stream(http)
            except _Retryable as failure:
                if resuming:
                    await self._before_resume(f"resuming failed: {failure.error}")
                else:
                    await self._before_retry(failure)
                continue
            except AgentNBError as exc:
                if resuming:
                    self._interrupt(f"the stream was cut and resuming it failed: {exc}", exc)
                raise
            self._response = response
            for event in translator.on_response(response.headers):
                yield self._deliver(event)
            outcome = _Outcome()
            async with contextlib.aclosing(self._frames(response, outcome)) as frames:
                async for sse in frames:
                    for event in translator.translate(sse):
                        if self._should_retry(event):
                            outcome.retry_after = event.retry_after  # type: ignore[union-attr]
                            outcome.kind = "retry"
                            outcome.detail = event.message  # type: ignore[union-attr]
                            break
                        if isinstance(event, RunCompleted):
                            # free the stream's pooled connection first: at the pool's limit,
                            # runs that all hold one while asking for another would deadlock
                            await self._close_response()
                            event = await self._finalize(request, translator, event)
                        yield self._deliver(event)
                        if isinstance(event, RunCompleted | RunFailed):
                            return
                        if not isinstance(event, RunStarted):
                            self._resumes_in_a_row = 0  # progress: the next cut resumes at once
                    if outcome.kind == "retry":
                        break
            await self._close_response()
            if outcome.kind == "retry":
                await self._before_retry(_Retryable(_stream_error(outcome), outcome.retry_after))
                translator = self._new_translator(request)
                http = self._provider.stream_request(request)
                resuming = False
                continue
            if translator.done:  # a terminal frame without a terminal event
                return
            http = self._resume_request(request, translator, outcome)
            await self._before_resume(outcome.detail)
            resuming = True

    async def _frames(
        self, response: httpx.Response, outcome: _Outcome
    ) -> AsyncGenerator[ServerSentEvent, None]:
        """The response's events; a cut, a stall or an early end is noted in ``outcome``."""
        decoder = SSEDecoder()
        try:
            async for chunk in response.aiter_bytes():
                events = decoder.feed(chunk)
                self._server_retry_ms = decoder.retry or self._server_retry_ms
                for sse in events:
                    outcome.frames += 1
                    if sse.id:
                        self._last_id = sse.id
                    yield sse
            decoder.end()
            outcome.kind = "ended"
            outcome.detail = "the stream ended before the run finished"
        except httpx.TimeoutException:
            outcome.kind = "stalled"
            outcome.detail = (
                f"no data for {self._client.timeout.read:g} s (read timeout): the stream stalled"
            )
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            outcome.kind = "cut"
            outcome.detail = f"the connection was cut mid-stream ({type(exc).__name__})"
        except httpx.HTTPError as exc:
            outcome.kind = "cut"
            outcome.detail = f"the stream failed mid-way ({type(exc).__name__}: {exc})"

    # ---- steps -------------------------------------------------------------------------
    def _new_translator(self, request: RunRequest) -> Translator:
        self._translator = self._provider.translator(request)
        self._last_id = None
        return self._translator

    def _deliver(self, event: Event) -> Event:
        event.seq = self._seq
        event.received_at = time.time()
        self._seq += 1
        self.run.apply(event)
        if isinstance(event, _CONTENT_EVENTS):
            self._content_started = True
        return event

    def _should_retry(self, event: Event) -> bool:
        if not isinstance(event, RunFailed) or not event.retryable or self._content_started:
            return False
        policy = self._client.retry
        if self._retries >= policy.max_retries:
            return False
        return event.retry_after is None or event.retry_after <= policy.max_retry_after

    async def _before_retry(self, failure: _Retryable) -> None:
        await self._client._wait_to_retry(failure, self._retries)
        self._retries += 1
        self.run.retries += 1

    def _resume_request(
        self, request: RunRequest, translator: Translator, outcome: _Outcome
    ) -> HttpRequest:
        if outcome.kind == "stalled" and self._resumes_in_a_row >= 1:
            self._stall(outcome.detail)
        http = self._provider.resume_request(request, self._last_id, translator)
        if http is None:
            if outcome.kind == "stalled":
                self._stall(outcome.detail)
            self._interrupt(
                f"{outcome.detail}, and {self._provider.title} cannot resume it here "
                f"(the server sent no event ids and the dialect has no cursor for this run); "
                f"re-sending the request would start a second run"
            )
        return http

    async def _before_resume(self, reason: str) -> None:
        self._resumes_in_a_row += 1
        limit = self._client.retry.max_resumes
        if self._resumes_in_a_row > limit:
            self._interrupt(f"{reason}; gave up after {limit} resume(s) without progress")
        await self._client._sleep(
            self._client.retry.resume_delay(self._resumes_in_a_row - 1, self._server_retry_ms)
        )
        self.run.resumes += 1

    def _interrupt(self, reason: str, cause: BaseException | None = None) -> NoReturn:
        message = redact(reason, self._client._secrets())
        self.run.finish("interrupted", RunErrorInfo(message, code="interrupted"))
        raise RunInterruptedError(message, partial_text=self.run.text, run=self.run) from cause

    def _stall(self, reason: str) -> NoReturn:
        url = redact(self._client.base_url, self._client._secrets())
        message = f"{reason} ({self._provider.title} at {url})"
        self.run.finish("interrupted", RunErrorInfo(message, code="timeout"))
        raise StreamTimeoutError(message, url=url)

    async def _finalize(
        self, request: RunRequest, translator: Translator, event: RunCompleted
    ) -> RunCompleted:
        try:
            return await self._provider.finalize(request, translator, event, self._send_json)
        except AgentNBError as exc:
            logger.warning(
                "agentnb: %s could not fetch the run's details after the stream (%s); "
                "the run is kept without them",
                self._provider.title,
                exc,
            )
            return event

    async def _send_json(self, http: HttpRequest) -> Any:
        return await self._client.send_json(http, run=self.run)

    async def _close_response(self) -> None:
        response, self._response = self._response, None
        if response is not None:
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await response.aclose()

    # ---- recording ---------------------------------------------------------------------
    def _mark_sent(self) -> None:
        self.run.start()
        recorder = self._recorder
        if recorder is None:
            return
        self._recorded = True
        try:
            recorder.record_start(self.run, self.request, base_url=self._client.base_url)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed at the start of a run: %r", exc)

    def _record_end(self) -> None:
        recorder = self._recorder
        if recorder is None or not self._recorded:
            return
        self._recorded = False
        try:
            recorder.record_end(self.run)
        except Exception as exc:
            logger.warning("agentnb: the run recorder failed at the end of a run: %r", exc)


class _Outcome:
    """How one response's stream ended (internal)."""

    __slots__ = ("detail", "frames", "kind", "retry_after")

    def __init__(self) -> None:
        self.kind = ""
        self.detail = ""
        self.frames = 0
        self.retry_after: float | None = None


def _stream_error(outcome: _Outcome) -> AgentNBError:
    return StreamError(
        outcome.detail or "the platform asked to retry", retry_after=outcome.retry_after
    )


# ---- the sync face -------------------------------------------------------------------------
_END = object()


class _Raised:
    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class SyncRunStream:
    """A run's events for sync code: ``for event in stream``. ``.run`` is live.

    The stream runs on agentnb's background loop; events cross over through a queue.
    ``close()`` (or leaving the ``with`` block, or a ``KeyboardInterrupt`` while waiting)
    cancels the run.
    """

    def __init__(self, stream: RunStream) -> None:
        self._stream = stream
        self.run = stream.run
        self._queue: queue.Queue[Any] = queue.Queue()
        self._pump: concurrent.futures.Future[None] | None = None
        self._done = threading.Event()
        self._exhausted = False
        self._closed = False

    def __repr__(self) -> str:
        return repr(self._stream).replace("<RunStream", "<SyncRunStream", 1)

    def __enter__(self) -> SyncRunStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Event]:
        return self

    def __next__(self) -> Event:
        if self._exhausted or self._closed:
            raise StopIteration
        if self._pump is None:
            self._pump = submit(self._forward())
        try:
            item = self._queue.get()
        except KeyboardInterrupt:
            self.close()
            raise
        if item is _END:
            self._exhausted = True
            raise StopIteration
        if isinstance(item, _Raised):
            self._exhausted = True
            raise item.error
        event: Event = item
        return event

    async def _forward(self) -> None:
        try:
            async with self._stream as stream:
                async for event in stream:
                    self._queue.put(event)
        except asyncio.CancelledError:
            self._queue.put(_END)
            raise
        except BaseException as exc:
            self._queue.put(_Raised(exc))
        else:
            self._queue.put(_END)
        finally:
            self._done.set()

    def close(self, timeout: float = 10.0) -> None:
        """Cancel the run if it is still going, and wait (a little) until it is closed."""
        if self._closed:
            return
        self._closed = True
        if self._pump is None:
            run_sync(self._stream.aclose(), timeout=timeout)
            return
        self._pump.cancel()
        self._done.wait(timeout)


class AgentClient:
    """The sync face of :class:`AsyncAgentClient` (same arguments), for scripts and cells.

    Everything runs on agentnb's background event loop, so it works inside a running loop
    (a notebook cell) without deadlocking. A ``KeyboardInterrupt`` while waiting cancels
    the run.
    """

    def __init__(self, provider: str | Provider, **options: Any) -> None:
        async def make() -> AsyncAgentClient:
            return AsyncAgentClient(provider, **options)

        self._async = run_sync(make())

    @property
    def aio(self) -> AsyncAgentClient:
        """The async client behind this one (use it on agentnb's loop only)."""
        return self._async

    @property
    def base_url(self) -> str:
        return self._async.base_url

    @property
    def provider(self) -> Provider:
        return self._async.provider

    def __repr__(self) -> str:
        return repr(self._async).replace("AsyncAgentClient", "AgentClient", 1)

    def __enter__(self) -> AgentClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        run_sync(self._async.aclose())

    def run(self, agent: str, message: str, **options: Any) -> Run:
        """Run to the end; see :meth:`AsyncAgentClient.run`."""
        return run_sync(self._async.run(agent, message, **options))

    def run_request(self, request: RunRequest) -> Run:
        return run_sync(self._async.run_request(request))

    def stream(self, agent: str, message: str, **options: Any) -> SyncRunStream:
        """Stream a run: ``for event in client.stream(...)``; ``.run`` is live."""

        async def make() -> RunStream:
            return self._async.stream(agent, message, **options)

        return SyncRunStream(run_sync(make()))

    def stream_request(self, request: RunRequest) -> SyncRunStream:
        async def make() -> RunStream:
            return self._async.stream_request(request)

        return SyncRunStream(run_sync(make()))

    def list_runs(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: str = "desc",
        page_size: int = 20,
    ) -> list[RemoteRun]:
        return run_sync(
            self._async.list_runs(thread_id, limit=limit, order=order, page_size=page_size)
        )

    def run_status(self, agent: str, run_ids: str | Sequence[str]) -> list[RemoteRun]:
        return run_sync(self._async.run_status(agent, run_ids))
