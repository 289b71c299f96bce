"""The static copy of a chat cell, for where the widget cannot run (a notebook reopened
without widget state, nbconvert, GitHub): sanitized ``text/html``, inert ``text/markdown`` and
``text/plain`` (:mod:`.run_text`), built from one list of blocks per run.

Agent output is untrusted: every string a server sent reaches a copy only through
:func:`clean`, the HTML renders markdown with raw HTML off (:mod:`.safe_markdown`), and the
markdown copy, read by renderers that allow raw HTML, re-writes the answer inert. A call is
shown as a person deciding on it sees it (:func:`~agentnb._core.shown_call.shown_call`). The
Security page says what each copy defends against."""

from __future__ import annotations

import base64
import functools
import html
import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from markdown_it.token import Token

from .._core.rich_result import APP_VIEW_MIME
from .._core.run import Run, ToolCall
from .._core.shown_call import ShownArgument, ShownCall, shown_call
from .._core.text import excerpt, terminal_safe, visible
from .call_tree import MAX_INDENT, CallTree, call_tree, sub_agent_name
from .history_columns import MONTHS
from .run_text import (
    TOOL_MARKS,
    call_spent,
    decision,
    no_result_note,
    plan_done,
    plan_items,
    run_text,
    seconds,
    settings_line,
    status_line,
    tool_name,
    tool_output,
    waiting_question,
)
from .safe_html import safe_html
from .safe_markdown import (
    NO_MATH,
    code_block,
    markdown_html,
    one_line,
    parse_markdown,
    safe_markdown,
)

__all__ = [
    "BREAK_LONG_WORDS",
    "REOPENED_STYLE",
    "clean",
    "static_bundle",
    "static_html",
    "static_markdown",
    "static_root",
    "static_text",
]

TOOL_OUTPUT_PREVIEW = 4000
"""Characters of a tool's output kept in the static copy."""
SUB_AGENT_PREVIEW = 4000
"""Characters of a sub-agent's text (and of its reasoning) kept in the static copy."""
MESSAGE_CHARS = 500
"""Characters of the message asked kept in the HTML and markdown copies."""
PLAIN_ANSWER_CHARS = 4000
"""Characters of the answer (and of the reasoning) kept in the ``text/plain`` copy."""
ARGUMENT_VALUE_CHARS = 2000
"""Characters of one argument value kept in the HTML and markdown copies (each clipped value
says how many characters it hides)."""
TOOL_LABELS = {"awaiting_approval": "awaiting approval", "no_result": "no result"}
"""How a tool status reads where it is not its own name."""


# ---- what the copies say ------------------------------------------------------------------


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


def argument_lines(call: ShownCall, *, whole: bool = False) -> str:
    """Every argument of a shown call on a line of its own, ``key: value``, then the
    platform's other versions of the call, flagged."""
    texts = [argument.text() for argument in (call.whole_arguments if whole else call.arguments)]
    return "\n".join([*texts, *call.other_lines(whole=whole)])


def call_warnings(call: ShownCall) -> list[str]:
    """What a person must know about a call's name and arguments, and how much is clipped."""
    notes = [f"⚠ {note}" for note in call.warnings()]
    if call.clipped:
        notes.append(f"{call.left_out()} here")
    return notes


def tool_heading(call: ToolCall) -> tuple[str, str]:
    """The call's glyph, and its status with who decided on it and when, and the tool's own
    time (``succeeded · approved by you 14:01:52 · 2 ms``), as the live card's head says."""
    duration = f" · {seconds(call.duration)}" if call.duration is not None else ""
    label = TOOL_LABELS.get(call.status, call.status)
    decided = decision(call)
    if decided:
        label = decided if decided.startswith(f"{label} ") else f"{label} · {decided}"
    if call.ran_by == "client":
        label += " · in your notebook"
    return TOOL_MARKS.get(call.status, "…"), label + duration


def call_labels(call: ToolCall, tree: CallTree) -> list[str]:
    """What follows a call's status: its agent, what was spent inside it, and its depth
    once the indentation stopped growing."""
    labels = [f"agent {call.agent}"] if call.agent else []
    spent = call_spent(call)
    if spent:
        labels.append(spent)
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
        pieces.append("Reasoning: " + excerpt(call.agent_reasoning, SUB_AGENT_PREVIEW, lines=True))
    if call.agent_text:
        pieces.append(excerpt(call.agent_text, SUB_AGENT_PREVIEW, lines=True))
    return "\n\n".join(pieces)


def approval_notes(run: Run, call: ToolCall, shown: ShownCall) -> list[str]:
    """Lines on the human decision a call needed (``shown``: the call as the copy shows
    it), and on a result that never came."""
    notes: list[str] = []
    approval = call.approval
    if approval is not None:
        reason = shown.reason
        asked = ShownArgument("Approval requested", reason).text() if reason else ""
        if approval.question is not None:
            asked = f"{tool_name(call)} asked: {visible(approval.question)}"
        if approval.approved is None:
            decided = "Waiting for a human to approve or deny this call."
        elif approval.approved and approval.answer is not None and approval.decided_by != "server":
            decided = f"Answered: {visible(_answer_text(approval.answer))}"
        else:
            verb = "Approved" if approval.approved else "Denied"
            verb += _DECIDERS.get(approval.decided_by or "user", "")
            why = approval.decision_reason
            decided = f"{verb}: {visible(why)}" if why else f"{verb}."
        notes += [line for line in (asked, decided) if line]
    if call.asks:
        notes.append(f"{waiting_question(call)}: waiting for an answer in the live cell.")
    if call.unapproved is not None:
        notes.append(f"⚠ Ran without your approval: {call.unapproved}.")
    if call.status == "no_result":
        notes.append(no_result_note(run, call))
    return notes


_DECIDERS = {"policy": " by your approve= policy", "server": " by the server itself, not by you"}
"""Who decided, said after ``Approved`` / ``Denied`` (nothing for the user)."""


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
        names = ", ".join(tool_name(c) for c in run.awaiting_approval) or "a tool call"
        return f"Paused: waiting for a human to approve {names}."
    asking = [tool_name(call) for call in run.tool_calls if call.asks]
    if asking:
        return f"Waiting: {', '.join(asking)} asks a question; answer it in the live cell."
    return "Running… the final answer appears here when the run ends."


def unapproved_line(run: Run) -> str:
    """The line under a run whose calls ran without the user's approval (empty when none)."""
    calls = run.unapproved_calls
    names = ", ".join(tool_name(c) for c in calls)
    return f"⚠ {len(calls)} tool call(s) ran without your approval: {names}." if calls else ""


def error_line(run: Run) -> str:
    error = run.error
    if error is None or run.status not in ("failed", "interrupted"):
        return ""
    line = f"{error.message} · {error.code or run.status}"  # the platform's words first
    if error.retry_after is not None:
        line += f" · retry after {seconds(error.retry_after)}"
    return line


# ---- one list of blocks ---------------------------------------------------------------------

Block = tuple[int, str, Any]
"""``(level, kind, value)``: what a copy says, at a call's depth; each form renders it."""


class _Answer:
    """An answer's text, its markdown parsed once for the HTML and the markdown copies (the
    parse is most of a long answer's copy)."""

    def __init__(self, text: str) -> None:
        self.text = text

    @functools.cached_property
    def tokens(self) -> list[Token]:
        return parse_markdown(clean(self.text))


def _blocks(run: Run, asked: frozenset[str] = frozenset()) -> list[Block]:
    """What the HTML and markdown copies say of ``run``, in order; its follow-ups leave out
    the questions in ``asked``."""
    tree = call_tree(run.tool_calls)
    out: list[Block] = [(0, "question", run)] if run.agent or run.asked else []
    if settings_line(run):  # as text: the copy has no selectors
        out.append((0, "small", settings_line(run)))
    if run.extras.get("plan"):
        out.append((0, "plan", run.extras["plan"]))
    for part in run.parts:
        if part.kind == "text":
            out.append((0, "text", _Answer(part.text)))
        elif part.kind == "reasoning":
            out.append((0, "reasoning", part.text))
        elif part.call_id is not None:
            call = run.tool_call(part.call_id)
            if call is not None and not tree.is_nested(call):
                out += [
                    block
                    for node, opening in tree.walk(call)
                    for block in _call(run, node, tree, opening)
                ]
    if not run.done:
        out.append((0, "em", waiting_line(run)))
    if unapproved_line(run):
        out.append((0, "alert", unapproved_line(run)))
    if error_line(run):
        out.append((0, "error", error_line(run)))
    offered = [question for question in run.followups if question.strip() not in asked]
    if offered:
        out.append((0, "followups", offered))
    out.append((0, "small", status_line(run)))
    return out


def _call(run: Run, call: ToolCall, tree: CallTree, opening: bool) -> list[Block]:
    """A call's card up to the calls made inside it (``opening``: heading, warnings,
    arguments, notes, its sub-agent's text), or the rest after them (output, error)."""
    level = tree.level.get(call.call_id, 0)
    quoted = bool(tree.inside(call)) and level < MAX_INDENT
    if not opening:
        out: list[Block] = [(level, "unquote", None)] if quoted else []
        if call.shown is not None:
            out.append((level, "shown", (tool_name(call), call.shown)))
        if call.output is not None:
            output = excerpt(format_value(tool_output(call)), TOOL_OUTPUT_PREVIEW, lines=True)
            out.append((level, "code", ("Output", output)))
        error = tool_error(call)
        if error is not None:
            out.append((level, "fault", error))
        return [*out, (level, "end", None)]
    call_shown = shown_call(call, value_chars=ARGUMENT_VALUE_CHARS)
    out = [(level, "call", (call, tree))]
    out += [(level, "strong", note) for note in call_warnings(call_shown)]
    arguments = argument_lines(call_shown)
    if arguments:
        out.append((level, "code", ("Arguments", arguments)))
    if call_shown.clipped:
        out.append((level, "whole", argument_lines(call_shown, whole=True)))
    out += [(level, "em", note) for note in approval_notes(run, call, call_shown)]
    if call.agent_text or call.agent_reasoning:
        out.append((level, "sub", (sub_agent_title(call, tree), sub_agent_body(call))))
    return [*out, (level, "quote", None)] if quoted else out


# ---- HTML ---------------------------------------------------------------------------------

_IMAGE = re.compile(r"^image/(?:png|jpeg)$")
_BASE64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")


def _shown_html(name: str, shown: dict[str, str]) -> str:
    """What a notebook function returned as the notebook shows it: an image as an image (an
    SVG too: an image runs no script), HTML rebuilt from the live view's allow-list, a form
    too large to show said in words."""
    mime, data = shown.get("mime", ""), shown.get("data", "")
    if mime == APP_VIEW_MIME:
        return f"<p><em>{_esc(_app_view_note(data))}</em></p>"
    alt = html.escape(f"What {name} returned", quote=True)
    if _IMAGE.match(mime) and _BASE64.match(data):
        return f'<p><img src="data:{mime};base64,{data}" alt="{alt}"></p>'
    if mime == "image/svg+xml":
        encoded = base64.b64encode(data.encode("utf-8")).decode("ascii")
        return f'<p><img src="data:image/svg+xml;base64,{encoded}" alt="{alt}"></p>'
    if mime == "text/html":
        return f'<div class="agentnb-tool-html">{safe_html(data)}</div>'
    return f"<p><em>{_esc(data)}</em></p>"


def _shown_markdown(name: str, shown: dict[str, str]) -> list[str]:
    """An image as an inline image; HTML is left to the output's text beside it."""
    mime, data = shown.get("mime", ""), shown.get("data", "")
    if _IMAGE.match(mime) and _BASE64.match(data):
        return [f"![What {_line(name)} returned](data:{mime};base64,{data})"]
    if mime == "text/plain":
        return [f"*{_line(data)}*"]
    if mime == APP_VIEW_MIME:
        return [f"*{_line(_app_view_note(data))}*"]
    return []


def _app_view_note(data: str) -> str:
    """What the static copy says of an MCP App's view: that it was there (its result is the
    call's output, beside it), never the view itself."""
    try:
        uri = json.loads(data).get("uri")
    except (ValueError, AttributeError):
        uri = None
    where = f" ({uri})" if isinstance(uri, str) else ""
    return f"An MCP App view{where} shows this result in the live chat cell, not in this copy."


def _esc(text: str) -> str:
    """Untrusted text as HTML text: cleaned, then escaped."""
    return html.escape(clean(text))


def _call_html(call: ToolCall, tree: CallTree) -> str:
    """A call's heading. A call waiting for a decision is shown open (its arguments are what
    must be judged), and so is one still running or with a sub-agent's work inside (the tree
    shows); a done call is folded to its heading, as in the live cell."""
    mark, state = tool_heading(call)
    holds_work = bool(tree.inside(call) or call.agent_text or call.agent_reasoning)
    opened = " open" if call.status in ("awaiting_approval", "running") or holds_work else ""
    labels = "".join(f" · {_esc(label)}" for label in call_labels(call, tree))
    unapproved = " <strong>⚠ ran without your approval</strong>" if call.unapproved else ""
    return (
        f"<details{opened}><summary>{mark} <code>{_esc(tool_name(call))}</code> {_esc(state)}"
        + unapproved
        + (f"<small>{labels}</small></summary>" if labels else "</summary>")
    )


def _turn_time(when: datetime) -> str:
    """``16:05`` today, ``Nov 23, 16:05`` another day: the live head's words (format.js
    ``turnTime``), in English and on a 24-hour clock in every locale."""
    if when.date() == datetime.now(when.tzinfo).date():
        return f"{when:%H:%M}"
    return f"{MONTHS[when.month - 1]} {when.day}, {when:%H:%M}"


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
            f' title="{when.strftime("%A %d %B %Y, %H:%M:%S %Z")}">{_turn_time(when)}</time>'
        )
    text = excerpt(run.asked, MESSAGE_CHARS, lines=True)
    message = (
        f'<blockquote class="agentnb-question"><p>{_esc(text)}</p></blockquote>' if text else ""
    )
    return f"<p><small>{caption}</small></p>{message}"


def _plan_html(entries: list[Any]) -> str:
    """The plan as a checklist, as the live cell draws it (its marks, its priorities)."""
    items = "".join(
        f"<li>{mark} {_esc(text)}" + (f" <small>({_esc(priority)})</small>" if priority else "")
        + "</li>"
        for mark, text, priority in plan_items(entries)
    )  # fmt: skip
    return (
        f'<div class="agentnb-plan"><p><strong>{_esc(plan_done(entries))}</strong></p>'
        f'<ul class="agentnb-plan-list">{items}</ul></div>'
    )


def _plan_markdown(entries: list[Any]) -> list[str]:
    items = "\n".join(
        f"- {mark} {_line(text)}" + (f" ({_line(priority)})" if priority else "")
        for mark, text, priority in plan_items(entries)
    )
    return [f"**{_line(plan_done(entries))}**\n\n{items}"]


_HTML: dict[str, Callable[[Any], str]] = {
    "question": _question_html,
    "plan": _plan_html,
    "text": lambda answer: markdown_html(answer.tokens),
    "reasoning": lambda t: f"<details><summary>Reasoning</summary><pre>{_esc(t)}</pre></details>",
    "call": lambda v: _call_html(*v),
    "shown": lambda v: _shown_html(*v),
    "strong": lambda t: f"<p><strong>{_esc(t)}</strong></p>",
    "code": lambda v: f"<p>{v[0]}</p><pre><code>{_esc(v[1])}</code></pre>",
    "whole": lambda t: (
        f"<details><summary>Show whole call</summary><pre><code>{_esc(t)}</code></pre></details>"
    ),
    # a note's lines kept (an approval's reason), each indented as it is
    "em": lambda t: f"<p><em>{_esc(t)}</em></p>".replace("  ", "\xa0\xa0").replace("\n", "<br>"),
    "sub": lambda v: f"<details><summary>{_esc(v[0])}</summary><pre>{_esc(v[1])}</pre></details>",
    "quote": lambda _: "<blockquote>",
    "unquote": lambda _: "</blockquote>",
    "fault": lambda v: f"<p><strong>{v[0]}:</strong> {_esc(v[1])}</p>",
    "end": lambda _: "</details>",
    "alert": lambda t: f'<p role="alert"><strong>{_esc(t)}</strong></p>',
    "error": lambda t: f'<p role="alert"><strong>Error</strong> {_esc(t)}</p>',
    "followups": lambda qs: (
        f"<p>Follow-up questions:</p><ul>{''.join(f'<li>{_esc(q)}</li>' for q in qs)}</ul>"
    ),
    "small": lambda t: f"<p><small>{_esc(t)}</small></p>",
}


def _turns(runs: Sequence[Run]) -> list[tuple[Run, frozenset[str]]]:
    """Each run with the questions its follow-ups leave out: the last turn does not offer
    again what the conversation has asked (as the live chat cell does not)."""
    asked = frozenset(run.asked.strip() for run in runs)
    return [(run, asked if run is runs[-1] else frozenset()) for run in runs]


def static_html(runs: Sequence[Run]) -> str:
    """The sanitized HTML transcript of ``runs`` (one chat cell)."""
    return _html_of(_transcript(runs))


def _transcript(runs: Sequence[Run]) -> list[list[Block]]:
    """Each run's blocks, made once for every form of the copy."""
    return [_blocks(run, asked) for run, asked in _turns(runs)]


def _html_of(transcript: list[list[Block]]) -> str:
    return static_root(
        "<hr>".join(
            '<div class="agentnb-run">'
            + "".join(_HTML[kind](value) for _, kind, value in blocks)
            + "</div>"
            for blocks in transcript
        )
    )


BREAK_LONG_WORDS = "overflow-wrap:break-word"
"""Lines break between words; only a word wider than the line breaks inside (``anywhere``
would also shrink a table to a letter a column)."""


def static_root(body: str) -> str:
    """``body`` in the static copy's root: the element `REOPENED_STYLE` finds, kept out of the
    notebook's MathJax (:data:`~agentnb._display.safe_markdown.NO_MATH`). A word longer than
    a line (a URL in an error) breaks where it must, not cut off at the output's edge."""
    return f'<div class="agentnb-static {NO_MATH}" style="{BREAK_LONG_WORDS}">{body}</div>'


# ---- markdown -----------------------------------------------------------------------------


def _line(text: str) -> str:
    """Untrusted text as one inert markdown line."""
    return one_line(clean(text))


def _code(text: str) -> str:
    """Untrusted text as a fenced block nothing in it can close."""
    return code_block(clean(text))


def _question_markdown(run: Run) -> list[str]:
    header = f"**{_line(run.agent or 'agent')}**"
    message = _line(excerpt(run.asked, MESSAGE_CHARS, lines=True))
    return [f"{header} — *{message}*" if message else header]


def _reasoning_markdown(text: str) -> list[str]:
    lines = [_line(line) for line in clean(text).split("\n")]
    quoted = "\n".join(f"> {line}" if line else ">" for line in lines)
    return [f"> *Reasoning*\n>\n{quoted}"]


def _call_markdown(call: ToolCall, tree: CallTree) -> list[str]:
    mark, state = tool_heading(call)
    nested = "↳ " if tree.is_nested(call) else ""
    labels = "".join(f" · {_line(label)}" for label in call_labels(call, tree))
    unapproved = " · **⚠ ran without your approval**" if call.unapproved else ""
    return [f"{nested}{mark} tool **{_line(tool_name(call))}** {_line(state)}{labels}{unapproved}"]


def _followups_markdown(questions: list[str]) -> list[str]:
    items = "\n".join(f"- {_line(q)}" for q in questions if q.strip())
    return [f"Follow-up questions:\n\n{items}"]


_MARKDOWN: dict[str, Callable[[Any], list[str]]] = {
    "question": _question_markdown,
    "plan": _plan_markdown,
    "text": lambda answer: [safe_markdown(answer.tokens)],
    "reasoning": _reasoning_markdown,
    "call": lambda v: _call_markdown(*v),
    "shown": lambda v: _shown_markdown(*v),
    "strong": lambda t: [f"**{_line(t)}**"],
    "code": lambda v: [_code(v[1])],
    "em": lambda t: [f"*{_line(t)}*"],
    "sub": lambda v: [f"*{_line(v[0])}*", _code(v[1])],
    "fault": lambda v: [f"{v[0]}:\n\n" + _code(v[1])],
    "alert": lambda t: [f"**{_line(t)}**"],
    "error": lambda t: [f"**Error** {_line(t)}"],
    "followups": _followups_markdown,
    "small": lambda t: [f"*{_line(t)}*"],
}
"""The markdown of each kind of block (the HTML's ``whole`` call, quotes and ends have
none: a quote's depth is each block's level)."""


def _quoted(block: str, level: int) -> str:
    """``block`` inside ``level`` block quotes (capped at ``MAX_INDENT``)."""
    mark = ">" * min(level, MAX_INDENT)
    if not mark:
        return block
    return "\n".join(f"{mark} {line}" if line else mark for line in block.split("\n"))


def static_markdown(runs: Sequence[Run]) -> str:
    """The markdown transcript of ``runs``, safe for renderers that allow raw HTML: the
    answer stays markdown (re-written inert by :func:`safe_markdown`), everything else is
    escaped text or fenced code."""
    return _markdown_of(_transcript(runs))


def _markdown_of(transcript: list[list[Block]]) -> str:
    return "\n\n---\n\n".join(
        "\n\n".join(
            _quoted(text, level)
            for level, kind, value in blocks
            for text in _MARKDOWN.get(kind, lambda _: [])(value)
            if text
        )
        for blocks in transcript
    )


# ---- plain text ---------------------------------------------------------------------------


def static_text(runs: Sequence[Run], *, answer_chars: int | None = PLAIN_ANSWER_CHARS) -> str:
    """The plain-text copy: per run, a line naming the agent and the message, then the run as
    :func:`~agentnb._display.run_text.run_text` writes it, its answer and reasoning cut at
    ``answer_chars`` (None keeps them whole)."""
    blocks = [f"{_plain_header(run)}\n{run_text(run, text_chars=answer_chars)}" for run in runs]
    return "\n\n".join(blocks) if blocks else "agentnb chat (no runs yet)"


def _plain_header(run: Run) -> str:
    message = excerpt(run.asked, 200)
    return f"agentnb · {excerpt(run.agent, 80) or 'agent'}" + (f": {message}" if message else "")


REOPENED_STYLE = (
    "<style>"
    ".jp-OutputArea-child:has(> .jp-OutputArea-output:not([data-mime-type]))"
    ":not(:has(> .jp-OutputArea-output > *))"
    ":has(+ .jp-OutputArea-child > .jp-OutputArea-output > .agentnb-static)"
    "{display:none}"
    "</style>"
)
"""Hides the live view's output in front of the copy while the widget manager has no view to
show in it (one rule for the whole page: a chat cell's copies carry it in a cell's first
copy only, see ``ChatCell.publish``): in a notebook reopened without its kernel's widgets
(JupyterLab and Notebook 7 do not save widget state by default) it says "Loading widget..."
until the kernel answers (for good if it never does), then "Error displaying widget: model
not found", and the copy is what the notebook shows. Both are text alone in the output node,
which a rendered view never is (the view is an element inside it); CSS allows no ``:has``
inside another, hence the ``:not(:has(...))`` beside it. Lumino apps render a trusted
notebook's HTML as is (a notebook saved where it ran is trusted); an untrusted one's
sanitizer drops the ``<style>``, but there the widget renderer (registered as unsafe) is not
used at all: the view's output shows its empty text fallback."""


def static_bundle(runs: Sequence[Run], *, styled: bool = True) -> dict[str, str]:
    """``text/html``, ``text/markdown`` and ``text/plain`` for a display bundle (the HTML with
    `REOPENED_STYLE` where ``styled``, for the notebook a display lands in)."""
    transcript = _transcript(runs)
    return {
        "text/html": _html_of(transcript) + (REOPENED_STYLE if styled else ""),
        "text/markdown": _markdown_of(transcript),
        "text/plain": static_text(runs),
    }
