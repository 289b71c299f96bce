"""Stop that reaches the platform: a cancelled run's agent is told to stop too.

Every way of stopping a run (the Stop button, ``handle.cancel()``, a kernel interrupt,
Ctrl-C, a ``AsyncRunStream`` closed early, a stopped batch) ends in the stream marking the run
``cancelled``; there, where the dialect has a cancel operation
(:meth:`~agentnb.providers.Provider.cancel_request`), the request is sent once, in the
background, through the transport's side client (keys, redaction and typed errors as for
every request). The run has already ended: the request never delays it and its failure never
replaces the cancellation.

A Stop is a promise to the user's bill: a run stopped before the platform named it (before
the response's head, or before the frame that carries its id) has its request go on, in the
background, until the platform names the run, for at most :data:`NAMING_TIMEOUT_S`; then
the cancel is sent. A run never named in that time, or a cancel that fails or goes
unanswered within :data:`CANCEL_TIMEOUT_S`, is logged and kept as ``run.cancel_error``:
never a silent ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from .._core.run import Run
from ..providers import RunRef
from .wire import Wire

__all__ = ["CANCEL_TIMEOUT_S", "NAMING_TIMEOUT_S", "Naming", "can_cancel", "cancel_on_platform"]

CANCEL_TIMEOUT_S = 5.0
"""How long a cancel request may take, retries included."""
NAMING_TIMEOUT_S = 15.0
"""How long after a Stop the platform may take to name the run (answer its request, send
the frame with its id) for the cancel to reach it."""

Naming = Callable[[], Awaitable[tuple[str | None, str | None]]]
"""Reads on after a Stop until the platform names the run: its id and thread (None: the
stream ended without one). It owns what it reads and lets it go when it returns."""

_log = logging.getLogger("agentnb")


def can_cancel(transport: Wire, run: Run) -> bool:
    """Whether the dialect has a cancel operation for a run like ``run``."""
    probe = RunRef(run.agent, run.run_id or "probe", run.thread_id)
    return transport.provider.cancel_request(probe) is not None


def cancel_on_platform(
    transport: Wire,
    run: Run,
    on_change: Callable[[], None] | None = None,
    naming: Naming | None = None,
) -> asyncio.Task[None] | None:
    """Ask the platform to stop ``run``'s agent, in the background, once ``naming`` gave its
    id when it had none; None when the dialect cannot, or the run has no id and no way to
    learn it. ``on_change`` is called when the run learns its id or keeps a failure (the
    history records it)."""
    if (run.run_id is None and naming is None) or not can_cancel(transport, run):
        return None
    cancel = _cancel(transport, run, on_change, naming)
    return transport.in_background(cancel, name=f"agentnb: cancel {run.local_id}")


async def _cancel(
    transport: Wire, run: Run, on_change: Callable[[], None] | None, naming: Naming | None
) -> None:
    if run.run_id is None and naming is not None and not await _named(run, naming):
        why = f"it had not named the run within {NAMING_TIMEOUT_S:g} s of the Stop"
        _failed(transport, run, on_change, f"{why} (it may run on there)")
        return
    if on_change is not None and naming is not None:
        on_change()  # the history keeps the id learned after the run's end
    http = transport.provider.cancel_request(RunRef(run.agent, run.run_id or "", run.thread_id))
    if http is None:
        return
    try:
        async with asyncio.timeout(CANCEL_TIMEOUT_S):
            await transport.send_json(http)
    except Exception as exc:  # logged and kept on the run, never raised over the cancel
        late = f"no answer within {CANCEL_TIMEOUT_S:g} s"
        _failed(transport, run, on_change, late if isinstance(exc, TimeoutError) else str(exc))


async def _named(run: Run, naming: Naming) -> bool:
    """Read on until the platform names the run, within the bound; False: it did not."""
    try:
        async with asyncio.timeout(NAMING_TIMEOUT_S):
            run_id, thread_id = await naming()
    except Exception:  # out of time, refused, cut, malformed: no name
        return False
    if run_id is None:
        return False
    run.run_id, run.thread_id = run_id, run.thread_id or thread_id
    run.version += 1
    return True


def _failed(transport: Wire, run: Run, on_change: Callable[[], None] | None, why: str) -> None:
    run.cancel_error = transport.redact(f"the platform was not told to stop the run: {why}")
    run.version += 1
    _log.warning("%s (run %s)", run.cancel_error, run.run_id or run.local_id)
    if on_change is not None:
        on_change()
