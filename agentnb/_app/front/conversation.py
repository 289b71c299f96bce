"""The conversation a chat cell holds: the runs it sends on one connection to one agent, the
thread they continue, and where each turn started, so a Retry or an edited question replaces
its turn instead of following it.

A replaced turn is forked where the dialect can (its provider's ``cannot_fork`` says None):
the new run starts from the thread's state before that turn, and the model never sees the
answer it replaces. Where it cannot, the retry continues the thread and the cell says so
before anything is sent (:meth:`Conversation.retry_note`). A first turn is replaced on a new
thread in every dialect.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._core.approvals import ApprovalPolicy
from ..._core.exceptions import ConfigurationError
from ..._core.handle import RunHandle
from ..._core.request import Fork, Media, RunRequest, build_request
from ..._core.run import Run
from ..._display.controller import ChatActions
from ..._display.environment import kernel_shell
from ...events import Event
from ..coding_agents.acp_sessions import ChatSession
from ..context.attachments import (
    KernelAttachments,
    NotebookTurn,
    notebook_context,
    with_attachments,
)
from ..context.live_notebook import undo_notebook
from .connections import Connection
from .run_start import start_run
from .scoring import keep_verdict

if TYPE_CHECKING:
    from ..._display.widget import ChatCell

__all__ = [
    "UNKNOWN",
    "Conversation",
    "Unknown",
    "conversation_cell",
]


class Unknown(enum.Enum):
    """Where a turn started is not known (a run attached or opened from the history)."""

    UNKNOWN = "unknown"


UNKNOWN = Unknown.UNKNOWN


@dataclass
class _Turn:
    started_from: str | Unknown | None
    """The thread id the turn was asked on (None: it began a thread)."""
    run: RunHandle | Run


class Conversation:
    """Sends a chat cell's messages: ``send`` the next one on the thread, ``again`` the
    last turn's question (or an edit of it) in place of that turn, ``new`` forgets the
    thread. ``options`` are the run options of every message (a ``thread_id`` among them is
    the thread to continue)."""

    def __init__(
        self,
        conn: Connection,
        agent: str,
        options: dict[str, Any],
        *,
        approve: ApprovalPolicy = None,
        context: bool = False,
    ) -> None:
        self.conn, self.agent, self.approve = conn, agent, approve
        self.context = context
        self.options = dict(options)
        self.thread_id: str | None = self.options.pop("thread_id", None)
        self._turns: list[_Turn] = []

    def follow(self, run: RunHandle | Run, *, started_from: str | Unknown | None) -> None:
        """Take ``run`` (started elsewhere, asked on ``started_from``) as the last turn; a
        live run's thread is kept once the platform names it."""
        self._turns.append(_Turn(started_from, run))
        if _run_of(run).thread_id:
            self.thread_id = _run_of(run).thread_id
        if isinstance(run, RunHandle) and not run.done:
            run.add_listener(self._keep_thread, catch_up=lambda run: self._keep_thread(run, None))

    def retry_note(self) -> str:
        """What a cell says beside Retry and Edit of the last turn before they are used:
        that they continue the thread, and why, where they cannot fork it; nothing where
        they fork, or where the turn began its thread (replaced on a new one)."""
        started_from = self._turns[-1].started_from if self._turns else None
        if started_from is None or started_from is UNKNOWN:
            return ""
        why = self.conn.client().provider.cannot_fork(started_from)
        if why is None:
            return ""
        return f"Retry and Edit continue the thread: the earlier attempt stays in it ({why})."

    def actions(self) -> ChatActions:
        """What a chat cell's controls do with this conversation."""
        images = self.conn.carries("media")
        attachments = KernelAttachments(images) if kernel_shell() is not None else None
        session, client = None, self.conn.client()
        if client.provider.session_controls:  # its model, mode and commands beside the input
            session = ChatSession(
                client, self.conn.name, self.options, lambda: self.thread_id, self.running
            )
        paste = self.send if images else None  # images pasted into the input go as media
        return ChatActions(
            self.send, self.again, self.new, self.retry_note, attachments, session, paste,
            undo_notebook,
        )  # fmt: skip

    def running(self) -> bool:
        """Whether the conversation's last turn is still going."""
        return bool(self._turns) and not _run_of(self._turns[-1].run).done

    def send(self, text: str, pasted: Sequence[Media] = ()) -> RunHandle:
        """Start ``text`` as the next turn of the thread (a new one if there is none), with
        the images ``pasted`` into the chat cell's input."""
        turn, options = self._turn(text, pasted)
        request = build_request(self.agent, turn.message, thread_id=self.thread_id, **options)
        return self._start(with_attachments(request, turn), text)

    def again(self, text: str) -> RunHandle:
        """Start ``text`` in place of the last turn: from the state before it (a fork) where
        the dialect can, else continuing the thread (as :meth:`retry_note` said)."""
        if not self._turns:
            raise ConfigurationError("there is no turn to retry in this conversation")
        last = self._turns[-1]
        if last.started_from is UNKNOWN:
            raise ConfigurationError(
                "Retry and Edit replace a turn asked from this cell or this ask; this run was "
                "not (it was attached or opened from the history): send the question again"
            )
        turn, options = self._turn(text)
        request = build_request(self.agent, turn.message, thread_id=last.started_from, **options)
        request = with_attachments(request, turn)
        replaced = _run_of(last.run)
        provider = self.conn.client().provider
        if last.started_from is None:
            pass  # it began a thread: a new thread is its fork, in every dialect
        elif provider.cannot_fork(last.started_from) is not None:
            thread = replaced.thread_id or last.started_from
            request = request.model_copy(update={"thread_id": thread})
        elif replaced.thread_id:
            fork = Fork(thread_id=replaced.thread_id, run_id=replaced.run_id)
            request = request.model_copy(update={"fork": fork})
        return self._start(request, text)

    def _turn(self, text: str, pasted: Sequence[Media] = ()) -> tuple[NotebookTurn, dict[str, Any]]:
        """A message as sent from a kernel (attachments, context tools) and its options
        (``pasted``: images pasted beside it)."""
        # a turn the chat cell's input sends runs in no cell of its own to show a server in
        options, context = self.conn._fit_tools(self.options, context=self.context, in_cell=False)
        images = self.conn.carries("media")
        turn = notebook_context(text, options.get("tools"), context=context, images=images)
        if turn.tools:
            options["tools"] = turn.tools
        if turn.media or pasted:  # the attached figures' images, the pasted, those given
            options["media"] = [*turn.media, *pasted, *(options.get("media") or ())]
        return turn, options

    def new(self) -> None:
        """The next message starts a new thread."""
        self.thread_id = None

    def _start(self, request: RunRequest, typed: str) -> RunHandle:
        handle = start_run(
            self.conn,
            request,
            listeners=(self._keep_thread,),
            approve=self.approve,
            typed=typed,
        )
        self._turns.append(_Turn(request.thread_id, handle))
        return handle

    def _keep_thread(self, run: Run, event: Event | None) -> None:
        if run.thread_id:
            self.thread_id = run.thread_id


def conversation_cell(conversation: Conversation, first: RunHandle | Run | None = None) -> ChatCell:
    """A chat cell with an input box that sends through ``conversation`` (Retry and Edit
    replace the last turn, "New conversation" forgets the thread), showing ``first``."""
    from ..._display.widget import ChatCell  # a notebook's: a script's run draws none

    actions = conversation.actions()
    return ChatCell(
        first,
        on_followup=actions.send,
        input=True,
        agent=conversation.agent,
        on_retry=actions.again,
        on_new_conversation=actions.new,
        retry_note=actions.retry_note,
        keep_verdict=keep_verdict,
        attachments=actions.attachments,
        session=actions.session,
        on_paste=actions.paste,
        on_undo_notebook=actions.undo,
    )


def _run_of(run: RunHandle | Run) -> Run:
    return run.run if isinstance(run, RunHandle) else run
