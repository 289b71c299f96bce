"""Tool call and tool result payloads in their common spellings.

Several dialects announce a tool call as ``{name, arguments}`` and its result as
``{name, result}``, with or without an id. :class:`ToolFrames` gives each call an id and
matches a result to its call: by id, else by the oldest open call of that name, else by the
oldest open call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..events import Event, ToolCallDenied, ToolCallFinished, ToolCallStarted
from ._frames import as_dict, first_str, json_or_text

__all__ = ["ToolFrames"]

_ID_KEYS = ("id", "call_id", "callId", "toolCallId", "tool_call_id", "tool_id", "toolId")
_NAME_KEYS = ("name", "tool", "toolName", "tool_name")
_ARGUMENT_KEYS = ("arguments", "args", "input", "tool_args", "parameters")
_OUTPUT_KEYS = ("result", "output", "tool_output", "content", "data")


def _first_present(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        if key in obj and obj[key] is not None:
            return obj[key]
    return None


def _name_of(payload: Mapping[str, Any]) -> str | None:
    name = first_str(payload, *_NAME_KEYS)
    function = as_dict(payload.get("function"))
    if name is None and function is not None:
        name = first_str(function, "name")
    return name


def _error_of(payload: Mapping[str, Any]) -> str | None:
    error = payload.get("error")
    if isinstance(error, str):
        return error
    detail = as_dict(error)
    if detail is not None:
        return first_str(detail, "message", "detail") or "the tool call failed"
    if payload.get("is_error") is True or payload.get("isError") is True:
        return str(_first_present(payload, _OUTPUT_KEYS) or "the tool call failed")
    return None


class ToolFrames:
    """Reads tool frames for one run and keeps the calls still open."""

    def __init__(self) -> None:
        self._open: list[tuple[str, str]] = []
        self._made = 0

    def _new_id(self) -> str:
        self._made += 1
        return f"call_{self._made}"

    def started(self, payload: Mapping[str, Any]) -> list[Event] | None:
        name = _name_of(payload)
        if name is None:
            return None
        call_id = first_str(payload, *_ID_KEYS) or self._new_id()
        arguments = _first_present(payload, _ARGUMENT_KEYS)
        function = as_dict(payload.get("function"))
        if arguments is None and function is not None:
            arguments = function.get("arguments")
        self._open.append((call_id, name))
        return [ToolCallStarted(call_id=call_id, name=name, arguments=json_or_text(arguments))]

    def finished(self, payload: Mapping[str, Any]) -> list[Event] | None:
        call_id = first_str(payload, *_ID_KEYS) or self._match(_name_of(payload))
        if call_id is None:
            if _name_of(payload) is None:
                return None
            call_id = self._new_id()  # a result whose call we never saw: keep it anyway
        self._open = [(cid, name) for cid, name in self._open if cid != call_id]
        error = _error_of(payload)
        output = None if error is not None else _first_present(payload, _OUTPUT_KEYS)
        return [ToolCallFinished(call_id=call_id, output=output, error=error)]

    def denied(self, payload: Mapping[str, Any]) -> list[Event] | None:
        """A call that was not run because it was denied (agentnb's ``denied: true``)."""
        call_id = first_str(payload, *_ID_KEYS) or self._match(_name_of(payload))
        if call_id is None:
            return None
        self._open = [(cid, name) for cid, name in self._open if cid != call_id]
        return [ToolCallDenied(call_id=call_id, reason=first_str(payload, "reason"))]

    def _match(self, name: str | None) -> str | None:
        for call_id, open_name in self._open:
            if name is None or open_name == name:
                return call_id
        return None
