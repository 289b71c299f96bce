"""Sub-agent chunks wrapped in ``data-nestedToolEvent`` parts (SeekrFlow's agent-as-tool).
As in the ``seekrai`` SDK, a nested call is keyed by its whole tool-call path, so parallel
nested calls that reuse an id under different parents stay apart; what a sub-agent says it
spent is the usage of the call that ran it."""

from __future__ import annotations

from typing import Any

from ..events import (
    Event,
    ReasoningDelta,
    TextDelta,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
    attributed_delta,
)
from ._frames import as_dict, first_str, model_name, parse_usage

__all__ = ["NESTED_PART", "NestedCalls", "message_usage", "path_key"]

NESTED_PART = "data-nestedToolEvent"
"""The part type that wraps a sub-agent's chunk."""

_SEPARATOR = "/"


def path_key(path: list[str]) -> str:
    """The run-wide id of the call a tool-call path ends at."""
    return _SEPARATOR.join(path)


def _path_of(data: dict[str, Any]) -> list[str]:
    raw = data.get("toolCallPath")
    return [item for item in raw if isinstance(item, str) and item] if isinstance(raw, list) else []


def message_usage(frame: dict[str, Any]) -> tuple[Usage | None, str | None]:
    """The usage and model a ``start`` / ``message-metadata`` / ``finish`` chunk names (in
    ``messageMetadata``, or ``usage`` beside it)."""
    metadata = as_dict(frame.get("messageMetadata")) or {}
    usage = parse_usage(frame.get("usage")) or parse_usage(metadata.get("usage"))
    return usage, model_name(metadata.get("model")) or model_name(metadata.get("modelId"))


def _agent_of(chunk: dict[str, Any]) -> str | None:
    for key in ("providerMetadata", "messageMetadata"):
        metadata = as_dict((as_dict(chunk.get(key)) or {}).get("metadata")) or {}
        agent = first_str(metadata, "agent_id")
        if agent:
            return agent
    return None


class NestedCalls:
    """Turns nested parts into events of the call tree; one instance per run."""

    def __init__(self) -> None:
        self._arguments: dict[str, Any] = {}
        self._spent: dict[str, tuple[Usage | None, str | None]] = {}
        """What each sub-agent said it spent, by the id of the call that ran it."""

    def spent_in(self, call_id: str) -> dict[str, Any]:
        """The ``usage`` and ``model`` fields of ``call_id``'s end: what the sub-agent it ran
        said it spent (nothing when it said nothing)."""
        usage, model = self._spent.pop(call_id, (None, None))
        return {"usage": usage, "model": model}

    def translate(self, frame: dict[str, Any]) -> list[Event] | None:
        """Events for one ``data-nestedToolEvent`` part; None when its shape is unknown."""
        data = as_dict(frame.get("data")) or {}
        chunk = as_dict(data.get("chunk"))
        kind = first_str(chunk, "type") if chunk is not None else None
        if chunk is None or kind is None:
            return None
        path = _path_of(data)
        agent = _agent_of(chunk)
        if kind in ("text-delta", "reasoning-delta"):
            return self._delta(kind, chunk, path, agent)
        if kind.startswith("tool-"):
            return self._tool(kind, chunk, path, agent)
        if kind in _SPENDING and path:
            self._note_spent(path_key(path), *message_usage(chunk))
        return [] if kind in _QUIET else None

    def _note_spent(self, call_id: str, usage: Usage | None, model: str | None) -> None:
        before, named = self._spent.get(call_id, (None, None))
        self._spent[call_id] = (usage.merged(before) if usage else before, model or named)

    def _delta(
        self, kind: str, chunk: dict[str, Any], path: list[str], agent: str | None
    ) -> list[Event] | None:
        delta = first_str(chunk, "delta", "textDelta", "text")
        if delta is None:
            return None
        parent = path_key(path) or None
        if kind == "text-delta":
            return [attributed_delta(TextDelta, delta, parent, agent)]
        return [attributed_delta(ReasoningDelta, delta, parent, agent)]

    def _tool(
        self, kind: str, chunk: dict[str, Any], path: list[str], agent: str | None
    ) -> list[Event] | None:
        own = first_str(chunk, "toolCallId")
        if own is None:
            return None
        full = path if path and path[-1] == own else [*path, own]
        call_id, parent = path_key(full), path_key(full[:-1]) or None
        name = first_str(chunk, "toolName") or ""
        if kind == "tool-input-start":
            self._arguments.setdefault(call_id, None)
            return [ToolCallStarted(call_id=call_id, name=name, parent_call_id=parent, agent=agent)]
        if kind == "tool-input-delta":
            delta = first_str(chunk, "inputTextDelta")
            return (
                None if delta is None else [ToolCallDelta(call_id=call_id, arguments_delta=delta)]
            )
        if kind == "tool-input-available":
            return self._input_available(call_id, name, parent, agent, chunk.get("input"))
        if kind == "tool-output-available":
            arguments = self._arguments.pop(call_id, None)
            output = chunk.get("output")
            spent = self.spent_in(call_id)
            return [ToolCallFinished(call_id=call_id, output=output, arguments=arguments, **spent)]
        if kind == "tool-output-error":
            error = first_str(chunk, "errorText") or "the tool call failed"
            return [ToolCallFinished(call_id=call_id, error=error, **self.spent_in(call_id))]
        return None

    def _input_available(
        self, call_id: str, name: str, parent: str | None, agent: str | None, arguments: Any
    ) -> list[Event]:
        if call_id in self._arguments:  # started by tool-input-start: keep for the result
            self._arguments[call_id] = arguments
            return []
        self._arguments[call_id] = arguments
        started = ToolCallStarted(
            call_id=call_id, name=name, arguments=arguments, parent_call_id=parent, agent=agent
        )
        return [started]


_QUIET = frozenset(
    {"start", "finish", "start-step", "finish-step", "text-start", "text-end"}
    | {"reasoning-start", "reasoning-end", "message-metadata"}
)
"""A sub-agent's lifecycle chunks: its own start/finish must not end the top run."""
_SPENDING = frozenset({"start", "message-metadata", "finish"})
"""The chunks whose ``messageMetadata`` may say what the sub-agent spent."""
