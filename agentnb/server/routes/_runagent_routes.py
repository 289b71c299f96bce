"""run-agent.ai: ``POST /v1/agents/{agent_id}/stream`` with named ``start``/``chunk``/
``error``/``done`` events. The documented stream has no reasoning or tool frames, so this
dialect carries the answer text only (the run's tool calls are still made)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["DIALECT", "RUNAGENT", "RunAgentRenderer", "routes"]

KIND = "runagent"


class RunAgentRenderer:
    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.chunks = 0

    def opening(self) -> list[kit.Frame]:
        start = {
            "message": "Stream started",
            "session_id": self.log.thread_id,
            "run_id": self.log.id,
        }
        return [kit.Frame(kit.dumps(start), event="start")]

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.Text):
            index = self.chunks
            self.chunks += 1
            chunk = {"content": step.text, "index": index}
            return [kit.Frame(kit.dumps(chunk), event="chunk", chunk_index=index)]
        if isinstance(step, steps.Finish):
            return [kit.Frame(kit.dumps(self._done(step)), event="done", terminal=True)]
        if isinstance(step, steps.Failure):
            return [kit.Frame(kit.dumps(self._error(step)), event="error")]
        return []

    def _done(self, step: steps.Finish) -> dict[str, Any]:
        done: dict[str, Any] = {
            "message": "Stream complete",
            "usage": step.usage.as_snake(),
            "model": self.log.model,
            "execution_time": step.execution_time,
        }
        if step.followups:
            done["followups"] = list(step.followups)
        return done

    def _error(self, step: steps.Failure) -> dict[str, Any]:
        error: dict[str, Any] = {"error": step.message, "code": step.code}
        if step.retry_after is not None:
            error["retry_after"] = step.retry_after
        return error


RUNAGENT = kit.Dialect("runagent", kit.flat(RunAgentRenderer))


class _Parameters(BaseModel):
    model_config = ConfigDict(extra="allow")
    resume_from_index: int | None = Field(default=None, ge=0)
    stream_delay_ms: int | None = Field(default=None, ge=0, le=10_000)
    chunk_size: int | None = Field(default=None, ge=1, le=10_000)
    response_format: dict[str, Any] | None = None
    followups: bool = False


class _Body(BaseModel):
    query: str
    parameters: _Parameters = Field(default_factory=_Parameters)
    session_id: str | None = Field(default=None, min_length=1)


_LOCATIONS = {
    "response_format": ["body", "parameters", "response_format"],
    "paragraphs": ["body", "parameters", "paragraphs"],
}


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart | Response:
    body = await kit.request_model(request, _Body)
    agent = kit.require_agent(request.path_params["agent_id"])
    if body.parameters.resume_from_index is not None:
        return _resume_by_index(state, agent.name, body)
    session = state.conversations.get_or_create(KIND, body.session_id)
    options = kit.scalar_options(body.parameters.model_extra)
    asked = kit.AgentInput(
        message=body.query,
        history=session.history(),
        response_format=body.parameters.response_format,
        options=options,
        followups=body.parameters.followups or kit.wants_followups(options),
    )
    return kit.run_start(
        request,
        RUNAGENT,
        agent,
        asked,
        _LOCATIONS,
        conversation=session,
        details={"parameters": body.parameters.model_dump()},
        delay_ms=body.parameters.stream_delay_ms,
        chunk_size=body.parameters.chunk_size,
    )


def _resume_by_index(state: kit.AppState, agent: str, body: _Body) -> Response:
    if body.session_id is None:
        raise kit.invalid(["body", "session_id"], "required with parameters.resume_from_index")
    session = state.conversations.get(KIND, body.session_id)
    log = state.runs.get(session.latest_run_id or "") if session is not None else None
    if log is None or log.agent != agent:
        raise kit.ApiError(
            404,
            f"session {body.session_id!r} has no run of agent {agent!r} to resume",
            code="run_not_found",
        )
    start = body.parameters.resume_from_index or 0

    def keep(number: int, frame: kit.Frame) -> bool:
        return frame.chunk_index is None or frame.chunk_index >= start

    return kit.replay_selected(state, RUNAGENT, log, keep)


def routes() -> list[Route]:
    return [
        Route("/v1/agents/{agent_id}/stream", kit.run_route(RUNAGENT, _begin), methods=["POST"])
    ]


DIALECT = kit.ServedDialect(("runagent",), routes)
