"""A sub-agent's steps in the UI message stream, as SeekrFlow sends them (agent-as-tool).

Each of a sub-agent's chunks comes wrapped in a data part::

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
as the top agent's ``finish`` says the run's.

The generic ``/api/chat`` stream uses the same part: to the AI SDK it is a data part
(``data-*``, any ``data``), which ``useChat`` keeps among the message's parts.
"""

from __future__ import annotations

import json
from typing import Any

from .._sse_responses import Frame, dumps
from .._steps import Nested, Reasoning, SubAgent, SubAgentDone, Text, ToolEnd, ToolStart
from .._tokens import split_chunks

__all__ = ["NESTED_PART", "NestedParts"]

NESTED_PART = "data-nestedToolEvent"
ARGUMENT_PIECE_CHARS = 12


class NestedParts:
    """One run's sub-agent chunks; keeps each sub-agent's open text or reasoning block."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, ...], tuple[SubAgent, str, str]] = {}
        """Open block by sub-agent path: (the sub-agent, "text" | "reasoning", block id)."""
        self.blocks = 0
        self.agents: dict[tuple[str, ...], SubAgent] = {}
        """Each sub-agent seen, by its path (the call that ran it)."""

    def render(self, nested: Nested) -> list[Frame]:
        where, step = nested.where, nested.step
        if isinstance(step, Text | Reasoning):
            return self._delta(where, step)
        frames = self._close(where.path)
        if isinstance(step, SubAgentDone):
            return [*frames, self._finish(where, step)]
        if isinstance(step, ToolStart):
            return [*frames, *self._tool_input(where, step)]
        return [*frames, *self.ended(where.call_path(step.call_id)), self._tool_output(where, step)]

    def ended(self, call_path: tuple[str, ...]) -> list[Frame]:
        """A delegating call ends: the blocks its sub-agents left open close."""
        inside = [path for path in self.open if path[: len(call_path)] == call_path]
        return [frame for path in inside for frame in self._close(path)]

    def _finish(self, where: SubAgent, done: SubAgentDone) -> Frame:
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

    def close_all(self) -> list[Frame]:
        return [frame for path in list(self.open) for frame in self._close(path)]

    def _part(self, where: SubAgent, path: tuple[str, ...], chunk: dict[str, Any]) -> Frame:
        metadata = {"agent_id": where.name, "parent_agent_id": where.parent}
        data = {
            "toolCallPath": list(path),
            "depth": where.depth,
            "sourceToolName": where.tool,
            "chunk": {**chunk, "providerMetadata": {"metadata": metadata}},
        }
        return Frame(dumps({"type": NESTED_PART, "data": data}))

    def _delta(self, where: SubAgent, step: Text | Reasoning) -> list[Frame]:
        kind = "text" if isinstance(step, Text) else "reasoning"
        frames: list[Frame] = []
        current = self.open.get(where.path)
        if current is None or current[1] != kind:
            frames += self._close(where.path)
            self.blocks += 1
            block = f"{kind}_nested_{self.blocks}"
            self.open[where.path] = (where, kind, block)
            frames.append(self._part(where, where.path, {"type": f"{kind}-start", "id": block}))
        block = self.open[where.path][2]
        delta = {"type": f"{kind}-delta", "id": block, "delta": step.text}
        return [*frames, self._part(where, where.path, delta)]

    def _close(self, path: tuple[str, ...]) -> list[Frame]:
        current = self.open.pop(path, None)
        if current is None:
            return []
        where, kind, block = current
        return [self._part(where, path, {"type": f"{kind}-end", "id": block})]

    def _tool_input(self, where: SubAgent, step: ToolStart) -> list[Frame]:
        path = where.call_path(step.call_id)
        ids = {"toolCallId": step.call_id}
        pieces = split_chunks(json.dumps(step.arguments), ARGUMENT_PIECE_CHARS)
        available = {"type": "tool-input-available", **ids, "toolName": step.name}
        return [
            self._part(where, path, {"type": "tool-input-start", **ids, "toolName": step.name}),
            *(
                self._part(where, path, {"type": "tool-input-delta", **ids, "inputTextDelta": p})
                for p in pieces
            ),
            self._part(where, path, {**available, "input": step.arguments}),
        ]

    def _tool_output(self, where: SubAgent, step: ToolEnd) -> Frame:
        path = where.call_path(step.call_id)
        ids = {"toolCallId": step.call_id}
        if step.error is not None:
            return self._part(
                where, path, {"type": "tool-output-error", **ids, "errorText": step.error}
            )
        return self._part(
            where, path, {"type": "tool-output-available", **ids, "output": step.output}
        )
