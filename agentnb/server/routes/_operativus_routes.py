"""Operativus: ``POST /api/agents/{agentId}/runs/stream`` (data-only ``{"event", "data",
"timestamp"}`` frames) and the run status endpoints, which report usage.

Approval (agentnb's extension: Operativus documents the ``PAUSED`` run status but not how a
stream says so): a call that needs a human is announced by ``APPROVAL_REQUIRED`` {id, name,
approvalId, reason, question?} (``question``: a free-form question to answer), then ``PAUSED``
{runId, sessionId, pending} ends the response while the run's status is ``PAUSED``.
``POST /api/agents/{agentId}/runs/{runId}/approvals`` {decisions: [{toolCallId, approved,
reason?, answer?}]} answers with the rest of the run as a stream
(``START`` again, then a denied call's ``TOOL_END`` {name, result: null, denied: true,
reason, id}, ...)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["DIALECT", "OPERATIVUS", "OperativusRenderer", "routes"]

KIND = "operativus"
MAX_BATCH = 100


class OperativusRenderer:
    """START, REASONING_DELTA, TOOL_START, TOOL_END, CONTENT_DELTA, then STOP or ERROR.
    START/TOOL_* data is a JSON string; STOP data is ``""``, or ``{"followups": [...]}`` as a
    JSON string when ``generateFollowups`` was true."""

    def __init__(self, log: kit.RunLog) -> None:
        self.log = log

    def _event(self, event: str, data: str, at: float, *, terminal: bool = False) -> kit.Frame:
        body = {"event": event, "data": data, "timestamp": int(at * 1000)}
        return kit.Frame(kit.dumps(body), terminal=terminal)

    def opening(self) -> list[kit.Frame]:
        return [self._event("START", kit.dumps(self._ids()), self.log.created_at)]

    def _ids(self) -> dict[str, Any]:
        return {"runId": self.log.id, "sessionId": self.log.thread_id}

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.Reasoning):
            return [self._event("REASONING_DELTA", step.text, at)]
        if isinstance(step, steps.Text):
            return [self._event("CONTENT_DELTA", step.text, at)]
        if isinstance(step, steps.ToolStart):
            call = {"name": step.name, "arguments": step.arguments, "id": step.call_id}
            return [self._event("TOOL_START", kit.dumps(call), at)]
        if isinstance(step, steps.ToolEnd):
            return [self._event("TOOL_END", kit.dumps(_tool_end(step)), at)]
        if isinstance(step, steps.ToolDenied):
            denied = {"name": step.name, "result": None, "denied": True, "reason": step.reason}
            return [self._event("TOOL_END", kit.dumps({**denied, "id": step.call_id}), at)]
        if isinstance(step, steps.ApprovalRequest):
            request = {"id": step.call_id, "name": step.name, "approvalId": step.approval_id}
            if step.question is not None:
                request["question"] = step.question
            return [
                self._event("APPROVAL_REQUIRED", kit.dumps({**request, "reason": step.reason}), at)
            ]
        if isinstance(step, steps.Paused):
            paused = kit.dumps({**self._ids(), "pending": list(step.call_ids)})
            return [kit.Frame(self._event("PAUSED", paused, at).data, ends_response=True)]
        if isinstance(step, steps.Resumed):
            return [self._event("START", kit.dumps(self._ids()), at)]
        if isinstance(step, steps.Finish):
            data = kit.dumps({"followups": list(step.followups)}) if step.followups else ""
            return [self._event("STOP", data, at, terminal=True)]
        return [self._event("ERROR", step.message, at)]


def _tool_end(step: steps.ToolEnd) -> dict[str, Any]:
    if step.error is not None:
        return {"name": step.name, "result": None, "error": step.error, "id": step.call_id}
    return {"name": step.name, "result": step.output, "id": step.call_id}


OPERATIVUS = kit.Dialect("operativus", kit.flat(OperativusRenderer), approvals=True, questions=True)


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


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart:
    body = await kit.request_model(request, _Body)
    agent = kit.require_agent(request.path_params["agent_id"])
    session = state.conversations.get_or_create(KIND, body.sessionId)
    extra = body.options.model_extra if body.options is not None else None
    asked = kit.AgentInput(
        message=body.message,
        history=session.history(),
        response_format=body.responseFormat,
        options=kit.scalar_options(extra, body.metadata),
        followups=body.generateFollowups,
    )
    details = {
        "userId": body.userId,
        "orgId": body.orgId,
        "options": body.options.model_dump() if body.options else None,
    }
    return kit.run_start(
        request, OPERATIVUS, agent, asked, _LOCATIONS, conversation=session, details=details
    )


def _agent_run(log: kit.RunLog) -> dict[str, Any]:
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
        "createdAt": kit.iso(log.created_at),
        "startedAt": kit.iso(log.created_at),
        "completedAt": kit.iso(log.finished_at),
        "output": log.answer_text() if log.status == "completed" else None,
        "error": failure.message if failure is not None else None,
        "usage": usage.as_camel() if usage is not None else None,
        "model": log.model,
        "executionTime": log.execution_time(),
        "followups": list(finish.followups) if finish is not None else [],
    }


def _owned_run(state: kit.AppState, agent: str, run_id: str) -> kit.RunLog | None:
    log = state.runs.get(run_id)
    if log is None or log.dialect != OPERATIVUS.name or log.agent != agent:
        return None
    return log


def _run_in_path(request: Request, state: kit.AppState) -> kit.RunLog:
    """The run the path names, of the agent the path names (a 404 when there is none)."""
    agent = kit.require_agent(request.path_params["agent_id"]).name
    run_id = request.path_params["run_id"]
    log = _owned_run(state, agent, run_id)
    if log is None:
        raise kit.ApiError(
            404, f"run {run_id!r} of agent {agent!r} not found", code="run_not_found"
        )
    return log


async def _status(request: Request) -> Response:
    return JSONResponse(_agent_run(_run_in_path(request, kit.state_of(request))))


async def _batch_status(request: Request) -> Response:
    state = kit.state_of(request)
    agent = kit.require_agent(request.path_params["agent_id"]).name
    raw = request.query_params.get("runIds")
    if raw is None:
        raise kit.invalid(["query", "runIds"], "Field required", "missing")
    run_ids = [part.strip() for part in raw.split(",") if part.strip()]
    if len(run_ids) > MAX_BATCH:
        raise kit.invalid(["query", "runIds"], f"at most {MAX_BATCH} run ids per request")
    found = (_owned_run(state, agent, run_id) for run_id in dict.fromkeys(run_ids))
    return JSONResponse([_agent_run(log) for log in found if log is not None])


class _Decision(BaseModel):
    toolCallId: str = Field(min_length=1)
    approved: bool
    reason: str | None = None
    answer: Any = None


class _Decisions(BaseModel):
    decisions: list[_Decision] = Field(min_length=1, max_length=100)


async def _approvals(request: Request) -> Response:
    """The decisions on a paused run's calls; the answer streams the rest of the run."""
    state = kit.state_of(request)
    body = await kit.request_model(request, _Decisions)
    log = _run_in_path(request, state)
    decisions = tuple(
        steps.Decision(d.toolCallId, d.approved, d.reason, d.answer) for d in body.decisions
    )
    return kit.continue_run(state, OPERATIVUS, log, decisions)


def routes() -> list[Route]:
    return [
        Route(
            "/api/agents/{agent_id}/runs/stream",
            kit.run_route(OPERATIVUS, _begin),
            methods=["POST"],
        ),
        Route("/api/agents/{agent_id}/runs/{run_id}/approvals", _approvals, methods=["POST"]),
        Route("/api/agents/{agent_id}/runs/status", _batch_status, methods=["GET"]),
        Route("/api/agents/{agent_id}/runs/{run_id}/status", _status, methods=["GET"]),
    ]


DIALECT = kit.ServedDialect(("operativus",), routes)
