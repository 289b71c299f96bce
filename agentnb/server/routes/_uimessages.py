"""The AI SDK's UI messages as a chat request carries them: the conversation so far, read
the way the SDK's ``convertToModelMessages`` reads it, and the approval decisions a client
sends back in the last assistant message (``addToolApprovalResponse``)."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .._steps import Decision
from ._route_kit import ChatMessage

__all__ = ["UIMessage", "UIPart", "approval_responses", "history_of"]

_RESULT_STATES = ("output-available", "output-error", "output-denied")


class UIPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None
    toolCallId: str | None = None
    toolName: str | None = None
    state: str | None = None
    input: Any = None
    output: Any = None
    errorText: str | None = None
    approval: dict[str, Any] | None = None

    @property
    def is_tool(self) -> bool:
        return self.type.startswith("tool-") or self.type == "dynamic-tool"

    @property
    def tool_name(self) -> str:
        if self.type == "dynamic-tool":
            return self.toolName or ""
        return self.type[len("tool-") :]


class UIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str | None = None
    role: Literal["system", "user", "assistant"]
    parts: list[UIPart] | None = None
    content: str | None = None

    def text(self) -> str:
        if self.parts is None:
            return self.content or ""
        return "".join(part.text or "" for part in self.parts if part.type == "text")


def history_of(messages: list[UIMessage]) -> tuple[ChatMessage, ...]:
    """The conversation as chat messages: an assistant message becomes, step by step, the
    step's text, reasoning and tool calls, then one ``tool`` message per result."""
    history: list[ChatMessage] = []
    for message in messages:
        if message.role != "assistant" or message.parts is None:
            history.append(ChatMessage(message.role, message.text()))
            continue
        for step in _steps(message.parts):
            history.extend(_step_messages(step))
    return tuple(history)


def _steps(parts: list[UIPart]) -> list[list[UIPart]]:
    steps: list[list[UIPart]] = [[]]
    for part in parts:
        if part.type == "step-start":
            steps.append([])
        else:
            steps[-1].append(part)
    return [step for step in steps if step]


def _step_messages(step: list[UIPart]) -> list[ChatMessage]:
    calls = [p for p in step if p.is_tool and p.toolCallId and p.state != "input-streaming"]
    assistant = ChatMessage(
        "assistant",
        "".join(p.text or "" for p in step if p.type == "text"),
        tool_calls=tuple(_call(p) for p in calls),
        reasoning="".join(p.text or "" for p in step if p.type == "reasoning"),
    )
    results = [
        ChatMessage("tool", _result(p), tool_call_id=p.toolCallId)
        for p in calls
        if p.state in _RESULT_STATES
    ]
    return [assistant, *results]


def _call(part: UIPart) -> dict[str, Any]:
    arguments = json.dumps(part.input if part.input is not None else {})
    function = {"name": part.tool_name, "arguments": arguments}
    return {"id": part.toolCallId, "type": "function", "function": function}


def _result(part: UIPart) -> str:
    if part.state == "output-available":
        return json.dumps(part.output)
    if part.state == "output-error":
        return part.errorText or "the tool call failed"
    reason = (part.approval or {}).get("reason")
    return reason if isinstance(reason, str) else "Tool call execution denied."


def approval_responses(message: UIMessage) -> dict[str, Decision]:
    """The decisions in an assistant message, by approval id: its tool parts in state
    ``approval-responded`` (what the SDK's ``addToolApprovalResponse`` makes)."""
    decisions: dict[str, Decision] = {}
    for part in message.parts or []:
        approval = part.approval or {}
        approval_id, approved = approval.get("id"), approval.get("approved")
        if part.state != "approval-responded" or not part.toolCallId:
            continue
        if isinstance(approval_id, str) and isinstance(approved, bool):
            reason = approval.get("reason")
            decisions[approval_id] = Decision(
                part.toolCallId, approved, reason if isinstance(reason, str) else None
            )
    return decisions
