"""`Run`: the one source of truth, folded from events. No I/O: every fold is checked here."""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any, get_args

import pytest

from agentnb import Run
from agentnb._core.call_fold import CallEvent
from agentnb._core.run import MAX_UNKNOWN_EVENTS
from agentnb.events import (
    CustomEvent,
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    StepReset,
    StepStarted,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDelta,
    ToolCallFinished,
    ToolCallStarted,
    UnknownEvent,
    Usage,
)
from agentnb.types import RunErrorInfo


def folded(*events: object, start_at: float = 100.0) -> Run:
    run = Run(agent="finance_agent", message="What is NVDA at?")
    run.start(at=start_at)
    for seq, event in enumerate(events):
        event.seq = seq  # type: ignore[attr-defined]
        run.apply(event)  # type: ignore[arg-type]
    return run


def test_deltas_join_into_text_and_reasoning_in_arrival_order() -> None:
    run = folded(
        RunStarted(run_id="run_1", thread_id="th_1", received_at=100.1),
        ReasoningDelta(delta="Look ", received_at=100.2),
        ReasoningDelta(delta="it up.", received_at=100.3),
        TextDelta(delta="NVDA is ", received_at=100.5),
        TextDelta(delta="$229.87.", received_at=100.6),
    )
    assert run.run_id == "run_1" and run.thread_id == "th_1"
    assert run.reasoning == "Look it up."
    assert run.text == "NVDA is $229.87."
    assert run.status == "running" and not run.done
    assert run.ttft is not None and abs(run.ttft - 0.2) < 1e-9  # the first content event


def test_a_tool_call_collects_streamed_arguments_output_and_duration() -> None:
    run = folded(
        ToolCallStarted(call_id="c1", name="get_price", received_at=101.0),
        ToolCallDelta(call_id="c1", arguments_delta='{"ticker":', received_at=101.1),
        ToolCallDelta(call_id="c1", arguments_delta=' "NVDA"}', received_at=101.2),
        ToolCallFinished(call_id="c1", output={"price": 229.87}, received_at=101.5),
    )
    (call,) = run.tool_calls
    assert call.name == "get_price"
    assert call.arguments == {"ticker": "NVDA"}
    assert call.output == {"price": 229.87}
    assert call.duration is not None and abs(call.duration - 0.5) < 1e-9
    assert run.tool_call("c1") is call and run.tool_call("nope") is None


def test_a_tool_calls_duration_leaves_out_the_wait_for_a_persons_decision() -> None:
    run = folded(
        ToolCallStarted(call_id="c1", name="place_trade", received_at=101.0),
        ToolApprovalRequested(call_id="c1", name="place_trade", received_at=101.2),
        ToolApprovalResponded(call_id="c1", approved=True, decided_by="user", received_at=140.2),
        ToolCallFinished(call_id="c1", output={"filled": True}, received_at=140.7),
    )
    (call,) = run.tool_calls
    assert call.approval is not None and call.approval.decided_at == 140.2
    assert call.duration is not None and abs(call.duration - 0.7) < 1e-9  # not 39.7 s


def test_arguments_too_deep_to_parse_are_kept_as_text() -> None:
    deep = "[" * 1500 + "]" * 1500
    run = folded(
        ToolCallStarted(call_id="c1", name="t"),
        ToolCallDelta(call_id="c1", arguments_delta=deep),
        ToolCallFinished(call_id="c1", output="ok"),
    )
    assert run.tool_calls[0].arguments == deep  # nothing lost, nothing raised


def test_completion_sets_usage_followups_and_a_total() -> None:
    run = folded(
        TextDelta(delta="done"),
        RunCompleted(
            usage=Usage(prompt_tokens=10, completion_tokens=5),
            followups=["And AMD?"],
            received_at=102.0,
        ),
    )
    assert run.status == "completed" and run.done
    assert run.usage == Usage(prompt_tokens=10, completion_tokens=5, total_tokens=15)
    assert run.followups == ["And AMD?"]
    assert run.duration is not None and abs(run.duration - 2.0) < 1e-9


def test_a_failure_keeps_the_partial_text_and_the_first_end_wins() -> None:
    run = folded(
        TextDelta(delta="partial"),
        RunFailed(message="model overloaded", code="CAPACITY_ERROR"),
    )
    assert run.status == "failed" and run.text == "partial"
    assert run.error == RunErrorInfo("model overloaded", code="CAPACITY_ERROR")
    run.finish("cancelled")  # an end after the end changes nothing
    assert run.status == "failed"


def test_unknown_frames_are_kept_up_to_a_cap_and_the_rest_counted() -> None:
    events = [UnknownEvent(event="x", data=str(i)) for i in range(MAX_UNKNOWN_EVENTS + 25)]
    run = folded(*events)
    assert len(run.unknown_events) == MAX_UNKNOWN_EVENTS
    assert run.unknown_dropped == 25
    assert "25" in repr(run)


def test_every_event_type_has_its_fold() -> None:
    (event_types, _discriminator) = get_args(Event)
    tree = ast.parse(textwrap.dedent(inspect.getsource(Run.apply)))
    folded = {ast.unparse(node.cls) for node in ast.walk(tree) if isinstance(node, ast.MatchClass)}
    folded |= {call_event.__name__ for call_event in get_args(CallEvent)}
    assert folded >= {event_type.__name__ for event_type in get_args(event_types)}


class ExtraText(TextDelta):
    pass


class ExtraDecision(ToolApprovalResponded):
    pass


class ExtraCompleted(RunCompleted):
    pass


def state_of(run: Run) -> dict[str, Any]:
    state = run.snapshot()
    del state["local_id"]
    return state


def test_a_subclass_of_an_event_type_is_folded_as_that_type() -> None:
    def story(text: type[TextDelta], decision: type[ToolApprovalResponded]) -> list[Any]:
        return [
            text(delta="Let me check. ", received_at=100.1),
            ToolApprovalRequested(call_id="c1", name="pay", received_at=100.2),
            RunPaused(received_at=100.3),
            decision(call_id="c1", approved=True, received_at=100.4),
            text(delta="Paid.", received_at=100.5),
        ]

    run = folded(*story(ExtraText, ExtraDecision))
    assert run.text == "Let me check. Paid."
    assert run.status == "running"  # the decision's fold, not a plain call event's
    assert state_of(run) == state_of(folded(*story(TextDelta, ToolApprovalResponded)))
    ended = folded(ExtraCompleted(final_output="42", received_at=101.0))
    assert (ended.status, ended.text) == ("completed", "42")


def test_what_is_not_an_event_is_counted_and_ignored() -> None:
    run = folded(TextDelta(delta="a"))
    before = state_of(run)
    run.apply(object())  # type: ignore[arg-type]
    assert run.event_count == before["event_count"] + 1
    assert {**state_of(run), "event_count": before["event_count"]} == before


# ---- the agent's time: a person's wait is its own figure ------------------------------------


def timed(*events: Any) -> Run:
    run = Run(agent="trader", message="buy")
    run.start(at=100.0)
    for event in events:
        run.apply(event)
    return run


def test_a_pause_for_approval_is_not_the_agents_time() -> None:
    run = timed(
        TextDelta(delta="Placing it. ", received_at=101.0),
        ToolApprovalRequested(call_id="c1", name="place_trade", received_at=101.5),
        RunPaused(received_at=102.0),
        ToolApprovalResponded(call_id="c1", approved=True, decided_by="user", received_at=112.0),
        TextDelta(delta="Done.", received_at=113.0),
        RunCompleted(usage=Usage(completion_tokens=30), received_at=114.0),
    )
    assert run.elapsed == 14.0
    assert run.paused_seconds == 10.0 and run.paused_time == 10.0 and run.paused_at is None
    assert run.duration == 4.0
    assert run.ttft == 1.0
    assert run.tokens_per_second == 30 / (114.0 - 101.0 - 10.0)
    assert run.snapshot()["paused_seconds"] == 10.0


def test_a_pause_before_the_first_token_is_left_out_of_ttft() -> None:
    run = timed(
        ToolApprovalRequested(call_id="c1", name="place_trade", received_at=100.25),
        RunPaused(received_at=100.5),
        ToolApprovalResponded(call_id="c1", approved=True, decided_by="user", received_at=110.5),
        TextDelta(delta="Done.", received_at=111.0),
        RunCompleted(usage=Usage(completion_tokens=10), received_at=112.0),
    )
    assert run.ttft == 1.0 and run.duration == 2.0
    assert run.tokens_per_second == 10.0


def test_a_run_that_ends_while_paused_counts_the_pause_to_its_end() -> None:
    run = timed(
        ToolApprovalRequested(call_id="c1", name="place_trade", received_at=100.5),
        RunPaused(received_at=101.0),
    )
    assert run.paused_at == 101.0
    run.finish("cancelled")
    assert run.paused_at is None and run.finished_at is not None
    assert run.paused_seconds == run.finished_at - 101.0
    assert run.duration == 1.0


def test_a_run_with_no_token_has_no_ttft_and_no_rate() -> None:
    run = timed(RunFailed(message="boom", received_at=103.0))
    assert run.ttft is None and run.tokens_per_second is None
    assert run.duration == 3.0


def test_forgetting_the_oldest_calls_keeps_the_rest_and_a_step_to_reset() -> None:
    run = folded(
        ToolCallStarted(call_id="a", name="lookup"),
        ToolCallStarted(call_id="a1", name="inner", parent_call_id="a"),
        ToolCallFinished(call_id="a1", output="in"),
        ToolCallFinished(call_id="a", output="1"),
        TextDelta(delta="between"),
        ToolCallStarted(call_id="b", name="lookup"),
        ToolCallFinished(call_id="b", output="2"),
        StepStarted(),
        ToolCallStarted(call_id="c", name="lookup"),
        ToolCallStarted(call_id="d", name="lookup"),
        ToolCallFinished(call_id="d", output="4"),
    )
    assert run.forget_calls(2) == {"a", "a1", "b"}, "c still runs: kept; a's call goes with it"
    assert [c.call_id for c in run.tool_calls] == ["c", "d"]
    assert [(p.kind, p.call_id) for p in run.parts] == [
        ("text", None),
        ("tool", "c"),
        ("tool", "d"),
    ]
    assert run.tool_call("a") is None and run.forgotten_calls == 3
    assert run.forget_calls(5) == {"d"} and run.forgotten_calls == 4
    run.apply(ToolCallStarted(call_id="e", name="lookup"))
    run.apply(StepReset())
    assert [c.call_id for c in run.tool_calls] == [], "the step's calls go, as they came after it"
    assert [p.kind for p in run.parts] == ["text"] and run.text == "between"


def test_a_dialects_extras_fold_into_one_mapping_and_the_old_names_warn() -> None:
    """What one dialect says of a run (an ACP session's mode, settings and plan) is the
    run's ``extras``: a later start goes over an earlier one's keys and leaves the others, a
    ``plan`` custom event is the last plan; ``run.mode`` and the like still read it, saying
    where it went."""
    plan = [{"content": "read the code", "status": "completed", "priority": "high"}]
    run = folded(
        RunStarted(extras={"mode": "ask", "config": {"model": "m1"}}),
        CustomEvent(name="plan", value={"not": "a list of entries"}),
        RunStarted(extras={"mode": "code", "config": None}),
        CustomEvent(name="plan", value=plan),
    )
    assert run.extras == {"mode": "code", "config": {"model": "m1"}, "plan": plan}
    assert run.snapshot()["extras"] == run.extras
    for name in ("mode", "config", "plan"):
        with pytest.warns(DeprecationWarning, match=rf"use\s+Run\.extras\.get\('{name}'\)"):
            assert getattr(run, name) == run.extras[name]
    assert folded(TextDelta(delta="hi")).extras == {}
