"""A run as plain text, written one way for every text view: the terminal printer's lines, the
notebook's plain view, a run printed outside a notebook, and the chat cell's ``text/plain``
copy.

The whole run reads: what the agent thought (``thinking: ...``), each tool call on one line
(``→ name(key: value) [tokens ...] ✓ output``, then ``⚠ approved by the server itself, not
by you`` where it ran without the user's approval; a call made inside another indented under it
with its agent, ``↳ [agent] → ...``, and what a sub-agent wrote inside a call on a ``┆``
line), the answer, and the summary line (status, times, tokens, model and cost, run id,
tool calls, error).

Everything a server sent goes through :func:`~agentnb._core.text.excerpt` or
:func:`~agentnb._core.text.terminal_safe` first, so a server cannot write the clipboard,
retitle the window or clear the screen through the answer."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

from .._core.pricing import price_call, usd
from .._core.run import Run, ToolCall
from .._core.shown_call import shown_call
from .._core.statuses import DENIED
from .._core.text import excerpt, seconds, terminal_safe, visible
from ..events import Usage
from .call_tree import MAX_INDENT, call_tree

__all__ = [
    "CLIENT_TOOL_NOTE",
    "NO_RESULT_NOTE",
    "TOOL_MARKS",
    "call_head",
    "call_spent",
    "cut_note",
    "denial_note",
    "indent",
    "no_result_note",
    "plan_done",
    "plan_items",
    "plan_lines",
    "run_text",
    "seconds",
    "status_line",
    "summary_line",
    "tool_name",
    "tool_output",
    "waiting_question",
]

TOOL_MARKS = {
    "succeeded": "✓",
    "failed": "✗",
    "denied": "⊘",
    "no_result": "?",
    "awaiting_approval": "‖",
}
"""The glyph of each finished or waiting tool status (a running call shows ``…``)."""
NO_RESULT_NOTE = (
    "The run ended without the platform reporting this call's result: its arguments are "
    "known, its output is not."
)
"""What ``no_result`` means, said next to such a call."""
TOKEN_LIMIT_REASONS = frozenset(
    {"length", "max_tokens", "max_output_tokens", "model_context_window_exceeded"}
)
"""The finish reasons of an answer the model's token limit cut: Chat Completions', the AI
SDK's and the Responses API's (``incomplete_details``, normalised) ``length``, Anthropic's
``max_tokens`` and its full context window. The widget shows :func:`cut_note`'s words, sent
with the run."""
CLIENT_TOOL_NOTE = (
    "The agent left this call for the client to run and waits for its output: send the "
    "output with the next turn."
)
"""What a call means that the platform left for the client (:attr:`Run.client_tool_calls`)."""


def no_result_note(run: Run, call: ToolCall) -> str:
    """Why ``call`` has no result: left for the client, or never reported."""
    return CLIENT_TOOL_NOTE if call in run.client_tool_calls else NO_RESULT_NOTE


NAME_CHARS = 80
"""Characters of a tool's name, and of each argument's value, on a call's line."""


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


def call_spent(call: ToolCall) -> str:
    """What a sub-agent spent inside ``call``, where the platform says:
    ``tokens 10 in · 20 out · 30 total · gpt-4o-mini · $0.000012`` (empty for a plain tool).
    The cost is the one the history keeps for the call (``price_call``)."""
    tokens = tokens_text(call.usage if isinstance(call.usage, Usage) else None)
    if not tokens:
        return ""
    cost = price_call(call).usd
    bits = [
        tokens,
        *([call.model] if call.model else []),
        *([usd(cost)] if cost is not None else []),
    ]
    return " · ".join(bits)


def cut_note(run: Run) -> str:
    """What the run shown leaves out (empty: nothing); every view says these words:
    ``answer cut at the token limit (length)`` for a completed run whose answer the model's
    token limit ended, in the platform's word, and ``1,234 earlier tool calls not kept`` for
    a run that forgot its oldest calls (:attr:`Run.forgotten_calls`), and
    ``ended at your denial of execute`` for a run the agent ended at a denial
    (:func:`denial_note`)."""
    reason = run.finish_reason if run.status == "completed" else None
    notes = [
        f"answer cut at the token limit ({reason})" if reason in TOKEN_LIMIT_REASONS else "",
        denial_note(run) if reason == DENIED else "",
        f"{run.forgotten_calls:,} earlier tool calls not kept" if run.forgotten_calls else "",
    ]
    return " · ".join(note for note in notes if note)


def denial_note(run: Run) -> str:
    """Why a run the agent ended at a denial has no more to say: whose decision it was."""
    denied = [c for c in run.tool_calls if c.status == "denied" and c.approval is not None]
    if not denied:
        return "ended at a denial"
    call = denied[-1]
    assert call.approval is not None
    who = {"user": "your", "policy": "your approve= policy's"}.get(
        call.approval.decided_by or "user", "the server's"
    )
    return f"ended at {who} denial of {visible(call.name or 'a tool call')}"


def status_line(run: Run) -> str:
    """One line: status (and an answer cut at the token limit), duration, time to first
    token, tokens, rate, model and cost, run id."""
    status: str = "paused — waiting for approval" if run.status == "paused" else run.status
    if run.client_tool_calls:
        status = "completed — waiting for the client's tool output"
    rate = run.tokens_per_second
    bits = [
        status,
        cut_note(run),
        seconds(run.duration) if run.done and run.duration is not None else "",
        f"first token {seconds(run.ttft)}" if run.ttft is not None else "",
        tokens_text(run.usage),
        f"{rate:.1f} tok/s" if rate is not None else "",
        run.model or "",
        usd(run.cost) if run.cost is not None else "",
        f"run {run.run_id}" if run.run_id else "",
    ]
    return " · ".join(bit for bit in bits if bit)


def summary_line(run: Run) -> str:
    """The :func:`status_line`, then the tools (with how many were denied or never reported a
    result) and the error, safe for a terminal."""
    bits = [status_line(run)]
    if run.tool_calls:
        statuses = [call.status for call in run.tool_calls]
        odd = [
            f"{statuses.count(status)} {label}"
            for status, label in (("denied", "denied"), ("no_result", "without a result"))
            if status in statuses
        ]
        if run.unapproved_calls:
            odd.append(f"{len(run.unapproved_calls)} without your approval")
        bits.append(f"{len(run.tool_calls)} tool call(s)" + (f" ({', '.join(odd)})" if odd else ""))
    if run.error is not None:  # what the platform said first, the error's name after it
        retry = run.error.retry_after
        after = f" (retry after {seconds(retry)})" if retry is not None else ""
        code = f" [{run.error.code}]" if run.error.code else ""
        bits.append(f"error: {run.error.message}{after}{code}")
    return terminal_safe(" · ".join(bits))


def indent(level: int) -> str:
    """Two spaces per level of nesting, at most ``MAX_INDENT`` levels."""
    return "  " * min(level, MAX_INDENT)


def call_head(call: ToolCall, level: int) -> str:
    """A call's line up to its outcome, indented by its level: ``→ name(key: value, ...)``
    as :func:`~agentnb._core.shown_call.shown_call` shows it (every key, long values clipped,
    nothing invisible), with its warnings and the platform's other versions of it, flagged;
    a call made inside another is marked ``↳ [agent]`` (and says its depth past the cap)."""
    mark = ""
    if level > 0:
        depth = f"[depth {level}] " if level > MAX_INDENT else ""
        mark = f"↳ {depth}" + (f"[{excerpt(call.agent, 40, marked=True)}] " if call.agent else "")
    shown = shown_call(call, value_chars=NAME_CHARS)
    flags = "".join(f"  ⚠ {note}" for note in shown.warnings())
    flags += "".join(
        f"  ⚠ also sent, in {other.where}: {other.signature()}" for other in shown.other_versions
    )
    where = "  (in your notebook)" if call.ran_by == "client" else ""
    return f"{indent(level)}{mark}→ {shown.signature()}{where}{flags}"


def tool_name(call: ToolCall) -> str:
    """The call's name as it is shown (made visible; ``tool`` when it has none)."""
    return visible(call.name) if call.name else "tool"


QUESTION_CHARS = 300
"""Characters of a waiting question's message a copy says (the card shows it whole)."""


def waiting_question(call: ToolCall) -> str:
    """``book asks: MESSAGE (a form of 2 fields)``: the question ``call`` waits on a person
    for (an MCP server's, ``call.asks``), its message cut and every character that would not
    show as itself made visible; empty when it waits on none."""
    asks = call.asks
    if not asks:
        return ""
    message = excerpt(asks.get("message"), QUESTION_CHARS, marked=True)
    if asks.get("mode") == "url":
        what = f"a link to {excerpt(asks.get('host'), NAME_CHARS, marked=True)}"
    else:
        count = len(asks.get("fields") or []) + int(asks.get("hidden") or 0)
        what = "a form of 1 field" if count == 1 else f"a form of {count:,} fields"
    return f"{tool_name(call)} asks: {message} ({what})"


def tool_output(call: ToolCall) -> Any:
    """A call's output as a person reads it. A notebook tool that printed keeps
    ``{"returned": ..., "printed": ...}`` (the agent receives the returned value alone): shown
    as that value, then what it printed, each with its own line breaks. Any other output as
    it is."""
    output = call.output
    if call.ran_by == "client" and isinstance(output, dict) and set(output) == _RETURNED_PRINTED:
        return f"{output['returned']}\n\nPrinted:\n{output['printed']}"
    return output


_RETURNED_PRINTED = {"returned", "printed"}


PLAN_MARKS = {"completed": "☑", "in_progress": "◐", "pending": "☐"}
"""The glyph of each plan entry's status."""
PLAN_LINES = 30
"""How many of a plan's entries its text shows (the rest are counted)."""


def plan_items(entries: list[Any]) -> list[tuple[str, str, str]]:
    """A plan's first :data:`PLAN_LINES` entries as every view's text shows them: each one's
    mark, text and priority (bounded, marked where they would not show as themselves), then
    how many more there are."""
    shown: list[tuple[str, str, str]] = []
    for entry in entries[:PLAN_LINES]:
        item = entry if isinstance(entry, dict) else {}
        mark = PLAN_MARKS.get(str(item.get("status")), PLAN_MARKS["pending"])
        priority = item.get("priority")
        said = excerpt(priority, 20, marked=True) if priority else ""
        shown.append((mark, excerpt(item.get("content"), 200, marked=True), said))
    if len(entries) > PLAN_LINES:
        shown.append(("…", f"{len(entries) - PLAN_LINES:,} more entries", ""))
    return shown


def plan_lines(entries: list[Any]) -> list[str]:
    """A plan as a checklist, one line an entry (``☑ read the code (high)``)."""
    return ["plan:"] + [
        f"  {mark} {text}" + (f" ({priority})" if priority else "")
        for mark, text, priority in plan_items(entries)
    ]


SETTINGS_SHOWN = 8
"""How many of a session's settings a run's line of them names."""


def settings_line(run: Run) -> str:
    """The session's settings the run was in, where the agent has them (an ACP session's
    model, mode, effort: ``model sonnet · mode plan``), as text, each marked where it would
    not show as itself; empty where none is known."""
    config = run.extras.get("config")  # a history file's may be anything
    said: dict[str, object] = dict(config) if isinstance(config, dict) else {}
    if not said and run.extras.get("mode"):
        said = {"mode": run.extras["mode"]}
    bits = [
        f"{excerpt(key, 40, marked=True)} {excerpt(str(value), 80, marked=True)}"
        for key, value in list(said.items())[:SETTINGS_SHOWN]
    ]
    more = len(said) - SETTINGS_SHOWN
    return " · ".join(bits) + (f" · {more:,} more" if more > 0 else "")


def plan_done(entries: list[Any]) -> str:
    """A plan's title as the views show it: ``Plan · 1 of 3 done``."""
    done = sum(1 for e in entries if isinstance(e, dict) and e.get("status") == "completed")
    return f"Plan · {done:,} of {len(entries):,} done"


def run_text(run: Run, *, text_chars: int | None = None) -> str:
    """The whole run as plain text; ``text_chars`` cuts its reasoning and its answer (None
    keeps them whole)."""
    limit = sys.maxsize if text_chars is None else text_chars
    lines: list[str] = []
    if run.reasoning:
        lines.append("thinking: " + excerpt(run.reasoning.strip(), limit, lines=True))
    if run.extras.get("plan"):
        lines += plan_lines(run.extras["plan"])
    tree = call_tree(run.tool_calls)
    for root in (call for call in run.tool_calls if not tree.is_nested(call)):
        for call, opening in tree.walk(root):
            if opening:
                lines += _call_lines(call, tree.level[call.call_id])
    if run.text:
        lines.append(excerpt(run.text, limit, lines=True))
    lines.append(summary_line(run))
    return "\n".join(lines)


def decision(call: ToolCall) -> str:
    """``approved by you 14:01:52``: who decided on the call and when; empty before a decision
    and for a call that ran without the user's approval (its own mark says so)."""
    approval = call.approval
    if approval is None or approval.approved is None or call.unapproved:
        return ""
    verb = "denied" if not approval.approved else "answered" if approval.answer else "approved"
    at = approval.decided_at
    when = f" {datetime.fromtimestamp(at).astimezone():%H:%M:%S}" if at is not None else ""
    return f"{verb} {_DECIDED_BY[approval.decided_by or 'user']}{when}"


_DECIDED_BY = {"user": "by you", "policy": "by your approve= policy", "server": "by the server"}


def _call_lines(call: ToolCall, level: int) -> list[str]:
    """A call's line (with what was spent inside it, where the platform says) and one line
    of what its sub-agent wrote (named as the live printer names it)."""
    spent = call_spent(call)
    spent = f" [{spent}]" if spent else ""
    unapproved = f"  ⚠ {call.unapproved}" if call.unapproved else ""
    decided = decision(call)
    if call.status == "denied":  # its outcome already says denied
        decided = decided.removeprefix("denied ")
    decided = f" · {decided}" if decided else ""
    lines = [f"{call_head(call, level)}{spent} {_outcome(call)}{decided}{unapproved}"]
    if call.asks:
        lines.append(f"{indent(level + 1)}‖ {waiting_question(call)}: waiting for an answer")
    if call.agent_text:
        who = excerpt(call.sub_agent, 40, marked=True) if call.sub_agent else "sub-agent"
        lines.append(f"{indent(level + 1)}┆ {who}: {excerpt(call.agent_text, 160, marked=True)}")
    return lines


def _outcome(call: ToolCall) -> str:
    """How a call ended (or waits), after its arguments."""
    mark = TOOL_MARKS.get(call.status, "…")
    match call.status:
        case "running":
            return "…"
        case "awaiting_approval":
            return f"{mark} awaiting approval"
        case "denied":
            return f"{mark} denied" + (
                f": {excerpt(call.error, 120, marked=True)}" if call.error else ""
            )
        case "no_result":
            return f"{mark} no result (the platform never reported it)"
        case "failed":
            return f"{mark} {excerpt(call.error, 120, marked=True)}".rstrip()
    return f"{mark} {excerpt(tool_output(call), 120, marked=True)}".rstrip()
