"""SeekrFlow: threads and messages, runs streamed as legacy ``streaming_chunk`` frames or as
the Vercel UI message stream, and the thread's run list (where SeekrFlow reports usage)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit
from ._vercel_routes import STREAM_HEADERS, VercelRenderer

__all__ = ["DIALECT", "LEGACY", "VERCEL_STREAM", "LegacyRenderer", "routes"]

KIND = "seekrflow"


class LegacyRenderer:
    """Data-only ``{"type": "streaming_chunk", "data": {...}, "meta_data": {...}}`` frames,
    then ``[DONE]``. Errors (not documented by SeekrFlow) come as inner type ``error``."""

    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.meta = {"run_id": log.id, "thread_id": log.thread_id, "agent_id": log.agent}

    def _chunk(self, data: dict[str, Any], *, terminal: bool = False) -> kit.Frame:
        inner = {**data, "meta_data": data.get("meta_data", {})}
        body = {"type": "streaming_chunk", "data": inner, "meta_data": self.meta}
        return kit.Frame(kit.dumps(body), terminal=terminal)

    def opening(self) -> list[kit.Frame]:
        return [self._chunk({"type": "user_prompt", "user_prompt": self.log.request.message})]

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.APPROVAL_STEPS):
            return []  # agents that need approval are refused on this dialect
        if isinstance(step, steps.Reasoning):
            return [self._chunk({"type": "stream_reasoning", "reasoning": step.text})]
        if isinstance(step, steps.Text):
            return [self._chunk({"type": "text_delta", "text": step.text})]
        if isinstance(step, steps.ToolStart):
            request = {"tool_id": step.call_id, "tool_name": step.name, "tool_args": step.arguments}
            return [self._chunk({"type": "streaming_tool_request", **request})]
        if isinstance(step, steps.ToolEnd):
            return [self._tool_response(step)]
        if isinstance(step, steps.Finish):
            return [self._end_node(step), kit.Frame("[DONE]", terminal=True)]
        return [self._error(step), kit.Frame("[DONE]", terminal=True)]

    def _tool_response(self, step: steps.ToolEnd) -> kit.Frame:
        output = step.output if step.error is None else {"error": step.error}
        meta = {"tool_name": step.name, "is_error": step.error is not None}
        data = {"type": "streaming_tool_response", "tool_id": step.call_id}
        return self._chunk({**data, "tool_output": output, "meta_data": meta})

    def _end_node(self, step: steps.Finish) -> kit.Frame:
        output = step.final_output
        final = output if isinstance(output, str) else kit.dumps(output)
        meta = {"followups": list(step.followups)} if step.followups else {}
        return self._chunk(
            {"type": "end_node", "final_output": final, "meta_data": meta}, terminal=True
        )

    def _error(self, step: steps.Failure) -> kit.Frame:
        error = {
            "type": "error",
            "message": step.message,
            "code": step.code,
            "retry_after": step.retry_after,
        }
        return self._chunk(error)


# data-only frames, as the platform streams them (the X-AgentNB-Fault ``ids`` flag adds ids)
LEGACY = kit.Dialect("seekrflow", kit.flat(LegacyRenderer), event_ids=False)
VERCEL_STREAM = kit.Dialect(
    "seekrflow-vercel", VercelRenderer, headers=lambda log: STREAM_HEADERS, event_ids=False
)


class _ThreadCreate(BaseModel):
    meta_data: dict[str, Any] | None = None


class _TextPart(BaseModel):
    type: str = "input_text"
    text: str


class _MessageCreate(BaseModel):
    role: Literal["user", "assistant", "system"] = "user"
    content: str | list[_TextPart]
    meta_data: dict[str, Any] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(part.text for part in self.content)


class _ModelSettings(BaseModel):
    temperature: float = Field(default=1, ge=0, le=2)
    top_p: float = Field(default=1, ge=0, le=1)
    frequency_penalty: float = Field(default=0, ge=-2, le=2)
    presence_penalty: float = Field(default=0, ge=-2, le=2)
    max_tokens: int | None = None


class _ResponseFormat(BaseModel):
    json_schema: dict[str, Any]


class _RunRequest(BaseModel):
    agent_id: str = "default_agent"
    model_settings: _ModelSettings = Field(default_factory=_ModelSettings)
    response_format: _ResponseFormat | None = None
    group: str = "default_group"
    metadata: dict[str, str] | None = None


class _ListQuery(BaseModel):
    limit: int = Field(default=20, ge=0)
    order: Literal["asc", "desc"] = "desc"
    offset: int = Field(default=0, ge=0)


_LOCATIONS = {
    "response_format": ["body", "response_format", "json_schema"],
    "paragraphs": ["body", "metadata", "paragraphs"],
}


def _thread_or_404(state: kit.AppState, thread_id: str) -> kit.Conversation:
    thread = state.conversations.get(KIND, thread_id)
    if thread is None:
        raise kit.ApiError(404, f"thread {thread_id!r} not found", code="thread_not_found")
    return thread


def _thread_json(state: kit.AppState, thread: kit.Conversation) -> dict[str, Any]:
    active = state.runs.get(thread.latest_run_id or "")
    return {
        "id": thread.id,
        "object": "thread",
        "created_at": kit.iso(thread.created_at),
        "status": "available",
        "active_run_id": active.id if active is not None and not active.finished else None,
        "meta_data": thread.meta_data,
    }


def _message_json(thread: kit.Conversation, message: kit.StoredMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "object": "thread.message",
        "thread_id": thread.id,
        "role": message.role,
        "content": message.content,
        "agent_id": message.agent_id,
        "run_id": message.run_id,
        "meta_data": message.meta_data,
        "created_at": kit.iso(message.created_at),
    }


async def _create_thread(request: Request) -> Response:
    state = kit.state_of(request)
    body = await kit.request_model(request, _ThreadCreate, empty={})
    thread = state.conversations.create(KIND, meta_data=body.meta_data)
    return JSONResponse(_thread_json(state, thread))


async def _get_thread(request: Request) -> Response:
    state = kit.state_of(request)
    return JSONResponse(_thread_json(state, _thread_or_404(state, request.path_params["tid"])))


async def _add_message(request: Request) -> Response:
    state = kit.state_of(request)
    thread = _thread_or_404(state, request.path_params["tid"])
    body = await kit.request_model(request, _MessageCreate)
    message = thread.add(body.role, body.text())
    message.meta_data = dict(body.meta_data or {})
    return JSONResponse(_message_json(thread, message))


async def _list_messages(request: Request) -> Response:
    state = kit.state_of(request)
    thread = _thread_or_404(state, request.path_params["tid"])
    return JSONResponse([_message_json(thread, m) for m in thread.messages])


def _begin(dialect: kit.Dialect) -> kit.Begin:
    async def begin(request: Request, state: kit.AppState) -> kit.RunStart:
        thread = _thread_or_404(state, request.path_params["tid"])
        body = await kit.request_model(request, _RunRequest)
        agent = kit.require_agent(body.agent_id)
        last = thread.last_user_message()
        if last is None:
            raise kit.ApiError(
                400,
                f"thread {thread.id!r} has no user message: POST one to "
                f"/v1/threads/{thread.id}/messages before starting a run",
                code="no_user_message",
            )
        options = kit.scalar_options(body.metadata)
        asked = kit.AgentInput(
            message=last.content,
            history=thread.history()[: thread.messages.index(last)],
            response_format=body.response_format.json_schema if body.response_format else None,
            options=options,
            followups=kit.wants_followups(options),
        )
        details = {
            "model_settings": body.model_settings.model_dump(),
            "response_format": body.response_format.model_dump() if body.response_format else None,
            "group": body.group,
            "metadata": body.metadata or {},
        }
        return kit.run_start(
            request,
            dialect,
            agent,
            asked,
            _LOCATIONS,
            conversation=thread,
            details=details,
            record_user_message=False,
        )

    return begin


_STATUSES = {
    "running": "running",
    "completed": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}


def _run_json(log: kit.RunLog) -> dict[str, Any]:
    settings = log.details.get("model_settings", {})
    usage = log.usage()
    tools = [{"type": "function", "function": {"name": name}} for name in _tool_names(log.agent)]
    return {
        "id": log.id,
        "object": "thread.run",
        "created_at": kit.iso(log.created_at),
        "agent_id": log.agent,
        "thread_id": log.thread_id,
        "status": _STATUSES[log.status],
        "model": log.model,
        "temperature": settings.get("temperature", 1),
        "top_p": settings.get("top_p", 1),
        "parallel_tool_calls": False,
        "is_active": not log.finished,
        "started_at": kit.iso(log.created_at),
        "expires_at": None,
        "cancelled_at": kit.iso(log.finished_at) if log.status == "cancelled" else None,
        "failed_at": kit.iso(log.finished_at) if log.status == "failed" else None,
        "completed_at": kit.iso(log.finished_at) if log.status == "completed" else None,
        "instructions": None,
        "tools": tools,
        "meta_data": {**log.details.get("metadata", {}), "group": log.details.get("group")},
        "usage": usage.as_snake() if usage is not None else None,
        "max_completion_tokens": settings.get("max_tokens"),
        "truncation_strategy": {},
        "response_format": log.details.get("response_format") or "auto",
        "tool_choice": "auto",
    }


def _tool_names(agent: str) -> tuple[str, ...]:
    found = kit.require_agent(agent)
    return found.tools


async def _list_runs(request: Request) -> Response:
    state = kit.state_of(request)
    thread = _thread_or_404(state, request.path_params["tid"])
    query = kit.parse_model(_ListQuery, dict(request.query_params), prefix=("query",))
    runs = [
        log
        for log in state.runs.all()
        if log.thread_id == thread.id and log.dialect in (LEGACY.name, VERCEL_STREAM.name)
    ]
    runs.sort(key=lambda log: log.created_at, reverse=query.order == "desc")
    page = runs[query.offset : query.offset + query.limit]
    return JSONResponse([_run_json(log) for log in page])


def _thread_run_or_404(state: kit.AppState, request: Request) -> kit.RunLog:
    thread = _thread_or_404(state, request.path_params["tid"])
    log = state.runs.get(request.path_params["rid"])
    if log is None or log.thread_id != thread.id:
        raise kit.ApiError(404, "no such run in this thread", code="run_not_found")
    return log


async def _get_run(request: Request) -> Response:
    return JSONResponse(_run_json(_thread_run_or_404(kit.state_of(request), request)))


async def _cancel_run(request: Request) -> Response:
    """Stop the agent of a running run, as the SeekrFlow SDK's ``cancel`` asks
    (``{"status": "canceled", "run_id"}``); a run already over is a 409."""
    state = kit.state_of(request)
    log = _thread_run_or_404(state, request)
    if not state.runs.cancel(log.id):
        raise kit.ApiError(409, f"run {log.id!r} is already {log.status}", code="run_not_active")
    return JSONResponse({"status": "canceled", "run_id": log.id})


async def _attach_run(request: Request) -> Response:
    """The stream of a run, from its start (or after ``Last-Event-ID``) and on while it goes,
    in the frames it was started with: the ``seekrai`` SDK's ``attach``."""
    state = kit.state_of(request)
    log = _thread_run_or_404(state, request)
    resume = kit.parse_last_event_id(request.headers)
    if resume is not None and resume[0] != log.id:
        raise kit.ApiError(400, "Last-Event-ID names another run", code="bad_last_event_id")
    after = resume[1] if resume is not None else -1
    dialect = LEGACY if log.dialect == LEGACY.name else VERCEL_STREAM
    faults = state.faults
    ids = resume is not None or (faults is not None and faults.shaping(request).ids)
    return kit.replay_after(state, dialect, log, after, event_ids=ids)


def routes() -> list[Route]:
    stream_legacy = kit.run_route(LEGACY, _begin(LEGACY))
    stream_vercel = kit.run_route(VERCEL_STREAM, _begin(VERCEL_STREAM))
    return [
        Route("/v1/threads", _create_thread, methods=["POST"]),
        Route("/v1/threads/", _create_thread, methods=["POST"]),  # the seekrai SDK's spelling
        Route("/v1/threads/{tid}", _get_thread, methods=["GET"]),
        Route("/v1/threads/{tid}/messages", _add_message, methods=["POST"]),
        Route("/v1/threads/{tid}/messages", _list_messages, methods=["GET"]),
        Route("/v1/threads/{tid}/runs", _list_runs, methods=["GET"]),
        Route("/v1/threads/{tid}/runs/stream", stream_legacy, methods=["POST"]),
        Route("/v1/threads/{tid}/runs/{rid}", _get_run, methods=["GET"]),
        Route("/v1/threads/{tid}/runs/{rid}/cancel", _cancel_run, methods=["POST"]),
        Route("/v1/threads/{tid}/runs/{rid}/attach", _attach_run, methods=["GET"]),
        Route("/v1/threads/{tid}/runs/stream/vercel", stream_vercel, methods=["POST"]),
    ]


DIALECT = kit.ServedDialect(("seekrflow", "seekrflow-vercel"), routes)
