"""The events built and stamped for nearly every frame, at half the cost of pydantic's way:
:func:`text_delta`, :func:`reasoning_delta` and :func:`attributed_delta` build the very event
the constructor would (its state set directly, from values validation keeps as they are; other
values still go through pydantic), and :func:`stamp` sets ``seq`` and ``received_at`` as
``__setattr__`` would."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from ..events import Event, ReasoningDelta, TextDelta

__all__ = ["attributed_delta", "reasoning_delta", "stamp", "text_delta"]
_Delta = TypeVar("_Delta", TextDelta, ReasoningDelta)
_new_object = object.__new__
_set_dict = object.__setattr__
_slots = vars(BaseModel)  # pydantic keeps a model's state in these slots beside its __dict__
_set_fields_set = _slots["__pydantic_fields_set__"].__set__
_set_extra = _slots["__pydantic_extra__"].__set__
_set_private = _slots["__pydantic_private__"].__set__
_STAMPED = ("seq", "received_at")


def _assembled(cls: type[_Delta], fields: dict[str, Any], fields_set: set[str]) -> _Delta:
    """The ``cls`` instance pydantic's validator would make of these (validated) fields, the
    ``fields_set`` given by the caller: its state set directly."""
    event = _new_object(cls)
    _set_dict(event, "__dict__", fields)
    _set_fields_set(event, fields_set)
    _set_extra(event, None)  # extra="forbid": none
    _set_private(event, None)  # no private attributes
    return event


# Each field's default, as validation leaves it (copied, then the given fields set over it).
_TEXT_DEFAULTS = dict(TextDelta(delta="").__dict__)
_REASONING_DEFAULTS = dict(ReasoningDelta(delta="").__dict__)


def text_delta(delta: str) -> TextDelta:
    """``TextDelta(delta=delta)``, the same event at half the cost."""
    if type(delta) is not str:  # validation turns a str subclass into a str, refuses others
        return TextDelta(delta=delta)
    fields = _TEXT_DEFAULTS.copy()
    fields["delta"] = delta
    return _assembled(TextDelta, fields, {"delta"})


def reasoning_delta(delta: str) -> ReasoningDelta:
    """``ReasoningDelta(delta=delta)``, the same event at half the cost."""
    if type(delta) is not str:
        return ReasoningDelta(delta=delta)
    fields = _REASONING_DEFAULTS.copy()
    fields["delta"] = delta
    return _assembled(ReasoningDelta, fields, {"delta"})


def attributed_delta(
    cls: type[_Delta], delta: str, parent_call_id: str | None, agent: str | None
) -> _Delta:
    """``cls(delta=delta, parent_call_id=parent_call_id, agent=agent)`` (a text or reasoning
    delta), the same event at half the cost."""
    if not (type(delta) is str and _kept_as_is(parent_call_id) and _kept_as_is(agent)):
        return cls(delta=delta, parent_call_id=parent_call_id, agent=agent)
    fields = (_TEXT_DEFAULTS if cls is TextDelta else _REASONING_DEFAULTS).copy()
    fields.update(delta=delta, parent_call_id=parent_call_id, agent=agent)
    return _assembled(cls, fields, {"delta", "parent_call_id", "agent"})


def _kept_as_is(value: object) -> bool:
    """Whether validation as ``str | None`` keeps ``value`` as it is."""
    return value is None or type(value) is str


def stamp(event: Event, seq: int, received_at: float) -> None:
    """``event.seq = seq; event.received_at = received_at``, without pydantic's ``__setattr__``
    (which, for these fields of a model without assignment validation, does just this)."""
    fields = event.__dict__
    fields["seq"] = seq
    fields["received_at"] = received_at
    event.__pydantic_fields_set__.update(_STAMPED)
