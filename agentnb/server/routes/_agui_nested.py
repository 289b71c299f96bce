"""Sub-agents in AG-UI 1.0: its own ``SUBAGENT_*`` events and ``subagentRunId`` attribution.

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
from typing import Any, Literal

from .._sse_responses import Frame, dumps
from .._steps import (
    Nested,
    Reasoning,
    SubAgent,
    SubAgentDone,
    Text,
    ToolEnd,
    ToolStart,
    run_wide_id,
)

__all__ = ["SubagentEvents"]

Kind = Literal["text", "reasoning"]


def subagent_run_id(call_path: tuple[str, ...]) -> str:
    """The invocation a delegating call started (one per call, so two analysts differ)."""
    return f"subagent:{run_wide_id(call_path)}"


class SubagentEvents:
    """One run's sub-agent events; keeps each sub-agent's open text or reasoning message."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.open: dict[tuple[str, ...], tuple[Kind, str]] = {}
        """The open message of each sub-agent, by the path of the call that started it."""
        self.count = 0
        self.delegated: set[tuple[str, ...]] = set()
        """The calls that started a sub-agent, by path."""

    def _event(self, kind: str, **fields: Any) -> Frame:
        return Frame(dumps({"type": kind, **fields}))

    def started(self, call_path: tuple[str, ...], step: ToolStart) -> list[Frame]:
        """A call (of the top agent when ``call_path`` has one id) that runs a sub-agent."""
        if step.delegate is None:
            return []
        self.delegated.add(call_path)
        above = {"parentSubagentRunId": subagent_run_id(call_path[:-1])} if call_path[1:] else {}
        return [
            self._event(
                "SUBAGENT_STARTED",
                subagentRunId=subagent_run_id(call_path),
                name=step.delegate,
                parentToolCallId=run_wide_id(call_path),
                **above,
            )
        ]

    def ended(self, call_path: tuple[str, ...], step: ToolEnd) -> list[Frame]:
        """A call ends: if it ran a sub-agent, the sub-agent's messages close and it ends."""
        inside = [path for path in self.open if path[: len(call_path)] == call_path]
        frames = [frame for path in inside for frame in self._close(path)]
        if call_path not in self.delegated:
            return frames
        run = subagent_run_id(call_path)
        if step.error is not None:
            return [*frames, self._event("SUBAGENT_ERROR", subagentRunId=run, message=step.error)]
        return [*frames, self._event("SUBAGENT_FINISHED", subagentRunId=run, result=step.output)]

    def render(self, nested: Nested) -> list[Frame]:
        where, step = nested.where, nested.step
        if isinstance(step, Text | Reasoning):
            return self._delta(where, step)
        frames = self._close(where.path)
        if isinstance(step, SubAgentDone):  # AG-UI gives a sub-agent no usage of its own
            return frames
        call_path = where.call_path(step.call_id)
        attribution = {"subagentRunId": subagent_run_id(where.path)}
        call_id = run_wide_id(call_path)
        if isinstance(step, ToolStart):
            name = {"toolCallId": call_id, "toolCallName": step.name, **attribution}
            arguments = {"toolCallId": call_id, "delta": json.dumps(step.arguments)}
            return [
                *frames,
                self._event("TOOL_CALL_START", **name),
                self._event("TOOL_CALL_ARGS", **arguments, **attribution),
                self._event("TOOL_CALL_END", toolCallId=call_id, **attribution),
                *self.started(call_path, step),
            ]
        content = step.error if step.error is not None else json.dumps(step.output)
        result = self._event(
            "TOOL_CALL_RESULT",
            messageId=f"result_{call_id}",
            toolCallId=call_id,
            content=content,
            role="tool",
            **attribution,
        )
        return [*frames, *self.ended(call_path, step), result]

    def close_all(self) -> list[Frame]:
        return [frame for path in list(self.open) for frame in self._close(path)]

    def _delta(self, where: SubAgent, step: Text | Reasoning) -> list[Frame]:
        kind: Kind = "text" if isinstance(step, Text) else "reasoning"
        attribution = {"subagentRunId": subagent_run_id(where.path)}
        frames: list[Frame] = []
        current = self.open.get(where.path)
        if current is None or current[0] != kind:
            frames += self._close(where.path)
            self.count += 1
            message_id = f"msg_{self.run_id}_sub_{self.count}"
            self.open[where.path] = (kind, message_id)
            frames += self._opening(kind, message_id, attribution)
        message_id = self.open[where.path][1]
        content = "TEXT_MESSAGE_CONTENT" if kind == "text" else "REASONING_MESSAGE_CONTENT"
        return [*frames, self._event(content, messageId=message_id, delta=step.text, **attribution)]

    def _opening(self, kind: Kind, message_id: str, attribution: dict[str, str]) -> list[Frame]:
        if kind == "text":
            return [
                self._event(
                    "TEXT_MESSAGE_START", messageId=message_id, role="assistant", **attribution
                )
            ]
        return [
            self._event("REASONING_START", messageId=message_id, **attribution),
            self._event(
                "REASONING_MESSAGE_START", messageId=message_id, role="reasoning", **attribution
            ),
        ]

    def _close(self, path: tuple[str, ...]) -> list[Frame]:
        current = self.open.pop(path, None)
        if current is None:
            return []
        kind, message_id = current
        attribution = {"subagentRunId": subagent_run_id(path)}
        if kind == "text":
            return [self._event("TEXT_MESSAGE_END", messageId=message_id, **attribution)]
        return [
            self._event("REASONING_MESSAGE_END", messageId=message_id, **attribution),
            self._event("REASONING_END", messageId=message_id, **attribution),
        ]
