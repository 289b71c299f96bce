"""The notebook-level API the magics and the CLI call: ``ask`` starts a run, ``chat`` opens a
chat. Both build requests with the one builder (:func:`agentnb._core.request.build_request`)
and run them on a connection or a client given as ``client=``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Unpack

from .._core.handle import RunHandle, RunListener
from .._core.request import RunOptions, RunRequest, build_request
from .._core.run import Run
from .._core.schema import resolve_schema
from ..events import Event, RunStarted
from .connections import AnyClient, Connection, resolve_target
from .display import show
from .environment import in_notebook
from .terminal import PlainDisplay, TerminalPrinter, render_plain
from .widget import ChatCell

__all__ = ["ask", "chat", "start_run"]


def ask(
    agent: str,
    message: str,
    *,
    via: str | None = None,
    client: AnyClient | None = None,
    new_thread: bool = False,
    schema: Any = None,
    display: bool = True,
    plain: bool = False,
    wait: bool = False,
    record: bool = True,
    on_started: Callable[[RunHandle], None] | None = None,
    **options: Unpack[RunOptions],
) -> RunHandle:
    """Start a run in the background and return its handle at once.

    By default the run continues the conversation of the previous run with the same agent on
    the same connection; ``new_thread=True`` starts a new one and ``thread_id`` picks one.
    ``schema`` is a JSON schema dict or a pydantic model class: the answer must be JSON for it
    and ``handle.result`` is the validated value. With ``display`` the run is shown live
    (a widget in a notebook, text in a terminal or with ``plain``); ``wait`` blocks until it
    ends and raises if it did not complete. ``record=False`` keeps the run out of the
    history. ``on_started(handle)`` is called as soon as the run is started, before any
    waiting (the magics bind ``_agent`` with it). The other options are those of
    ``client.stream`` (:class:`~agentnb.RunOptions`).
    """
    conn = resolve_target(via, client)
    response_format, validate = resolve_schema(schema)
    if response_format is not None:
        options["response_format"] = response_format
    if options.get("thread_id") is None and not new_thread:
        options["thread_id"] = conn.threads.get(agent)
    request = build_request(agent, message, **options)
    notebook = in_notebook()
    # In a notebook, --wait shows the run once it has ended: the kernel is blocked meanwhile,
    # so a live view could not say hello, and tools that record outputs (nbval, papermill)
    # keep the first display message, which should hold the final answer.
    live = display and not (wait and notebook)
    listeners: tuple[RunListener, ...] = (_display_listener(plain),) if live else ()
    handle = start_run(conn, request, listeners=listeners, validate=validate, record=record)
    if on_started is not None:
        on_started(handle)
    if live and notebook and not plain:
        _show_widget(handle, conn, followups=request.followups)
    if not wait:
        return handle
    try:
        handle.wait()
    finally:
        if display and notebook and handle.done:
            if plain:
                print(render_plain(handle.run))
            else:
                _show_widget(handle, conn, followups=request.followups)
    return handle


def start_run(
    conn: Connection,
    request: RunRequest,
    *,
    listeners: tuple[RunListener, ...] = (),
    validate: Callable[[Any], Any] | None = None,
    record: bool = True,
) -> RunHandle:
    """Start ``request`` on ``conn`` in the background and keep its thread for next time.

    The stream is made here, in the caller's thread, so an option the dialect cannot send
    raises :class:`ConfigurationError` at once instead of failing in the background."""
    run = Run(
        agent=request.agent, message=request.message, provider=conn.provider, connection=conn.name
    )

    def remember_thread(run: Run, event: Event | None) -> None:
        if (isinstance(event, RunStarted) or event is None) and run.thread_id:
            conn.threads[request.agent] = run.thread_id

    stream = conn.client().stream_request(request, run=run, record=record)
    return RunHandle.start(
        lambda: stream,
        run=run,
        listeners=(remember_thread, *listeners),
        schema=request.response_format,
        validate_result=validate,
    )


def chat(
    agent: str,
    via: str | None = None,
    *,
    client: AnyClient | None = None,
    **options: Unpack[RunOptions],
) -> ChatCell:
    """Display a chat cell with an input box for ``agent``: each message sent from it (or a
    follow-up chip) starts a run on the same thread and appends a turn. Options are those of
    ``client.stream``; follow-up suggestions are asked for unless ``followups=False``."""
    conn = resolve_target(via, client)
    options.setdefault("followups", True)
    build_request(agent, "", **options)  # a bad option fails now, not at the first message

    def keep_thread(run: Run, event: Event | None) -> None:
        if run.thread_id:
            options["thread_id"] = run.thread_id

    def send(text: str) -> RunHandle:
        request = build_request(agent, text, **options)
        return start_run(conn, request, listeners=(keep_thread,))

    cell = ChatCell(on_followup=send, input=True, agent=agent)
    show(cell)
    return cell


def _display_listener(plain: bool) -> RunListener:
    if not in_notebook():
        return TerminalPrinter()
    return PlainDisplay() if plain else _noop


def _noop(run: Run, event: Event | None) -> None:
    return None


def _show_widget(handle: RunHandle, conn: Connection, *, followups: bool) -> None:
    def on_followup(text: str) -> RunHandle:
        # shown as the cell's next turn, so the run itself is not displayed again
        request = build_request(
            handle.run.agent, text, thread_id=handle.run.thread_id, followups=followups
        )
        return start_run(conn, request)

    show(handle, on_followup=on_followup)
