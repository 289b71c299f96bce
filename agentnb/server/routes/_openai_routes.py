"""OpenAI-compatible Chat Completions: ``POST /v1/chat/completions`` (``model`` = agent name)
and ``GET /v1/models``.

The demo agents run their own tools on the server, so one run holds several model turns. To
an OpenAI client it is one turn: the stream has one ``finish_reason`` (``"stop"``, on its last
choice chunk) and the whole run's usage in the ``include_usage`` chunk after it. Standard
``tool_calls`` with ``finish_reason: "tool_calls"`` would tell the client that the calls are
its own to execute: the official SDK's helpers and proxies such as LiteLLM end the answer
there. So what the server ran rides in ``provider_specific_fields`` on the delta (streamed)
or the message (not): the object LiteLLM keeps for fields outside the OpenAI spec, relaying a
stream's unchanged (it drops other unknown delta fields) and gathering a message's unknown
fields into it, so a client finds the same shape with or without the proxy; the official SDK
keeps it in ``model_extra``. In it: ``agentnb_tool_calls``, in the shape of ``tool_calls`` (a
head with ``index``, ``id`` and the function's name, then pieces of the arguments JSON;
``index`` counts across the run), ``agentnb_tool_result`` ({index, id, name, output, error})
once a call has run, and ``agentnb_followups`` (asked for with ``metadata: {"followups":
"true"}``) on the chunk before the finishing one. The non-streamed answer lists the calls with
their outputs in ``agentnb_tool_calls``. Invalid requests are 400s in OpenAI's shape (see
:mod:`agentnb.server._openai_errors`).
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["DIALECT", "OPENAI", "OpenAIRenderer", "routes"]

EXTENSION = "provider_specific_fields"


def _extension(**fields: Any) -> dict[str, Any]:
    """A delta or message part carrying fields the OpenAI spec lacks (see the module doc)."""
    return {EXTENSION: fields}


def _completion_id(log: kit.RunLog) -> str:
    return f"chatcmpl-{log.id.removeprefix('run_')}"


class OpenAIRenderer:
    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.include_usage = bool(log.details.get("include_usage"))
        self.tool_indexes: dict[str, int] = {}
        self.left_to_client = False
        self.base = {
            "id": _completion_id(log),
            "object": "chat.completion.chunk",
            "created": int(log.created_at),
            "model": log.model,
            "system_fingerprint": None,
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> kit.Frame:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        body: dict[str, Any] = {**self.base, "choices": [choice]}
        if self.include_usage:
            body["usage"] = None
        return kit.Frame(kit.dumps(body))

    def opening(self) -> list[kit.Frame]:
        return [self._chunk({"role": "assistant", "content": ""})]

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.APPROVAL_STEPS):
            return []  # agents that need approval are refused on this dialect
        if isinstance(step, steps.Reasoning):
            return [self._chunk({"reasoning_content": step.text})]
        if isinstance(step, steps.Text):
            return [self._chunk({"content": step.text})]
        if isinstance(step, steps.ToolStart):
            return self._tool_call(step)
        if isinstance(step, steps.ToolEnd):
            return [self._chunk(_extension(agentnb_tool_result=self._tool_result(step)))]
        if isinstance(step, steps.Finish):
            return self._finish(step)
        return [
            kit.Frame(kit.dumps({"error": _error_object(step)})),
            kit.Frame("[DONE]", terminal=True),
        ]

    def _tool_call(self, step: steps.ToolStart) -> list[kit.Frame]:
        """A call the server runs, streamed as OpenAI streams ``tool_calls``, in the extension;
        a call left to the client in standard ``tool_calls``."""
        index = self.tool_indexes.setdefault(step.call_id, len(self.tool_indexes))
        self.left_to_client = self.left_to_client or step.client
        wrap = (lambda calls: {"tool_calls": calls}) if step.client else self._server_calls
        head = {
            "index": index,
            "id": step.call_id,
            "type": "function",
            "function": {"name": step.name, "arguments": ""},
        }
        frames = [self._chunk(wrap([head]))]
        for piece in kit.split_chunks(json.dumps(step.arguments), kit.ARGUMENT_PIECE_CHARS):
            call = {"index": index, "function": {"arguments": piece}}
            frames.append(self._chunk(wrap([call])))
        return frames

    @staticmethod
    def _server_calls(calls: list[dict[str, Any]]) -> dict[str, Any]:
        return _extension(agentnb_tool_calls=calls)

    def _tool_result(self, step: steps.ToolEnd) -> dict[str, Any]:
        return {
            "index": self.tool_indexes.get(step.call_id),
            "id": step.call_id,
            "name": step.name,
            "output": step.output,
            "error": step.error,
        }

    def _finish(self, step: steps.Finish) -> list[kit.Frame]:
        frames = []
        if step.followups:  # their own chunk: LiteLLM splits a finishing chunk that has them
            frames.append(self._chunk(_extension(agentnb_followups=list(step.followups))))
        frames.append(self._chunk({}, "tool_calls" if self.left_to_client else "stop"))
        if self.include_usage:
            frames.append(
                kit.Frame(kit.dumps({**self.base, "choices": [], "usage": step.usage.as_snake()}))
            )
        return [*frames, kit.Frame("[DONE]", terminal=True)]


def _error_object(step: steps.Failure) -> dict[str, Any]:
    kind = "rate_limit_error" if "RATE" in step.code else "server_error"
    error: dict[str, Any] = {
        "message": step.message,
        "type": kind,
        "param": None,
        "code": step.code,
    }
    if step.retry_after is not None:
        error["retry_after"] = step.retry_after
    return error


def _result(log: kit.RunLog) -> Response:
    """The ``stream: false`` answer: a ``chat.completion`` object."""
    failure = log.failure()
    if failure is not None:
        return kit.error_response(
            "/v1/chat/completions", kit.ApiError(500, failure.message, code=failure.code)
        )
    finish = log.finish_step()
    reasoning = log.reasoning_text()
    message: dict[str, Any] = {"role": "assistant", "content": log.answer_text()}
    if reasoning:
        message["reasoning_content"] = reasoning
    extension: dict[str, Any] = {}
    if calls := log.tool_calls():
        extension["agentnb_tool_calls"] = calls
    if finish is not None and finish.followups:
        extension["agentnb_followups"] = list(finish.followups)
    if extension:
        message.update(_extension(**extension))
    body: dict[str, Any] = {
        "id": _completion_id(log),
        "object": "chat.completion",
        "created": int(log.created_at),
        "model": log.model,
        "system_fingerprint": None,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": "stop"}],
        "usage": finish.usage.as_snake() if finish is not None else None,
    }
    return JSONResponse(body)


OPENAI = kit.Dialect("openai", kit.flat(OpenAIRenderer), result=_result)


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[_Part] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "".join(part.text or "" for part in self.content if part.type == "text")

    def chat_message(self) -> kit.ChatMessage:
        calls = tuple(self.tool_calls or ())
        return kit.ChatMessage(
            self.role, self.text(), tool_calls=calls, tool_call_id=self.tool_call_id
        )


class _StreamOptions(BaseModel):
    include_usage: bool = False


class _JsonSchema(BaseModel):
    name: str = "response"
    schema_: dict[str, Any] = Field(default_factory=dict, alias="schema")
    strict: bool | None = None


class _ResponseFormat(BaseModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: _JsonSchema | None = None

    @model_validator(mode="after")
    def _schema_when_needed(self) -> _ResponseFormat:
        if self.type == "json_schema" and self.json_schema is None:
            raise ValueError("type 'json_schema' needs a 'json_schema' object")
        return self


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    messages: list[_Message] = Field(min_length=1)
    stream: bool = False
    stream_options: _StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    n: int = Field(default=1, ge=1, le=1)
    response_format: _ResponseFormat | None = None
    metadata: dict[str, str] | None = None
    tools: list[dict[str, Any]] | None = None


_LOCATIONS = {
    "response_format": ["body", "response_format", "json_schema", "schema"],
    "paragraphs": ["body", "metadata", "paragraphs"],
}
_INTEGER_PARAMS = frozenset(
    name
    for name, field in _Body.model_fields.items()
    if field.annotation is int or int in get_args(field.annotation)
)


def _validated_body(data: Any) -> _Body:
    try:
        return _Body.model_validate(data)
    except ValidationError as exc:
        raise kit.openai_validation_error(exc, data, _INTEGER_PARAMS) from None


def _require_model(name: str) -> None:
    if name not in kit.AGENTS:
        raise kit.ApiError(
            404,
            f"The model {name!r} does not exist: {kit.unknown_agent(name)}",
            code="model_not_found",
        )


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart:
    body = _validated_body(await kit.request_json(request))
    _require_model(body.model)
    agent = kit.AGENTS[body.model]
    last_user = kit.last_user_index(m.role for m in body.messages)
    after = body.messages[last_user + 1 :]  # the client's tool results, within the run
    declared = tuple(t["function"] for t in body.tools or () if isinstance(t.get("function"), dict))
    options = kit.scalar_options(body.metadata)
    schema = None
    if body.response_format is not None and body.response_format.json_schema is not None:
        schema = body.response_format.json_schema.schema_
    asked = kit.AgentInput(
        message=body.messages[last_user].text(),
        history=tuple(m.chat_message() for m in body.messages[:last_user]),
        response_format=schema,
        options=options,
        followups=kit.wants_followups(options),
        client_tools=declared,
        tool_results=tuple(m.chat_message() for m in after if m.role == "tool"),
    )
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    details = {"include_usage": include_usage}
    return kit.run_start(
        request, OPENAI, agent, asked, _LOCATIONS, details=details, stream=body.stream
    )


async def _models(request: Request) -> Response:
    data = [  # an agent that needs approval cannot run here (see _service.run_endpoint)
        {"id": name, "object": "model", "created": 0, "owned_by": "agentnb"}
        for name, agent in sorted(kit.AGENTS.items())
        if not agent.needs_approval
    ]
    return JSONResponse({"object": "list", "data": data})


def routes() -> list[Route]:
    return [
        Route("/v1/chat/completions", kit.run_route(OPENAI, _begin), methods=["POST"]),
        Route("/v1/models", _models, methods=["GET"]),
    ]


DIALECT = kit.ServedDialect(("openai",), routes, prefix="/v1")
