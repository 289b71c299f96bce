"""Past runs from the history, shown: what ``agentnb.show`` opens when it is given a history
record, a ``runs()`` row, a pandas row or a run id (the run rebuilt by
:func:`agentnb._history.past_run`), and the conversation such a run can go on in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeGuard

from ..._core.exceptions import ConfigurationError
from ..._core.handle import RunHandle, StreamSource
from ..._core.run import Run
from ..._display.controller import StartRun
from ..._display.show import show_live
from ..._display.widget import ChatCell
from ..._history import RunRecord, ToolCallRecord, host_of, past_run
from ..front.connections import DEFAULT_NAME, Connection, configured_connection
from ..front.conversation import UNKNOWN, Conversation
from ..front.run_like import RunLike, history_records, names_past_runs
from ..front.scoring import keep_verdict

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
