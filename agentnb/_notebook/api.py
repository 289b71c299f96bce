"""The notebook-level API the magics call: ``ask`` starts a run, ``chat`` opens a chat."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pydantic

from .._core.exceptions import ConfigurationError
from .._core.handle import RunHandle, RunListener
from .._core.request import Media, ModelSettings, RunRequest
from .._core.run import Run
from .._core.schema import resolve_schema
from ..events import Event, RunStarted
from .connections import Connection, get_connection

if TYPE_CHECKING:
    from .widget import ChatWidget

__all__ = ["ask", "chat", "start_run"]


def ask(
    agent: str,
    message: str,
    *,
    via: str | None = None,
    thread_id: str | None = None,
    new_thread: bool = False,
    schema: Any = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    metadata: Mapping[str, str] | None = None,
    followups: bool = False,
    media: tuple[Media, ...] = (),
    display: bool = True,
    plain: bool = False,
    wait: bool = False,
    record: bool = True,
    on_started: Callable[[RunHandle], None] | None = None,
    **extra: Any,
) -> RunHandle:
    """Start a run in the background and return its handle at once.

    By default the run continues the conversation of the previous run with the same agent on
    the same connection; ``new_thread=True`` starts a new one and ``thread_id`` picks one.
    ``schema`` is a JSON schema dict or a pydantic model class: the answer must be JSON for it
    and ``handle.result`` is the validated value. With ``display`` the run is shown live
    (a widget in a notebook, text in a terminal or with ``plain``); ``wait`` blocks until it
    ends and raises if it did not complete. ``record=False`` keeps the run out of the
    history. ``on_started(handle)`` is called as soon as the
    run is started, before any waiting (the magics bind ``_agent`` with it).
    """
    conn = get_connection(via)
    response_format, validate = resolve_schema(schema)
    thread = thread_id or (None if new_thread else conn.threads.get(agent))
    request = build_request(
        agent,
        message,
        thread_id=thread,
        temperature=temperature,
        top_p=top_p,
        max_tokens=max_tokens,
        response_format=response_format,
        metadata=metadata,
        followups=followups,
        media=media,
        extra=extra,
    )
    notebook = _in_notebook()
    # In a notebook, --wait shows the run once it has ended: the kernel is blocked meanwhile,
    # so a live view could not say hello, and tools that record outputs (nbval, papermill)
    # keep the first display message, which should hold the final answer.
    live = display and not (wait and notebook)
    listeners: tuple[RunListener, ...] = (_display_listener(plain),) if live else ()
    handle = start_run(conn, request, listeners=listeners, validate=validate, record=record)
    if on_started is not None:
        on_started(handle)
    if live and notebook and not plain:
        _show_widget(handle, conn, followups=followups)
    if not wait:
        return handle
    try:
        handle.wait()
    finally:
        if display and notebook and handle.done:
            if plain:
                from .terminal import render_plain

                print(render_plain(handle.run))
            else:
                _show_widget(handle, conn, followups=followups)
    return handle


def build_request(
    agent: str,
    message: str,
    *,
    thread_id: str | None,
    temperature: float | None,
    top_p: float | None,
    max_tokens: int | None,
    response_format: dict[str, Any] | None,
    metadata: Mapping[str, str] | None,
    followups: bool,
    media: tuple[Media, ...],
    extra: Mapping[str, Any],
) -> RunRequest:
    """A validated RunRequest; bad values become one clear ConfigurationError."""
    try:
        return RunRequest(
            agent=agent,
            message=message,
            thread_id=thread_id,
            model_settings=ModelSettings(
                temperature=temperature, top_p=top_p, max_tokens=max_tokens
            ),
            response_format=response_format,
            metadata=dict(metadata or {}),
            followups=followups,
            media=media,
            extra=dict(extra),
        )
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"invalid run options: {problems}") from None


def start_run(
    conn: Connection,
    request: RunRequest,
    *,
    listeners: tuple[RunListener, ...] = (),
    validate: Callable[[Any], Any] | None = None,
    record: bool = True,
) -> RunHandle:
    """Start ``request`` on ``conn`` in the background and keep its thread for next time."""
    run = Run(
        agent=request.agent, message=request.message, provider=conn.provider, connection=conn.name
    )

    def remember_thread(run: Run, event: Event | None) -> None:
        if (isinstance(event, RunStarted) and run.thread_id) or (event is None and run.thread_id):
            conn.threads[request.agent] = run.thread_id

    client = conn.client()  # now, not when the loop gets to it: the connection may be gone
    return RunHandle.start(
        lambda: client.stream_request(request, run=run, record=record),
        run=run,
        listeners=(remember_thread, *listeners),
        schema=request.response_format,
        validate_result=validate,
    )


def chat(
    agent: str,
    via: str | None = None,
    *,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    metadata: Mapping[str, str] | None = None,
    followups: bool = True,
) -> ChatWidget:
    """Display a chat widget for ``agent``: each message sent from its input box (or a
    follow-up chip) starts a run on the same thread and appends a turn."""
    from .display import show
    from .widget import ChatWidget

    conn = get_connection(via)
    state: dict[str, str | None] = {"thread": None}

    def keep_thread(run: Run, event: Event | None) -> None:
        if run.thread_id:
            state["thread"] = run.thread_id

    def send(text: str) -> RunHandle:
        request = build_request(
            agent,
            text,
            thread_id=state["thread"],
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            response_format=None,
            metadata=metadata,
            followups=followups,
            media=(),
            extra={},
        )
        return start_run(conn, request, listeners=(keep_thread,))

    widget = ChatWidget(agent=agent, start_run=send)
    show(widget)
    return widget


def _display_listener(plain: bool) -> RunListener:
    from .terminal import PlainDisplay, TerminalPrinter

    if not _in_notebook():
        return TerminalPrinter()
    return PlainDisplay() if plain else _noop


def _noop(run: Run, event: Event | None) -> None:
    return None


def _show_widget(handle: RunHandle, conn: Connection, *, followups: bool) -> None:
    from .display import show

    def on_followup(text: str) -> RunHandle:
        # shown as the cell's next turn, so the run itself is not displayed again
        return ask(
            handle.run.agent,
            text,
            via=conn.name,
            thread_id=handle.run.thread_id,
            followups=followups,
            display=False,
        )

    show(handle, on_followup=on_followup)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"
