"""An MCP server's question (:class:`~.mcp_question.McpElicitation`) as a person is shown it:
the chat cell's card and the terminal's prompt both take this form (``ToolQuestionAsked``).

Everything in it is the server's text, made plain here: cut short, and every character that
would not show as itself (controls, bidi overrides, zero-width characters) written as
``⟨U+XXXX⟩``; the views put it in the page as text, never as markup. A form shows at most
:data:`MAX_SHOWN_FIELDS` fields, each of a kind a person can type (a string, a number, an
integer, a yes/no, a choice of one or of several); the rest are said as "N more fields not
shown" and left out of the answer, and a form whose required fields cannot all be shown is
declined unasked. A link is shown only when it is http or https and its host is one that
every URL parser reads alike (Python's here, the browser's WHATWG parser that opens it, the
one a person pastes it into): plain ASCII (an internationalized name in its ``xn--`` form),
with no userinfo, backslash, percent sign, space or control character before its path, and a
number only as a plain IPv4 address; any other is refused, since what is shown and what is
opened would be two readings of it.
"""

from __future__ import annotations

import re
from typing import Any

from ..._core.text import excerpt, visible
from .mcp_question import McpElicitation

__all__ = ["MAX_SHOWN_FIELDS", "FormRefused", "shown_form"]

MAX_SHOWN_FIELDS = 20
"""The most fields a card or a prompt shows."""
_LABEL = 200
_DESCRIPTION = 500
_MESSAGE = 2_000
_CHOICES = 50
_URL = 2_000
_WEB_LINK = re.compile(
    r"https?://(?P<host>[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?([/?#][^\\\s]*)?",
    re.ASCII | re.IGNORECASE,
)
_BYTE = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_READ_ALIKE = re.compile(rf"(?!(.*\.)?([0-9]+|0x[0-9a-f]*)\.?$).*|({_BYTE}\.){{3}}{_BYTE}")
"""A host read alike: a name whose last label is no number, or a plain IPv4 address (a host
whose last label is a number, ``0x7f.1``, is an address to a browser, ``127.0.0.1``)."""
_TEXT = 1_000
"""Characters of a default or a choice's value kept."""


class FormRefused(Exception):
    """A question that cannot be shown to a person (why, for the call's result)."""


def shown_form(asked: McpElicitation) -> dict[str, Any]:
    """The question as a person is shown it (see the module); :class:`FormRefused` saying why
    it cannot be (a link that is not http(s), required fields past the bound or of a kind
    nobody can type)."""
    shown: dict[str, Any] = {
        "server": _plain(asked.server, _LABEL),
        "message": "\n".join(
            visible(line) for line in excerpt(asked.message, _MESSAGE, lines=True).splitlines()
        ),
        "mode": asked.mode,
    }
    if asked.mode == "url":
        return {**shown, **_link(asked.url or "")}
    required = asked.schema.get("required")
    needed = {str(r) for r in required} if isinstance(required, list) else set()
    fields: list[dict[str, Any]] = []
    hidden: list[str] = []
    for name, spec in asked.fields.items():
        field = _field(str(name), spec, str(name) in needed)
        if field is None or len(fields) >= MAX_SHOWN_FIELDS:
            hidden.append(str(name))
        else:
            fields.append(field)
    missing = [name for name in hidden if name in needed]
    if missing:
        raise FormRefused(
            f"a form of {len(asked.fields):,} fields whose {len(missing):,} required ones past "
            f"the {MAX_SHOWN_FIELDS} a person is shown (or of a kind nobody can type) cannot be "
            "answered"
        )
    return {**shown, "fields": fields, "hidden": len(hidden)}


def _link(url: str) -> dict[str, Any]:
    found = _WEB_LINK.fullmatch(url)
    if found is None or not _READ_ALIKE.fullmatch(host := found["host"].lower()):
        raise FormRefused(
            f"a link that is not http(s) with a host every parser reads alike "
            f"({_plain(url, 200)!r}) is not shown"
        )
    if len(url) > _URL:
        raise FormRefused(f"a link of {len(url):,} characters is not shown")
    return {"url": visible(url), "host": host}


def _field(name: str, spec: Any, required: bool) -> dict[str, Any] | None:
    """One field as shown, or None for a kind nobody can type (an object, a list of free
    values)."""
    kind, choices = _kind(spec) if isinstance(spec, dict) else (None, None)
    if kind is None:
        return None
    field: dict[str, Any] = {
        "key": name,
        "label": _plain(str(spec.get("title") or name), _LABEL),
        "description": _plain(str(spec.get("description") or ""), _DESCRIPTION),
        "kind": kind,
        "required": required,
    }
    if choices is not None:
        field["choices"] = choices
    default = spec.get("default")
    if _fits(kind, default):
        field["default"] = _plain(default, _TEXT) if isinstance(default, str) else default
    for key, said in (("minimum", "min"), ("maximum", "max")):
        if _number(spec.get(key)):
            field[said] = spec[key]
    for key, said in (("minLength", "min_length"), ("maxLength", "max_length")):
        if isinstance(spec.get(key), int) and not isinstance(spec.get(key), bool):
            field[said] = spec[key]
    if isinstance(spec.get("format"), str):
        field["format"] = _plain(spec["format"], 40)
    return field


def _kind(spec: dict[str, Any]) -> tuple[str | None, list[list[Any]] | None]:
    """The field's kind (``string``, ``number``, ``integer``, ``boolean``, ``choice``,
    ``choices``) and its choices as ``[value, label]`` pairs."""
    kind = spec.get("type")
    one = _choices(spec)
    if kind == "string" and one is not None:
        return "choice", one
    if kind == "array" and isinstance(spec.get("items"), dict):
        many = _choices(spec["items"])
        return ("choices", many) if many is not None else (None, None)
    if kind in ("string", "number", "integer", "boolean"):
        return str(kind), None
    return None, None


def _choices(spec: dict[str, Any]) -> list[list[Any]] | None:
    """``enum`` (with ``enumNames``), or ``oneOf`` / ``anyOf`` of ``{const, title}``: at most
    :data:`_CHOICES` of them; None when the field offers none."""
    listed = spec.get("enum")
    if isinstance(listed, list):
        names = spec.get("enumNames")
        names = names if isinstance(names, list) and len(names) == len(listed) else listed
        pairs = list(zip(listed, names, strict=True))
    else:
        options = spec.get("oneOf") or spec.get("anyOf")
        if not isinstance(options, list):
            return None
        pairs = [
            (o["const"], o.get("title") or o["const"])
            for o in options
            if isinstance(o, dict) and "const" in o
        ]
    kept = [[value, _plain(str(label), _LABEL)] for value, label in pairs if isinstance(value, str)]
    return kept[:_CHOICES] or None


def _fits(kind: str, value: Any) -> bool:
    if kind in ("string", "choice"):
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return _number(value)
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plain(text: str, limit: int) -> str:
    """The server's ``text`` cut to ``limit`` characters, each one that would not show as
    itself made visible."""
    return excerpt(text, limit, marked=True)
