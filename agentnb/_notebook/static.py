"""The static copy of a chat cell: what a notebook shows where the widget cannot run.

JupyterLab does not save widget state by default, and nbconvert, GitHub and VS Code without
the widget renderer show only plain outputs, so the display bundle also carries a sanitized
``text/html`` transcript, a ``text/markdown`` one and a ``text/plain`` summary.

Agent output is untrusted. The HTML copy renders markdown with raw HTML off (markdown-it-py's
``commonmark`` preset with ``html=False``; its default preset would pass HTML through),
refuses script links (``validateLink``), turns remote images into links (an image URL is an
exfiltration channel) and escapes everything else. The markdown copy is read by renderers
that allow raw HTML (JupyterLab, nbconvert): the answer is re-written by
:mod:`agentnb._notebook.safe_markdown` and every other field is escaped text or fenced code.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .._core.run import Run, ToolCall
from .._core.text import terminal_safe
from .safe_markdown import code_block, one_line, safe_markdown

__all__ = [
    "render_markdown_html",
    "static_bundle",
    "static_html",
    "static_markdown",
    "static_text",
]

TOOL_OUTPUT_PREVIEW = 4000
"""Characters of a tool's output kept in the static copy."""
PLAIN_ANSWER_CHARS = 4000
"""Characters of the answer kept in the ``text/plain`` summary."""

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

_SAFE_DATA_IMAGE = re.compile(r"^data:image/(?:png|gif|jpe?g|webp|avif);base64,", re.IGNORECASE)


def _render_image(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    alt = self.renderInlineAsText(token.children or [], options, env)
    if _SAFE_DATA_IMAGE.match(src):
        return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}">'
    label = html.escape(alt or src)
    return f'<a href="{html.escape(src)}" rel="noopener noreferrer nofollow">🖼 {label}</a>'


def _make_markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.add_render_rule("image", _render_image)
    return md


_MD = _make_markdown()


def render_markdown_html(source: str) -> str:
    """Untrusted markdown → HTML with no raw HTML, no script links and no remote images."""
    rendered: str = _MD.render(source)
    return rendered


# ---- per-run pieces -----------------------------------------------------------------------


def _format_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return repr(value)


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… ({len(text) - limit:,} more characters)"


def _seconds(value: float | None) -> str:
    if value is None:
        return ""
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.1f} s"


def _tool_arguments(call: ToolCall) -> str:
    if call.arguments is not None:
        return _format_value(call.arguments)
    return call.arguments_text


def _tool_heading(call: ToolCall) -> tuple[str, str]:
    """The call's glyph, and its status with its duration (``denied · 2 ms``)."""
    duration = f" · {_seconds(call.duration)}" if call.duration is not None else ""
    return TOOL_MARKS.get(call.status, "…"), TOOL_LABELS.get(call.status, call.status) + duration


def _approval_notes(call: ToolCall) -> list[str]:
    """Lines on the human decision a call needed, and on a result that never came."""
    notes: list[str] = []
    approval = call.approval
    if approval is not None:
        asked = f"Approval requested: {approval.reason}" if approval.reason else ""
        if approval.question is not None:
            asked = f"{call.name or 'The agent'} asked: {terminal_safe(approval.question)}"
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
    """A human's answer as one note: text without control characters, anything else as
    JSON."""
    return terminal_safe(answer if isinstance(answer, str) else json.dumps(answer, default=str))


def _tool_error(call: ToolCall) -> tuple[str, str] | None:
    """The label and text of a call's error, or of the reason it was denied."""
    if not call.error:
        return None
    if call.status == "denied":
        decided = call.approval is not None and call.approval.decision_reason == call.error
        return None if decided else ("Denied", call.error)
    return "Error", call.error


def _waiting_line(run: Run) -> str:
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
        bits.append(_seconds(run.duration))
    if run.ttft is not None:
        bits.append(f"first token {_seconds(run.ttft)}")
    usage = run.usage
    if usage is not None:
        counts = [
            f"{n:,} {label}"
            for n, label in (
                (usage.prompt_tokens, "in"),
                (usage.completion_tokens, "out"),
                (usage.total_tokens, "total"),
            )
            if n is not None
        ]
        if counts:
            bits.append("tokens " + " · ".join(counts))
    rate = run.tokens_per_second
    if rate is not None:
        bits.append(f"{rate:.1f} tok/s")
    if run.run_id:
        bits.append(f"run {run.run_id}")
    return " · ".join(bits)


def _error_line(run: Run) -> str:
    error = run.error
    if error is None or run.status not in ("failed", "interrupted"):
        return ""
    line = f"{error.code or run.status}: {error.message}"
    if error.retry_after is not None:
        line += f" (retry after {_seconds(error.retry_after)})"
    return line


# ---- HTML -------------------------------------------------------------------------------


def _tool_html(call: ToolCall) -> str:
    mark, state = _tool_heading(call)
    # A call waiting for a decision is shown open: its arguments are what must be judged.
    opened = " open" if call.status == "awaiting_approval" else ""
    out = [
        f"<details{opened}><summary>",
        f"{mark} <code>{html.escape(call.name or 'tool')}</code> {html.escape(state)}</summary>",
    ]
    arguments = _tool_arguments(call)
    if arguments:
        out.append(f"<p>Arguments</p><pre><code>{html.escape(arguments)}</code></pre>")
    out += [f"<p><em>{html.escape(note)}</em></p>" for note in _approval_notes(call)]
    if call.output is not None:
        output = _clip(_format_value(call.output), TOOL_OUTPUT_PREVIEW)
        out.append(f"<p>Output</p><pre><code>{html.escape(output)}</code></pre>")
    error = _tool_error(call)
    if error is not None:
        out.append(f"<p><strong>{error[0]}:</strong> {html.escape(error[1])}</p>")
    out.append("</details>")
    return "".join(out)


def _run_html(run: Run) -> str:
    out = ['<div class="agentnb-run">']
    if run.agent or run.message:
        out.append(
            f"<p><strong>{html.escape(run.agent)}</strong> "
            f"<em>{html.escape(_clip(run.message, 500))}</em></p>"
        )
    for part in run.parts:
        if part.kind == "text":
            out.append(render_markdown_html(part.text))
        elif part.kind == "reasoning":
            out.append(
                "<details><summary>Reasoning</summary>"
                f"<pre>{html.escape(part.text)}</pre></details>"
            )
        elif part.call_id is not None:
            call = run.tool_call(part.call_id)
            if call is not None:
                out.append(_tool_html(call))
    if not run.done:
        out.append(f"<p><em>{html.escape(_waiting_line(run))}</em></p>")
    error = _error_line(run)
    if error:
        out.append(f'<p role="alert"><strong>Error</strong> {html.escape(error)}</p>')
    if run.followups:
        items = "".join(f"<li>{html.escape(q)}</li>" for q in run.followups)
        out.append(f"<p>Follow-up questions:</p><ul>{items}</ul>")
    out.append(f"<p><small>{html.escape(status_line(run))}</small></p>")
    out.append("</div>")
    return "".join(out)


def static_html(runs: Sequence[Run]) -> str:
    """The sanitized HTML transcript of ``runs`` (one chat cell)."""
    body = "<hr>".join(_run_html(run) for run in runs)
    return f'<div class="agentnb-static">{body}</div>'


# ---- markdown ---------------------------------------------------------------------------


def _run_markdown(run: Run) -> str:
    out: list[str] = []
    if run.agent or run.message:
        header = f"**{one_line(run.agent or 'agent')}**"
        message = one_line(_clip(run.message, 500))
        out.append(f"{header} — *{message}*" if message else header)
    for part in run.parts:
        if part.kind == "text":
            out.append(safe_markdown(part.text))
        elif part.kind == "reasoning":
            out.append(_reasoning_markdown(part.text))
        elif part.call_id is not None:
            call = run.tool_call(part.call_id)
            if call is not None:
                out.append(_tool_markdown(call))
    if not run.done:
        out.append(f"*{one_line(_waiting_line(run))}*")
    error = _error_line(run)
    if error:
        out.append(f"**Error** {one_line(error)}")
    if run.followups:
        items = "\n".join(f"- {one_line(q)}" for q in run.followups if q.strip())
        out.append(f"Follow-up questions:\n\n{items}")
    out.append(f"*{one_line(status_line(run))}*")
    return "\n\n".join(part for part in out if part)


def _reasoning_markdown(text: str) -> str:
    lines = [one_line(line) for line in text.replace("\r", "\n").split("\n")]
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    return f"> *Reasoning*\n>\n{quoted}"


def _tool_markdown(call: ToolCall) -> str:
    mark, state = _tool_heading(call)
    lines = [f"{mark} tool **{one_line(call.name or 'tool')}** {one_line(state)}"]
    arguments = _tool_arguments(call)
    if arguments:
        lines.append(code_block(arguments))
    lines += [f"*{one_line(note)}*" for note in _approval_notes(call)]
    if call.output is not None:
        lines.append(code_block(_clip(_format_value(call.output), TOOL_OUTPUT_PREVIEW)))
    error = _tool_error(call)
    if error is not None:
        lines.append(f"{error[0]}:\n\n" + code_block(error[1]))
    return "\n\n".join(lines)


def static_markdown(runs: Sequence[Run]) -> str:
    """The markdown transcript of ``runs``, safe for renderers that allow raw HTML: the
    answer stays markdown (re-written inert by :func:`safe_markdown`), everything else is
    escaped text or fenced code."""
    return "\n\n---\n\n".join(_run_markdown(run) for run in runs)


# ---- plain text -------------------------------------------------------------------------


def static_text(runs: Sequence[Run], *, answer_chars: int | None = PLAIN_ANSWER_CHARS) -> str:
    """A plain-text summary: per run, a header line, the tools, the answer (clipped to
    ``answer_chars``; None keeps it whole, 0 leaves it out) and the error."""
    blocks: list[str] = []
    for run in runs:
        header = f"agentnb · {run.agent or 'agent'} · {status_line(run)}"
        lines = [header]
        tools = ", ".join(_tool_text(c) for c in run.tool_calls)
        if tools:
            lines.append(f"tools: {tools}")
        text = run.text
        if text and answer_chars != 0:
            lines.append(text if answer_chars is None else _clip(text, answer_chars))
        error = _error_line(run)
        if error:
            lines.append(f"error: {error}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) if blocks else "agentnb chat (no runs yet)"


def _tool_text(call: ToolCall) -> str:
    """``name ✓``, ``name denied (reason)``, ``name awaiting approval``..."""
    state = "✓" if call.status == "succeeded" else TOOL_LABELS.get(call.status, call.status)
    why = f" ({' '.join(call.error.split())})" if call.status == "denied" and call.error else ""
    return f"{call.name or 'tool'} {state}{why}"


def static_bundle(runs: Sequence[Run]) -> dict[str, str]:
    """``text/html``, ``text/markdown`` and ``text/plain`` for a display bundle."""
    return {
        "text/html": static_html(runs),
        "text/markdown": static_markdown(runs),
        "text/plain": static_text(runs),
    }
