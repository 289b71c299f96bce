"""A history row as the :class:`~agentnb.Run` it stands for: what ``agentnb.show`` opens for
a past run, and where a record's ``tool_calls`` come from.

A past run is rebuilt by folding the events its history row stands for (the run's start, its
reasoning, its tool calls with their results and questions, its answer, its end), stamped
with the row's own times, so the chat cell, the static copy and the terminal show it the way
they show a run that just ended. The history keeps the answer, the reasoning and each call,
not the order they interleaved in, nor a sub-agent's text: a past run reads reasoning, then
its calls, then its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, get_args

from .._core.pricing import CostSource, RunCost
from .._core.run import PLAN_EVENT, TERMINAL_STATUSES, Run, RunErrorInfo
from .._core.transcript import DecidedBy, parse_json_or_text
from ..events import (
    CustomEvent,
    Event,
    ReasoningDelta,
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from ._records import to_seconds

if TYPE_CHECKING:
    from ._records import RunRecord, ToolCallRecord

__all__ = ["past_run"]


def past_run(record: RunRecord, calls: Sequence[ToolCallRecord]) -> Run:
    """The run ``record`` stands for, with its tool ``calls``, folded from events."""
    run = Run(
        agent=record.agent or "",
        message=record.message or "",
        local_id=record.local_id,
        provider=record.provider or "",
        connection=record.connection or "",
    )
    run.start(at=to_seconds(record.started_at))
    for event in _events(record, calls):
        run.apply(event)
    if not run.done:  # cancelled, interrupted, or still running when read
        ended = record.status in TERMINAL_STATUSES
        why = record.error_message or ("" if ended else "it was still running when read")
        error = RunErrorInfo(why, record.error_code) if why or record.error_code else None
        run.finish(record.status if ended else "interrupted", error)  # type: ignore[arg-type]
        run.finished_at = to_seconds(record.finished_at)  # None: its process died, when unknown
    run.model = run.model or record.model
    run.imported = bool(record.imported)
    run.paused_seconds = record.paused_seconds or 0.0  # the agent's time leaves it out
    run.usage = run.usage or _usage(record)
    if record.cost_usd is not None:  # as priced then, not by today's prices or without cache
        source = record.cost_source if record.cost_source in get_args(CostSource) else None
        run.recorded_cost = RunCost(record.cost_usd, source)  # type: ignore[arg-type]
    if record.refused_figures:  # the run still says what it refused
        run.usage = (run.usage or Usage()).model_copy(update={"refused": record.refused_figures})
    return run


def _events(record: RunRecord, calls: Sequence[ToolCallRecord]) -> list[Event]:
    started = to_seconds(record.started_at)
    first = to_seconds(record.first_token_at) or started
    ended = to_seconds(record.finished_at) or first
    extras = record.extras if isinstance(record.extras, dict) else {}
    events: list[Event] = [
        RunStarted(
            run_id=record.run_id,
            thread_id=record.thread_id,
            extras={k: v for k, v in extras.items() if k != "plan"},
            received_at=started or 0.0,
        )
    ]
    if record.reasoning:
        events.append(ReasoningDelta(delta=record.reasoning, received_at=first or 0.0))
    for call in sorted(calls, key=lambda c: c.position):
        events += _call_events(call)
    if isinstance(plan := extras.get("plan"), list):
        events.append(CustomEvent(name=PLAN_EVENT, value=plan, received_at=started or 0.0))
    if record.answer:
        events.append(TextDelta(delta=record.answer, received_at=first or 0.0))
    end = _end(record, ended or 0.0)
    return [*events, end] if end is not None else events


def _call_events(call: ToolCallRecord) -> list[Event]:
    at = to_seconds(call.started_at) or 0.0
    done = to_seconds(call.finished_at) or at
    arguments = parse_json_or_text(call.arguments) if call.arguments else None
    events: list[Event] = [
        ToolCallStarted(
            call_id=call.call_id,
            name=call.name or "",
            arguments=arguments,
            parent_call_id=call.parent_call_id,
            agent=call.agent,
            received_at=at,
        )
    ]
    if call.question is not None or call.decided_by is not None:  # it asked for a decision
        events.append(
            ToolApprovalRequested(
                call_id=call.call_id, name=call.name or "", question=call.question, received_at=at
            )
        )
    if call.decided_by is not None or call.answer is not None:
        known = call.decided_by in get_args(DecidedBy)  # a file's row may say anything
        events.append(
            ToolApprovalResponded(
                call_id=call.call_id,
                approved=call.status != "denied",
                answer=parse_json_or_text(call.answer) if call.answer is not None else None,
                decided_by=call.decided_by if known else "user",
                received_at=done - (call.duration or 0.0),  # the call's own time came after
            )
        )
    if call.status in ("succeeded", "failed"):
        output = parse_json_or_text(call.output) if call.output is not None else None
        events.append(
            ToolCallFinished(
                call_id=call.call_id,
                output=output,
                error=call.error,
                ran_by="client" if call.ran_by == "client" else None,
                received_at=done,
            )
        )
    return events


def _end(record: RunRecord, at: float) -> Event | None:
    """The run's end as an event, for a run that completed or failed (None otherwise)."""
    if record.status == "failed":
        message = record.error_message or "the run failed"
        return RunFailed(message=message, code=record.error_code, received_at=at)
    if record.status != "completed":
        return None
    return RunCompleted(
        usage=_usage(record),
        model=record.model,
        execution_time=record.execution_time,
        finish_reason=record.finish_reason,
        received_at=at,
    )


def _usage(record: RunRecord) -> Usage | None:
    """The token counts the history kept (None: it kept none)."""
    counts = (record.prompt_tokens, record.completion_tokens, record.total_tokens)
    if all(count is None for count in counts):
        return None
    prompt, completion, total = counts
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
