"""A run started in the background on a connection, the one way every front starts one: a
new request (:func:`start_run`: ``ask``, a chat cell's turns, ``agentnb run``), or a run the
platform is still executing, streamed again (:func:`attach_connection` then
:func:`start_attach`: ``attach``, ``agentnb attach``).

Nothing here shows a run: the caller passes the listeners that do (a chat cell, a terminal
printer), so a command line loads nothing of the notebook."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..._core.approvals import ApprovalPolicy
from ..._core.exceptions import ConfigurationError, NotFoundError
from ..._core.handle import RunHandle, RunListener
from ..._core.loop import run_sync
from ..._core.request import RunRequest
from ..._core.run import Run
from ..._display.environment import kernel_shell
from ...events import Event, RunStarted
from ...providers import RunRef
from . import interrupts
from .attach_targets import AttachTarget, attach_target, refuse_if_ended
from .connections import AnyClient, Connection, connections, resolve_target
from .run_like import RunLike

__all__ = ["attach_connection", "start_attach", "start_run", "track_interrupts"]


def start_run(
    conn: Connection,
    request: RunRequest,
    *,
    listeners: tuple[RunListener, ...] = (),
    validate: Callable[[Any], Any] | None = None,
    record: bool = True,
    approve: ApprovalPolicy = None,
    typed: str | None = None,
) -> RunHandle:
    """Start ``request`` on ``conn`` in the background and keep its thread for next time.

    The stream is made here, in the caller's thread, so an option the dialect cannot send
    (or an ``approve`` it cannot honour) raises :class:`ConfigurationError` at once instead
    of failing in the background. ``approve`` as in :func:`agentnb.ask`; ``typed`` the message
    as the person wrote it, where the request's differs (see :attr:`Run.typed`)."""

    def remember_thread(run: Run, event: Event | None) -> None:
        if (isinstance(event, RunStarted) or event is None) and run.thread_id:
            conn.threads[request.agent] = run.thread_id
        if event is None and run.thread_id:
            conn.turns.setdefault(run.thread_id, []).append(run.local_id)

    shared = conn.share_notebook(request, approve)  # context=True on ACP: for this turn
    if shared is not None:
        approve = conn.asking_on_the_servers_card(approve)
    try:
        with conn.naming_options(request.agent):  # the stream checks the request
            stream = conn.client().stream(request, record=record, approve=approve)
        if typed is not None and typed != request.message:
            stream.run.typed = typed
        handle = RunHandle.start(
            lambda: stream,
            run=stream.run,
            listeners=(remember_thread, *listeners),
            schema=request.response_format,
            validate_result=validate,
        )
    except BaseException:
        if shared is not None:
            shared()
        raise
    if shared is not None:
        handle.add_listener(lambda _run, _event: shared(), end_only=True)
    track_interrupts(handle)
    return handle


def attach_connection(
    run: RunLike,
    *,
    agent: str | None,
    thread_id: str | None,
    via: str | None,
    client: AnyClient | None,
) -> tuple[Connection, AttachTarget]:
    """The run :func:`agentnb.attach` is given, checked, and the connection to attach it
    through: ``via`` / ``client``, else the row's own if it is registered, else the default."""
    target = attach_target(run, agent=agent, thread_id=thread_id)
    if via is None and client is None and target.connection in connections():
        via = target.connection
    conn = resolve_target(via, client)
    if target.provider and target.provider != conn.provider:
        raise ConfigurationError(
            f"run {target.run_id!r} ran on {target.provider}, but connection {conn.name!r} "
            f"speaks {conn.provider}: pass via= a connection to its platform"
        )
    if target.local_id is None:  # a bare id: ask the platform whether it still runs
        _refuse_if_ended_on_platform(conn, target)
    return conn, target


def _refuse_if_ended_on_platform(conn: Connection, target: AttachTarget) -> None:
    ref = RunRef(target.agent, target.run_id, target.thread_id)
    try:
        remote = run_sync(conn.client().retrieve_run(ref))
    except NotFoundError:
        return  # the attach itself reports the unknown run, as where nothing can be asked
    if remote is not None:
        refuse_if_ended(target.run_id, remote.status, on_platform=True)


def start_attach(
    conn: Connection,
    target: AttachTarget,
    *,
    listeners: tuple[RunListener, ...] = (),
    record: bool = True,
    approve: ApprovalPolicy = None,
) -> RunHandle:
    """Stream ``target`` again through ``conn`` in the background, completing its history
    row; a dialect that cannot attach raises :class:`ConfigurationError` here."""
    stream = conn.client().attach(
        target.agent,
        target.run_id,
        thread_id=target.thread_id,
        message=target.message,
        local_id=target.local_id,
        started_at=target.started_at,
        record=record,
        approve=approve,
    )
    handle = RunHandle.start(lambda: stream, run=stream.run, listeners=listeners)
    track_interrupts(handle)
    return handle


def track_interrupts(handle: RunHandle) -> None:
    """Let a kernel interrupt cancel the run (see :mod:`.interrupts`)."""
    shell = kernel_shell()
    if shell is not None:
        interrupts.install(shell)
    interrupts.track(handle)
