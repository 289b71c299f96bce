"""The Vercel AI SDK UI message stream (``x-vercel-ai-ui-message-stream: v1``), spoken by
SeekrFlow's ``/runs/stream/vercel`` and by the generic ``POST /api/chat`` endpoint.

Every part has only the fields the ``ai`` package's strict chunk schema allows. Usage goes in
``finish.messageMetadata.usage`` as the SDK's ``{inputTokens, outputTokens, totalTokens}``;
``finish.finishReason`` is the last step's reason (``"stop"`` after the answer,
``"tool-calls"`` if the run ended right after tool output); follow-ups come as a
``data-followups`` part before ``finish-step``. ``GET /api/chat/{id}/stream`` is the SDK's
resume call (``useChat({resume: true})``): the chat's active stream from its first part (after
``n`` with ``Last-Event-ID: <run_id>:<n>``), or 204 No Content when the chat has no run going.

A sub-agent's steps come as SeekrFlow sends them (agent-as-tool): each of its chunks wrapped
in a data part::

    {"type": "data-nestedToolEvent",
     "data": {"toolCallPath": [...], "depth": n, "sourceToolName": "...", "chunk": {...}}}

``toolCallPath`` is the path of tool-call ids that led to the chunk, each in its own agent's id
space: the delegating calls from the top down, plus, for a tool chunk, the chunk's own
``toolCallId`` (the ``seekrai`` SDK's ``get_tool_key`` keys tool buffers by this whole path,
so parallel sub-agents may reuse ids). ``depth`` is how many sub-agents deep the chunk is (1:
a sub-agent of the top agent), ``sourceToolName`` the name of the call that started the
sub-agent. The chunk is an ordinary UI message chunk (``text-start`` / ``-delta`` / ``-end``,
``reasoning-*``, ``tool-input-start`` / ``-delta`` / ``-available``,
``tool-output-available`` / ``-error``) whose ``providerMetadata.metadata`` names
``agent_id`` (the sub-agent) and ``parent_agent_id`` (the agent that delegated), where the
SDK's ``infer_metadata`` reads them. A sub-agent's own ``finish`` chunk ends its stream when
it has finished (before the call that ran it returns), its ``messageMetadata`` saying what it
spent (``usage`` as the SDK's ``{inputTokens, outputTokens, totalTokens}``, and ``model``),
as the top agent's ``finish`` says the run's. To the AI SDK (the generic ``/api/chat``
stream) it is a data part (``data-*``, any ``data``), which ``useChat`` keeps among the
message's parts.
"""

from __future__ import annotations

import json
import secrets
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .. import _steps as steps
from . import _route_kit as kit
from ._open_blocks import Block, OpenBlocks
from ._uimessages import UIMessage, approval_responses, history_of

__all__ = ["DIALECT", "STREAM_HEADERS", "VERCEL", "VercelRenderer", "routes"]

STREAM_HEADERS = {"x-vercel-ai-ui-message-stream": "v1"}
NESTED_PART = "data-nestedToolEvent"


class VercelRenderer:
    def __init__(self, log: kit.RunLog) -> None:
        self.log = log
        self.blocks = OpenBlocks(lambda kind, number: f"{kind}_{number}")
        self.after_tool_output = False
        self.step_open = True
        self.nested = NestedParts()

    def _part(self, kind: str, **fields: Any) -> kit.Frame:
        return kit.Frame(kit.dumps({"type": kind, **fields}))

    def _start(self) -> kit.Frame:
        metadata = {
            "runId": self.log.id,
            "threadId": self.log.thread_id,
            "metadata": {"agent_id": self.log.agent},  # where the seekrai SDK reads the agent
        }
        message_id = f"msg_{self.log.id.removeprefix('run_')}"
        return self._part("start", messageId=message_id, messageMetadata=metadata)

    def opening(self) -> list[kit.Frame]:
        return [self._start(), self._part("start-step")]

    def render(self, step: steps.AnyStep, at: float) -> list[kit.Frame]:
        if isinstance(step, steps.Nested):
            return self.nested.render(step)
        if isinstance(step, steps.Reasoning | steps.Text):
            return [*self._new_step_if_due(), *self._delta(step)]
        if isinstance(step, steps.ToolStart):
            return [*self._new_step_if_due(), *self._close_block(), *self._tool_input(step)]
        if isinstance(step, steps.ToolEnd | steps.ToolDenied):
            self.after_tool_output = True
            return [*self.nested.ended((step.call_id,)), self._tool_output(step)]
        if isinstance(step, steps.ApprovalRequest):
            ids = {"approvalId": step.approval_id, "toolCallId": step.call_id}
            return [self._part("tool-approval-request", **ids, reason=step.reason)]
        if isinstance(step, steps.Paused):
            return [*self._close_block(), *self._pause()]
        if isinstance(step, steps.Resumed):
            return [self._start()]  # the continued message: its next content opens a step
        if isinstance(step, steps.Finish):
            return [*self.nested.close_all(), *self._close_block(), *self._finish(step)]
        return [*self.nested.close_all(), *self._close_block(), *self._error(step)]

    def _new_step_if_due(self) -> list[kit.Frame]:
        if self.step_open and not self.after_tool_output:
            return []
        frames = [self._part("finish-step")] if self.step_open else []
        self.after_tool_output = False
        self.step_open = True
        return [*frames, self._part("start-step")]

    def _end_step(self) -> list[kit.Frame]:
        if not self.step_open:
            return []
        self.step_open = False
        return [self._part("finish-step")]

    def _pause(self) -> list[kit.Frame]:
        """The response ends as the SDK's ends a step whose calls need approval."""
        metadata = {"runId": self.log.id}
        finish = self._part("finish", finishReason="tool-calls", messageMetadata=metadata)
        return [*self._end_step(), finish, kit.Frame("[DONE]", ends_response=True)]

    def _delta(self, step: steps.Reasoning | steps.Text) -> list[kit.Frame]:
        closed, opened, block = self.blocks.delta(step)
        return [
            *(self._part(f"{end.kind}-end", id=end.id) for end in closed),
            *(self._part(f"{start.kind}-start", id=start.id) for start in opened),
            self._part(f"{block.kind}-delta", id=block.id, delta=step.text),
        ]

    def _close_block(self) -> list[kit.Frame]:
        return [self._part(f"{end.kind}-end", id=end.id) for end in self.blocks.close()]

    def _tool_input(self, step: steps.ToolStart) -> list[kit.Frame]:
        ids = {"toolCallId": step.call_id}
        pieces = kit.split_chunks(json.dumps(step.arguments), kit.ARGUMENT_PIECE_CHARS)
        return [
            self._part("tool-input-start", **ids, toolName=step.name),
            *(self._part("tool-input-delta", **ids, inputTextDelta=p) for p in pieces),
            self._part("tool-input-available", **ids, toolName=step.name, input=step.arguments),
        ]

    def _tool_output(self, step: steps.ToolEnd | steps.ToolDenied) -> kit.Frame:
        if isinstance(step, steps.ToolDenied):
            return self._part("tool-output-denied", toolCallId=step.call_id)
        if step.error is not None:
            return self._part("tool-output-error", toolCallId=step.call_id, errorText=step.error)
        return self._part("tool-output-available", toolCallId=step.call_id, output=step.output)

    def _finish(self, step: steps.Finish) -> list[kit.Frame]:
        frames = []
        if step.followups:
            frames.append(self._part("data-followups", data={"followups": list(step.followups)}))
        usage = step.usage
        metadata = {
            "runId": self.log.id,
            "model": self.log.model,
            "usage": {
                "inputTokens": usage.prompt_tokens,
                "outputTokens": usage.completion_tokens,
                "totalTokens": usage.total_tokens,
            },
            "executionTime": step.execution_time,
        }
        finish = {
            "type": "finish",
            "finishReason": self._finish_reason(),
            "messageMetadata": metadata,
        }
        return [
            *frames,
            *self._end_step(),
            kit.Frame(kit.dumps(finish), terminal=True),
            kit.Frame("[DONE]", terminal=True),
        ]

    def _finish_reason(self) -> str:
        """The last step's reason, as the AI SDK's ``FinishReason`` spells it."""
        return "tool-calls" if self.after_tool_output else "stop"

    def _error(self, step: steps.Failure) -> list[kit.Frame]:
        return [self._part("error", errorText=step.message), kit.Frame("[DONE]", terminal=True)]


class NestedParts:
    """One run's sub-agent chunks; keeps each sub-agent's open text or reasoning block."""

    def __init__(self) -> None:
        self.blocks = OpenBlocks(lambda kind, number: f"{kind}_nested_{number}")

    def render(self, nested: steps.Nested) -> list[kit.Frame]:
        where, step = nested.where, nested.step
        if isinstance(step, steps.Text | steps.Reasoning):
            return self._delta(where, step)
        frames = self._block_parts(self.blocks.close(where.path), "end")
        if isinstance(step, steps.SubAgentDone):
            return [*frames, self._finish(where, step)]
        if isinstance(step, steps.ToolStart):
            return [*frames, *self._tool_input(where, step)]
        return [*frames, *self.ended(where.call_path(step.call_id)), self._tool_output(where, step)]

    def ended(self, call_path: tuple[str, ...]) -> list[kit.Frame]:
        """A delegating call ends: the blocks its sub-agents left open close."""
        return self._block_parts(self.blocks.close_inside(call_path), "end")

    def _finish(self, where: steps.SubAgent, done: steps.SubAgentDone) -> kit.Frame:
        """The sub-agent's own ``finish``: what it spent, and its model."""
        usage = done.usage
        metadata: dict[str, Any] = {
            "usage": {
                "inputTokens": usage.prompt_tokens,
                "outputTokens": usage.completion_tokens,
                "totalTokens": usage.total_tokens,
            }
        }
        if done.model is not None:
            metadata["model"] = done.model
        finish = {"type": "finish", "finishReason": "stop", "messageMetadata": metadata}
        return self._part(where, where.path, finish)

    def close_all(self) -> list[kit.Frame]:
        return self._block_parts(self.blocks.close_all(), "end")

    def _part(
        self, where: steps.SubAgent, path: tuple[str, ...], chunk: dict[str, Any]
    ) -> kit.Frame:
        metadata = {"agent_id": where.name, "parent_agent_id": where.parent}
        data = {
            "toolCallPath": list(path),
            "depth": where.depth,
            "sourceToolName": where.tool,
            "chunk": {**chunk, "providerMetadata": {"metadata": metadata}},
        }
        return kit.Frame(kit.dumps({"type": NESTED_PART, "data": data}))

    def _delta(self, where: steps.SubAgent, step: steps.Text | steps.Reasoning) -> list[kit.Frame]:
        closed, opened, block = self.blocks.delta(step, where)
        delta = {"type": f"{block.kind}-delta", "id": block.id, "delta": step.text}
        return [
            *self._block_parts(closed, "end"),
            *self._block_parts(opened, "start"),
            self._part(where, where.path, delta),
        ]

    def _block_parts(self, blocks: list[Block], edge: Literal["start", "end"]) -> list[kit.Frame]:
        """Sub-agents' blocks start or end."""
        frames = []
        for block in blocks:
            assert block.where is not None  # these blocks are all sub-agents'
            chunk = {"type": f"{block.kind}-{edge}", "id": block.id}
            frames.append(self._part(block.where, block.path, chunk))
        return frames

    def _tool_input(self, where: steps.SubAgent, step: steps.ToolStart) -> list[kit.Frame]:
        path = where.call_path(step.call_id)
        ids = {"toolCallId": step.call_id}
        pieces = kit.split_chunks(json.dumps(step.arguments), kit.ARGUMENT_PIECE_CHARS)
        available = {"type": "tool-input-available", **ids, "toolName": step.name}
        return [
            self._part(where, path, {"type": "tool-input-start", **ids, "toolName": step.name}),
            *(
                self._part(where, path, {"type": "tool-input-delta", **ids, "inputTextDelta": p})
                for p in pieces
            ),
            self._part(where, path, {**available, "input": step.arguments}),
        ]

    def _tool_output(self, where: steps.SubAgent, step: steps.ToolEnd) -> kit.Frame:
        path = where.call_path(step.call_id)
        ids = {"toolCallId": step.call_id}
        if step.error is not None:
            return self._part(
                where, path, {"type": "tool-output-error", **ids, "errorText": step.error}
            )
        return self._part(
            where, path, {"type": "tool-output-available", **ids, "output": step.output}
        )


VERCEL = kit.Dialect("vercel", VercelRenderer, headers=lambda log: STREAM_HEADERS, approvals=True)


class _ChatBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    messages: list[UIMessage] = Field(min_length=1)
    agent: str = Field(min_length=1)
    followups: bool = False
    metadata: dict[str, str] | None = None
    responseFormat: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    """Tools the client declared (agentnb's ``tools=``): their calls are left to it."""


_LOCATIONS = {
    "response_format": ["body", "responseFormat"],
    "paragraphs": ["body", "metadata", "paragraphs"],
}


async def _begin_chat(request: Request, state: kit.AppState) -> kit.RunStart | Response:
    body = await kit.request_model(request, _ChatBody)
    agent = kit.require_agent(body.agent)
    decisions = approval_responses(body.messages[-1])
    if body.messages[-1].role == "assistant" and decisions:
        return _continue_chat(state, body.id, decisions)
    last_user = kit.last_user_index(m.role for m in body.messages)
    options = kit.scalar_options(body.metadata)
    asked = kit.AgentInput(
        message=body.messages[last_user].text(),
        history=history_of(body.messages[:last_user]),
        response_format=body.responseFormat,
        options=options,
        followups=body.followups or kit.wants_followups(options),
        client_tools=tuple(body.tools),
        tool_results=tuple(
            m for m in history_of(body.messages[last_user + 1 :]) if m.role == "tool"
        ),
    )
    chat_id = body.id or f"chat_{secrets.token_hex(8)}"
    return kit.run_start(request, VERCEL, agent, asked, _LOCATIONS, thread_id=chat_id)


def _continue_chat(
    state: kit.AppState, chat_id: str | None, decisions: dict[str, steps.Decision]
) -> Response:
    """The SDK's request after ``addToolApprovalResponse``: the chat's paused run goes on."""
    missing = f"chat {chat_id!r} has no run waiting for an approval"
    log = kit.paused_run(state, VERCEL, chat_id, missing)
    waited = log.approvals(
        decisions,
        lambda _: f"the approvals {sorted(decisions)} are not the ones chat {chat_id!r} waits for",
    )
    answers = tuple(
        steps.Decision(request.call_id, decision.approved, decision.reason)
        for request, decision in zip(waited, decisions.values(), strict=True)
    )
    return kit.continue_run(state, VERCEL, log, answers)


async def _resume_chat(request: Request) -> Response:
    """The AI SDK's resume call: the chat's running stream, or 204 when there is none."""
    log = kit.state_of(request).runs.latest(VERCEL.name, request.path_params["chat_id"])
    if log is None or log.finished or log.status == "paused":
        return Response(status_code=204)
    return kit.rejoin(request, VERCEL, log)


def routes() -> list[Route]:
    return [
        Route("/api/chat", kit.run_route(VERCEL, _begin_chat), methods=["POST"]),
        Route("/api/chat/{chat_id}/stream", _resume_chat, methods=["GET"]),
    ]


DIALECT = kit.ServedDialect(("vercel",), routes)
