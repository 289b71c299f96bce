"""The terminal's prompt for a question a running call asks the person (an MCP server's form
or link, ``call.asks``), asked by :class:`~agentnb._display.approval_prompt.TerminalApprover`
through the run's gate.

First the server, its message and what it asks for (a form's fields, with how many more are
not shown; a link with the host it opens, said plainly), then ``[y/N/c]``: Enter (or ``n``)
declines, ``c`` cancels, ``y`` goes on: a form's fields are asked one by one (``Label
(integer 1-9, required) [default]:``, a value that does not fit asked again, Enter keeps the
default or leaves an optional field empty); a link's ``y`` says the person will open it
themselves (nothing here opens it). At the end of input the question is declined, saying so.
The server's text reaches here made plain (:mod:`agentnb._app.mcp.mcp_form`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core.questions import QuestionReply
from .._core.transcript import ToolCall

__all__ = ["NO_ANSWER", "form_reply"]

NO_ANSWER = "the end of input came at the question's prompt"
_TRIES = 3
"""Times a field is asked again after a value that does not fit, before the form is declined."""

Read = Callable[[], str | None]
Write = Callable[[str], None]


def form_reply(call: ToolCall, read: Read, write: Write) -> QuestionReply:
    """Ask the question ``call`` asks, reading lines with ``read`` (None: the end of input)
    and writing with ``write``; the person's reply."""
    asks = call.asks or {}
    write(_head(asks))
    said = read()
    if said is None:
        return QuestionReply("decline", reason=NO_ANSWER)
    choice = said.strip().lower()
    if choice in ("c", "cancel"):
        return QuestionReply("cancel", by_user=True)
    if choice not in ("y", "yes"):
        return QuestionReply("decline", by_user=True)
    if asks.get("mode") == "url":
        return QuestionReply("accept", by_user=True)
    content: dict[str, Any] = {}
    for field in asks.get("fields") or []:
        value = _field_value(field, read, write)
        if value is _END:
            return QuestionReply("decline", reason=NO_ANSWER)
        if value is not _EMPTY:
            content[str(field["key"])] = value
    return QuestionReply("accept", content, by_user=True)


def _head(asks: dict[str, Any]) -> str:
    lines = [f"‖ {asks.get('server') or 'the tool'} asks: {asks.get('message') or ''}"]
    if asks.get("mode") == "url":
        lines += [
            f"  It opens a page on {asks.get('host')}:",
            f"  {asks.get('url')}",
            "Will you open it yourself? [y = yes / N = decline / c = cancel]: ",
        ]
        return "\n".join(lines)
    fields = asks.get("fields") or []
    hidden = int(asks.get("hidden") or 0)
    if hidden:
        lines.append(f"  ({hidden} more fields not shown: left empty)")
    count = "1 field" if len(fields) == 1 else f"{len(fields)} fields"
    lines.append(f"Fill in the form ({count})? [y = answer / N = decline / c = cancel]: ")
    return "\n".join(lines)


_EMPTY = object()
_END = object()


def _field_value(field: dict[str, Any], read: Read, write: Write) -> Any:
    """The value typed for ``field``: :data:`_EMPTY` for an optional one left empty,
    :data:`_END` at the end of input (or after too many values that do not fit)."""
    prompt = _field_prompt(field)
    for _ in range(_TRIES):
        write(prompt)
        typed = read()
        if typed is None:
            return _END
        text = typed.strip()
        if not text and "default" in field:
            return field["default"]
        if not text and not field.get("required"):
            return _EMPTY
        try:
            return _parsed(field, text)
        except ValueError as why:
            write(f"  {why}\n")
    return _END


def _field_prompt(field: dict[str, Any]) -> str:
    kind = str(field.get("kind"))
    facts = [_KIND_WORDS.get(kind, kind)]
    low, high = field.get("min"), field.get("max")
    if low is not None or high is not None:
        facts[0] += f" {'' if low is None else low}-{'' if high is None else high}"
    if field.get("choices"):
        facts.append("one of " if kind == "choice" else "any of, with commas, ")
        facts[-1] += ", ".join(str(value) for value, _label in field["choices"])
    if field.get("required"):
        facts.append("required")
    default = f" [{field['default']}]" if "default" in field else ""
    described = f"\n  {field['description']}" if field.get("description") else ""
    return f"{described}\n  {field.get('label')} ({'; '.join(facts)}){default}: ".lstrip("\n")


_KIND_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "an integer",
    "boolean": "y/n",
    "choice": "a choice",
    "choices": "choices",
}


def _parsed(field: dict[str, Any], text: str) -> Any:
    """``text`` as the field's value; a ``ValueError`` saying why it does not fit."""
    kind = field.get("kind")
    if kind == "boolean":
        if text.lower() in ("y", "yes", "true"):
            return True
        if text.lower() in ("n", "no", "false"):
            return False
        raise ValueError("type y or n")
    if kind in ("number", "integer"):
        try:
            value: float | int = int(text) if kind == "integer" else float(text)
        except ValueError:
            raise ValueError(f"type {_KIND_WORDS[kind]}") from None
        low, high = field.get("min"), field.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ValueError(f"type a number from {low} to {high}")
        return value
    if kind in ("choice", "choices"):
        values = [str(value) for value, _label in field.get("choices") or []]
        picked = [part.strip() for part in text.split(",")] if kind == "choices" else [text]
        wrong = [part for part in picked if part not in values]
        if wrong:
            raise ValueError(f"{wrong[0]!r} is not one of {', '.join(values)}")
        return picked if kind == "choices" else text
    low_len, high_len = field.get("min_length"), field.get("max_length")
    if (low_len is not None and len(text) < low_len) or (
        high_len is not None and len(text) > high_len
    ):
        raise ValueError(f"type {low_len or 0} to {high_len or 'any number of'} characters")
    return text
