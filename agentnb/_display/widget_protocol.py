"""The chat cell's wire format: a run's state as the views receive it, and the ops that turn
one version of a turn into the next (the Development page, "The chat cell's wire")."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._core.client_tools import waits_to_send
from .._core.handle import RunHandle
from .._core.pricing import RunCost, price_call
from .._core.run import Run, ToolCall
from .._core.shown_call import ShownArgument, ShownCall, ShownVersion, shown_call
from .._core.text import excerpt
from ..events import Usage
from .run_text import cut_note, tool_output

__all__ = [
    "MAX_TOOL_OUTPUT_CHARS",
    "Turn",
    "meta_wire",
    "shown_wire",
    "tool_wire",
]

MAX_TOOL_OUTPUT_CHARS = 256_000
"""A tool output longer than this (as text) is sent cut to this length, marked truncated."""


def _jsonable(value: Any) -> Any:
    """``value`` if it is JSON data, else its ``str`` (tool outputs can be anything)."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


def _fields(source: object, names: str) -> dict[str, Any]:
    """The named attributes (space-separated) of ``source``, under their own names."""
    return {name: getattr(source, name) for name in names.split()}


def approval_wire(call: ToolCall) -> dict[str, Any] | None:
    """A call's approval as the views get it (None when nobody was asked to decide): its
    state, reason, question and answer, who decided (``decided_by``) and when
    (``decided_at``), what approving it for the run allows (``for_run``; ``agent_option``: the
    agent's own words for that choice, where the agent decides what it covers), and
    ``shown``, the call as a person deciding sees it (:func:`shown_wire`)."""
    approval = call.approval
    if approval is None:
        return None
    return {
        "state": {None: "awaiting", True: "approved", False: "denied"}[approval.approved],
        **_fields(approval, "reason decision_reason question"),
        "answer": _answer_text(approval.answer),
        **_fields(approval, "decided_by decided_at for_run agent_option"),
        "shown": shown_wire(call),
    }


def shown_wire(call: ToolCall) -> dict[str, Any]:
    """The call through :func:`~agentnb._core.shown_call.shown_call`, the one way a call is
    shown before a decision: ``name`` and every argument as ``[key, value, hidden]`` (made
    visible, values clipped with the count of what is hidden; a ``diff`` the card renders as
    lines points to them: :meth:`~agentnb._core.shown_call.ShownCall.beside_diff`),
    ``whole`` (the same unclipped, with ``aside``: the keys a dialect put aside, shown there
    only, for "Show whole call"), ``name_is_plain``, ``warnings``, ``others`` (the platform's other
    versions of the call that disagree with it: ``{where, name, arguments, whole}`` each) and
    ``protocol_error`` (why agentnb denies it whatever is answered, or None), and ``diff``
    (the lines of the diff it writes, each made visible, with a last line saying how many
    more there are; none when it writes none), ``head``: the approval's reason where it heads
    the call (:meth:`~agentnb._core.shown_call.ShownCall.head`), and ``sends``: what a read
    of the notebook sends (:attr:`~agentnb._core.shown_call.ShownCall.sends`)."""
    shown = shown_call(call)
    return {
        **_wired(shown, shown.beside_diff()),
        "name_is_plain": shown.name_is_plain,
        "aside": list(shown.aside),
        "warnings": shown.warnings(),
        "others": [
            {"where": other.where, **_wired(other, other.arguments)}
            for other in shown.other_versions
        ],
        "protocol_error": shown.protocol_error,
        "diff": shown.diff_lines(),
        "head": shown.head(),
        "sends": list(shown.sends),
    }


def _wired(version: ShownCall | ShownVersion, shown: Sequence[ShownArgument]) -> dict[str, Any]:
    """A call, or another version of it, as the views get it: its name, the arguments
    ``shown`` as ``[key, value, hidden]``, and the whole ones as ``[key, value]``."""
    arguments = [[a.key, a.value, a.hidden] for a in shown]
    whole = [[a.key, a.value] for a in version.whole_arguments]
    return {"name": version.name, "arguments": arguments, "whole": whole}


def _answer_text(answer: Any) -> str | None:
    """The answer as the view shows it: text, at most ``MAX_TOOL_OUTPUT_CHARS``."""
    if answer is None:
        return None
    text = answer if isinstance(answer, str) else json.dumps(_jsonable(answer))
    return text[:MAX_TOOL_OUTPUT_CHARS]


def _cost_wire(priced: RunCost | None) -> dict[str, Any]:
    """A run's or a call's cost, its source and why it is missing; None before usage is known
    (there is nothing to price and nothing to say)."""
    if priced is None:
        return {"cost": None, "cost_source": None, "cost_reason": None}
    return {"cost": priced.usd, "cost_source": priced.source, "cost_reason": priced.reason}


def tool_wire(call: ToolCall, *, with_arguments_text: bool = True) -> dict[str, Any]:
    """A tool call as the views get it; a huge output is cut to ``MAX_TOOL_OUTPUT_CHARS``.
    The streamed texts (arguments, a sub-agent's text and reasoning) only when sent whole:
    after that they grow by their own append ops."""
    usage = call.usage if isinstance(call.usage, Usage) else None
    wire: dict[str, Any] = {
        **_fields(call, "call_id name"),
        "arguments": _jsonable(call.arguments),
        **_fields(call, "error status"),
        "approval": approval_wire(call),
        **_fields(
            call,
            "unapproved started_at finished_at duration parent_call_id agent sub_agent depth",
        ),
        "usage": usage.model_dump() if usage is not None else None,
        **_fields(call, "model ran_by shown asks"),
        **_cost_wire(price_call(call) if usage is not None else None),
    }
    if with_arguments_text:
        wire.update({name: getattr(call, name) for name in _CALL_STREAMS})
    output = _jsonable(tool_output(call))
    text = output if isinstance(output, str) else json.dumps(output, indent=2)
    if len(text) > MAX_TOOL_OUTPUT_CHARS:
        wire["output"] = text[:MAX_TOOL_OUTPUT_CHARS]
        wire["output_truncated"] = True
        wire["output_chars"] = len(text)
    else:
        wire["output"] = output
    return wire


def meta_wire(run: Run) -> dict[str, Any]:
    """Run-level fields shown in the status line, error banner and chips. A view's clock
    ticks the agent's time of a run going on from ``started_at``, ``paused_seconds`` (ended
    pauses) and ``paused_at`` (a pause going on, where it stands still)."""
    return {
        **_fields(run, "status agent"),
        "message": run.asked,
        "sent": run.message
        if run.typed is not None and not waits_to_send(run.tool_calls)
        else None,
        **_fields(run, "run_id thread_id"),
        "usage": run.usage.model_dump() if run.usage else None,
        "model": run.model,
        **_cost_wire(run.priced if run.usage is not None else None),
        **_fields(run, "ttft started_at first_token_at finished_at"),
        "duration": run.duration if run.done else None,
        **_fields(run, "paused_seconds paused_at tokens_per_second execution_time"),
        "followups": list(run.followups),
        "finish_reason": run.finish_reason,
        "cut_note": cut_note(run),
        "error": run.error.to_dict() if run.error else None,
        "mode": run.extras.get("mode"),
        "plan": plan_wire(run.extras.get("plan")),
    }


PLAN_SHOWN = 200
"""How many of a plan's entries the views get (the rest are counted)."""


def plan_wire(plan: list[Any] | None) -> dict[str, Any] | None:
    """An agent's plan as the views show it: its first :data:`PLAN_SHOWN` entries
    (``content``, ``status``, ``priority``) and how many more there are; None: no plan."""
    if plan is None:
        return None
    entries = [
        {
            "content": excerpt(entry.get("content"), 1000, marked=True),
            "status": str(entry.get("status") or "pending"),
            "priority": entry.get("priority") if isinstance(entry.get("priority"), str) else None,
        }
        for entry in plan[:PLAN_SHOWN]
        if isinstance(entry, dict)
    ]
    return {"entries": entries, "more": max(0, len(plan) - PLAN_SHOWN)}


class _Same:
    """A value compared by identity: an interim output is replaced, never changed in place,
    so a new object is a new output, and comparing a large one costs nothing."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.value is self.value

    __hash__ = None  # type: ignore[assignment]


def _tool_signature(call: ToolCall) -> tuple[Any, ...]:
    """What, when it changes, sends the call's fields again."""
    approval = call.approval
    decided = (None, None) if approval is None else (approval.approved, approval.decision_reason)
    return (
        call.name,
        call.status,
        call.error,
        call.agent,
        call.sub_agent,
        call.usage,
        call.finished_at,
        call.arguments is None,
        approval is None,
        *decided,
        _Same(call.output),
        _Same(call.asks),
    )


def _suffix(chunks: list[str], total: int, start: int) -> str:
    """Characters ``start:total`` of the text held as ``chunks``, touching only the tail."""
    need = total - start
    picked: list[str] = []
    have = 0
    for chunk in reversed(chunks):
        picked.append(chunk)
        have += len(chunk)
        if have >= need:
            break
    tail = "".join(reversed(picked))
    return tail[len(tail) - need :]


# ---- one turn -----------------------------------------------------------------------------


@dataclass
class Turn:
    """A run shown by the widget, and what of it the views have been sent."""

    run: Run
    handle: RunHandle | None
    sent_text: list[int] = field(default_factory=list)
    sent_tools: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    sent_streams: dict[tuple[str, str], int] = field(default_factory=dict)
    """Per call and streamed field (:data:`_CALL_STREAMS`), how much of it the views have."""
    sent_meta: dict[str, Any] = field(default_factory=dict)
    sent_resets: tuple[int, int] = (0, 0)
    """The run's step resets and forgotten calls when the whole turn was last sent: when
    either changes, the parts sent may be gone, so the turn is sent whole again."""
    announced: bool = False
    ended: bool = False
    retryable: bool = True
    """Whether Retry and Edit may replace it (not a run of an MCP App view's call)."""
    started_as: str | None = None
    """How the person started this turn from the cell, when not by a plain message: ``"new"``
    (the first turn of a new conversation), ``"retry"`` (the last question again),
    ``"edit"`` (the last question, edited) or ``"continue"`` (the first message sent under an
    opened past run, on its thread)."""

    verdict: dict[str, Any] | None = None
    """The person's verdict on the run as kept (``{"value": bool, "comment": str | None}``)."""

    def meta(self) -> dict[str, Any]:
        """The run's fields, and ``local_id``: what a view knows a turn's run by when a
        snapshot comes (its turn kept and patched, or another run's drawn anew)."""
        run = self.run
        return {
            **meta_wire(run),
            "local_id": run.local_id,
            "started_as": self.started_as,
            "verdict": self.verdict,
        }

    def wire(self) -> dict[str, Any]:
        run = self.run
        return {
            "parts": [{"kind": p.kind, "text": p.text, "call_id": p.call_id} for p in run.parts],
            "tools": [tool_wire(c) for c in run.tool_calls],
            "meta": self.meta(),
        }

    def mark_all_sent(self) -> None:
        run = self.run
        self.sent_text = [p.length for p in run.parts]
        self.sent_tools = {c.call_id: _tool_signature(c) for c in run.tool_calls}
        self.sent_streams = {}
        for call in run.tool_calls:
            self._mark_streams_sent(call)
        self.sent_meta = self.meta()
        self.sent_resets = _resets(run)

    def diff(self, t: int) -> list[dict[str, Any]]:
        """The ops that bring a view from what was sent to the run's current state: the whole
        turn when it is new or a step was reset since, else only what grew or changed."""
        if not self.announced or _resets(self.run) != self.sent_resets:
            self.announced = True
            op = {"op": "turn", "t": t, "turn": self.wire()}
            self.mark_all_sent()
            return [op]
        ops: list[dict[str, Any]] = []
        parts = list(self.run.parts)
        for i, part in enumerate(parts):
            chunks = list(part.chunks)
            if i >= len(self.sent_text):
                ops.append(
                    {
                        "op": "part",
                        "t": t,
                        "i": i,
                        "kind": part.kind,
                        "call_id": part.call_id,
                        "text": _suffix(chunks, part.length, 0),
                    }
                )
                self.sent_text.append(part.length)
            elif part.length > self.sent_text[i]:
                text = _suffix(chunks, part.length, self.sent_text[i])
                ops.append({"op": "text", "t": t, "i": i, "text": text})
                self.sent_text[i] = part.length
        for call in list(self.run.tool_calls):
            ops.extend(self._tool_ops(t, call))
        meta = self.meta()
        changed = {k: v for k, v in meta.items() if self.sent_meta.get(k, object()) != v}
        if changed:
            ops.append({"op": "meta", "t": t, "meta": changed})
            self.sent_meta = meta
        return ops

    def _tool_ops(self, t: int, call: ToolCall) -> list[dict[str, Any]]:
        ops: list[dict[str, Any]] = []
        signature = _tool_signature(call)
        if call.call_id not in self.sent_tools:
            ops.append({"op": "tool", "t": t, "call": tool_wire(call)})
            self._mark_streams_sent(call)
        elif self.sent_tools[call.call_id] != signature:
            ops.append({"op": "tool", "t": t, "call": tool_wire(call, with_arguments_text=False)})
        self.sent_tools[call.call_id] = signature
        for name, op in _CALL_STREAMS.items():
            whole, sent = getattr(call, name), self.sent_streams.get((call.call_id, name), 0)
            if len(whole) > sent:
                ops.append({**op, "t": t, "call_id": call.call_id, "text": whole[sent:]})
        self._mark_streams_sent(call)
        return ops

    def _mark_streams_sent(self, call: ToolCall) -> None:
        for name in _CALL_STREAMS:
            self.sent_streams[call.call_id, name] = len(getattr(call, name))


def _resets(run: Run) -> tuple[int, int]:
    return (run.step_resets, run.forgotten_calls)


_CALL_STREAMS: dict[str, dict[str, str]] = {
    "arguments_text": {"op": "args"},
    "agent_reasoning": {"op": "agent_text", "kind": "reasoning"},
    "agent_text": {"op": "agent_text", "kind": "text"},
}
"""A call's texts that grow as they stream (its arguments, what a sub-agent thinks and writes
inside it), each sent whole once, then by the op here with what was added since."""
