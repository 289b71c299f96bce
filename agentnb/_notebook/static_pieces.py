"""What the three static copies (HTML, markdown, text) say about a run and its tool calls,
before each writes it in its own form.

Every string a server sent is untrusted; it reaches a copy only through :func:`clean` (the
copies' escaping helpers call it), so control characters and terminal sequences never reach
a saved notebook, whichever field carried them.
"""

from __future__ import annotations

import json
from typing import Any

from .._core.pricing import usd
from .._core.run import Run, ToolCall
from .._core.text import terminal_safe
from ..events import Usage
from .call_tree import MAX_INDENT, CallTree, sub_agent_name

__all__ = [
    "NO_RESULT_NOTE",
    "TOOL_LABELS",
    "TOOL_MARKS",
    "clean",
    "cost_text",
    "status_line",
    "tokens_text",
]

TOOL_OUTPUT_PREVIEW = 4000
"""Characters of a tool's output kept in the static copy."""
SUB_AGENT_PREVIEW = 4000
"""Characters of a sub-agent's text (and of its reasoning) kept in the static copy."""

TOOL_MARKS = {
    "succeeded": "✓",
    "failed": "✗",
    "denied": "⊘",
    "no_result": "?",
    "awaiting_approval": "‖",
}
"""The glyph of each finished or waiting tool status (a running call shows ``…``)."""
TOOL_LABELS = {"awaiting_approval": "awaiting approval", "no_result": "no result"}
"""How a tool status reads where it is not its own name."""
NO_RESULT_NOTE = (
    "The run ended without the platform reporting this call's result: its arguments are "
    "known, its output is not."
)
"""What ``no_result`` means, said next to such a call."""


def clean(text: str) -> str:
    """Untrusted text without control characters or terminal sequences
    (:func:`~agentnb._core.text.terminal_safe`), carriage returns read as line breaks."""
    return terminal_safe(text.replace("\r\n", "\n").replace("\r", "\n"))


def format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError, RecursionError):
        return repr(value)


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"


def tokens_text(usage: Usage | None) -> str:
    """``tokens 10 in · 20 out · 30 total`` (empty when no figure is known)."""
    if usage is None:
        return ""
    counts = [
        f"{n:,} {label}"
        for n, label in (
            (usage.prompt_tokens, "in"),
            (usage.completion_tokens, "out"),
            (usage.total_tokens, "total"),
        )
        if n is not None
    ]
    return "tokens " + " · ".join(counts) if counts else ""


def cost_text(run: Run) -> str:
    """``gpt-4o-mini · $0.000435``: the model and the cost, as far as they are known."""
    bits = [run.model] if run.model else []
    if run.cost is not None:
        bits.append(usd(run.cost))
    return " · ".join(bits)


def tool_arguments(call: ToolCall) -> str:
    if call.arguments is not None:
        return format_value(call.arguments)
    return call.arguments_text


def tool_heading(call: ToolCall) -> tuple[str, str]:
    """The call's glyph, and its status with its duration (``denied · 2 ms``)."""
    duration = f" · {seconds(call.duration)}" if call.duration is not None else ""
    return TOOL_MARKS.get(call.status, "…"), TOOL_LABELS.get(call.status, call.status) + duration


def call_labels(call: ToolCall, tree: CallTree) -> list[str]:
    """What follows a call's status: its agent, its tokens, and its depth once the
    indentation stopped growing."""
    labels = [f"agent {call.agent}"] if call.agent else []
    tokens = tokens_text(call.usage if isinstance(call.usage, Usage) else None)
    if tokens:
        labels.append(tokens)
    level = tree.level.get(call.call_id, 0)
    if level > MAX_INDENT:
        labels.append(f"depth {level}")
    return labels


def sub_agent_title(call: ToolCall, tree: CallTree) -> str:
    """The heading of the text a sub-agent streamed inside ``call``."""
    name = sub_agent_name(call, tree)
    size = len(call.agent_text) + len(call.agent_reasoning)
    return f"{f'Sub-agent {name}' if name else 'Sub-agent'} text ({size:,} characters)"


def sub_agent_body(call: ToolCall) -> str:
    """A sub-agent's reasoning and text inside one call, clipped."""
    pieces = []
    if call.agent_reasoning:
        pieces.append("Reasoning: " + clip(call.agent_reasoning, SUB_AGENT_PREVIEW))
    if call.agent_text:
        pieces.append(clip(call.agent_text, SUB_AGENT_PREVIEW))
    return "\n\n".join(pieces)


def approval_notes(call: ToolCall) -> list[str]:
    """Lines on the human decision a call needed, and on a result that never came."""
    notes: list[str] = []
    approval = call.approval
    if approval is not None:
        asked = f"Approval requested: {approval.reason}" if approval.reason else ""
        if approval.question is not None:
            asked = f"{call.name or 'The agent'} asked: {approval.question}"
        if approval.approved is None:
            decided = "Waiting for a human to approve or deny this call."
        elif approval.approved and approval.answer is not None:
            decided = f"Answered: {_answer_text(approval.answer)}"
        else:
            verb = "Approved" if approval.approved else "Denied"
            why = approval.decision_reason
            decided = f"{verb}: {why}" if why else f"{verb}."
        notes += [line for line in (asked, decided) if line]
    if call.status == "no_result":
        notes.append(NO_RESULT_NOTE)
    return notes


def _answer_text(answer: Any) -> str:
    """A human's answer as one note: text as it is, anything else as JSON."""
    return answer if isinstance(answer, str) else json.dumps(answer, default=str)


def tool_error(call: ToolCall) -> tuple[str, str] | None:
    """The label and text of a call's error, or of the reason it was denied."""
    if not call.error:
        return None
    if call.status == "denied":
        decided = call.approval is not None and call.approval.decision_reason == call.error
        return None if decided else ("Denied", call.error)
    return "Error", call.error


def waiting_line(run: Run) -> str:
    """What a copy of a run that has not ended says in place of the final answer."""
    if run.status == "paused":
        names = ", ".join(c.name or "tool" for c in run.awaiting_approval) or "a tool call"
        return f"Paused: waiting for a human to approve {names}."
    return "Running… the final answer appears here when the run ends."


def status_line(run: Run) -> str:
    """One line: status, duration, time to first token, tokens, rate, run id."""
    status = "paused — waiting for approval" if run.status == "paused" else run.status
    bits: list[str] = [status]
    if run.done and run.duration is not None:
        bits.append(seconds(run.duration))
    if run.ttft is not None:
        bits.append(f"first token {seconds(run.ttft)}")
    tokens = tokens_text(run.usage)
    if tokens:
        bits.append(tokens)
    rate = run.tokens_per_second
    if rate is not None:
        bits.append(f"{rate:.1f} tok/s")
    priced = cost_text(run)
    if priced:
        bits.append(priced)
    if run.run_id:
        bits.append(f"run {run.run_id}")
    return " · ".join(bits)


def error_line(run: Run) -> str:
    error = run.error
    if error is None or run.status not in ("failed", "interrupted"):
        return ""
    line = f"{error.code or run.status}: {error.message}"
    if error.retry_after is not None:
        line += f" (retry after {seconds(error.retry_after)})"
    return line
