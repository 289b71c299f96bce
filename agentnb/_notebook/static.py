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
import re
from collections.abc import Sequence
from datetime import datetime

from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from .._core.run import Run, ToolCall
from .call_tree import MAX_INDENT, CallTree, call_tree
from .static_pieces import (
    NO_RESULT_NOTE,
    TOOL_LABELS,
    TOOL_MARKS,
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
from .static_text import PLAIN_ANSWER_CHARS, static_markdown, static_text

__all__ = [
    "NO_RESULT_NOTE",
    "PLAIN_ANSWER_CHARS",
    "REOPENED_STYLE",
    "TOOL_LABELS",
    "TOOL_MARKS",
    "render_markdown_html",
    "static_bundle",
    "static_html",
    "static_markdown",
    "static_text",
    "status_line",
]

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
    rendered: str = _MD.render(clean(source))
    return rendered


# ---- HTML -------------------------------------------------------------------------------


def _esc(text: str) -> str:
    """Untrusted text as HTML text: cleaned, then escaped."""
    return html.escape(clean(text))


def _call_open_html(call: ToolCall, tree: CallTree) -> str:
    """A call's card up to the calls made inside it: heading, arguments, notes, and the text
    its sub-agent streamed (collapsed). A call waiting for a decision is shown open (its
    arguments are what must be judged), and so is one still running or with a sub-agent's
    work inside (the tree shows); a done call is folded to its heading, as in the live cell."""
    mark, state = tool_heading(call)
    inside = tree.inside(call)
    holds_work = bool(inside or call.agent_text or call.agent_reasoning)
    live = call.status in ("awaiting_approval", "running")
    opened = " open" if live or holds_work else ""
    labels = "".join(f" · {_esc(label)}" for label in call_labels(call, tree))
    out = [
        f"<details{opened}><summary>",
        f"{mark} <code>{_esc(call.name or 'tool')}</code> {_esc(state)}",
        f"<small>{labels}</small></summary>" if labels else "</summary>",
    ]
    arguments = tool_arguments(call)
    if arguments:
        out.append(f"<p>Arguments</p><pre><code>{_esc(arguments)}</code></pre>")
    out += [f"<p><em>{_esc(note)}</em></p>" for note in approval_notes(call)]
    if call.agent_text or call.agent_reasoning:
        out.append(
            f"<details><summary>{_esc(sub_agent_title(call, tree))}</summary>"
            f"<pre>{_esc(sub_agent_body(call))}</pre></details>"
        )
    if inside and tree.level.get(call.call_id, 0) < MAX_INDENT:
        out.append("<blockquote>")
    return "".join(out)


def _call_close_html(call: ToolCall, tree: CallTree) -> str:
    """The rest of a call's card, after the calls made inside it: output and error."""
    out = []
    if tree.inside(call) and tree.level.get(call.call_id, 0) < MAX_INDENT:
        out.append("</blockquote>")
    if call.output is not None:
        output = clip(format_value(call.output), TOOL_OUTPUT_PREVIEW)
        out.append(f"<p>Output</p><pre><code>{_esc(output)}</code></pre>")
    error = tool_error(call)
    if error is not None:
        out.append(f"<p><strong>{error[0]}:</strong> {_esc(error[1])}</p>")
    out.append("</details>")
    return "".join(out)


def _tool_html(call: ToolCall, tree: CallTree) -> str:
    """A top-level call with the calls made inside it, as nested ``<details>``."""
    return "".join(
        _call_open_html(node, tree) if opening else _call_close_html(node, tree)
        for node, opening in tree.walk(call)
    )


def _question_html(run: Run) -> str:
    """The person's question as the live cell shows it: "You → agent · time" (the full date
    on hover), then the question at the answer's size, in a quote of its own."""
    caption = "<strong>You</strong>"
    if run.agent:
        caption += f" → <strong>{_esc(run.agent)}</strong>"
    if run.started_at is not None:
        when = datetime.fromtimestamp(run.started_at).astimezone()
        caption += (
            f' · <time datetime="{when.isoformat(timespec="seconds")}"'
            f' title="{when.strftime("%A %d %B %Y, %H:%M:%S %Z")}">{when.strftime("%H:%M")}</time>'
        )
    message = (
        f'<blockquote class="agentnb-question"><p>{_esc(clip(run.message, 500))}</p></blockquote>'
        if run.message
        else ""
    )
    return f"<p><small>{caption}</small></p>{message}"


def _run_html(run: Run) -> str:
    tree = call_tree(run.tool_calls)
    out = ['<div class="agentnb-run">']
    if run.agent or run.message:
        out.append(_question_html(run))
    for part in run.parts:
        if part.kind == "text":
            out.append(render_markdown_html(part.text))
        elif part.kind == "reasoning":
            out.append(
                f"<details><summary>Reasoning</summary><pre>{_esc(part.text)}</pre></details>"
            )
        elif part.call_id is not None:
            call = run.tool_call(part.call_id)
            if call is not None and not tree.is_nested(call):
                out.append(_tool_html(call, tree))
    if not run.done:
        out.append(f"<p><em>{_esc(waiting_line(run))}</em></p>")
    error = error_line(run)
    if error:
        out.append(f'<p role="alert"><strong>Error</strong> {_esc(error)}</p>')
    if run.followups:
        items = "".join(f"<li>{_esc(q)}</li>" for q in run.followups)
        out.append(f"<p>Follow-up questions:</p><ul>{items}</ul>")
    out.append(f"<p><small>{_esc(status_line(run))}</small></p>")
    out.append("</div>")
    return "".join(out)


def static_html(runs: Sequence[Run]) -> str:
    """The sanitized HTML transcript of ``runs`` (one chat cell)."""
    body = "<hr>".join(_run_html(run) for run in runs)
    return f'<div class="agentnb-static">{body}</div>'


REOPENED_STYLE = (
    "<style>"
    ".jp-OutputArea-child:has(> .jp-OutputArea-output.jupyter-widgets:not([data-mime-type]))"
    ":has(+ .jp-OutputArea-child > .jp-OutputArea-output > .agentnb-static)"
    "{display:none}"
    "</style>"
)
"""Hides the live view's output in front of the copy when the widget manager could not show
it: in a notebook reopened without its kernel's widgets (JupyterLab and Notebook 7 do not
save widget state by default) it says "Error displaying widget: model not found", and the
copy is what the notebook shows. The manager marks that output node, and only then, with the
``jupyter-widgets`` class (a rendered view is its child, not it). Lumino apps render a trusted
notebook's HTML as is (a notebook saved where it ran is trusted); an untrusted one's sanitizer
drops the ``<style>``, and the error shows as before."""


def static_bundle(runs: Sequence[Run]) -> dict[str, str]:
    """``text/html``, ``text/markdown`` and ``text/plain`` for a display bundle (the HTML with
    `REOPENED_STYLE`, for the notebook a display lands in)."""
    return {
        "text/html": static_html(runs) + REOPENED_STYLE,
        "text/markdown": static_markdown(runs),
        "text/plain": static_text(runs),
    }
