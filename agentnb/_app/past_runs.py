"""Past runs from the history, as :class:`~agentnb.Run`s: what ``agentnb.show`` opens when it
is given a history record, a ``runs()`` row, a pandas row or a run id.

A past run is rebuilt by folding the events its history row stands for (the run's start, its
reasoning, its tool calls with their results and questions, its answer, its end), stamped
with the row's own times, so the chat cell, the static copy and the terminal show it the way
they show a run that just ended. The history keeps the answer, the reasoning and each call,
not the order they interleaved in, nor a sub-agent's text: a past run reads reasoning, then
its calls, then its answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeGuard, get_args

from .._core.exceptions import ConfigurationError
from .._core.handle import RunHandle, StreamSource
from .._core.pricing import CostSource, RunCost
from .._core.run import TERMINAL_STATUSES, Run, RunErrorInfo
from .._core.transcript import DecidedBy, parse_json_or_text
from .._display.controller import StartRun
from .._display.show import show_live
from .._display.widget import ChatCell
from .._history import RunRecord, ToolCallRecord, host_of
from ..events import (
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
from .connections import DEFAULT_NAME, Connection, configured_connection
from .conversation import UNKNOWN, Conversation
from .run_like import RunLike, history_records, names_past_runs
from .scoring import keep_verdict

__all__ = ["continuation", "past_run", "show"]


def show(source: RunLike, *, on_followup: StartRun | None = None) -> ChatCell:
    """Display a run as a chat cell and return the `ChatCell`.

    ``source`` may be a live or finished run (a `RunHandle`, a stream from
    ``client.stream(...)``, a `Run`, a `ChatCell`), or a past run from the history: a
    record or row of ``agentnb.runs()``, a row of its ``.to_pandas()`` frame, or a run id
    (agentnb's ``local_id`` or the platform's ``run_id``). A past run shows its question,
    reasoning, tool calls, answer, usage and cost as recorded, with "Continue this
    conversation" where it can go on: on the connection it was made on, its thread still
    held (see :func:`continuation`; the cell says why when it cannot). ``cell.ask(text)``
    continues it from code. ``on_followup`` as for a live run (see
    :func:`agentnb._display.show.show_live`)."""
    if _is_live(source):
        return show_live(source, keep_verdict=keep_verdict, on_followup=on_followup)
    if not names_past_runs(source):
        raise TypeError(
            "agentnb.show() takes a RunHandle, an AsyncRunStream (client.stream(...)), a Run, "
            "a ChatCell, or a past run (a history record or runs() row, a pandas row, a run "
            f"id), not {type(source).__name__}"
        )
    found = history_records([source])
    if len(found) != 1:
        raise ConfigurationError(
            f"agentnb.show() shows one run; {type(source).__name__} names {len(found)}: "
            "give one row, one record or one run id"
        )
    record, calls = found[0]
    if on_followup is not None:
        return show_live(
            past_run(record, calls), keep_verdict=keep_verdict, on_followup=on_followup
        )
    return show_live(past_run_cell(record, calls))


def past_run_cell(record: RunRecord, calls: Sequence[ToolCallRecord]) -> ChatCell:
    """A past run as a chat cell (not displayed), with "Continue this conversation" where
    it can go on, else the reason why not: what ``show()`` and the run table's Open show."""
    run = past_run(record, calls)
    return ChatCell(
        run,
        agent=run.agent,
        on_continue=lambda: continuation(record, run).actions(),
        continue_note=_cannot_continue_note(record),
        keep_verdict=keep_verdict,
    )


def continuation(record: RunRecord, run: Run | None = None) -> Conversation:
    """The conversation ``record``'s run belongs to, on the connection it was made on, so
    the next message continues its thread (followed by ``run``, the past run as shown).

    The connection is the one of that name in this kernel (``connect()`` or the
    environment; its key comes from there, never from the history), and must still be the
    same dialect on the same host. Raises :class:`ConfigurationError` saying why the
    conversation cannot go on from here: the run has no thread, its connection is gone or
    now points elsewhere, it ran on the built-in server of an earlier kernel, or the dialect
    kept the thread on the client and this process does not hold it. A platform that has
    forgotten the thread answers the next message with its own 404, shown in the cell."""
    conn = _connection_to_continue(record)
    assert record.thread_id is not None  # checked above
    conversation = Conversation(
        conn, record.agent or "", {"thread_id": record.thread_id, "followups": True}
    )
    if run is not None:
        conversation.follow(run, started_from=UNKNOWN)
    return conversation


def _cannot_continue_note(record: RunRecord) -> str:
    try:
        _connection_to_continue(record)
    except ConfigurationError as exc:
        return f"Cannot continue this conversation: {exc}"
    return ""


_EARLIER_SERVER = (
    "it ran on the built-in local server of an earlier kernel, whose threads ended with it: "
    "ask again in a new cell to start a new conversation"
)


def _connection_to_continue(record: RunRecord) -> Connection:
    """The connection ``record``'s thread goes on through; raises ConfigurationError saying
    why it cannot go on from this kernel (no I/O)."""
    if not record.thread_id:
        raise ConfigurationError(
            "the platform named no thread for this run, so there is nothing to continue"
        )
    if not record.agent or not record.connection:
        raise ConfigurationError("the history does not say which agent and connection ran it")
    conn = configured_connection(record.connection)
    if conn is None:
        if record.connection == DEFAULT_NAME:
            raise ConfigurationError(_EARLIER_SERVER)
        raise ConfigurationError(
            f"connection {record.connection!r} does not exist in this kernel: register it "
            f"again with agentnb.connect(..., name={record.connection!r}) (its key comes from "
            f"there or the environment, never from the history)"
        )
    if record.provider and conn.provider != record.provider:
        raise ConfigurationError(
            f"connection {conn.name!r} now speaks {conn.provider}, but the run was made in "
            f"{record.provider}"
        )
    now = host_of(conn.base_url)
    if record.host and now != record.host:
        if conn.local:  # another built-in server: an earlier kernel's, gone with its threads
            raise ConfigurationError(_EARLIER_SERVER)
        raise ConfigurationError(
            f"its thread is on {record.host}: point connection {conn.name!r} back there "
            f"(agentnb.connect(..., name={conn.name!r})) to continue it, or ask again to "
            f"start a new conversation; the connection now points at {now}"
        )
    why = conn.client().provider.cannot_continue(record.thread_id)
    if why is not None:
        raise ConfigurationError(why)
    return conn


def _is_live(source: RunLike) -> TypeGuard[RunHandle | Run | StreamSource | ChatCell]:
    if isinstance(source, RunHandle | Run | ChatCell):
        return True
    return isinstance(getattr(source, "run", None), Run) and hasattr(source, "__aiter__")


def past_run(record: RunRecord, calls: Sequence[ToolCallRecord]) -> Run:
    """The run ``record`` stands for, with its tool ``calls``, folded from events."""
    run = Run(
        agent=record.agent or "",
        message=record.message or "",
        local_id=record.local_id,
        provider=record.provider or "",
        connection=record.connection or "",
    )
    run.start(at=_seconds(record.started_at))
    for event in _events(record, calls):
        run.apply(event)
    if not run.done:  # cancelled, interrupted, or still running when read
        ended = record.status in TERMINAL_STATUSES
        why = record.error_message or ("" if ended else "it was still running when read")
        error = RunErrorInfo(why, record.error_code) if why or record.error_code else None
        run.finish(record.status if ended else "interrupted", error)  # type: ignore[arg-type]
        run.finished_at = _seconds(record.finished_at)  # None: its process died, when unknown
    run.model = run.model or record.model
    run.paused_seconds = record.paused_seconds or 0.0  # the agent's time leaves it out
    run.usage = run.usage or _usage(record)
    if record.cost_usd is not None:  # as priced then, not by today's prices or without cache
        source = record.cost_source if record.cost_source in get_args(CostSource) else None
        run.recorded_cost = RunCost(record.cost_usd, source)  # type: ignore[arg-type]
    if record.refused_figures:  # the run still says what it refused
        run.usage = (run.usage or Usage()).model_copy(update={"refused": record.refused_figures})
    return run


def _events(record: RunRecord, calls: Sequence[ToolCallRecord]) -> list[Event]:
    started = _seconds(record.started_at)
    first = _seconds(record.first_token_at) or started
    ended = _seconds(record.finished_at) or first
    events: list[Event] = [
        RunStarted(run_id=record.run_id, thread_id=record.thread_id, received_at=started or 0.0)
    ]
    if record.reasoning:
        events.append(ReasoningDelta(delta=record.reasoning, received_at=first or 0.0))
    for call in sorted(calls, key=lambda c: c.position):
        events += _call_events(call)
    if record.answer:
        events.append(TextDelta(delta=record.answer, received_at=first or 0.0))
    end = _end(record, ended or 0.0)
    return [*events, end] if end is not None else events


def _call_events(call: ToolCallRecord) -> list[Event]:
    at = _seconds(call.started_at) or 0.0
    done = _seconds(call.finished_at) or at
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
        received_at=at,
    )


def _usage(record: RunRecord) -> Usage | None:
    """The token counts the history kept (None: it kept none)."""
    counts = (record.prompt_tokens, record.completion_tokens, record.total_tokens)
    if all(count is None for count in counts):
        return None
    prompt, completion, total = counts
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def _seconds(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None
