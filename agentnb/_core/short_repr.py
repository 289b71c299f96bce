"""The short reprs of the objects a person meets (a run, its handle, a tool call, a recorded
run): what it is, its status, how long it took and how many calls it made, on one line; in
a notebook the same line as HTML with the answer's first characters under it. Never the
question (it may quote a key), a header or the whole transcript: a repr ends up in saved
notebooks and shared logs."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from .text import excerpt

PREVIEW_CHARS = 200
"""Characters of an answer (or an error) a notebook's repr shows under its line."""


def one_line(kind: str, name: str | None, status: str | None, facts: Iterable[str]) -> str:
    """``<Run 'finance_agent' completed · 2.3 s · 2 tool calls>``: the kind, the name, the
    status and the facts known (empty ones left out)."""
    head = " ".join(part for part in (kind, _named(name), status or "") if part)
    return f"<{' · '.join([head, *filter(None, facts)])}>"


def as_html(line: str, preview: str | None) -> str:
    """``line`` as a notebook shows it, with the first characters of ``preview`` (the
    answer, as the chat cell shows it; an error as kept, its keys redacted) under it."""
    body = f"<code>{escape(line)}</code>"
    if preview:
        body += f"<div style='opacity:.8'>{escape(excerpt(preview, PREVIEW_CHARS))}</div>"
    return f"<div class='agentnb-repr'>{body}</div>"


def _named(name: str | None) -> str:
    return repr(excerpt(name, 60)) if name else ""
