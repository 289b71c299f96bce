"""A question an MCP server asks in the middle of a call (MCP's elicitation, ``elicitation/
create``), answered for ``agentnb.mcp_tools``: by the ``elicit=`` function given (scripts,
tests), which gets a :class:`McpElicitation` and returns the answer; else by the person, through
the run of the call that asked (:data:`~agentnb._core.questions.Ask`: the chat cell's card,
the terminal's prompt), shown as :func:`.mcp_form.shown_form` shows it; with neither (no run
asks, nobody can answer it, or the session cannot tell which of its calls asked:
:class:`Asker`), declined, saying so in the call's result.

Form mode asks for fields typed by a JSON schema (primitive values); URL mode asks the person
to open a link (its answer only says whether they will: agentnb never opens it, and a link
that is not http(s) is refused unasked). The fields an answer leaves out get the form's
defaults (SEP-1034), and the answer is checked against the form before it goes:
one that does not fit is declined, saying why. A form of more than :data:`MAX_FIELDS` fields
is declined unasked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import mcp.types as types
from mcp.client.context import ClientRequestContext

from ..._core.questions import Ask, QuestionReply
from ..._core.text import excerpt
from .mcp_form import FormRefused, shown_form
from .mcp_question import Answer, Elicit, McpElicitation

__all__ = ["MAX_FIELDS", "Asker", "elicitation_handler"]

MAX_FIELDS = 50
"""The most fields a form may ask for: a larger one is declined without asking."""


@dataclass(frozen=True)
class Asker:
    """Where a server's question goes: the call that asked, as its session can tell it."""

    ask: Ask | None
    """The person, through the asking call's run (None: no run of it can ask one)."""
    note: Callable[[str], None]
    """Tells the asking call's result what it should say (a question declined, and why)."""
    unplaced: str | None = None
    """Why the session cannot tell which call asked (then no person is asked)."""


def elicitation_handler(
    named: Callable[[], str], elicit: Elicit | None, asker: Callable[[], Asker]
) -> Any:
    """The SDK's elicitation callback for the server ``named()``: asks ``elicit`` (on a thread:
    it may wait for a person), else the person through the asking call's run (``asker()``),
    else declines; the asking call's result is told what it should say (a question declined
    because nobody could answer, an answer that did not fit)."""

    async def handle(
        context: ClientRequestContext, params: types.ElicitRequestParams
    ) -> types.ElicitResult:
        asked = _question(named(), params)
        said = excerpt(asked.message, 200)
        asking = asker()
        note = asking.note
        if asked.mode == "form" and len(asked.fields) > MAX_FIELDS:
            note(
                f"the server asked {said!r} with a form of {len(asked.fields):,} fields, more "
                f"than the {MAX_FIELDS} agentnb asks for: declined unasked"
            )
            return types.ElicitResult(action="decline")
        try:
            shown = shown_form(asked)
        except FormRefused as refused:
            note(f"the server asked {said!r}: declined unasked, {refused}")
            return types.ElicitResult(action="decline")
        if elicit is None and asking.ask is None:
            note(f"the server asked {said!r}: declined, as {asking.unplaced or _NOBODY}")
            return types.ElicitResult(action="decline")
        if elicit is None:
            assert asking.ask is not None
            return _from_person(asked, await asking.ask(shown), said, note)
        try:
            answer = await asyncio.to_thread(elicit, asked)
        except Exception as exc:  # the person's function failed: the question is cancelled
            note(f"the server asked {said!r}: cancelled, the elicit function raised {exc!r:.200}")
            return types.ElicitResult(action="cancel")
        return _result(asked, answer, said, note)

    return handle


_NOBODY = "nobody here can answer it (mcp_tools(..., elicit=fn) answers in code)"


def _from_person(
    asked: McpElicitation, reply: QuestionReply, said: str, note: Callable[[str], None]
) -> types.ElicitResult:
    """The person's reply (or why nobody gave one) as the server gets it."""
    if reply.reason is not None:
        verb = {"accept": "accepted", "decline": "declined", "cancel": "cancelled"}[reply.action]
        hint = " (mcp_tools(..., elicit=fn) answers in code)" if reply.action == "decline" else ""
        note(f"the server asked {said!r}: {verb}, as {reply.reason}{hint}")
    if reply.action != "accept":
        return types.ElicitResult(action=reply.action)
    return _result(asked, True if asked.mode == "url" else reply.content or {}, said, note)


def _question(where: str, params: types.ElicitRequestParams) -> McpElicitation:
    if isinstance(params, types.ElicitRequestURLParams):
        return McpElicitation(where, params.message, "url", url=params.url)
    schema = params.requested_schema
    dumped = schema if isinstance(schema, dict) else schema.model_dump(by_alias=True)
    return McpElicitation(where, params.message, "form", schema=dict(dumped))


def _result(
    asked: McpElicitation, answer: Answer, said: str, note: Callable[[str], None]
) -> types.ElicitResult:
    if answer is None or answer == "decline" or answer is False:
        return types.ElicitResult(action="decline")
    if answer == "cancel":
        return types.ElicitResult(action="cancel")
    if asked.mode == "url":
        return types.ElicitResult(action="accept")
    if not isinstance(answer, Mapping):
        note(f"the server asked {said!r}: declined, the answer was not a dict of its fields")
        return types.ElicitResult(action="decline")
    # seconds to import (its format checks' grammars): at a server's first form, not at every
    # MCP server's start
    import jsonschema

    form = _checked_form(asked)
    content = {**dict(answer), **_defaults_left_out(asked, form, answer)}
    try:
        jsonschema.validate(content, form)
    except (jsonschema.ValidationError, jsonschema.SchemaError) as exc:
        why = excerpt(exc.message, 300)
        note(f"the server asked {said!r}: declined, the answer does not fit its form: {why}")
        return types.ElicitResult(action="decline")
    return types.ElicitResult(action="accept", content=content)


_KEPT = ("type", "enum", "minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
"""What of a field's schema an answer is checked against (a form's fields are primitive
values, or a list of choices); never a ``$ref`` (it could name a remote schema) nor a
``pattern`` (a server's regular expression could take forever)."""


def _defaults_left_out(
    asked: McpElicitation, form: dict[str, Any], answer: Mapping[str, Any]
) -> dict[str, Any]:
    """What the form's fields the answer left out default to (SEP-1034: the client fills
    them, as the chat cell's card does), where a default fits its own field."""
    import jsonschema  # imported already by the answer's check: see there

    return {
        name: spec["default"]
        for name, spec in asked.fields.items()
        if isinstance(spec, dict) and "default" in spec and name not in answer
        if jsonschema.Draft202012Validator(form["properties"][name]).is_valid(spec["default"])
    }


def _checked_form(asked: McpElicitation) -> dict[str, Any]:
    """The form as a schema an answer is checked against: its fields, each with what
    :data:`_KEPT` keeps, no field but those (an answer's other keys are refused)."""
    properties: dict[str, Any] = {}
    for name, spec in asked.fields.items():
        spec = spec if isinstance(spec, dict) else {}
        kept = {key: spec[key] for key in _KEPT if key in spec}
        items = spec.get("items")
        if isinstance(items, dict):
            kept["items"] = {key: items[key] for key in ("type", "enum") if key in items}
        properties[str(name)] = kept
    required = asked.schema.get("required")
    return {
        "type": "object",
        "properties": properties,
        "required": [r for r in required if r in properties] if isinstance(required, list) else [],
        "additionalProperties": False,
    }
