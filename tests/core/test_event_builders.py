"""The fast builders of the per-frame events (``text_delta``, ``reasoning_delta``,
``attributed_delta``) and ``stamp``: each must leave exactly what the pydantic way leaves."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from agentnb import events
from agentnb.events import (
    ReasoningDelta,
    TextDelta,
    attributed_delta,
    event_adapter,
    reasoning_delta,
    stamp,
    text_delta,
)


class Text(str):
    """A str subclass: validation turns it into a plain str."""


def state(model: BaseModel) -> tuple[Any, ...]:
    """Everything pydantic keeps of a model instance."""
    return (
        type(model),
        model.__dict__,
        model.__pydantic_fields_set__,
        model.__pydantic_extra__,
        model.__pydantic_private__,
        {name: type(value) for name, value in model.__dict__.items()},
    )


def outcome(build: Any, *args: Any, **kwargs: Any) -> tuple[Any, ...]:
    """The state of what ``build`` returns, or the errors it raises."""
    try:
        return state(build(*args, **kwargs))
    except ValidationError as error:
        return ("refused", error.errors(include_url=False))


def as_json(model: BaseModel) -> str:
    try:
        return model.model_dump_json()
    except ValueError as error:  # a lone surrogate: validation keeps it, JSON cannot
        return f"error: {error}"


def assert_same_event(fast: BaseModel, slow: BaseModel) -> None:
    assert state(fast) == state(slow)
    assert fast == slow
    assert repr(fast) == repr(slow)
    assert fast.model_dump() == slow.model_dump()
    assert fast.model_dump(exclude_unset=True) == slow.model_dump(exclude_unset=True)
    assert as_json(fast) == as_json(slow)
    assert state(pickle.loads(pickle.dumps(fast))) == state(slow)
    assert state(fast.model_copy(update={"seq": 3})) == state(slow.model_copy(update={"seq": 3}))
    assert event_adapter.validate_python(fast.model_dump()) == slow


_TEXTS = st.text() | st.sampled_from(["", "\ud800", "\0", "x" * 10_000])


@given(_TEXTS)
def test_text_and_reasoning_deltas_are_what_the_constructor_builds(delta: str) -> None:
    fast_text = text_delta(delta)
    assert_same_event(fast_text, TextDelta(delta=delta))
    assert fast_text.delta is delta
    assert_same_event(reasoning_delta(delta), ReasoningDelta(delta=delta))


@given(_TEXTS, st.none() | st.text(), st.none() | st.text())
def test_attributed_deltas_are_what_the_constructor_builds(
    delta: str, parent: str | None, agent: str | None
) -> None:
    for cls in (TextDelta, ReasoningDelta):
        fast = attributed_delta(cls, delta, parent, agent)
        assert_same_event(fast, cls(delta=delta, parent_call_id=parent, agent=agent))


@pytest.mark.parametrize("value", [None, 1, 1.5, b"x", ["x"], {"a": 1}, True, Text("x")])
def test_values_validation_would_change_or_refuse_go_through_pydantic(value: Any) -> None:
    assert outcome(text_delta, value) == outcome(TextDelta, delta=value)
    assert outcome(reasoning_delta, value) == outcome(ReasoningDelta, delta=value)
    for cls in (TextDelta, ReasoningDelta):
        for args in ((value, None, None), ("d", value, "a"), ("d", "p", value)):
            keywords = dict(zip(("delta", "parent_call_id", "agent"), args, strict=True))
            assert outcome(attributed_delta, cls, *args) == outcome(cls, **keywords)


def test_built_events_share_nothing() -> None:
    first, second = text_delta("a"), text_delta("b")
    first.seq = 7
    first.__pydantic_fields_set__.add("agent")
    assert (second.seq, second.__pydantic_fields_set__) == (0, {"delta"})
    assert text_delta("c").seq == 0
    assert events._TEXT_DEFAULTS["seq"] == 0


SAMPLES = [
    events.RunStarted(run_id="r"),
    TextDelta(delta="x"),
    text_delta("x"),
    ReasoningDelta(delta="x", agent="a"),
    events.ToolCallStarted(call_id="c", name="n"),
    events.ToolCallFinished(call_id="c", output={"a": 1}),
    events.RunCompleted(),
    events.RunFailed(message="m"),
    events.UnknownEvent(event="e", data="d"),
    events.StepStarted(seq=4, received_at=2.0),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda event: event.type)
@pytest.mark.parametrize(("seq", "at"), [(0, 0.0), (5, 1700000000.25), (2**40, 1.0)])
def test_stamp_is_setting_the_two_attributes(event: Any, seq: int, at: float) -> None:
    by_setattr, by_stamp = event.model_copy(deep=True), event.model_copy(deep=True)
    by_setattr.seq = seq
    by_setattr.received_at = at
    stamp(by_stamp, seq, at)
    assert state(by_stamp) == state(by_setattr)
