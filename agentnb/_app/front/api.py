"""The notebook-level API the magics call: ``ask`` starts a run, ``attach`` shows one again,
``chat`` opens a chat. They build requests with the one builder
(:func:`agentnb._core.request.build_request`), start them as :mod:`.run_start` does on a
connection or a client given as ``client=``, and show them (a chat cell in a notebook, text
elsewhere). The command line starts its runs with :mod:`.run_start` itself: it loads no widget.

Tool approval: every entry point takes ``approve=`` (see :mod:`agentnb._core.approvals`).
What it leaves undecided waits for a human — the chat cell's Approve / Deny buttons or
``handle.approve`` / ``handle.deny`` — except while a caller blocks until the end
(``wait=True``, ``handle.wait()``), when nothing can decide and those calls are denied."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Unpack, cast

from ..._core.approvals import ApprovalPolicy
from ..._core.call_site import typed_literal
from ..._core.handle import RunHandle, RunListener
from ..._core.request import RunOptions, RunRequest, build_request
from ..._core.run import Run
from ..._core.schema import AnswerSchema, resolve_schema
from ..._display.approval_prompt import printed_with
from ..._display.display_slot import PlainDisplay
from ..._display.environment import in_notebook, note
from ..._display.marimo import in_marimo
from ..._display.run_text import run_text
from ..._display.terminal import TerminalPrinter
from ..context.attachments import (
    Mentions,
    as_text,
    asked_first,
    notebook_context,
    typed_message,
    with_attachments,
)
from .connections import AnyClient, Connection, carrying_tools, resolve_target
from .conversation import UNKNOWN, Conversation, Unknown, conversation_cell
from .outcome import HeldSummary, has_content, without_error
from .run_like import RunLike
from .run_start import attach_connection, start_attach, start_run

if TYPE_CHECKING:
    from ..._display.widget import ChatCell

__all__ = ["ask", "attach", "chat"]


def ask(
    agent: str,
    message: str,
    *,
    via: str | None = None,
    client: AnyClient | None = None,
    continue_thread: bool = False,
    schema: AnswerSchema | None = None,
    display: bool = True,
    plain: bool = False,
    wait: bool = False,
    record: bool = True,
    on_started: Callable[[RunHandle], None] | None = None,
    start_timeout: float | None = None,
    approve: ApprovalPolicy = None,
    context: bool = False,
    mentions: bool | None = None,
    attach: Sequence[str] = (),
    **options: Unpack[RunOptions],
) -> RunHandle:
    """Start a run in the background and return its handle at once.

    Each call starts a new conversation, so running a cell again is a fresh try from the same
    starting point, never a hidden follow-up.
    ``continue_thread=True`` continues the last conversation with the same agent on the same
    connection, and ``thread_id`` picks one; a displayed run then says, above it, which
    thread it continues, at which turn, after which run.
    ``schema`` is a JSON schema dict or a pydantic model class: the answer must be JSON for it
    and ``handle.result`` is the validated value. With ``display`` the run is shown live
    (a widget in a notebook, text in a terminal or with ``plain``); ``wait`` blocks until it
    ends and raises if it did not complete. ``start_timeout`` (seconds) waits that long for
    the server to accept the run and raises its error if it refused it (unknown agent, wrong
    key, ...). ``record=False`` keeps the run out of the history. ``on_started(handle)`` is
    called as soon as the run is started, before any waiting (the magics bind ``_agent``
    with it). The other options are those of ``client.stream``
    (:class:`~agentnb.types.RunOptions`).

    ``approve`` decides on tool calls the platform runs only once approved: True approves
    each, False denies each, a callable gets the :class:`~agentnb.types.ToolCall` and returns True,
    False, an :class:`~agentnb.approvals.ApprovalDecision` or None (leave it to a human; it may be
    async). Calls left to a human wait for the chat cell's buttons or ``handle.approve`` /
    ``handle.deny``; with ``wait=True`` nothing can decide while ``ask`` blocks, so they are
    denied, saying no one could approve them. Follow-ups from the cell use the same policy,
    the same ``tools=``, ``context=`` and run options (but this message's ``media``, thread
    and answer schema).

    In a notebook, ``@name`` in ``message`` attaches a summary of that variable (``@error``,
    ``@In[3]``, ``@Out[3]``, ``@df.column``; ``@@`` is a literal ``@``) where the message is
    a string literal typed in the call (``ask("a", "What is in @df?")``); a message made at
    run time (an f-string, a variable: text that may come from anywhere) goes as it is,
    unless ``mentions=True`` (each mention naming a variable attaches, the others stay
    text). ``attach=["df", "In[3]"]`` attaches those whatever the message says, and
    ``context=True`` offers the agent read-only tools over the kernel (see
    docs/context.md).

    Whenever ``ask`` raises the run's error, the run is shown without it (the raised error
    is what says it, once), and a run that ended before sending anything is not shown.
    """
    read_as = _mentions(message, mentions)
    typed = as_text(message) if read_as == "text" and "@" in message else message
    follow_ups = _follow_up_options(options)
    target = resolve_target(via, client, agent)
    fitted = target._fit_tools(options, context=context)  # ACP: MCP servers, not functions
    options = cast(RunOptions, fitted.options)
    conn = carrying_tools(target, bool(options.get("tools")) or fitted.context_as_tools)
    turn = notebook_context(
        message,
        options.get("tools"),
        context=fitted.context_as_tools,
        mentions=read_as,
        attach=attach,
        images=conn.carries("media"),
    )
    message = turn.message
    if turn.tools:
        options["tools"] = turn.tools
    if turn.media:  # the attached figures' images, then those given
        options["media"] = [*turn.media, *(options.get("media") or ())]
    response_format, validate = resolve_schema(schema)
    if response_format is not None:
        options["response_format"] = response_format
    if continue_thread and options.get("thread_id") is None:
        options["thread_id"] = conn.threads.get(agent)
    request = with_attachments(build_request(agent, message, **options), turn)
    first = asked_first(turn.attached)
    if first is not None:  # shown and decided before anything is sent
        request = request.model_copy(update={"asks_first": first})
    view = _RunView(
        conn,
        {**follow_ups, "followups": request.followups},
        context=context,
        display=display,
        plain=plain,
        approve=approve,
        started_from=request.thread_id,
    )
    if display:
        view.say_where(request, asked_to_continue=continue_thread)
    handle = start_run(
        conn,
        request,
        listeners=view.listeners,
        validate=validate,
        record=record,
        approve=approve,
        typed=typed,
    )
    if on_started is not None:
        on_started(handle)
    _wait_and_present(handle, view, wait=wait, start_timeout=start_timeout)
    return handle


_THIS_MESSAGE_ONLY = frozenset({"thread_id", "media", "response_format"})
"""``ask``'s options that belong to its one message, not to the follow-ups typed under it."""


def _follow_up_options(options: RunOptions) -> dict[str, Any]:
    """The options a follow-up typed under ``ask``'s cell runs with: those ``ask`` was given
    (its tools as given: each turn fits them to the dialect afresh), but its message's own."""
    return {name: value for name, value in options.items() if name not in _THIS_MESSAGE_ONLY}


def _mentions(message: str, asked: bool | None) -> Mentions:
    """How ``ask``'s ``message`` is read for mentions: as typed in a magic cell or as a
    literal in the call, as asked (``mentions=``), else as text."""
    if typed_message.get():
        return "typed"
    if asked is not None:
        return "asked" if asked else "text"
    return "typed" if typed_literal(message, 1, "message") else "text"


def attach(
    run: RunLike,
    *,
    agent: str | None = None,
    thread_id: str | None = None,
    via: str | None = None,
    client: AnyClient | None = None,
    display: bool = True,
    plain: bool = False,
    wait: bool = False,
    record: bool = True,
    start_timeout: float | None = None,
    approve: ApprovalPolicy = None,
) -> RunHandle:
    """Show again a run the platform is still executing (started before a kernel restart, in
    another notebook) and return its handle, as :func:`ask` does for a new run.

    ``run`` is a run id (agentnb's local id or the platform's), a history row
    (``agentnb.runs()[0]``, a ``to_pandas()`` row), a ``remote_runs()`` row, a
    :class:`~agentnb.providers.RemoteRun` or a :class:`~agentnb.Run`. A run the history has
    (still ``running`` or ``interrupted`` when its process died) is completed in its own
    row; the platform streams it from its start. ``agent`` and ``thread_id`` fill in what an
    id alone does not say. The connection is ``via`` / ``client``, else the row's own if it
    is registered, else the default. ``display``, ``plain``, ``wait``, ``record``,
    ``start_timeout`` and ``approve`` are :func:`ask`'s.

    Raises :class:`ConfigurationError` before any I/O for a run that has ended, a row
    without its run id, a dialect that cannot stream a running run again or that needs the
    thread; the platform's refusal (an unknown run: :class:`NotFoundError`) comes as the
    run's error, and leaves its history row as it was.
    """
    conn, target = attach_connection(run, agent=agent, thread_id=thread_id, via=via, client=client)
    view = _RunView(conn, {"followups": False}, display=display, plain=plain, approve=approve)
    handle = start_attach(conn, target, listeners=view.listeners, record=record, approve=approve)
    _wait_and_present(handle, view, wait=wait, start_timeout=start_timeout)
    return handle


def _wait_and_present(
    handle: RunHandle, view: _RunView, *, wait: bool, start_timeout: float | None
) -> None:
    try:
        if wait:
            handle.wait()
        elif start_timeout is not None:
            _raise_if_refused(handle, start_timeout)
    except KeyboardInterrupt:
        view.present(handle, with_error=True)
        raise
    except BaseException:
        view.present(handle, with_error=False)
        raise
    view.present(handle, with_error=True)


def _raise_if_refused(handle: RunHandle, timeout: float) -> None:
    """Wait up to ``timeout`` for the first event; raise the run's error if it ended
    without completing by then. An interrupt while waiting cancels the run."""
    try:
        handle.wait_started(timeout)
    except KeyboardInterrupt:
        handle.cancel()
        raise
    if handle.done and handle.status != "completed":
        error = handle.exception()
        if error is not None:
            raise error


def chat(
    agent: str,
    via: str | None = None,
    *,
    client: AnyClient | None = None,
    approve: ApprovalPolicy = None,
    context: bool = False,
    **options: Unpack[RunOptions],
) -> ChatCell:
    """Display a chat cell with an input box for ``agent``: each message sent from it (or a
    follow-up chip) starts a run on the same thread and appends a turn. Options are those of
    ``client.stream``; follow-up suggestions are asked for unless ``followups=False`` (where
    the dialect has them).
    ``approve`` decides on every turn's tool calls awaiting approval, as in :func:`ask`; what
    it leaves undecided waits for the cell's Approve / Deny buttons. ``@name`` attachments
    and ``context=True`` as in :func:`ask`, for every message."""
    conn = carrying_tools(resolve_target(via, client, agent), bool(options.get("tools")) or context)
    if conn.carries("followups"):  # asked for where the dialect can (not ACP)
        options.setdefault("followups", True)
    # a bad option or policy fails now, not at the first run (each turn fits its own tools)
    conn.check(build_request(agent, "", **conn._fit_tools(options).options), approve)
    conversation = Conversation(conn, agent, dict(options), approve=approve, context=context)
    cell = conversation_cell(conversation)
    _show(cell)
    return cell


class _RunView:
    """How :func:`ask` shows a run: in a terminal, printed as it streams with the summary
    held back until the outcome is known; in a notebook, displayed once the run was accepted
    (or has ended, with ``wait``)."""

    def __init__(
        self,
        conn: Connection,
        options: dict[str, Any],
        *,
        context: bool = False,
        display: bool,
        plain: bool,
        approve: ApprovalPolicy,
        started_from: str | Unknown | None = UNKNOWN,
    ) -> None:
        self.conn, self.approve = conn, approve
        self.options, self.context = options, context
        """What a follow-up typed under the run is sent with (``ask``'s options and
        ``context=``)."""
        self.started_from = started_from
        """The thread the run was asked on (its Retry starts there), if it is known."""
        self.notebook = display and (in_notebook() or in_marimo())
        # in marimo nothing but a widget changes once its cell has returned: no live text
        self.plain = plain and not in_marimo()
        shown = display and not self.notebook
        self.printer = HeldSummary(printed_with(TerminalPrinter(), approve)) if shown else None
        self.listeners: tuple[RunListener, ...] = (self.printer,) if self.printer else ()

    def present(self, handle: RunHandle, *, with_error: bool) -> None:
        """Put the run on screen as the view says (a chat cell, plain text, a terminal
        summary); ``with_error=False`` when the caller raises its error itself."""
        if self.printer is not None:
            self.printer.release(with_error)
        if not self.notebook:
            return
        source: RunHandle | Run = handle
        if handle.done and not with_error:
            if not has_content(handle.run):
                return
            source = without_error(handle.run)
        if self.plain:
            self._print_plain(source)
            return
        run = source.run if isinstance(source, RunHandle) else source
        conversation = Conversation(
            self.conn, run.agent, self.options, approve=self.approve, context=self.context
        )
        conversation.follow(source, started_from=self.started_from)
        # the chat box keeps a follow-up in this cell, continuing this run's thread
        _show(conversation_cell(conversation, source))

    def say_where(self, request: RunRequest, *, asked_to_continue: bool) -> None:
        """Say, above the run, which conversation it continues (thread, turn, the run
        before), or that there was none to continue; a new conversation needs no word."""
        if self.printer is not None or not (self.notebook or asked_to_continue):
            return
        thread = request.thread_id
        if thread is None:
            if asked_to_continue:
                note(
                    f"agentnb: no earlier conversation with {request.agent} on connection "
                    f"{self.conn.name!r} in this session: this run starts a new one."
                )
            return
        earlier = self.conn.turns.get(thread, [])
        turn = f"turn {len(earlier) + 1}" if earlier else "a thread not started here"
        after = f", after run {earlier[-1][:12]}" if earlier else ""
        note(
            f"agentnb: continues thread {thread} with {request.agent} ({turn}{after})",
            markdown=f"<small>↪ continues thread `{thread}` with `{request.agent}` "
            f"({turn}{after})</small>",
        )

    def _print_plain(self, source: RunHandle | Run) -> None:
        if isinstance(source, RunHandle) and not source.done:
            source.add_listener(PlainDisplay())
        else:
            print(run_text(source.run if isinstance(source, RunHandle) else source))


def _show(cell: ChatCell) -> None:
    from ..._display.show import show_live  # the widget stack: a notebook's, never a script's

    show_live(cell)
