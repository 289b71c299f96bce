"""What an experiment on a cluster shows while its tasks are out: how many of them run on
how many workers, and a worker lost with the tasks it ran. Dask's client says both (its
public ``processing``, ``nthreads`` and ``subscribe_topic``); another executor says
neither, and the progress shows its clock ticking alone."""

from __future__ import annotations

import contextlib
import queue
from typing import Any

__all__ = ["Watch", "watching"]

_OURS = "PairTask"
"""How a pair's task is keyed on Dask (``funcname(task)-token``): the tasks counted."""


class Watch:
    """An executor that says nothing of where its tasks run."""

    def doing(self) -> str:
        """``3 running on 2 workers``, or nothing when not known."""
        return ""

    def lost(self) -> list[str]:
        """What was lost since the last look (``worker ... lost with 1 task on it``)."""
        return []

    def close(self) -> None:
        return None


class DaskWatch(Watch):
    def __init__(self, client: Any) -> None:
        self._client = client
        self._lost: queue.SimpleQueue[str] = queue.SimpleQueue()
        client.subscribe_topic("all", self._event)

    def _event(self, event: tuple[float, Any]) -> None:
        """On Dask's loop: a worker removed that was not asked to leave (killed, gone)."""
        _, message = event
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        running = [k for k in message.get("processing-tasks", ()) if str(k).startswith(_OURS)]
        if running and not message.get("expected"):
            tasks = f"{len(running)} task{'s' * (len(running) != 1)}"
            self._lost.put(f"worker {message.get('worker')} lost with {tasks} on it: sent again")

    def doing(self) -> str:
        try:
            processing, threads = self._client.processing(), self._client.nthreads()
        except Exception:  # the scheduler unreachable: the tasks' futures say so, not this view
            return ""
        running = {
            worker: min(sum(str(k).startswith(_OURS) for k in keys), threads.get(worker, 0))
            for worker, keys in processing.items()
        }
        busy = sum(1 for n in running.values() if n)
        if not threads:
            return "no worker connected"
        return f"{sum(running.values())} running on {busy} worker{'s' * (busy != 1)}"

    def lost(self) -> list[str]:
        said = []
        while not self._lost.empty():
            said.append(self._lost.get())
        return said

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a client closed first has no subscription left
            self._client.unsubscribe_topic("all")


def watching(executor: object) -> Watch:
    """The watch of ``executor``'s cluster. Dask's ``Client.get_executor()`` offers no public
    way back to its client, so a Dask executor is watched through the process's default
    client (``distributed.default_client()``, the one ``get_executor()`` is usually asked of);
    another executor, or no client, has no watch."""
    if not type(executor).__module__.startswith("distributed."):
        return Watch()
    import distributed  # only where the executor is Dask's, so it is installed

    try:
        return DaskWatch(distributed.default_client())
    except ValueError:  # no client made in this process: nothing to ask
        return Watch()
