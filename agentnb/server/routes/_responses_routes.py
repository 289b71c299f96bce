"""The OpenAI Responses API: ``POST /v1/responses`` (``model`` = agent name),
``GET /v1/responses/{id}`` (``?stream=true&starting_after=n`` streams it again after event
``n``) and ``POST /v1/responses/{id}/cancel``.

A run is one response (one more per approval pause, below), streamed as the API's typed
events, each with its ``sequence_number`` (its number in the response, the same in a replay):
``response.created``, ``response.in_progress``, then output items: a ``reasoning`` item
(``response.reasoning_summary_text.delta``), a ``message`` (``response.output_text.delta``)
and, for each tool the agent runs on the server, a ``function_call`` item (its arguments
streamed by ``response.function_call_arguments.delta``) followed by a
``function_call_output`` item with what the tool returned: the output in the response says
the call was run, so a client has nothing left to run (a call is shown with the step after
it, which may be its approval request). Last, ``response.completed`` with the
whole response (usage with ``input_tokens_details.cached_tokens`` and
``output_tokens_details.reasoning_tokens``), or ``response.failed`` (a cancelled run: status
``cancelled``).

Conversations: ``previous_response_id`` continues a response's conversation (each response
keeps its own copy of the messages before it, so two answers to one response do not mix);
``conversation`` (an id, or ``{"id": ...}``) names a conversation the server keeps, made on
first use. ``background: true`` runs go on when the client leaves (every run here does), and
without ``stream`` the answer is the response at once, ``in_progress``. ``metadata`` carries
options (``paragraphs``, ``followups``; the follow-ups come back in the completed response's
``agentnb_followups``, an extension: metadata holds only strings); ``text.format`` a JSON
schema. Invalid requests are 400s in OpenAI's shape.

Approvals: a call that waits for a human is an ``mcp_approval_request`` item whose id is the
call's (``server_label`` ``agentnb``); the response ends there, ``completed``. A request with
``previous_response_id`` naming it and ``mcp_approval_response`` input items (one per call:
``approval_request_id``, ``approve``, ``reason``) hands the run its decisions, and the rest
of the run streams as a new response, ``<id>_1`` (``_2`` after a second pause...), numbered
from 0, that names the paused one as its ``previous_response_id``. Agents that ask a
free-form question are refused (the API has no way to carry the answer).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit

__all__ = ["DIALECT", "RESPONSES", "ResponsesRenderer", "response_id", "routes"]

KIND = "openai-responses"
_Obj = dict[str, Any]


def response_id(log: kit.RunLog, segment: int = 0) -> str:
    """The id of the run's ``segment``-th response (each approval pause starts another)."""
    base = f"resp_{log.id.removeprefix('run_')}"
    return base if segment == 0 else f"{base}_{segment}"


def _run_and_segment(response: str) -> tuple[str, int]:
    base, _, number = response.removeprefix("resp_").partition("_")
    segment = int(number) if number.isascii() and number.isdigit() and len(number) < 6 else 0
    return f"run_{base}", segment if number else 0


class ResponsesRenderer:
    """One run as one response's events. Deterministic: a replay renders the same frames,
    numbered the same; :meth:`response` is the response as the frames so far built it."""

    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.segment = 0
        self.id = response_id(log)
        self.sequence = 0
        self.frames = 0
        """Frames rendered in all (the run's frame numbers)."""
        self.starts = [0]
        """The frame number at which each response (segment) starts."""
        self.ended: dict[int, _Obj] = {}
        """Each paused response as it ended, by segment."""
        self.waiting: steps.ToolStart | None = None
        """A call not shown yet: if a human must approve it, it shows as the request."""
        self.output: list[_Obj] = []
        """Finished output items, in order."""
        self.open: _Obj | None = None
        """The reasoning or message item being streamed."""
        self.calls: dict[str, int] = {}
        """Output indexes of the function calls, by call id."""
        self.reasoning_tokens = 0
        self.usage: _Obj | None = None
        self.error: _Obj | None = None
        self.status = "in_progress"

    # ---- frames ---------------------------------------------------------------------------
    def _event(self, kind: str, *, terminal: bool = False, **fields: Any) -> kit.Frame:
        body = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        self.frames += 1
        return kit.Frame(kit.dumps(body), event=kind, terminal=terminal)

    def response(self, status: str | None = None) -> _Obj:
        log = self.log
        conversation = log.details.get("conversation")
        return {
            "id": self.id,
            "object": "response",
            "created_at": int(log.created_at),
            "status": status or self.status,
            "model": log.model,
            "output": [dict(item) for item in self.output],
            "usage": self.usage,
            "error": self.error,
            "incomplete_details": None,
            "instructions": log.details.get("instructions"),
            "metadata": log.details.get("metadata") or {},
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "temperature": log.details.get("temperature"),
            "top_p": log.details.get("top_p"),
            "background": bool(log.details.get("background")),
            "store": True,
            "previous_response_id": response_id(log, self.segment - 1)
            if self.segment
            else log.details.get("previous_response_id"),
            "conversation": {"id": conversation} if conversation else None,
            "text": {"format": {"type": "text"}},
            "completed_at": int(log.finished_at) if log.finished_at and self.usage else None,
        }

    def opening(self) -> list[kit.Frame]:
        return [
            self._event("response.created", response=self.response()),
            self._event("response.in_progress", response=self.response()),
        ]

    def render(self, step: steps.Step, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.ApprovalRequest) and self.waiting is not None:
            return [*self._close(), *self._approval_request(self.waiting)]
        frames = self._shown_waiting()
        if isinstance(step, steps.ToolStart):
            self.waiting = step  # shown with the next step: it may need approval
            return frames
        return [*frames, *self._step(step)]

    def _shown_waiting(self) -> list[kit.Frame]:
        waiting, self.waiting = self.waiting, None
        return [] if waiting is None else [*self._close(), *self._function_call(waiting)]

    def _step(self, step: steps.Step) -> list[kit.Frame]:
        if isinstance(step, steps.Paused):
            return [*self._close(), self._paused()]
        if isinstance(step, steps.Resumed):
            return self._next_response()
        if isinstance(step, steps.APPROVAL_STEPS):
            return []  # a denial: the client shows the decision it sent
        if isinstance(step, steps.Reasoning):
            self.reasoning_tokens += kit.count_tokens(step.text)
            return [*self._open("reasoning"), self._delta(step)]
        if isinstance(step, steps.Text):
            return [*self._open("message"), self._delta(step)]
        if isinstance(step, steps.ToolStart):  # render() holds calls back: shown as here
            return [*self._close(), *self._function_call(step)]
        if isinstance(step, steps.ToolEnd):
            return [*self._close(), *self._function_output(step)]
        if isinstance(step, steps.Finish):
            return [*self._close(), self._completed(step)]
        return [*self._close(), self._failed(step)]

    # ---- message and reasoning items --------------------------------------------------------
    def _open(self, kind: Literal["reasoning", "message"]) -> list[kit.Frame]:
        if self.open is not None and self.open["type"] == kind:
            return []
        frames = self._close()
        index = len(self.output)
        where: _Obj = {"output_index": index}
        if kind == "reasoning":
            item: _Obj = {"id": f"rs_{self.log.id[4:]}_{index}", "type": "reasoning", "summary": []}
            part: _Obj = {"type": "summary_text", "text": ""}
            part_event, where["summary_index"] = "response.reasoning_summary_part.added", 0
        else:
            item = {
                "id": f"msg_{self.log.id[4:]}_{index}",
                "type": "message",
                "role": "assistant",
                "status": "in_progress",
                "content": [],
            }
            part = {"type": "output_text", "text": "", "annotations": []}
            part_event, where["content_index"] = "response.content_part.added", 0
        frames.append(self._event("response.output_item.added", output_index=index, item=item))
        frames.append(self._event(part_event, item_id=item["id"], **where, part=part))
        self.open = {**item, "text": ""}
        return frames

    def _delta(self, step: steps.Reasoning | steps.Text) -> kit.Frame:
        assert self.open is not None
        self.open["text"] += step.text
        where = {"item_id": self.open["id"], "output_index": len(self.output)}
        if isinstance(step, steps.Reasoning):
            event = "response.reasoning_summary_text.delta"
            return self._event(event, **where, summary_index=0, delta=step.text)
        event = "response.output_text.delta"
        return self._event(event, **where, content_index=0, delta=step.text, logprobs=[])

    def _close(self) -> list[kit.Frame]:
        """The open reasoning or message item, finished."""
        if self.open is None:
            return []
        item, self.open = self.open, None
        text, where = item.pop("text"), {"item_id": item["id"], "output_index": len(self.output)}
        if item["type"] == "reasoning":
            part = {"type": "summary_text", "text": text}
            item["summary"] = [part]
            frames = [
                self._event(
                    "response.reasoning_summary_text.done", **where, summary_index=0, text=text
                ),
                self._event(
                    "response.reasoning_summary_part.done", **where, summary_index=0, part=part
                ),
            ]
        else:
            part = {"type": "output_text", "text": text, "annotations": []}
            item.update(status="completed", content=[part])
            frames = [
                self._event(
                    "response.output_text.done", **where, content_index=0, text=text, logprobs=[]
                ),
                self._event("response.content_part.done", **where, content_index=0, part=part),
            ]
        return [*frames, self._item_done(item)]

    def _item_done(self, item: _Obj) -> kit.Frame:
        index = len(self.output)
        self.output.append(item)
        return self._event("response.output_item.done", output_index=index, item=item)

    # ---- calls ----------------------------------------------------------------------------
    def _function_call(self, step: steps.ToolStart) -> list[kit.Frame]:
        index = len(self.output)
        self.calls[step.call_id] = index
        item_id = f"fc_{self.log.id[4:]}_{index}"
        item = {
            "id": item_id,
            "type": "function_call",
            "call_id": step.call_id,
            "name": step.name,
            "arguments": "",
            "status": "in_progress",
        }
        frames = [self._event("response.output_item.added", output_index=index, item=item)]
        arguments = json.dumps(step.arguments)
        where: _Obj = {"item_id": item_id, "output_index": index}
        for piece in kit.split_chunks(arguments, kit.ARGUMENT_PIECE_CHARS):
            frames.append(
                self._event("response.function_call_arguments.delta", **where, delta=piece)
            )
        frames.append(
            self._event("response.function_call_arguments.done", **where, arguments=arguments)
        )
        frames.append(self._item_done({**item, "arguments": arguments, "status": "completed"}))
        return frames

    def _function_output(self, step: steps.ToolEnd) -> list[kit.Frame]:
        index = len(self.output)
        output = step.output if step.error is None else {"error": step.error}
        item = {
            "id": f"fco_{self.log.id[4:]}_{index}",
            "type": "function_call_output",
            "call_id": step.call_id,
            "output": json.dumps(output),
            "status": "completed" if step.error is None else "incomplete",
        }
        return [
            self._event("response.output_item.added", output_index=index, item=item),
            self._item_done(item),
        ]

    # ---- approvals: a response per pause ----------------------------------------------------
    def _approval_request(self, call: steps.ToolStart) -> list[kit.Frame]:
        """The call as an ``mcp_approval_request`` whose id is the call's: the decision names
        it, and the call that follows it continues its card."""
        index = len(self.output)
        item = {"id": call.call_id, "type": "mcp_approval_request", "server_label": "agentnb",
                "name": call.name, "arguments": json.dumps(call.arguments)}  # fmt: skip
        self.waiting = None
        return [
            self._event("response.output_item.added", output_index=index, item=item),
            self._item_done(item),
        ]

    def _paused(self) -> kit.Frame:
        """The response ends here, completed, its approval request in its output; the
        decision comes as a new response continuing it."""
        self.status = "completed"
        self.ended[self.segment] = self.response()
        event = self._event("response.completed", response=self.ended[self.segment])
        return kit.Frame(event.data, event=event.event, ends_response=True)

    def _next_response(self) -> list[kit.Frame]:
        self.segment += 1
        self.id = response_id(self.log, self.segment)
        self.sequence, self.output, self.status = 0, [], "in_progress"
        self.starts.append(self.frames)
        return self.opening()

    # ---- the end --------------------------------------------------------------------------
    def _completed(self, step: steps.Finish) -> kit.Frame:
        self.status = "completed"
        self.usage = {
            "input_tokens": step.usage.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": step.usage.completion_tokens,
            "output_tokens_details": {
                "reasoning_tokens": min(self.reasoning_tokens, step.usage.completion_tokens)
            },
            "total_tokens": step.usage.total_tokens,
        }
        response = self.response()
        if step.followups:  # an agentnb extension: metadata holds only strings
            response["agentnb_followups"] = list(step.followups)
        return self._event("response.completed", terminal=True, response=response)

    def _failed(self, step: steps.Failure) -> kit.Frame:
        cancelled = step.code == "CANCELLED"
        self.status = "cancelled" if cancelled else "failed"
        code = "cancelled" if cancelled else step.code.lower()
        self.error = {"code": code, "message": step.message}
        return self._event("response.failed", terminal=True, response=self.response())


def rendered(log: kit.RunLog) -> ResponsesRenderer:
    """A renderer that has rendered the run's steps so far."""
    renderer = ResponsesRenderer(log)
    renderer.opening()
    for entry in list(log.entries):
        shown = steps.flattened(entry.step)
        if shown is not None:
            renderer.render(shown, entry.at)
    return renderer


def response_of(log: kit.RunLog, segment: int | None = None) -> _Obj:
    """A response of the run as it stands (the latest one unless ``segment`` says)."""
    renderer = rendered(log)
    if segment is not None and segment in renderer.ended:
        return renderer.ended[segment]
    return renderer.response()


# ---- requests -----------------------------------------------------------------------------
class _InputItem(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str = "message"
    role: Literal["user", "assistant", "system", "developer"] | None = None
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "".join(
            str(part.get("text") or "")
            for part in self.content
            if part.get("type") in ("input_text", "output_text", "text")
        )


class _Conversation(BaseModel):
    id: str = Field(min_length=1)


class _Format(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["text", "json_object", "json_schema"] = "text"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")


class _Text(BaseModel):
    model_config = ConfigDict(extra="allow")
    format: _Format | None = None


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = Field(min_length=1)
    input: str | list[_InputItem]
    instructions: str | None = None
    stream: bool = False
    background: bool = False
    store: bool | None = None
    previous_response_id: str | None = None
    conversation: str | _Conversation | None = None
    metadata: dict[str, str] | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_output_tokens: int | None = Field(default=None, ge=1)
    text: _Text | None = None
    tools: list[dict[str, Any]] | None = None


_INTEGER_PARAMS = frozenset({"max_output_tokens"})
_LOCATIONS = {
    "response_format": ["body", "text", "format", "schema"],
    "paragraphs": ["body", "metadata", "paragraphs"],
}


def _validated(data: Any) -> _Body:
    try:
        body = _Body.model_validate(data)
    except ValidationError as exc:
        raise kit.openai_validation_error(exc, data, _INTEGER_PARAMS) from None
    if body.previous_response_id and body.conversation:
        raise kit.ApiError(
            400,
            "previous_response_id and conversation cannot be used together",
            param="previous_response_id",
            code="invalid_value",
        )
    return body


def _messages(body: _Body) -> tuple[tuple[kit.ChatMessage, ...], str]:
    """The input's earlier messages and the user's last one."""
    if isinstance(body.input, str):
        return (), body.input
    messages = [i for i in body.input if i.type == "message" and i.role is not None]
    last_user = max((n for n, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        raise kit.invalid(["body", "input"], "needs a message with role 'user'")
    earlier = tuple(kit.ChatMessage(str(m.role), m.text()) for m in messages[:last_user])
    return earlier, messages[last_user].text()


def _tool_outputs(body: _Body) -> tuple[kit.ChatMessage, ...]:
    """The input's ``function_call_output`` items: the client's results of its tools."""
    items = body.input if isinstance(body.input, list) else []
    return tuple(
        kit.ChatMessage(
            "tool", _output_text(extra.get("output")), tool_call_id=str(extra.get("call_id"))
        )
        for item in items
        if item.type == "function_call_output"
        for extra in (item.model_extra or {},)
    )


def _output_text(output: object) -> str:
    """A tool's output as the agent reads it: its text, or its parts' (``input_text``; an
    ``input_image`` as ``[an image]``)."""
    if not isinstance(output, list):
        return str(output)
    said = []
    for part in output:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "input_text":
            said.append(str(part.get("text", "")))
        elif kind == "input_image":
            said.append("[an image]")
    return "\n".join(said)


def _conversation(state: kit.AppState, body: _Body) -> kit.Conversation:
    """Where the run's messages go: a named conversation, a copy of the previous response's,
    or a new one of its own."""
    if isinstance(body.conversation, _Conversation | str):
        name = body.conversation if isinstance(body.conversation, str) else body.conversation.id
        return state.conversations.get_or_create(KIND, name)
    fresh = kit.Conversation(id=f"conv_{kit.new_run_id()[4:]}", created_at=0.0)
    if body.previous_response_id:
        previous, _ = _stored(state, body.previous_response_id, "previous_response_id")
        if previous.conversation is not None:
            fresh.messages = list(previous.conversation.messages)
    return fresh


def _stored(state: kit.AppState, response: str, param: str | None = None) -> tuple[kit.RunLog, int]:
    """The run a response id names, and which of its responses (segments) it is."""
    run_id, segment = _run_and_segment(response)
    log = state.runs.get(run_id)
    if log is None or log.dialect != KIND or segment >= len(rendered(log).starts):
        raise kit.ApiError(
            404,
            f"Response with id '{response}' not found.",
            param=param,
            code="response_not_found",
        )
    return log, segment


def _decisions(body: _Body) -> tuple[steps.Decision, ...]:
    """The input's ``mcp_approval_response`` items (each names the call it decides)."""
    items = body.input if isinstance(body.input, list) else []
    return tuple(
        steps.Decision(str(extra.get("approval_request_id")), extra.get("approve") is True,
                 extra.get("reason") if isinstance(extra.get("reason"), str) else None)
        for item in items
        if item.type == "mcp_approval_response"
        for extra in (item.model_extra or {},)
    )  # fmt: skip


def _continued(state: kit.AppState, body: _Body) -> Response:
    """Decisions on a paused response: the run goes on, streamed as a new response."""
    if not body.previous_response_id:
        raise kit.invalid(["body", "previous_response_id"], "names the response to continue")
    log, _ = _stored(state, body.previous_response_id, "previous_response_id")
    return kit.continue_run(state, RESPONSES, log, _decisions(body))


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart | Response:
    body = _validated(await kit.request_json(request))
    if _decisions(body):
        return _continued(state, body)
    agent = kit.AGENTS.get(body.model)
    if agent is None:
        available = ", ".join(sorted(kit.AGENTS))
        raise kit.ApiError(
            404,
            f"The model '{body.model}' does not exist; this server has: {available}",
            param="model",
            code="model_not_found",
        )
    results = _tool_outputs(body)
    earlier: tuple[kit.ChatMessage, ...] = ()
    if results and body.previous_response_id:  # the client's tools ran: the same question
        message = _stored(state, body.previous_response_id)[0].request.message
    else:
        earlier, message = _messages(body)
    conversation = _conversation(state, body)
    options = kit.scalar_options(body.metadata)
    asked = kit.AgentInput(
        message=message,
        history=(*conversation.history(), *earlier),
        response_format=body.text.format.schema_ if body.text and body.text.format else None,
        options=options,
        followups=kit.wants_followups(options),
        client_tools=tuple(t for t in body.tools or () if t.get("type") == "function"),
        tool_results=results,
    )
    named = body.conversation is not None
    details = {
        "instructions": body.instructions,
        "metadata": body.metadata,
        "background": body.background,
        "previous_response_id": body.previous_response_id,
        "conversation": conversation.id if named else None,
        "temperature": body.temperature,
        "top_p": body.top_p,
    }
    start = kit.run_start(
        request,
        RESPONSES,
        agent,
        asked,
        _LOCATIONS,
        conversation=conversation,
        details=details,
        stream=body.stream,
        answer_at_once=body.background,
    )
    if not named:  # the conversation is the response's own: the response names the thread
        start.log.thread_id = response_id(start.log)
    return start


def _answer(log: kit.RunLog) -> Response:
    """The response as JSON (not streamed): at once for a background run, else finished."""
    return JSONResponse(response_of(log))


RESPONSES = kit.Dialect(
    KIND, kit.flat(ResponsesRenderer), result=_answer, approvals=True, event_ids=False
)


def _starting_after(request: Request) -> int:
    raw = request.query_params.get("starting_after")
    if raw is None:
        return -1
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise kit.ApiError(
            400,
            f"starting_after must be a sequence number, not {raw[:40]!r}",
            param="starting_after",
            code="invalid_value",
        )
    return int(raw)


async def _retrieve(request: Request) -> Response:
    state = kit.state_of(request)
    log, segment = _stored(state, request.path_params["response_id"])
    if request.query_params.get("stream", "").lower() != "true":
        return JSONResponse(response_of(log, segment))
    starts = rendered(log).starts
    first = starts[segment] + _starting_after(request) + 1
    end = starts[segment + 1] if segment + 1 < len(starts) else None

    def select(number: int, frame: kit.Frame) -> bool:
        return number >= first and (end is None or number < end)

    return kit.replay_selected(state, RESPONSES, log, select, event_ids=False)


async def _cancel(request: Request) -> Response:
    state = kit.state_of(request)
    log, segment = _stored(state, request.path_params["response_id"])
    if state.runs.cancel(log.id):
        await log.wait_finished()
    return JSONResponse(response_of(log, segment))


def routes() -> list[Route]:
    return [
        Route("/v1/responses", kit.run_route(RESPONSES, _begin), methods=["POST"]),
        Route("/v1/responses/{response_id}", _retrieve, methods=["GET"]),
        Route("/v1/responses/{response_id}/cancel", _cancel, methods=["POST"]),
    ]


DIALECT = kit.ServedDialect(("openai-responses",), routes, prefix="/v1")
