"""What a dialect is: how to build its HTTP requests and how to read its frames.

A provider does no I/O of its own. The client asks it for request descriptions (a
:class:`HttpRequest`; a dialect whose wire is JSON-RPC to an agent, ACP, an :class:`RpcCall`
or :class:`RpcDecisions`), has its wire's transport send them, and feeds every frame (an SSE
frame decoded, or one the transport hands over as it is) to the run's :class:`Translator`.
Steps a dialect needs before the stream (SeekrFlow puts the message on a thread first) go
through :meth:`Provider.prepare`, which is handed a ``send`` function by the client.
"""

from __future__ import annotations

import abc
import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from .._core.approvals import ApprovalDecision
from .._core.client_tools import ToolResult
from .._core.exceptions import ConfigurationError, HTTPStatusError
from .._core.request import RunRequest
from .._core.run import Run
from .._core.warning import warn
from ..events import Event, RunCompleted, Usage
from ..sse import ServerSentEvent
from ._options import reject_unsupported

__all__ = [
    "Capabilities",
    "HttpRequest",
    "Provider",
    "RemoteAgent",
    "RemoteRun",
    "ResumeMode",
    "RpcCall",
    "RpcDecisions",
    "RunRef",
    "RunsPage",
    "SendJson",
    "Translator",
    "WireRequest",
]

ResumeMode = Literal["none", "last-event-id", "cursor"]


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request, relative to the connection's base URL (``path`` joined below it; an
    empty path is the base URL itself; an absolute ``http(s)://`` path, an endpoint the
    platform named, is used as it is)."""

    method: str
    path: str
    json: object = None
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    replays_run: bool = False
    """The response streams the run again from its first frame (an attach without
    ``Last-Event-ID``): a resume through it must match what was applied, frame by frame."""

    def after(self, last_event_id: str | None) -> HttpRequest:
        """This request asking for the stream after ``last_event_id`` (``Last-Event-ID``);
        as it is without one."""
        if not last_event_id:
            return self
        return dataclasses.replace(self, headers={**self.headers, "Last-Event-ID": last_event_id})


@dataclass(frozen=True)
class RpcCall:
    """One JSON-RPC request of a dialect whose wire is not HTTP (:attr:`Provider.wire`
    ``acp``): its method and params, sent by that wire's transport, which answers with
    the result. ``initialize`` without params is the agent as it introduced itself (started
    first when it is not running): what :meth:`Provider.list_agents_request` asks."""

    method: str
    params: Mapping[str, Any] | None = None
    replay: bool = False
    """A ``session/load`` sent even for a session open in the agent's process: its replay of
    the session's turns is wanted (an import), not only the session."""


@dataclass(frozen=True)
class RpcDecisions:
    """The person's decisions on the requests a turn of ``session_id`` waits on, carried out
    by the wire's transport, which reads the turn on (:meth:`Provider.approval_request` of
    a dialect whose wire is not HTTP)."""

    session_id: str | None
    answers: Sequence[Mapping[str, Any]]


WireRequest = HttpRequest | RpcCall | RpcDecisions
"""A request as a dialect describes it; its wire's transport sends it."""

SendJson = Callable[[WireRequest], Awaitable[Any]]
"""Sends a request and returns its parsed JSON body, raising agentnb's typed errors."""


@dataclass(frozen=True)
class RemoteRun:
    """A run as a platform's list/status endpoint reports it."""

    run_id: str
    agent: str | None
    thread_id: str | None
    status: str
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    total_tokens: int | None = None
    model: str | None = None
    """The model the run used, where the listing says."""
    raw: Mapping[str, Any] = field(default_factory=dict)
    usage: Usage | None = None
    """The listing's usage whole (cached and reasoning tokens, a cost the platform reports),
    where it has one: what the run is priced by."""


@dataclass(frozen=True)
class RemoteAgent:
    """An agent a platform says it serves (an A2A card, a LangGraph assistant, a model)."""

    name: str
    """What ``%%agent NAME`` and ``ask(NAME, ...)`` take."""
    title: str | None = None
    """The platform's display name, where it differs from :attr:`name`."""
    description: str | None = None
    skills: tuple[str, ...] = ()
    """What the agent says it can do (an A2A card's skills)."""
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Capabilities:
    """What a connection can do, derived from its provider (:meth:`Provider.capabilities`)."""

    streaming: bool
    """The answer arrives as it is made."""
    cancel: bool
    """Stop cancels the run on the platform, not only the connection."""
    attach: bool
    """A run still going can be shown again (after a restart, from another notebook)."""
    approvals: bool
    """A tool call can wait for a person's decision, sent back to the platform."""
    listing: bool
    """The platform lists its agents (:meth:`Provider.list_agents_request`)."""
    fork: bool
    """A retry or an edited question starts from the thread's state before the turn it
    replaces (:meth:`Provider.cannot_fork`), instead of continuing the thread."""

    def names(self) -> list[str]:
        """The names of what is supported, in the order of the fields."""
        return [name for name, value in vars(self).items() if value]


@dataclass(frozen=True)
class RunRef:
    """Which of the platform's runs an operation (cancel, attach) is about."""

    agent: str
    """The agent (assistant, graph) the run belongs to."""
    run_id: str
    """The platform's run id (A2A: the task id)."""
    thread_id: str | None = None
    """The run's thread (A2A: the context id), where the platform has one."""


@dataclass(frozen=True)
class RunsPage:
    """A page of a thread's runs to ask the platform for (:meth:`Provider.list_runs_request`)."""

    thread_id: str
    limit: int
    """How many runs at most."""
    offset: int = 0
    """How many runs of the listing come before this page."""
    order: str = "desc"
    """``"asc"`` or ``"desc"``: oldest or newest first."""
    agent: str | None = None
    """The agent the listing is asked of (None when the caller named none)."""
    page_token: str | None = None
    """What :meth:`Provider.next_page_token` read from the page before (None: the first)."""


class Translator(abc.ABC):
    """Turns one run's SSE frames into events. One instance per run; it may keep state.

    After a resume the same translator keeps reading, so state (open tool calls, the cursor)
    carries across the cut.
    """

    done: bool = False
    """True once the dialect's terminal frame (done, stop, finish, [DONE]) was read."""
    run_id: str | None = None
    """The platform's run id, once the stream named it (dialects that read one set it)."""

    def follow(self, run: Run) -> None:
        """``run`` is the run this translator's events fold into (the client says so before
        the first frame): a translator may read what the run keeps rather than keep a copy of
        its own (the Vercel dialect's UI message reads the run's answer, AG-UI's thread its
        state). Default: nothing."""
        return None

    def on_response(self, headers: Mapping[str, str]) -> list[Event]:
        """Events found in the response headers (runtools' ``X-Run-ID``). Default: none."""
        return []

    def ended(self) -> list[Event]:
        """The events a stream that ended cleanly, before any terminal frame, means, handled
        as a frame's are: a terminal event here ends the run (set :attr:`done`), or the
        agent's step when it left calls to the notebook's tools (Google ADK pauses its run at
        a long-running call). Default: none, so the stream is resumed (LangGraph ends a run's
        stream by closing it)."""
        return []

    @abc.abstractmethod
    def translate(self, sse: ServerSentEvent) -> list[Event]:
        """The events one frame means. Unrecognised frames become ``UnknownEvent``."""

    @property
    def cursor(self) -> int | None:
        """The dialect's own resume position (run-agent's chunk index), if it has one."""
        return None


class Provider(abc.ABC):
    """One API dialect. Subclass it and register it under the ``agentnb.providers`` entry
    point group to add a dialect without touching agentnb."""

    name: ClassVar[str]
    """Registry name, e.g. ``"seekrflow"``."""
    title: ClassVar[str]
    """Human name, e.g. ``"SeekrFlow"``."""
    known_as: str | None = None
    """How the person knows the platform this provider talks to: set by a client made for a
    named connection (``"connection 'prod' (SeekrFlow)"``) and by the built-in server's
    connection (``"the built-in local server"``); messages name it so (:attr:`named`) rather
    than by a dialect the person may never have chosen."""
    default_base_url: ClassVar[str | None] = None
    """The platform's public base URL, when it has one."""
    resume_mode: ClassVar[ResumeMode] = "last-event-id"
    """How a cut stream is resumed: by ``Last-Event-ID``, by the dialect's cursor, or not."""
    auth_scheme: ClassVar[Literal["bearer", "x-api-key"]] = "bearer"
    """Where the API key goes."""
    status_batch_size: ClassVar[int] = 100
    """At most this many run ids go into one :meth:`run_status_request`."""
    json_answers: ClassVar[bool] = False
    """The platform may answer a stream request with one JSON object instead of an event
    stream (A2A's JSON-RPC errors); the translator then reads that body as one frame."""
    supports_approvals: ClassVar[bool] = False
    """The dialect can carry a human's decision on a tool call awaiting approval back to the
    platform (:meth:`approval_request`)."""
    attach_replays_run: ClassVar[bool] = False
    """:meth:`attach_request` without ``Last-Event-ID`` streams the run from its start
    (SeekrFlow's attach), so a cut stream that had no event ids is resumed by attaching to
    its run: the frames already applied come again and are skipped."""
    carries: ClassVar[frozenset[str] | None] = None
    """The run options the dialect has a field for: model settings (``temperature``,
    ``top_p``, ...) and features (``media``, ``metadata``, ``followups``,
    ``response_format``, ``team_id``, ...); :meth:`check_request` refuses the others. None:
    it takes every option."""
    supports_answers: ClassVar[bool] = False
    """Its decisions can also carry a human's free-form answer to the agent's question
    (``ApprovalDecision.answer``); without it, a dialect takes only approve / deny."""
    streaming: ClassVar[bool] = True
    """The answer arrives in pieces as it is made (every dialect agentnb ships)."""
    wire: ClassVar[Literal["http", "acp", "acp-stdio"]] = "http"
    """What carries the dialect's requests and frames: ``http``, HTTP to a base URL; or
    ``acp``, ACP's JSON-RPC with an agent, on the stdio of the process the client runs (the
    connection's ``command``) or over a WebSocket (``base_url=ws://...``), whose requests are
    :class:`RpcCall` and :class:`RpcDecisions` (see :mod:`agentnb.providers.acp`).
    ``acp-stdio`` is the old name of ``acp``, still taken."""
    context_by_mcp: ClassVar[bool] = False
    """``context=True`` hands the agent the notebook as an MCP server (``agentnb.context.serve``,
    named in ``extra={"mcpServers": [...]}``), not as the notebook's tools: the dialect has
    no client tools but takes MCP servers (ACP's ``session/new``)."""
    serves_one_agent: ClassVar[bool] = False
    """A connection of this dialect reaches one agent (an ACP agent's process), so the
    connection's name is accepted as the agent's (``%%agent codex`` for connection
    ``codex``)."""
    pages_by_token: ClassVar[bool] = False
    """The run listing pages by a token each page gives (A2A's ``ListTasks``), not by offset."""
    session_controls: ClassVar[bool] = False
    """Its sessions have settings and slash commands of their own (ACP's: ``conn.acp``),
    which a chat cell offers beside its input and ``agentnb run`` completes (``/rev``)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        listing = cls.__dict__.get("list_runs_request")  # the old spelling works a release more
        if listing is not None and "thread_id" in inspect.signature(listing).parameters:
            warn(
                f"{cls.__name__}.list_runs_request(thread_id, *, limit, offset, order, agent, "
                "page_token) is now list_runs_request(page), page a RunsPage holding them",
                category=DeprecationWarning,
                stacklevel=2,
            )

            def list_runs_request(self: Provider, page: RunsPage) -> HttpRequest | None:
                keywords = dataclasses.asdict(page)
                return listing(self, keywords.pop("thread_id"), **keywords)  # type: ignore[no-any-return]

            cls.list_runs_request = list_runs_request  # type: ignore[method-assign]

    def __init__(self, **options: object) -> None:
        unknown = set(options) - set(self.option_names())
        if unknown:
            raise ConfigurationError(
                f"{self.title} does not take option(s) {sorted(unknown)}; "
                f"it takes {sorted(self.option_names()) or 'none'}"
            )
        self.options = options

    @property
    def named(self) -> str:
        """The platform as messages name it: :attr:`known_as`, else the dialect's title."""
        return self.known_as or self.title

    @classmethod
    def option_names(cls) -> Sequence[str]:
        """Provider options accepted by the constructor."""
        return ()

    def base_url_from(self, url: str) -> str:
        """The base URL for a URL a user was given (A2A: an agent card's URL is its agent's
        base). Default: the URL as it is."""
        return url

    def capabilities(self) -> Capabilities:
        """What this provider can do, read from the provider itself (the operations it
        builds requests for), so a plugin's are right without being declared twice."""
        probe = RunRef("agent", "run", "thread")
        return Capabilities(
            streaming=self.streaming,
            cancel=self.cancel_request(probe) is not None,
            attach=self.attach_request(probe, None) is not None,
            approvals=self.supports_approvals,
            listing=self.list_agents_request() is not None,
            fork=self.cannot_fork("thread") is None,
        )

    async def discover(self, send: SendJson) -> None:
        """Read what the platform says about itself before the first request is built (A2A
        reads its agent card: the endpoint and protocol version). The client calls it once,
        before any run, attach, cancel or listing. Default: nothing to read."""
        return None

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        if not api_key:
            return {}
        if self.auth_scheme == "x-api-key":
            return {"X-API-Key": api_key}
        return {"Authorization": f"Bearer {api_key}"}

    def requested_model(self, request: RunRequest) -> str | None:
        """The model ``request`` asks for, which a run is priced by until its stream names
        the model that ran (:attr:`agentnb.Run.model`). Default: ``extra={"model": ...}``
        when the caller set it, else None (the agent chooses)."""
        model = request.extra.get("model")
        return model if isinstance(model, str) and model else None

    def check_request(self, request: RunRequest) -> None:
        """Raise ``ConfigurationError`` for options this dialect cannot send
        (:class:`~agentnb.UnsupportedOptionError` for those outside :attr:`carries`).

        The client calls it before any I/O, so a bad option never half-starts a run.
        """
        if self.carries is not None:
            reject_unsupported(request, self.name, self.named, self.carries)

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        """Steps before the stream (create a thread, post the message). Default: none."""
        return request

    @abc.abstractmethod
    def stream_http_request(self, request: RunRequest) -> WireRequest:
        """The request that starts the run's event stream."""

    def refused(
        self, request: RunRequest, sent: HttpRequest, error: HTTPStatusError
    ) -> HttpRequest | None:
        """``sent`` again, made so the server takes it, when the server's refusal of it
        (``error``) names what the dialect left out and can add (DevUI's 400 for a response
        whose ``metadata`` does not name the agent); None, the default, raises the refusal.
        Asked at most once a run: a refused request made no run, so sending it again makes
        one run, not a second."""
        return None

    def resume_request(
        self, request: RunRequest, last_event_id: str | None, translator: Translator
    ) -> HttpRequest | None:
        """The request that continues a cut stream, or None when it cannot be resumed.

        The default re-sends the stream request with ``Last-Event-ID`` when the server gave
        event ids; without them, a dialect whose attach replays the run
        (:attr:`attach_replays_run`) attaches to it once the stream named its run id. A
        second run request would start a second run.
        """
        if self.resume_mode != "last-event-id" or not last_event_id:
            if self.attach_replays_run and translator.run_id:
                ref = RunRef(request.agent, translator.run_id, request.thread_id)
                return self.attach_request(ref, None)
            return None
        sent = self.stream_http_request(request)
        return sent.after(last_event_id) if isinstance(sent, HttpRequest) else None

    def approval_request(
        self, request: RunRequest, translator: Translator, decisions: Sequence[ApprovalDecision]
    ) -> WireRequest | None:
        """The request that sends the decisions on a paused run's tool calls and streams the
        rest of the run (read by the same ``translator``); None when the dialect cannot send
        decisions (the run then fails, saying so). Default: None."""
        return None

    def continued_request(
        self, request: RunRequest, translator: Translator, completed: RunCompleted
    ) -> HttpRequest | None:
        """The request that lets the platform go on with a turn it paused of its own accord
        (Anthropic's ``pause_turn``: the step's content sent back as it is), its next step
        read by the same ``translator`` in the same run; None when ``completed`` ends the
        run. Default: None."""
        return None

    def tool_results_request(
        self, request: RunRequest, translator: Translator, results: Sequence[ToolResult]
    ) -> HttpRequest | None:
        """The request that sends the results of the client's tools (the calls the agent's
        step left to the client) and streams the agent's next step of the same run (read by
        the same ``translator``); None when the dialect cannot (``carries`` leaves out
        ``tools``, so no run asks). Default: None."""
        return None

    @abc.abstractmethod
    def translator(self, request: RunRequest) -> Translator:
        """A fresh translator for one run."""

    async def finalize(
        self, request: RunRequest, translator: Translator, completed: RunCompleted, send: SendJson
    ) -> RunCompleted:
        """Complete the run's terminal event before the client applies it.

        Called once per completed run, after the terminal frame and before ``completed`` is
        applied to the ``Run``. Dialects whose stream lacks something fetch it here (SeekrFlow
        and Operativus read usage from the run object) or remember state (the OpenAI dialect
        keeps each thread's history). ``send`` raises agentnb's typed errors; the client keeps
        ``completed`` as it was when this hook fails. Default: ``completed`` unchanged.
        """
        return completed

    # Optional: the platform's own run. Dialects whose platform has these override them.
    def cancel_request(self, ref: RunRef) -> WireRequest | None:
        """The request that stops the run on the platform (not only the connection), or None
        when the platform has no cancel operation."""
        return None

    def attach_request(self, ref: RunRef, last_event_id: str | None) -> HttpRequest | None:
        """The request that streams a run that is still going (SeekrFlow attach, LangGraph
        join, A2A resubscribe), read by a fresh :meth:`translator`; None when the platform
        cannot stream a running run again."""
        return None

    def retrieve_run_request(self, ref: RunRef) -> HttpRequest | None:
        """The request for one run's current state (answered with a run object that
        :meth:`parse_runs` reads), or None when the platform has no such operation."""
        return None

    def cannot_fork(self, thread_id: str | None) -> str | None:
        """Why a run on ``thread_id`` cannot start from the thread's state before one of its
        turns (:attr:`RunRequest.fork <agentnb.types.RunRequest>`, a chat cell's Retry and Edit):
        such a retry continues the thread, which then holds both attempts. None when it can:
        ``prepare`` and ``stream_http_request`` then honour ``request.fork``. Default: the
        platform keeps the thread and offers no way to branch it."""
        return (
            f"{self.named} keeps the conversation on its side and cannot start a thread "
            f"again from before a turn"
        )

    def cannot_continue(self, thread_id: str) -> str | None:
        """Why the next message of ``thread_id`` cannot be sent from here (a thread the
        client kept and no longer has); None when it can be sent, though the platform may
        still answer that it no longer has the thread (:class:`~agentnb.NotFoundError`).
        Default: None (the platform keeps its threads)."""
        return None

    def cannot_attach(self) -> ConfigurationError:
        """The error for :meth:`attach_request` returning None."""
        return ConfigurationError(
            f"{self.named} cannot stream a run that is already going (the dialect has no "
            f"attach, join or resubscribe operation): only the connection that started it "
            f"showed it"
        )

    # Optional: remote listings. Providers that have them override these.
    def list_agents_request(self) -> WireRequest | None:
        """The request for the agents the platform serves (read by :meth:`parse_agents`),
        or None when it has no such listing."""
        return None

    def parse_agents(self, body: object) -> list[RemoteAgent]:
        return []

    def list_runs_request(self, page: RunsPage) -> HttpRequest | None:
        """The request for ``page`` of a thread's runs (read by :meth:`parse_runs`), or None
        when the platform lists no runs. A dialect that :attr:`pages_by_token` reads the
        page's ``page_token``, others its ``offset``."""
        return None

    def next_page_token(self, body: object) -> str | None:
        """The token that asks a run listing's next page, from a page's body; None on the
        last page (and always for a dialect that pages by offset)."""
        return None

    def run_status_request(self, agent: str, run_ids: Sequence[str]) -> HttpRequest | None:
        return None

    def parse_runs(self, body: object) -> list[RemoteRun]:
        return []
