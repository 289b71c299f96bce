"""What every dialect endpoint shares: the server's state, agents by name, pacing, the
request read within the server's limits, and the one flow of a run request (faults, resume,
validate, start, stream or wait). A dialect's routes hold only what differs: their paths,
how they read a request into an ``AgentInput``, and their frames."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from ._http_plumbing import (
    MAX_BODY_BYTES,
    ApiError,
    ModelT,
    bad_header,
    invalid,
    parse_model,
    read_json,
)
from ._numbers import ascii_int
from ._run_log import Pacing, RunLog, RunStore, new_run_id
from ._sse_responses import (
    NO_SHAPING,
    Frame,
    Renderer,
    Select,
    StreamCounter,
    StreamShaping,
    failure_response,
    last_pause_end,
    parse_last_event_id,
    sse_response,
)
from ._steps import Decision, Failure
from ._threads import Conversation, ConversationStore
from .agents import AGENTS, Agent, AgentInput, InputProblem, unknown_agent

__all__ = [
    "DELAY_HEADER",
    "AppState",
    "Begin",
    "Dialect",
    "RunFaults",
    "RunStart",
    "ServerConfig",
    "check_input",
    "continue_run",
    "json_schema_at",
    "last_seen",
    "last_user_index",
    "pacing_for",
    "paused_run",
    "rejoin",
    "replay",
    "replay_after",
    "replay_selected",
    "request_json",
    "request_model",
    "require_agent",
    "run_endpoint",
    "run_route",
    "run_start",
    "scalar_options",
    "state_of",
    "wants_followups",
]

DELAY_HEADER = "x-agentnb-delay-ms"
MAX_DELAY_MS = 10_000


@dataclass(frozen=True)
class ServerConfig:
    api_key: str
    delay_ms: int = 15
    max_body_bytes: int = MAX_BODY_BYTES


class RunFaults(Protocol):
    """What a testing server does to requests: the seam fault injection comes in through
    (``create_app(faults=...)``; the tests hold the one there is, ``tests/fault_injection.py``,
    which the package does not ship)."""

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """``app`` behind what may replace any endpoint's answer (an error status, a page)."""
        ...

    def shaping(self, request: Request) -> StreamShaping:
        """How the new run's stream is damaged (``NO_SHAPING``: not at all)."""
        ...

    def stream_failure(self, request: Request) -> Failure | None:
        """The in-stream error the whole answer is replaced by, if one is due."""
        ...


@dataclass
class AppState:
    config: ServerConfig
    runs: RunStore = field(default_factory=RunStore)
    conversations: ConversationStore = field(default_factory=ConversationStore)
    streams: StreamCounter = field(default_factory=StreamCounter)
    faults: RunFaults | None = None
    """Given by a testing server only (``create_app(faults=...)``)."""


def scalar_options(*sources: Mapping[str, object] | None) -> dict[str, str]:
    """String options (``paragraphs``, ``followups``...) from a dialect's metadata-like fields;
    later sources win. Only scalars are kept."""
    options: dict[str, str] = {}
    for source in sources:
        for key, value in (source or {}).items():
            if isinstance(value, bool):
                options[key] = "true" if value else "false"
            elif isinstance(value, str | int | float):
                options[key] = str(value)
    return options


def wants_followups(options: Mapping[str, str]) -> bool:
    return options.get("followups", "").strip().lower() in ("1", "true", "yes")


def state_of(request: Request) -> AppState:
    state: AppState = request.app.state.agentnb
    return state


async def request_json(request: Request, *, empty: Any = None) -> Any:
    """The request's JSON body, within the server's body limit (see ``read_json``)."""
    return await read_json(request, state_of(request).config.max_body_bytes, empty=empty)


async def request_model(request: Request, model: type[ModelT], *, empty: Any = None) -> ModelT:
    """The request's JSON body as ``model``; a 422 lists every problem."""
    return parse_model(model, await request_json(request, empty=empty))


def json_schema_at(value: Any, loc: Sequence[str | int]) -> dict[str, Any] | None:
    """A response format given as an untyped field: a JSON schema object or None; a 422 at
    ``loc`` otherwise."""
    if value is not None and not isinstance(value, dict):
        raise invalid(loc, "must be a JSON schema object")
    return value


def last_user_index(roles: Iterable[str]) -> int:
    """Where the question is in a chat's ``messages``: the last with role ``user`` (the ones
    after it are the client's tool results); a 422 when there is none."""
    last = max((index for index, role in enumerate(roles) if role == "user"), default=None)
    if last is None:
        raise invalid(["body", "messages"], "needs at least one message with role 'user'")
    return last


def require_agent(name: str) -> Agent:
    agent = AGENTS.get(name)
    if agent is None:
        raise ApiError(404, unknown_agent(name), code="agent_not_found")
    return agent


def check_input(
    agent: Agent, request: AgentInput, locations: Mapping[str, Sequence[str | int]]
) -> None:
    """The agent's own checks; a problem becomes a 422 at the option's place in the body
    (``locations`` maps option names to it)."""
    try:
        agent.check(request)
    except InputProblem as problem:
        loc = locations.get(problem.field, ["body", problem.field])
        raise invalid(loc, str(problem)) from None


def pacing_for(
    request: Request, state: AppState, *, delay_ms: int | None = None, chunk_size: int | None = None
) -> Pacing:
    """Per-chunk delay: the body's own setting, else the header, else the server default."""
    if delay_ms is None:
        delay_ms = delay_from_header(request)
    if delay_ms is None:
        delay_ms = state.config.delay_ms
    return Pacing(delay_s=delay_ms / 1000, chunk_size=chunk_size)


def delay_from_header(request: Request) -> int | None:
    """``X-AgentNB-Delay-Ms`` (ASCII digits, at most :data:`MAX_DELAY_MS`); 400 otherwise."""
    raw = request.headers.get(DELAY_HEADER)
    if raw is None:
        return None
    delay_ms = ascii_int(raw.strip())
    if delay_ms is None or delay_ms > MAX_DELAY_MS:
        raise bad_header(DELAY_HEADER, f"must be an integer 0..{MAX_DELAY_MS} in ASCII digits")
    return delay_ms


@dataclass(frozen=True)
class Dialect:
    """How one dialect renders runs: frames, response headers and the non-streamed answer."""

    name: str
    renderer: Callable[[RunLog], Renderer]
    headers: Callable[[RunLog], Mapping[str, str]] = lambda log: {}
    result: Callable[[RunLog], Response] | None = None
    approvals: bool = False
    """The dialect can say that a tool call waits for a human, and carry the decision back."""
    questions: bool = False
    """... and can also carry the agent's free-form question and the human's answer."""
    event_ids: bool = True
    """A fresh run's frames carry ``id:`` lines; False for a platform that sends data-only
    frames (SeekrFlow). A replay after ``Last-Event-ID`` always carries them."""


@dataclass
class RunStart:
    """A validated run request, ready to start."""

    log: RunLog
    agent: Agent
    pacing: Pacing
    stream: bool = True
    record_user_message: bool = True
    answer_at_once: bool = False
    """Not streamed: answer with the run as it starts instead of waiting for its end (a
    Responses API ``background`` run)."""


Begin = Callable[[Request, AppState], Awaitable["RunStart | Response"]]


def run_start(
    request: Request,
    dialect: Dialect,
    agent: Agent,
    asked: AgentInput,
    locations: Mapping[str, Sequence[str | int]],
    *,
    run_id: str | None = None,
    conversation: Conversation | None = None,
    thread_id: str | None = None,
    details: Mapping[str, Any] | None = None,
    delay_ms: int | None = None,
    chunk_size: int | None = None,
    stream: bool = True,
    record_user_message: bool = True,
    answer_at_once: bool = False,
) -> RunStart:
    """A new run of ``agent`` on what a request ``asked``, ready for :func:`run_endpoint`:
    its id (``run_id`` when the dialect's request names one, else a fresh one), the agent's
    own checks (a 422 at the option's place, see :func:`check_input`), its log (in the
    ``conversation`` when it has one, whose id is the thread's unless ``thread_id`` says)
    and its pace (see :func:`pacing_for`)."""
    asked = dataclasses.replace(asked, run_id=run_id or new_run_id())
    check_input(agent, asked, locations)
    log = RunLog(
        asked.run_id,
        dialect.name,
        agent.name,
        asked,
        thread_id=thread_id or (conversation.id if conversation is not None else None),
        conversation=conversation,
        details=dict(details or {}),
    )
    pacing = pacing_for(request, state_of(request), delay_ms=delay_ms, chunk_size=chunk_size)
    return RunStart(
        log,
        agent,
        pacing,
        stream=stream,
        record_user_message=record_user_message,
        answer_at_once=answer_at_once,
    )


async def run_endpoint(request: Request, dialect: Dialect, begin: Begin) -> Response:
    """A ``Last-Event-ID`` resume, else a new run, streamed or awaited.
    (Answer-replacing faults were handled by middleware before this.)"""
    state = state_of(request)
    faults = state.faults
    shaping = faults.shaping(request) if faults is not None else NO_SHAPING
    resume = parse_last_event_id(request.headers)
    if resume is not None:
        return replay(state, dialect, *resume)
    start = await begin(request, state)
    if isinstance(start, Response):
        return start
    if start.agent.needs_approval and not dialect.approvals:
        raise ApiError(
            400,
            f"agent {start.agent.name!r} needs a human to approve its tool calls, which the "
            f"{dialect.name} dialect cannot express; use the vercel or operativus endpoints",
            code="approval_unsupported",
        )
    if start.agent.asks_questions and not dialect.questions:
        raise ApiError(
            400,
            f"agent {start.agent.name!r} asks a free-form question, which the {dialect.name} "
            "dialect cannot express (it takes only approve / deny)",
            code="question_unsupported",
        )
    failure = faults.stream_failure(request) if faults is not None else None
    if failure is not None:
        frames: list[Frame] = dialect.renderer(start.log).render(failure, time.time())
        return failure_response(frames, dialect.headers(start.log))
    _start(state, start)
    if not start.stream:
        if not start.answer_at_once:
            await start.log.wait_finished()
        assert dialect.result is not None
        return dialect.result(start.log)
    return sse_response(
        start.log,
        dialect.renderer(start.log),
        store=state.runs,
        counter=state.streams,
        shaping=shaping,
        headers=dialect.headers(start.log),
        event_ids=dialect.event_ids,
    )


def run_route(dialect: Dialect, begin: Begin) -> Callable[[Request], Awaitable[Response]]:
    """The endpoint of a path that starts a dialect's runs: :func:`run_endpoint` with the
    dialect and how it reads the request (``begin``)."""

    async def endpoint(request: Request) -> Response:
        return await run_endpoint(request, dialect, begin)

    return endpoint


def _start(state: AppState, start: RunStart) -> None:
    if state.runs.full:
        raise ApiError(
            503,
            f"too many runs in progress (at most {state.runs.max_active}); retry shortly",
            code="server_busy",
            headers={"Retry-After": "1"},
        )
    log = start.log
    if start.record_user_message and log.conversation is not None:
        log.conversation.add("user", log.request.message, run_id=log.id, agent_id=log.agent)
    state.runs.start(log, start.agent, start.pacing)


def replay(state: AppState, dialect: Dialect, run_id: str, after: int) -> Response:
    """The run ``Last-Event-ID`` names, from the frame after ``after``; a 404 for a run this
    server no longer has or started on another endpoint."""
    log = state.runs.get(run_id)
    if log is None:
        raise ApiError(404, f"run {run_id!r} is unknown or has expired", code="run_not_found")
    if log.dialect != dialect.name:
        raise ApiError(
            404, f"run {run_id!r} was not started on this endpoint", code="run_not_found"
        )
    return replay_after(state, dialect, log, after)


def replay_after(
    state: AppState, dialect: Dialect, log: RunLog, after: int, *, event_ids: bool = True
) -> Response:
    """``log``'s stream from the frame after number ``after`` (-1: from its start) on."""
    return replay_selected(
        state, dialect, log, lambda number, frame: number > after, event_ids=event_ids
    )


def replay_selected(
    state: AppState, dialect: Dialect, log: RunLog, select: Select, *, event_ids: bool = True
) -> Response:
    """A replay of ``log`` keeping the frames ``select`` wants (run-agent's cursor)."""
    return sse_response(
        log,
        dialect.renderer(log),
        store=state.runs,
        counter=state.streams,
        select=select,
        headers=dialect.headers(log),
        event_ids=event_ids,
    )


def last_seen(request: Request, log: RunLog) -> int:
    """The frame number ``Last-Event-ID`` names in this run; -1 (everything) otherwise."""
    seen = parse_last_event_id(request.headers)
    return seen[1] if seen is not None and seen[0] == log.id else -1


def rejoin(request: Request, dialect: Dialect, log: RunLog) -> Response:
    """A client joining a run again: its stream after ``Last-Event-ID`` (from its start
    without one), never before the end of its latest pause (what a decision continued)."""
    after = max(last_seen(request, log), last_pause_end(log, dialect.renderer(log)))
    return replay_after(state_of(request), dialect, log, after)


def paused_run(state: AppState, dialect: Dialect, thread_id: str | None, missing: str) -> RunLog:
    """The latest run of a thread (a chat, a session) in ``dialect``, paused for decisions; a
    409 saying ``missing`` (in the dialect's words) when there is none."""
    log = state.runs.latest(dialect.name, thread_id) if thread_id else None
    if log is None or log.status != "paused":
        raise ApiError(409, missing, code="not_paused")
    return log


def continue_run(
    state: AppState, dialect: Dialect, log: RunLog, decisions: tuple[Decision, ...]
) -> Response:
    """Hand a paused run its decisions and stream the rest of it: the frames after the
    pause, in a new response (the run's event ids go on where they stopped)."""
    after = last_pause_end(log, dialect.renderer(log))
    log.decide(decisions)
    return replay_after(state, dialect, log, after, event_ids=dialect.event_ids)
