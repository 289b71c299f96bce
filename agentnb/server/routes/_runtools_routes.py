"""runtools.ai: ``POST /v1/run``; ``X-Run-ID``/``X-Thread-ID`` response headers; named events
``start``, ``thinking``, ``tool_call``, ``tool_result``, ``text``, ``complete``, ``error``;
``stream: false`` answers one JSON result."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["DIALECT", "RUNTOOLS", "RunToolsRenderer", "routes"]

KIND = "runtools"


class RunToolsRenderer:
    def __init__(self, log: kit.RunLog) -> None:
        self.log = log

    def opening(self) -> list[kit.Frame]:
        start = {"runId": self.log.id, "threadId": self.log.thread_id, "agent": self.log.agent}
        return [kit.Frame(kit.dumps(start), event="start")]

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.APPROVAL_STEPS):
            return []  # agents that need approval are refused on this dialect
        if isinstance(step, steps.Reasoning):
            return [kit.Frame(kit.dumps({"content": step.text}), event="thinking")]
        if isinstance(step, steps.Text):
            return [kit.Frame(kit.dumps({"content": step.text}), event="text")]
        if isinstance(step, steps.ToolStart):
            call = {"id": step.call_id, "name": step.name, "arguments": step.arguments}
            return [kit.Frame(kit.dumps(call), event="tool_call")]
        if isinstance(step, steps.ToolEnd):
            return [kit.Frame(kit.dumps(_tool_result(step)), event="tool_result")]
        if isinstance(step, steps.Finish):
            return [
                kit.Frame(kit.dumps(_complete(self.log, step)), event="complete", terminal=True)
            ]
        return [kit.Frame(kit.dumps(_error(step)), event="error")]


def _tool_result(step: steps.ToolEnd) -> dict[str, Any]:
    outcome = {"error": step.error} if step.error is not None else {"result": step.output}
    return {"id": step.call_id, "name": step.name, **outcome}


def _complete(log: kit.RunLog, step: steps.Finish) -> dict[str, Any]:
    complete = {
        "runId": log.id,
        "threadId": log.thread_id,
        "output": step.final_output,
        "usage": step.usage.as_camel(),
        "model": log.model,
        "executionTime": step.execution_time,
    }
    if step.followups:
        complete["followups"] = list(step.followups)
    return complete


def _error(step: steps.Failure) -> dict[str, Any]:
    error: dict[str, Any] = {"message": step.message, "code": step.code}
    if step.retry_after is not None:
        error["retryAfter"] = step.retry_after
    return error


def _headers(log: kit.RunLog) -> dict[str, str]:
    return {"X-Run-ID": log.id, "X-Thread-ID": log.thread_id or ""}


def _result(log: kit.RunLog) -> Response:
    """The ``stream: false`` answer."""
    usage, failure, finish = log.usage(), log.failure(), log.finish_step()
    body = {
        "runId": log.id,
        "threadId": log.thread_id,
        "agent": log.agent,
        "status": log.status,
        "output": finish.final_output if finish is not None else None,
        "text": log.answer_text(),
        "reasoning": log.reasoning_text(),
        "toolCalls": log.tool_calls(),
        "usage": usage.as_camel() if usage is not None else None,
        "model": log.model,
        "executionTime": log.execution_time(),
        "followups": list(finish.followups) if finish is not None else [],
        "error": _error(failure) if failure is not None else None,
    }
    return JSONResponse(body, headers=_headers(log))


RUNTOOLS = kit.Dialect("runtools", kit.flat(RunToolsRenderer), headers=_headers, result=_result)


class _Message(BaseModel):
    role: str
    content: str


class _Body(BaseModel):
    agent: str = Field(min_length=1)
    prompt: str | None = None
    messages: list[_Message] | None = None
    stream: bool = True
    threadId: str | None = Field(default=None, min_length=1)
    config: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _needs_input(self) -> _Body:
        if self.prompt is None and not self.messages:
            raise ValueError("give 'prompt' or a non-empty 'messages' list")
        return self


_LOCATIONS = {
    "response_format": ["body", "config", "responseFormat"],
    "paragraphs": ["body", "config", "paragraphs"],
}


def _message_and_history(body: _Body) -> tuple[str, tuple[kit.ChatMessage, ...]]:
    if body.prompt is not None:
        earlier = tuple(kit.ChatMessage(m.role, m.content) for m in body.messages or [])
        return body.prompt, earlier
    messages = body.messages or []
    if messages[-1].role != "user":
        raise kit.invalid(
            ["body", "messages", len(messages) - 1, "role"], "the last message must be 'user'"
        )
    return messages[-1].content, tuple(kit.ChatMessage(m.role, m.content) for m in messages[:-1])


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart:
    body = await kit.request_model(request, _Body)
    agent = kit.require_agent(body.agent)
    message, earlier = _message_and_history(body)
    thread = state.conversations.get_or_create(KIND, body.threadId)
    config = body.config or {}
    options = kit.scalar_options(body.metadata, config)
    asked = kit.AgentInput(
        message=message,
        history=(*thread.history(), *earlier),
        response_format=kit.json_schema_at(
            config.get("responseFormat"), _LOCATIONS["response_format"]
        ),
        options=options,
        followups=kit.wants_followups(options),
    )
    return kit.run_start(
        request,
        RUNTOOLS,
        agent,
        asked,
        _LOCATIONS,
        conversation=thread,
        details={"metadata": body.metadata or {}},
        stream=body.stream,
    )


def routes() -> list[Route]:
    return [Route("/v1/run", kit.run_route(RUNTOOLS, _begin), methods=["POST"])]


DIALECT = kit.ServedDialect(("runtools",), routes)
