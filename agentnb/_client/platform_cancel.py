"""Stop that reaches the platform: a cancelled run's agent is told to stop too.

Every way of stopping a run (the Stop button, ``handle.cancel()``, a kernel interrupt,
Ctrl-C, a ``AsyncRunStream`` closed early, a stopped batch) ends in the stream marking the run
``cancelled``; there, where the dialect has a cancel operation
(:meth:`~agentnb.providers.Provider.cancel_request`) and the platform's run id is known, the
request is sent once, in the background, through the transport's side client (keys, redaction
and typed errors as for every request). The run has already ended: the request never delays
it and its failure never replaces the cancellation. A failure or no answer within
:data:`CANCEL_TIMEOUT_S` is logged and kept as ``run.cancel_error``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .._core.run import Run
from ..providers import HttpRequest, RunRef
from .transport import Transport

__all__ = ["CANCEL_TIMEOUT_S", "cancel_on_platform"]

CANCEL_TIMEOUT_S = 5.0
"""How long a cancel request may take, retries included."""

_log = logging.getLogger("agentnb")


def cancel_on_platform(
    transport: Transport, run: Run, on_failure: Callable[[], None] | None = None
) -> asyncio.Task[None] | None:
    """Ask the platform to stop ``run``'s agent, in the background; None when the dialect
    cannot or the run never got a platform id. ``on_failure`` is called once the failure is
    kept on the run (the history records it)."""
    if run.run_id is None:
        return None
    http = transport.provider.cancel_request(RunRef(run.agent, run.run_id, run.thread_id))
    if http is None:
        return None
    task = asyncio.get_running_loop().create_task(
        _send_cancel(transport, http, run, on_failure), name=f"agentnb: cancel {run.run_id}"
    )
    transport.background.add(task)
    task.add_done_callback(transport.background.discard)
    return task


async def _send_cancel(
    transport: Transport, http: HttpRequest, run: Run, on_failure: Callable[[], None] | None
) -> None:
    try:
        async with asyncio.timeout(CANCEL_TIMEOUT_S):
            await transport.send_json(http)
    except Exception as exc:  # logged and kept on the run, never raised over the cancel
        why = f"no answer within {CANCEL_TIMEOUT_S:g} s" if isinstance(exc, TimeoutError) else exc
        run.cancel_error = transport.redact(f"the platform was not told to stop the run: {why}")
        run.version += 1
        _log.warning("%s (run %s)", run.cancel_error, run.run_id)
        if on_failure is not None:
            on_failure()
