"""One OpenAI-compatible run as Chat Completions messages: what the next request of the
thread sends back.

A run may hold several model turns (a server that runs its tools streams each turn's
``tool_calls``, their results, then the next turn). Each turn becomes an ``assistant``
message with its ``content`` and ``tool_calls`` (arguments as a JSON string), followed by one
``tool`` message per result, as OpenAI defines a conversation with tools. A call whose result
never arrived (status ``no_result``) is left out: OpenAI refuses an assistant ``tool_calls``
entry that no ``tool`` message answers. Reasoning is not sent: Chat Completions has no field
for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .._core.transcript import Part

__all__ = ["TurnHistory"]


@dataclass
class _Call:
    call_id: str
    name: str
    arguments: Part = field(default_factory=lambda: Part("text"))
    result: str | None = None


@dataclass
class _Turn:
    content: Part = field(default_factory=lambda: Part("text"))
    """Kept as a run's text is, so a stream of tiny deltas keeps no object per delta."""
    calls: list[_Call] = field(default_factory=list)
    closed: bool = False


class TurnHistory:
    """Gathers one run's turns from its deltas, in order."""

    def __init__(self) -> None:
        self._turns: list[_Turn] = []
        self._calls: dict[str, _Call] = {}

    def _open_turn(self) -> _Turn:
        if not self._turns or self._turns[-1].closed:
            self._turns.append(_Turn())
        return self._turns[-1]

    @property
    def text(self) -> str:
        """The answer text of every turn so far."""
        return "".join(turn.content.text for turn in self._turns)

    def content(self, text: str) -> None:
        self._open_turn().content.append(text)

    def call_started(self, call_id: str, name: str) -> None:
        call = _Call(call_id, name)
        self._calls[call_id] = call
        self._open_turn().calls.append(call)

    def call_arguments(self, call_id: str, piece: str, *, whole: bool = False) -> None:
        """A piece of a call's arguments text; ``whole``: the arguments entire (sent parsed),
        which take the place of the pieces before them, as they do for the run."""
        call = self._calls.get(call_id)
        if call is not None:
            if whole:
                call.arguments.truncate(0)
            call.arguments.append(piece)

    def turn_ended(self) -> None:
        """The model ended its turn (``finish_reason``): later content starts a new one."""
        if self._turns:
            self._turns[-1].closed = True

    def result(self, call_id: str, output: Any = None, error: str | None = None) -> None:
        """A call's outcome; the turn that made the call is over."""
        call = self._calls.get(call_id)
        if call is None:
            return
        call.result = error if error is not None else _as_text(output)
        for turn in self._turns:
            if any(c is call for c in turn.calls):
                turn.closed = True

    def messages(self, *, pending: bool = False) -> list[dict[str, Any]]:
        """The turns as messages; with ``pending``, calls still waiting for a result (a run
        paused on them) are kept in their assistant message, with no ``tool`` message."""
        out: list[dict[str, Any]] = []
        for turn in self._turns:
            answered = [c for c in turn.calls if pending or c.result is not None]
            text = turn.content.text
            if not text and not answered:
                continue
            message: dict[str, Any] = {"role": "assistant", "content": text or None}
            if answered:
                message["tool_calls"] = [_tool_call(c) for c in answered]
            out.append(message)
            out.extend(
                {"role": "tool", "tool_call_id": c.call_id, "content": c.result}
                for c in answered
                if c.result is not None
            )
        return out


def _tool_call(call: _Call) -> dict[str, Any]:
    arguments = call.arguments.text or "{}"
    return {
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": arguments},
    }


def _as_text(output: Any) -> str:
    if isinstance(output, str):
        return output
    try:
        return json.dumps(output, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(output)
