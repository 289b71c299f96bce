"""The markdown and plain-text static copies of a chat cell (the HTML one is in
:mod:`agentnb._display.static_copy`).

The markdown copy is read by renderers that allow raw HTML: the answer is re-written inert by
:func:`~agentnb._display.safe_markdown.safe_markdown` and every other field is escaped text
or fenced code, each cleaned first (:func:`~agentnb._display.static_pieces.clean`). A call
made inside another is quoted one level deeper (up to ``MAX_INDENT`` levels) and names its
agent; the plain text indents it.
"""

from __future__ import annotations

from collections.abc import Sequence

from .._core.run import Run, ToolCall
from .._core.text import excerpt, terminal_safe
from .call_tree import MAX_INDENT, CallTree, call_tree
from .safe_markdown import code_block, one_line, safe_markdown
from .static_pieces import (
    TOOL_LABELS,
    TOOL_OUTPUT_PREVIEW,
    approval_notes,
    call_labels,
    clean,
    clip,
    error_line,
    format_value,
    status_line,
    sub_agent_body,
    sub_agent_title,
    tool_arguments,
    tool_error,
    tool_heading,
    waiting_line,
)

__all__ = ["PLAIN_ANSWER_CHARS", "static_markdown", "static_text"]

PLAIN_ANSWER_CHARS = 4000
"""Characters of the answer kept in the ``text/plain`` summary."""


def _line(text: str) -> str:
    """Untrusted text as one inert markdown line."""
    return one_line(clean(text))


def _code(text: str) -> str:
    """Untrusted text as a fenced block nothing in it can close."""
    return code_block(clean(text))


# ---- markdown ---------------------------------------------------------------------------


def _run_markdown(run: Run) -> str:
    tree = call_tree(run.tool_calls)
    out: list[str] = []
    if run.agent or run.message:
        header = f"**{_line(run.agent or 'agent')}**"
        message = _line(clip(run.message, 500))
        out.append(f"{header} — *{message}*" if message else header)
    for part in run.parts:
        if part.kind == "text":
            out.append(safe_markdown(clean(part.text)))
        elif part.kind == "reasoning":
            out.append(_reasoning_markdown(part.text))
        elif part.call_id is not None:
            call = run.tool_call(part.call_id)
            if call is not None and not tree.is_nested(call):
                out.append(_tool_markdown(call, tree))
    if not run.done:
        out.append(f"*{_line(waiting_line(run))}*")
    error = error_line(run)
    if error:
        out.append(f"**Error** {_line(error)}")
    if run.followups:
        items = "\n".join(f"- {_line(q)}" for q in run.followups if q.strip())
        out.append(f"Follow-up questions:\n\n{items}")
    out.append(f"*{_line(status_line(run))}*")
    return "\n\n".join(part for part in out if part)


def _reasoning_markdown(text: str) -> str:
    lines = [_line(line) for line in clean(text).split("\n")]
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"> *Reasoning*\n>\n{quoted}"


def _quoted(blocks: list[str], level: int) -> list[str]:
    """``blocks`` inside ``level`` block quotes (capped at ``MAX_INDENT``)."""
    depth = min(level, MAX_INDENT)
    if depth == 0:
        return blocks
    mark = ">" * depth
    return ["\n".join(f"{mark} {line}" if line else mark for line in b.split("\n")) for b in blocks]


def _call_head_markdown(call: ToolCall, tree: CallTree) -> list[str]:
    mark, state = tool_heading(call)
    nested = "↳ " if tree.is_nested(call) else ""
    labels = "".join(f" · {_line(label)}" for label in call_labels(call, tree))
    blocks = [f"{nested}{mark} tool **{_line(call.name or 'tool')}** {_line(state)}{labels}"]
    arguments = tool_arguments(call)
    if arguments:
        blocks.append(_code(arguments))
    blocks += [f"*{_line(note)}*" for note in approval_notes(call)]
    if call.agent_text or call.agent_reasoning:
        blocks += [f"*{_line(sub_agent_title(call, tree))}*", _code(sub_agent_body(call))]
    return blocks


def _call_tail_markdown(call: ToolCall) -> list[str]:
    blocks = []
    if call.output is not None:
        blocks.append(_code(clip(format_value(call.output), TOOL_OUTPUT_PREVIEW)))
    error = tool_error(call)
    if error is not None:
        blocks.append(f"{error[0]}:\n\n" + _code(error[1]))
    return blocks


def _tool_markdown(call: ToolCall, tree: CallTree) -> str:
    """A top-level call and, quoted under it, the calls made inside it."""
    blocks: list[str] = []
    for node, opening in tree.walk(call):
        level = tree.level.get(node.call_id, 0)
        # A call's own lines sit at its level; its output follows the calls inside it.
        mine = _call_head_markdown(node, tree) if opening else _call_tail_markdown(node)
        blocks += _quoted(mine, level)
    return "\n\n".join(blocks)


def static_markdown(runs: Sequence[Run]) -> str:
    """The markdown transcript of ``runs``, safe for renderers that allow raw HTML: the
    answer stays markdown (re-written inert by :func:`safe_markdown`), everything else is
    escaped text or fenced code."""
    return "\n\n---\n\n".join(_run_markdown(run) for run in runs)


# ---- plain text -------------------------------------------------------------------------


def static_text(runs: Sequence[Run], *, answer_chars: int | None = PLAIN_ANSWER_CHARS) -> str:
    """A plain-text summary: per run, a header line, the tools (a tree, indented, when
    sub-agents made calls), the answer (clipped to ``answer_chars``; None keeps it whole, 0
    leaves it out) and the error. Cleaned of control characters."""
    blocks: list[str] = []
    for run in runs:
        header = f"agentnb · {run.agent or 'agent'} · {status_line(run)}"
        lines = [header, *_tools_text(run)]
        text = run.text
        if text and answer_chars != 0:
            lines.append(text if answer_chars is None else clip(text, answer_chars))
        error = error_line(run)
        if error:
            lines.append(f"error: {error}")
        blocks.append("\n".join(lines))
    return terminal_safe("\n\n".join(blocks) if blocks else "agentnb chat (no runs yet)")


def _tools_text(run: Run) -> list[str]:
    tree = call_tree(run.tool_calls)
    if not tree.has_nesting and not any(c.agent_text for c in run.tool_calls):
        tools = ", ".join(_tool_text(c) for c in run.tool_calls)
        return [f"tools: {tools}"] if tools else []
    lines = ["tools:"]
    for root in (c for c in run.tool_calls if not tree.is_nested(c)):
        for call, opening in tree.walk(root):
            if not opening:
                continue
            level = tree.level.get(call.call_id, 0)
            indent = "  " * (min(level, MAX_INDENT) + 1)
            labels = "".join(f" · {label}" for label in call_labels(call, tree))
            lines.append(f"{indent}{'↳ ' if level else ''}{_tool_text(call)}{labels}")
            if call.agent_text:
                said = excerpt(call.agent_text, 120)
                lines.append(f"{indent}  {sub_agent_title(call, tree)}: {said}")
    return lines


def _tool_text(call: ToolCall) -> str:
    """``name ✓``, ``name denied (reason)``, ``name awaiting approval``..."""
    state = "✓" if call.status == "succeeded" else TOOL_LABELS.get(call.status, call.status)
    why = f" ({' '.join(call.error.split())})" if call.status == "denied" and call.error else ""
    return f"{call.name or 'tool'} {state}{why}"
