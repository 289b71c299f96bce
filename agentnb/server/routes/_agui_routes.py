"""AG-UI (``ag-ui-protocol`` 1.0): ``POST /ag-ui/{agent}`` with a ``RunAgentInput``; SSE of
AG-UI events, each a JSON object in ``data`` whose ``type`` names it.

``RUN_STARTED`` {threadId, runId} (the input's), reasoning as ``REASONING_START``,
``REASONING_MESSAGE_START`` / ``CONTENT`` / ``END``, ``REASONING_END``; text as
``TEXT_MESSAGE_START`` / ``CONTENT`` / ``END`` (role ``assistant``); each tool call as
``TOOL_CALL_START`` / ``ARGS`` / ``END`` then ``TOOL_CALL_RESULT`` (content: the output as
JSON text, or the error); ``RUN_FINISHED`` {threadId, runId, result, outcome {type:
"success"}, usage: [TokenUsage], metadata: {followups}*}; ``RUN_ERROR`` {message, code}.
The run's id is the input's ``runId`` (a fresh one when that id is taken or not a plain
token). The server keeps nothing between runs, as AG-UI servers do: the conversation is the
input's ``messages``. ``forwardedProps``: ``metadata`` (options such as ``paragraphs``),
``responseFormat`` (a JSON schema; the structured answer is ``RUN_FINISHED.result``),
``followups: true`` (then ``metadata.followups`` on ``RUN_FINISHED``: the event's own field for
extra information; the 1.0 schema's events are closed to fields of their own).

A call that needs a human's approval ends the response with ``RUN_FINISHED`` whose ``outcome``
is an interrupt (``{id, reason: "tool_call", message, toolCallId, responseSchema}``, the shape
pydantic-ai's adapter sends); the next input of the thread whose ``resume`` answers it
(``{interruptId, status: "resolved", payload: {approved, reason}}``, or ``status:
"cancelled"``: denied) continues the same run in a new response, opened by ``RUN_STARTED``.
A denied call's ``TOOL_CALL_RESULT`` content is the denial. An agent's free-form question is
an interrupt on the call that asks it (``{id, reason: "input_required", message: QUESTION,
toolCallId}``); its ``resolved`` resume entry's ``payload`` is the answer, ``cancelled``
declines it.

Sub-agents come as AG-UI 1.0's own ``SUBAGENT_*`` events, with ``subagentRunId`` attribution.
A call that delegates (``ToolStart.delegate``) is followed by ``SUBAGENT_STARTED``
{subagentRunId, name, parentToolCallId (the call), parentSubagentRunId (the sub-agent that
made the call, when it is not the top agent)}. Everything the sub-agent does carries its
``subagentRunId``: its text and reasoning as their own messages, its tool calls (ids run-wide:
the path of calls joined with ``/``, since sub-agents reuse their ids). When the delegating
call ends, ``SUBAGENT_FINISHED`` {subagentRunId, result: the call's output} (or
``SUBAGENT_ERROR`` {subagentRunId, message} when it failed) comes before its
``TOOL_CALL_RESULT``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit
from ._open_blocks import Block, OpenBlocks

__all__ = ["AGUI", "DIALECT", "AGUIRenderer", "routes"]

STREAM_HEADERS = {"Cache-Control": "no-cache"}
APPROVAL_SCHEMA = {
    "type": "object",
    "properties": {"approved": {"type": "boolean"}, "reason": {"type": "string"}},
    "required": ["approved"],
}
"""What a tool approval's resume payload holds (pydantic-ai's ``responseSchema``)."""


class AGUIRenderer:
    """Steps as AG-UI events; a text or reasoning message stays open until another kind of
    step comes."""

    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.ids = (log.thread_id or "", log.id)
        self.messages = OpenBlocks(lambda kind, number: f"msg_{log.id}_{number}")
        self.waiting: list[steps.ApprovalRequest] = []
        self.opened = False
        self.subagents = SubagentEvents(log.id)

    def opening(self) -> list[kit.Frame]:
        self.opened = True
        thread_id, run_id = self.ids
        return [_event("RUN_STARTED", threadId=thread_id, runId=run_id)]

    def render(self, step: steps.AnyStep, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.Nested):
            return [*self._close(), *self.subagents.render(step)]
        if isinstance(step, steps.ApprovalRequest):
            self.waiting.append(step)
            return []
        if isinstance(step, steps.Resumed):
            return self.opening()
        if isinstance(step, steps.Reasoning | steps.Text):
            return _delta(self.messages, step)
        frames = self._close()
        if isinstance(step, steps.ToolStart):
            started = self.subagents.started((step.call_id,), step)
            return [*frames, *self._tool_call(step), *started]
        if isinstance(step, steps.ToolEnd):
            ended = self.subagents.ended((step.call_id,), step)
            return [*frames, *ended, self._tool_result(step)]
        if isinstance(step, steps.ToolDenied):
            return [*frames, self._tool_result(step)]
        if isinstance(step, steps.Paused):
            return [*frames, self._interrupt()]
        frames += self.subagents.close_all()
        if isinstance(step, steps.Finish):
            return [*frames, self._finished(step)]
        # a failure before the stream opened (a refused start) still comes inside a run
        return [*(() if self.opened else self.opening()), *frames, self._error(step)]

    def _close(self) -> list[kit.Frame]:
        return _ends(self.messages.close())

    def _tool_call(self, step: steps.ToolStart) -> list[kit.Frame]:
        call_id = step.call_id
        return [
            _event("TOOL_CALL_START", toolCallId=call_id, toolCallName=step.name),
            _event("TOOL_CALL_ARGS", toolCallId=call_id, delta=json.dumps(step.arguments)),
            _event("TOOL_CALL_END", toolCallId=call_id),
        ]

    def _tool_result(self, step: steps.ToolEnd | steps.ToolDenied) -> kit.Frame:
        if isinstance(step, steps.ToolDenied):
            content = step.reason or "denied"  # as pydantic-ai: the denial's reason
        else:
            content = step.error if step.error is not None else json.dumps(step.output)
        return _event(
            "TOOL_CALL_RESULT",
            messageId=f"result_{step.call_id}",
            toolCallId=step.call_id,
            content=content,
            role="tool",
        )

    def _interrupt(self) -> kit.Frame:
        """The response ends as pydantic-ai's does at a call awaiting approval."""
        thread_id, run_id = self.ids
        interrupts = [_interrupt_of(request) for request in self.waiting]
        self.waiting = []
        outcome = {"type": "interrupt", "interrupts": interrupts}
        finished = {"type": "RUN_FINISHED", "threadId": thread_id, "runId": run_id}
        return kit.Frame(kit.dumps({**finished, "outcome": outcome}), ends_response=True)

    def _finished(self, step: steps.Finish) -> kit.Frame:
        thread_id, run_id = self.ids
        usage = step.usage
        token_usage = {
            "provider": "agentnb",
            "model": self.log.model,
            "inputTokens": usage.prompt_tokens,
            "outputTokens": usage.completion_tokens,
            "totalTokens": usage.total_tokens,
        }
        return kit.Frame(
            kit.dumps(
                {
                    "type": "RUN_FINISHED",
                    "threadId": thread_id,
                    "runId": run_id,
                    "result": step.final_output,
                    "outcome": {"type": "success"},
                    "usage": [token_usage],
                    **({"metadata": {"followups": list(step.followups)}} if step.followups else {}),
                }
            ),
            terminal=True,
        )

    def _error(self, step: steps.Failure) -> kit.Frame:
        error = {"type": "RUN_ERROR", "message": step.message, "code": step.code}
        return kit.Frame(kit.dumps(error), terminal=True)


def subagent_run_id(call_path: tuple[str, ...]) -> str:
    """The invocation a delegating call started (one per call, so two analysts differ)."""
    return f"subagent:{steps.run_wide_id(call_path)}"


class SubagentEvents:
    """One run's sub-agent events; keeps each sub-agent's open text or reasoning message."""

    def __init__(self, run_id: str) -> None:
        self.messages = OpenBlocks(lambda kind, number: f"msg_{run_id}_sub_{number}")
        """The open message of each sub-agent, by the path of the call that started it."""
        self.delegated: set[tuple[str, ...]] = set()
        """The calls that started a sub-agent, by path."""

    def started(self, call_path: tuple[str, ...], step: steps.ToolStart) -> list[kit.Frame]:
        """A call (of the top agent when ``call_path`` has one id) that runs a sub-agent."""
        if step.delegate is None:
            return []
        self.delegated.add(call_path)
        above = {"parentSubagentRunId": subagent_run_id(call_path[:-1])} if call_path[1:] else {}
        return [
            _event(
                "SUBAGENT_STARTED",
                subagentRunId=subagent_run_id(call_path),
                name=step.delegate,
                parentToolCallId=steps.run_wide_id(call_path),
                **above,
            )
        ]

    def ended(self, call_path: tuple[str, ...], step: steps.ToolEnd) -> list[kit.Frame]:
        """A call ends: if it ran a sub-agent, the sub-agent's messages close and it ends."""
        frames = _ends(self.messages.close_inside(call_path))
        if call_path not in self.delegated:
            return frames
        run = subagent_run_id(call_path)
        if step.error is not None:
            return [*frames, _event("SUBAGENT_ERROR", subagentRunId=run, message=step.error)]
        return [*frames, _event("SUBAGENT_FINISHED", subagentRunId=run, result=step.output)]

    def render(self, nested: steps.Nested) -> list[kit.Frame]:
        where, step = nested.where, nested.step
        if isinstance(step, steps.Text | steps.Reasoning):
            return _delta(self.messages, step, where)
        frames = _ends(self.messages.close(where.path))
        if isinstance(step, steps.SubAgentDone):  # AG-UI gives a sub-agent no usage of its own
            return frames
        call_path = where.call_path(step.call_id)
        attribution = {"subagentRunId": subagent_run_id(where.path)}
        call_id = steps.run_wide_id(call_path)
        if isinstance(step, steps.ToolStart):
            name = {"toolCallId": call_id, "toolCallName": step.name, **attribution}
            arguments = {"toolCallId": call_id, "delta": json.dumps(step.arguments)}
            return [
                *frames,
                _event("TOOL_CALL_START", **name),
                _event("TOOL_CALL_ARGS", **arguments, **attribution),
                _event("TOOL_CALL_END", toolCallId=call_id, **attribution),
                *self.started(call_path, step),
            ]
        content = step.error if step.error is not None else json.dumps(step.output)
        result = _event(
            "TOOL_CALL_RESULT",
            messageId=f"result_{call_id}",
            toolCallId=call_id,
            content=content,
            role="tool",
            **attribution,
        )
        return [*frames, *self.ended(call_path, step), result]

    def close_all(self) -> list[kit.Frame]:
        return _ends(self.messages.close_all())


def _event(kind: str, **fields: Any) -> kit.Frame:
    return kit.Frame(kit.dumps({"type": kind, **fields}))


def _attribution(message: Block) -> dict[str, str]:
    """A sub-agent's message says whose it is; the top agent's says nothing."""
    return {"subagentRunId": subagent_run_id(message.path)} if message.where is not None else {}


def _delta(
    messages: OpenBlocks, step: steps.Text | steps.Reasoning, where: steps.SubAgent | None = None
) -> list[kit.Frame]:
    """A piece of text or reasoning, in the message of its kind (opened when it is not)."""
    closed, opened, message = messages.delta(step, where)
    content = "TEXT_MESSAGE_CONTENT" if message.kind == "text" else "REASONING_MESSAGE_CONTENT"
    piece = _event(content, messageId=message.id, delta=step.text, **_attribution(message))
    return [*_ends(closed), *_starts(opened), piece]


def _starts(messages: list[Block]) -> list[kit.Frame]:
    frames = []
    for message in messages:
        ids = {"messageId": message.id}
        attribution = _attribution(message)
        if message.kind == "text":
            frames.append(_event("TEXT_MESSAGE_START", **ids, role="assistant", **attribution))
        else:
            frames.append(_event("REASONING_START", **ids, **attribution))
            frames.append(_event("REASONING_MESSAGE_START", **ids, role="reasoning", **attribution))
    return frames


def _ends(messages: list[Block]) -> list[kit.Frame]:
    frames = []
    for message in messages:
        ids = {"messageId": message.id, **_attribution(message)}
        if message.kind == "text":
            frames.append(_event("TEXT_MESSAGE_END", **ids))
        else:
            frames.append(_event("REASONING_MESSAGE_END", **ids))
            frames.append(_event("REASONING_END", **ids))
    return frames


AGUI = kit.Dialect(
    "ag-ui", AGUIRenderer, headers=lambda log: STREAM_HEADERS, approvals=True, questions=True
)


def _interrupt_of(request: steps.ApprovalRequest) -> dict[str, Any]:
    """A tool call awaiting approval as pydantic-ai shapes it; a free-form question as an
    ``input_required`` interrupt on the call that asks it (its message is the question, the
    answer the payload)."""
    if request.question is not None:
        question = {"id": request.approval_id, "reason": "input_required"}
        return {**question, "message": request.question, "toolCallId": request.call_id}
    return {
        "id": request.approval_id,
        "reason": "tool_call",
        "message": request.reason or f"Approve {request.name}?",
        "toolCallId": request.call_id,
        "responseSchema": APPROVAL_SCHEMA,
    }


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1)
    role: Literal["user", "assistant", "system", "developer", "tool", "reasoning", "activity"]
    content: Any = None
    toolCalls: list[dict[str, Any]] | None = None
    toolCallId: str | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return "".join(
                part.get("text", "")
                for part in self.content
                if isinstance(part, dict) and part.get("type") == "text"
            )
        return ""

    def chat_message(self) -> kit.ChatMessage:
        calls = tuple(self.toolCalls or ())
        return kit.ChatMessage(
            self.role, self.text(), tool_calls=calls, tool_call_id=self.toolCallId
        )


class _ResumeEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    interruptId: str = Field(min_length=1)
    status: Literal["resolved", "cancelled"]
    payload: Any = None

    def decision(self, waited: steps.ApprovalRequest) -> steps.Decision:
        """A question: ``resolved`` answers it with the payload, ``cancelled`` declines it. A
        tool call: approved only by ``resolved`` with ``payload.approved`` true (deny by
        default, as pydantic-ai reads it)."""
        call_id = waited.call_id
        if waited.question is not None:
            if self.status == "cancelled":
                return steps.Decision(call_id, False, "the question was declined")
            return steps.Decision(call_id, True, None, self.payload)
        payload = self.payload if isinstance(self.payload, dict) else {}
        reason = payload.get("reason")
        approved = self.status == "resolved" and payload.get("approved") is True
        return steps.Decision(call_id, approved, reason if isinstance(reason, str) else None)


class _RunAgentInput(BaseModel):
    model_config = ConfigDict(extra="allow")
    threadId: str = Field(min_length=1)
    runId: str = Field(min_length=1)
    messages: list[_Message]
    state: Any = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    context: list[dict[str, Any]] = Field(default_factory=list)
    forwardedProps: dict[str, Any] = Field(default_factory=dict)
    resume: list[_ResumeEntry] | None = None


_PLAIN_ID = re.compile(r"[A-Za-z0-9_.-]{1,128}")

_LOCATIONS = {
    "response_format": ["body", "forwardedProps", "responseFormat"],
    "paragraphs": ["body", "forwardedProps", "metadata", "paragraphs"],
}


def _response_format(props: dict[str, Any]) -> dict[str, Any] | None:
    return kit.json_schema_at(props.get("responseFormat"), _LOCATIONS["response_format"])


def _run_id(state: kit.AppState, wanted: str) -> str:
    """The input's run id, unless another run has it or it is not a plain token."""
    if _PLAIN_ID.fullmatch(wanted) and state.runs.get(wanted) is None:
        return wanted
    return kit.new_run_id()


async def _begin(request: Request, state: kit.AppState) -> kit.RunStart | Response:
    body = await kit.request_model(request, _RunAgentInput)
    agent = kit.require_agent(request.path_params["agent"])
    if body.resume:
        return _resume(state, body.threadId, body.resume)
    last = kit.last_user_index(m.role for m in body.messages)
    props = body.forwardedProps
    metadata = props.get("metadata")
    options = kit.scalar_options(metadata if isinstance(metadata, dict) else None)
    if props.get("followups") is True:
        options["followups"] = "true"
    asked = kit.AgentInput(
        message=body.messages[last].text(),
        history=tuple(m.chat_message() for m in body.messages[:last]),
        response_format=_response_format(props),
        options=options,
        followups=kit.wants_followups(options),
        client_tools=tuple(body.tools),  # the client's own: their calls end the run unanswered
        tool_results=tuple(m.chat_message() for m in body.messages[last + 1 :] if m.role == "tool"),
    )
    run_id = _run_id(state, body.runId)
    return kit.run_start(
        request, AGUI, agent, asked, _LOCATIONS, run_id=run_id, thread_id=body.threadId
    )


def _resume(state: kit.AppState, thread_id: str, entries: list[_ResumeEntry]) -> Response:
    """AG-UI's resume: the thread's paused run gets the decisions and goes on."""
    missing = f"thread {thread_id!r} has no run waiting on an interrupt"
    log = kit.paused_run(state, AGUI, thread_id, missing)
    waited = log.approvals(
        (entry.interruptId for entry in entries),
        lambda interrupt: f"interrupt {interrupt!r} is not one thread {thread_id!r} waits on",
    )
    decisions = tuple(
        entry.decision(request) for entry, request in zip(entries, waited, strict=True)
    )
    return kit.continue_run(state, AGUI, log, decisions)


def routes() -> list[Route]:
    return [Route("/ag-ui/{agent}", kit.run_route(AGUI, _begin), methods=["POST"])]


DIALECT = kit.ServedDialect(
    ("ag-ui",), routes, prefix="/ag-ui", client_options={"path": "/{agent}"}
)
