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
- A server that resumes by sending the run again from the start (ignoring ``Last-Event-ID``)
  has the part already received skipped frame by frame; if it sends a different answer
  instead, the run ends ``interrupted`` rather than merging the two.
- A run request is re-sent only when it provably never reached the server (a connect error
  or timeout, a pool timeout) or the server answered 429/502/503/504; a connection that
  breaks after the request was written is not retried, since the server may have started
  the run. Idempotent requests (GETs) are retried for that too.
- Cancelling (the task, or :meth:`AsyncRunStream.aclose` from another task) closes the HTTP
  connection at once and marks the run ``cancelled``.

Time limits: ``timeout`` is httpx's (connect 10 s; read 60 s between two pieces of the
body, which only catches silence). ``idle_timeout`` (default 120 s) ends a run that sends no
event for that long — keep-alive comments and a body trickling in byte by byte do not count
as events — and ``run_timeout`` (default None: no limit) ends a run that takes longer than
that in all, retries and resumes included. Either ends the run ``interrupted`` with
:class:`StreamStallError` (a :class:`RunInterruptedError` and a :class:`StreamTimeoutError`),
its partial answer kept.

Tool approval (``approve=``, see :mod:`agentnb._core.approvals`): a stream you drive waits at
a pause until ``stream.approvals`` has a decision for every call (the code iterating decides);
:meth:`AsyncAgentClient.run` returns only at the end, so the calls its ``approve=`` policy
leaves undecided are denied, saying no one could approve them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Unpack, overload

import httpx

from .._core.approvals import CALLER_WAITING, ApprovalPolicy
from .._core.exceptions import ConfigurationError, NotFoundError
from .._core.recorder import RunRecorder, default_recorder
from .._core.request import (
    MAX_SECONDS,
    RunOptions,
    RunRequest,
    as_request,
    build_request,
    checked_number,
)
from .._core.retry import RetryPolicy
from .._core.run import DEFAULT_MAX_RUN_MIB, MIB, Run
from .._core.secrets import checked_key, mask
from .._core.stoppable import AsyncClosing
from ..providers import (
    Provider,
    RemoteAgent,
    RemoteRun,
    RunRef,
    RunsPage,
    WireRequest,
    get_provider,
)
from .client_options import ClientOptions, provider_options_of
from .listing_bounds import ListingBounds
from .reattach import OnceAccepted
from .stream import AsyncRunStream
from .transport import DEFAULT_TIMEOUT
from .wire import Wire
from .wires import Wiring, default_idle_timeout, open_transport

__all__ = ["AsyncAgentClient"]


def _as_timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(_seconds(timeout, "timeout"))


def _seconds(value: object, name: str) -> float | None:
    """A client's time limit (None: none), checked."""
    return checked_number(value, name, above=0, most=MAX_SECONDS, unit="seconds", optional=True)


class AsyncAgentClient(AsyncClosing):
    """Runs agents on one platform (one dialect, one base URL, one key).

    ``provider`` is a registry name (e.g. ``"openai"``; all of them:
    ``agentnb.providers.available_providers()``) or a :class:`~agentnb.providers.Provider`.
    ``base_url`` may carry a path prefix; it defaults to the provider's public URL.
    The other keywords are :class:`~agentnb.types.ClientOptions`, the same for ``AgentClient``
    and ``agentnb.connect``; ``provider_options`` holds the dialect's own (e.g.
    ``{"path": "/api/chat"}`` for ``vercel``).

    ``timeout`` is httpx's (a number sets them all; default: connect 10 s, read 60 s).
    ``idle_timeout`` (seconds, default 120; an ACP agent's process 1800, since a coding agent
    may run a long command saying nothing; None for no limit) ends a run with no event for
    that long (keep-alive comments do not count); ``run_timeout`` (seconds, default None)
    bounds a whole run. Either ends the run ``interrupted`` with :class:`StreamStallError`,
    its partial answer kept. ``max_run_mib`` (default 16; None for no bound) is what one run
    may keep of what the server sends (answer, reasoning, tool calls, state, events): past
    it the run ends ``interrupted`` with :class:`RunTooLargeError`, what it kept kept.

    ``verify`` checks the server's TLS certificate as httpx does: True (certifi's store, or
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``), False (no check), a CA bundle file or directory,
    or an ``ssl.SSLContext`` (a client certificate: ``context.load_cert_chain(...)``). It
    applies to agentnb's own connections and its httpx pools alike; ``http_client=`` (an
    httpx client of your own, for HTTP/2 or a transport of your choice) brings its own.

    The key (and ``headers``) go only to the origin (scheme, host, port) of ``base_url``:
    a URL the platform names elsewhere (an A2A card's endpoint on another host or port, or
    over ``http://``) is sent to without them, unless ``trusted_origins`` lists its origin
    (``["https://agents.example.com:8443"]``). A redirect is never followed with them.

    The dialect's wire chooses the transport (:func:`~agentnb._client.wires.open_transport`:
    HTTP, or an ACP agent's process or WebSocket); an option only another wire takes
    (``verify=`` for an agent run by its ``command=``) is a :class:`ConfigurationError`.

    Use it on one event loop; ``async with`` (or :meth:`aclose`) closes the HTTP client it
    owns. The key never appears in reprs or error messages.
    """

    def __init__(
        self,
        provider: str | Provider,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        connection: str = "default",
        **options: Unpack[ClientOptions],
    ) -> None:
        self.provider = get_provider(provider, **provider_options_of(provider, options))
        self.connection = connection
        if connection != "default":  # messages name the connection the caller named
            self.provider.known_as = f"connection {connection!r} ({self.provider.title})"
        self._api_key = checked_key(api_key)
        self.timeout = _as_timeout(options.get("timeout"))
        idle_timeout = options.get("idle_timeout", default_idle_timeout(self.provider))
        self.idle_timeout = _seconds(idle_timeout, "idle_timeout")
        self.run_timeout = _seconds(options.get("run_timeout"), "run_timeout")
        self.max_run_mib = checked_number(
            options.get("max_run_mib", DEFAULT_MAX_RUN_MIB), "max_run_mib", above=0, optional=True
        )
        # what one run may keep, in bytes (None: no bound): a run's, an imported turn's
        self.max_run_size = None if self.max_run_mib is None else int(self.max_run_mib * MIB)
        self.retry = RetryPolicy(
            max_retries=options.get("max_retries", 3),
            backoff=options.get("backoff", 0.5),
            max_resumes=options.get("max_resumes", 3),
        )
        self.record = options.get("record", True)
        self._recorder = options.get("recorder")
        wiring = Wiring(base_url, self._api_key, self.timeout, self.retry, connection, options)
        self.transport: Wire = open_transport(self.provider, wiring)
        self.base_url = self.transport.base_url
        """The platform's URL (an ACP agent's: ``acp:`` and its command, or its WebSocket)."""

    @property
    def api_key(self) -> str | None:
        """The key this client sends, as checked (surrounding whitespace stripped; None
        without one). Its ``repr`` and every message mask it."""
        return self._api_key

    @property
    def recorder(self) -> RunRecorder | None:
        """Where this client's runs are recorded: the one given, else the default history
        (None with ``record=False`` or ``AGENTNB_HISTORY=off``)."""
        if not self.record:
            return None
        return self._recorder if self._recorder is not None else default_recorder()

    # ---- lifecycle -------------------------------------------------------------------
    def __repr__(self) -> str:
        return (
            f"AsyncAgentClient(provider={self.provider.name!r}, base_url={self.base_url!r}, "
            f"api_key={mask(self._api_key)!r}, connection={self.connection!r})"
        )

    async def aclose(self) -> None:
        """Close the HTTP client this client created (not one that was passed in). Requests
        after this raise :class:`TransportError`; streams still open end with one."""
        await self.transport.aclose()

    # ---- starting runs -----------------------------------------------------------------
    @overload
    def stream(
        self, request: RunRequest, /, *, record: bool = True, approve: ApprovalPolicy = None
    ) -> AsyncRunStream: ...

    @overload
    def stream(
        self,
        agent: str,
        message: str,
        /,
        *,
        record: bool = True,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> AsyncRunStream: ...

    def stream(
        self,
        agent: str | RunRequest,
        message: str | None = None,
        /,
        *,
        record: bool = True,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> AsyncRunStream:
        """Start streaming a run: ``async with client.stream(agent, message) as s: async for e
        in s``, or ``client.stream(request)`` for a ready :class:`RunRequest`.

        Options (:class:`~agentnb._core.request.RunOptions`) are validated — ranges, unknown
        names, and whether the dialect can send them — before any I/O; a bad one raises
        :class:`ConfigurationError`. Dialect-specific body fields go in ``extra={...}``.
        ``approve`` decides on tool calls awaiting approval (True, False, a callable taking
        the :class:`~agentnb.types.ToolCall`); what it leaves undecided waits, at a
        :class:`~agentnb.events.RunPaused`, for ``stream.approvals.approve/deny``.
        ``record=False`` keeps this run out of the history.
        """
        request = as_request(agent, message, options)
        self.provider.check_request(request)
        return self._open(request, record=record, approve=approve)

    def attach(
        self,
        agent: str,
        run_id: str,
        *,
        thread_id: str | None = None,
        message: str = "",
        local_id: str | None = None,
        started_at: float | None = None,
        record: bool = True,
        approve: ApprovalPolicy = None,
    ) -> AsyncRunStream:
        """Stream a run that is already going on the platform (started elsewhere: before a
        kernel restart, in another notebook), from its start. ``local_id`` (with the
        ``message`` and ``started_at`` of its row) names the history row the run completes
        (``agentnb.attach`` passes them); an attach the platform refuses (an unknown run, an
        error before the stream opens) leaves the history as it was. Where the dialect has
        no such operation (:meth:`~agentnb.providers.Provider.attach_request`) or needs the
        run's thread, a :class:`ConfigurationError` says so before any I/O."""
        ref = RunRef(agent, run_id, thread_id)
        if not agent or not run_id:
            raise ConfigurationError("attach needs the run's agent and its platform run id")
        if self.provider.attach_request(ref, None) is None:
            if thread_id is None and self.provider.attach_request(
                RunRef(agent, run_id, "thread"), None
            ):
                raise ConfigurationError(
                    f"{self.provider.named} attaches a run through its thread: pass "
                    f"thread_id=... (a history or remote_runs() row carries it)"
                )
            raise self.provider.cannot_attach()
        return self._open(
            build_request(agent, message, thread_id=thread_id),
            record=record,
            approve=approve,
            attach=ref,
            local_id=local_id,
            started_at=started_at,
        )

    def _open(
        self,
        request: RunRequest,
        *,
        record: bool,
        approve: ApprovalPolicy,
        attach: RunRef | None = None,
        local_id: str | None = None,
        started_at: float | None = None,
    ) -> AsyncRunStream:
        """The run engine's one door: every run, whichever way it was started (``run``,
        ``stream``, ``attach``, ``ask``, ``chat``, ``batch``, the magics, the CLI), is built
        here as a :class:`Run` (:meth:`Run.new`), given its recorder (an attach's
        only once the platform accepted it) and its approval policy, and streamed by an
        :class:`AsyncRunStream`."""
        run = Run.new(
            request.agent,
            request.message,
            thread_id=request.thread_id,
            provider=self.provider.name,
            connection=self.connection,
            model=self.provider.requested_model(request),
            max_size=self.max_run_size,
            run_id=attach.run_id if attach is not None else None,
            local_id=local_id,
            started_at=started_at,
        )
        recorder = self.recorder if record else None
        if recorder is not None and attach is not None:
            recorder = OnceAccepted(recorder)
        stream = AsyncRunStream(
            self.transport,
            request,
            run,
            recorder=recorder,
            idle_timeout=self.idle_timeout,
            run_timeout=self.run_timeout,
            attach=attach,
        )
        stream.approvals.approver = approve
        return stream

    @overload
    async def run(self, request: RunRequest, /, *, approve: ApprovalPolicy = None) -> Run: ...

    @overload
    async def run(
        self,
        agent: str,
        message: str,
        /,
        *,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> Run: ...

    async def run(
        self,
        agent: str | RunRequest,
        message: str | None = None,
        /,
        *,
        approve: ApprovalPolicy = None,
        **options: Unpack[RunOptions],
    ) -> Run:
        """Run to the end and return the :class:`Run`: ``await client.run(agent, message)``,
        or ``await client.run(request)`` for a ready :class:`RunRequest`.

        Raises if the run did not complete, with the run attached as ``.run``:
        :class:`RunFailedError` (the platform reported an error), :class:`RunInterruptedError`,
        :class:`RunCancelledError`, or the transport's typed error. ``approve`` decides on
        tool calls awaiting approval; as nothing else can while this waits, the calls it
        leaves undecided (all of them without it) are denied, saying no one could approve.
        """
        stream = self.stream(as_request(agent, message, options), approve=approve)
        stream.approvals.deny_undecided(CALLER_WAITING)
        error = await stream.run_to_end()
        if error is not None:
            raise error
        return stream.run

    # ---- listings ----------------------------------------------------------------------
    async def list_runs(
        self,
        thread_id: str,
        *,
        limit: int | None = None,
        order: str = "desc",
        page_size: int = 20,
        agent: str | None = None,
    ) -> list[RemoteRun]:
        """The thread's runs as the platform lists them (SeekrFlow, LangGraph, A2A 1.0's
        tasks of a context), newest first by default; ``agent`` where the dialect needs it
        (an A2A server with one endpoint per agent).

        Pages through with ``offset`` until a short page (A2A: with each page's token until
        the last); ``limit=None`` reads every page, up to the bounds of
        :class:`ListingBounds` (a :class:`ProtocolError` says which was reached).
        """
        if order not in ("asc", "desc"):
            raise ConfigurationError(f"order must be 'asc' or 'desc', not {order!r}")
        if page_size < 1 or (limit is not None and limit < 0):
            raise ConfigurationError("page_size must be 1 or more and limit 0 or more")
        await self.transport.discover()
        probe = self.provider.list_runs_request(RunsPage(thread_id, 1, order=order, agent=agent))
        if probe is None:
            raise ConfigurationError(f"{self.provider.named} does not list runs")
        runs: list[RemoteRun] = []
        seen: set[str] = set()
        offset, token = 0, None
        bounds = ListingBounds(f"the listing of thread {thread_id!r}", limit)
        async with bounds.timed():
            while limit is None or len(runs) < limit:
                size = page_size if limit is None else min(page_size, limit - len(runs))
                page_request = self.provider.list_runs_request(
                    RunsPage(thread_id, size, offset, order, agent, token)
                )
                assert page_request is not None
                body = await self.send_json(page_request)
                page = self.provider.parse_runs(body)
                token = self.provider.next_page_token(body)
                fresh = [r for r in page if r.run_id not in seen]
                seen.update(r.run_id for r in fresh)
                runs.extend(fresh)
                offset += len(page)
                last = not token if self.provider.pages_by_token else len(page) < size
                if last or not fresh:
                    break
                bounds.read_page(len(runs))
        return runs if limit is None else runs[:limit]

    async def list_agents(self) -> list[RemoteAgent]:
        """The agents the platform says it serves (an A2A card's agent, LangGraph's
        assistants, an OpenAI-compatible server's models); a ``ConfigurationError`` where
        the dialect has no such listing."""
        listing = self.provider.list_agents_request()
        if listing is None:
            raise ConfigurationError(f"{self.provider.named} does not list its agents")
        return self.provider.parse_agents(await self.send_json(listing))

    async def retrieve_run(self, ref: RunRef) -> RemoteRun | None:
        """One run's current state as the platform reports it (SeekrFlow's retrieve); None
        where the dialect has no such operation or the run's thread is not known. An unknown
        run raises :class:`NotFoundError`."""
        await self.transport.discover()
        retrieve = self.provider.retrieve_run_request(ref)
        if retrieve is None:
            return None
        found = self.provider.parse_runs(await self.send_json(retrieve))
        return found[0] if found else None

    async def run_status(self, agent: str, run_ids: str | Sequence[str]) -> list[RemoteRun]:
        """The status of runs by id (Operativus), in batches of at most 100 ids per request.

        Unknown ids are simply absent from the result.
        """
        ids = [run_ids] if isinstance(run_ids, str) else list(dict.fromkeys(run_ids))
        if not ids:
            return []
        if self.provider.run_status_request(agent, ids[:1]) is None:
            raise ConfigurationError(f"{self.provider.named} does not report run status")
        await self.transport.discover()
        size = max(1, self.provider.status_batch_size)
        found: list[RemoteRun] = []
        bounds = ListingBounds(
            f"the status of {len(ids)} run(s)",
            len(ids),
            advice="Ask for fewer run ids at once",
        )
        async with bounds.timed():
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
                # a platform answers for the runs asked about, never more
                found.extend(self.provider.parse_runs(body)[: len(batch)])
        return found

    # ---- HTTP --------------------------------------------------------------------------
    async def send_json(self, http: WireRequest) -> Any:
        """Send a JSON request with this client's key and retries; the parsed answer."""
        return await self.transport.send_json(http)
