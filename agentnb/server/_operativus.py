"""Operativus: ``POST /api/agents/{agentId}/runs/stream`` (data-only ``{"event", "data",
"timestamp"}`` frames) and the run status endpoints, which report usage."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ._agents import AgentInput
from ._http import ApiError, invalid, parse_model, read_json
from ._runs import RunLog, iso, new_run_id
from ._service import (
    AppState,
    Dialect,
    RunStart,
    check_input,
    pacing_for,
    require_agent,
    run_endpoint,
    scalar_options,
    state_of,
)
from ._steps import Finish, Reasoning, Step, Text, ToolEnd, ToolStart
from ._stream import Frame, dumps

__all__ = ["OPERATIVUS", "OperativusRenderer", "routes"]

KIND = "operativus"
MAX_BATCH = 100


class OperativusRenderer:
    """START, REASONING_DELTA, TOOL_START, TOOL_END, CONTENT_DELTA, then STOP or ERROR.
    START/TOOL_* data is a JSON string; STOP data is ``""``, or ``{"followups": [...]}`` as a
    JSON string when ``generateFollowups`` was true."""

    def __init__(self, log: RunLog) -> None:
        self.log = log

    def _event(self, event: str, data: str, at: float, *, terminal: bool = False) -> Frame:
        body = {"event": event, "data": data, "timestamp": int(at * 1000)}
        return Frame(dumps(body), terminal=terminal)

    def opening(self) -> list[Frame]:
        ids = {"runId": self.log.id, "sessionId": self.log.thread_id}
        return [self._event("START", dumps(ids), self.log.created_at)]

    def render(self, step: Step, at: float) -> list[Frame]:
        if isinstance(step, Reasoning):
            return [self._event("REASONING_DELTA", step.text, at)]
        if isinstance(step, Text):
            return [self._event("CONTENT_DELTA", step.text, at)]
        if isinstance(step, ToolStart):
            call = {"name": step.name, "arguments": step.arguments, "id": step.call_id}
            return [self._event("TOOL_START", dumps(call), at)]
        if isinstance(step, ToolEnd):
            return [self._event("TOOL_END", dumps(_tool_end(step)), at)]
        if isinstance(step, Finish):
            data = dumps({"followups": list(step.followups)}) if step.followups else ""
            return [self._event("STOP", data, at, terminal=True)]
        return [self._event("ERROR", step.message, at)]


def _tool_end(step: ToolEnd) -> dict[str, Any]:
    if step.error is not None:
        return {"name": step.name, "result": None, "error": step.error, "id": step.call_id}
    return {"name": step.name, "result": step.output, "id": step.call_id}


OPERATIVUS = Dialect("operativus", OperativusRenderer)


class _Media(BaseModel):
    type: str
    data: str


class _Options(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    maxTokens: int | None = Field(default=None, ge=1)


class _Body(BaseModel):
    message: str
    sessionId: str | None = Field(default=None, min_length=1)
    userId: str | None = None
    orgId: str | None = None
    generateFollowups: bool = False
    media: list[_Media] | None = None
    options: _Options | None = None
    responseFormat: dict[str, Any] | None = None
    metadata: dict[str, str] | None = None  # agentnb extension


_LOCATIONS = {
    "response_format": ["body", "responseFormat"],
    "paragraphs": ["body", "metadata", "paragraphs"],
}


async def _begin(request: Request, state: AppState) -> RunStart:
    body = parse_model(_Body, await read_json(request, state.config.max_body_bytes))
    agent = require_agent(request.path_params["agent_id"])
    session = state.conversations.get_or_create(KIND, body.sessionId)
    extra = body.options.model_extra if body.options is not None else None
    run_id = new_run_id()
    agent_input = AgentInput(
        message=body.message,
        run_id=run_id,
        history=session.history(),
        response_format=body.responseFormat,
        options=scalar_options(extra, body.metadata),
        followups=body.generateFollowups,
    )
    check_input(agent, agent_input, _LOCATIONS)
    details = {
        "userId": body.userId,
        "orgId": body.orgId,
        "options": body.options.model_dump() if body.options else None,
    }
    log = RunLog(
        run_id,
        OPERATIVUS.name,
        agent.name,
        agent_input,
        thread_id=session.id,
        conversation=session,
        details=details,
    )
    return RunStart(log, agent, pacing_for(request, state))


async def _stream(request: Request) -> Response:
    return await run_endpoint(request, OPERATIVUS, _begin)


def _agent_run(log: RunLog) -> dict[str, Any]:
    usage = log.usage()
    failure = log.failure()
    finish = log.finish_step()
    return {
        "id": log.id,
        "agentId": log.agent,
        "sessionId": log.thread_id,
        "userId": log.details.get("userId"),
        "orgId": log.details.get("orgId"),
        "status": log.status.upper(),
        "createdAt": iso(log.created_at),
        "startedAt": iso(log.created_at),
        "completedAt": iso(log.finished_at),
        "output": log.answer_text() if log.status == "completed" else None,
        "error": failure.message if failure is not None else None,
        "usage": usage.as_camel() if usage is not None else None,
        "executionTime": log.execution_time(),
        "followups": list(finish.followups) if finish is not None else [],
    }


def _owned_run(state: AppState, agent: str, run_id: str) -> RunLog | None:
    log = state.runs.get(run_id)
    if log is None or log.dialect != OPERATIVUS.name or log.agent != agent:
        return None
    return log


async def _status(request: Request) -> Response:
    state = state_of(request)
    agent = require_agent(request.path_params["agent_id"]).name
    run_id = request.path_params["run_id"]
    log = _owned_run(state, agent, run_id)
    if log is None:
        raise ApiError(404, f"run {run_id!r} of agent {agent!r} not found", code="run_not_found")
    return JSONResponse(_agent_run(log))


async def _batch_status(request: Request) -> Response:
    state = state_of(request)
    agent = require_agent(request.path_params["agent_id"]).name
    raw = request.query_params.get("runIds")
    if raw is None:
        raise invalid(["query", "runIds"], "Field required", "missing")
    run_ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(run_ids) > MAX_BATCH:
        raise invalid(["query", "runIds"], f"at most {MAX_BATCH} run ids per request")
    found = (_owned_run(state, agent, run_id) for run_id in dict.fromkeys(run_ids))
    return JSONResponse([_agent_run(log) for log in found if log is not None])


def routes() -> list[Route]:
    return [
        Route("/api/agents/{agent_id}/runs/stream", _stream, methods=["POST"]),
        Route("/api/agents/{agent_id}/runs/status", _batch_status, methods=["GET"]),
        Route("/api/agents/{agent_id}/runs/{run_id}/status", _status, methods=["GET"]),
    ]
