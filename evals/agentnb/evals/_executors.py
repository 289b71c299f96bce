"""Ray as a ``concurrent.futures.Executor`` (Ray 2.60 has none of its own: ``ray.util`` has a
``multiprocessing.Pool``): :func:`ray_executor`, a small adapter over ``ray.remote`` and
``ObjectRef.future()``, what ``experiment(..., executor=ray_executor())`` sends its tasks to.
Dask needs none: ``distributed.Client(...).get_executor()`` is one. Ray is imported only
when the adapter is made (``pip install 'agentnb[ray]'``).
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from agentnb import ConfigurationError

__all__ = ["RayExecutor", "ray_executor"]

T = TypeVar("T")


def ray_executor(
    address: str | None = None, *, num_cpus: float = 1, max_retries: int = 1, **options: Any
) -> RayExecutor:
    """An executor whose tasks run on a Ray cluster: connected to ``address``
    (``"127.0.0.1:6379"``, ``"ray://host:10001"``; None: ``RAY_ADDRESS``, else the cluster
    ``ray start`` started on this machine, else a new local one) unless ``ray.init`` was
    called already. Each task asks for ``num_cpus`` CPUs and is run again up to
    ``max_retries`` times when its worker dies; ``options`` are ``ray.remote``'s
    (``memory=``, ``resources=``, ``runtime_env=``...). Cancelling a task's future cancels
    it on the cluster (a running one is interrupted: its run ends cancelled)."""
    try:
        import ray  # optional: the cluster's client, imported only here
    except ImportError:
        raise ConfigurationError("ray_executor() needs Ray: pip install 'agentnb[ray]'") from None
    if not ray.is_initialized():
        ray.init(address=address, log_to_driver=False)
    remote = ray.remote(num_cpus=num_cpus, max_retries=max_retries, **options)(_call)
    return RayExecutor(remote, ray.cancel)


def _call(fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
    """What a Ray task runs: ``fn(*args, **kwargs)``."""
    return fn(*args, **kwargs)


class RayExecutor(concurrent.futures.Executor):
    """Tasks on Ray (made by :func:`ray_executor`): ``submit`` gives a
    ``concurrent.futures.Future`` whose ``cancel()`` cancels the Ray task."""

    def __init__(self, remote: Any, cancel: Callable[[Any], None]) -> None:
        self._remote = remote
        self._cancel = cancel
        self._lock = threading.Lock()
        self._futures: set[concurrent.futures.Future[Any]] = set()
        self._shut = False

    def submit(
        self, fn: Callable[..., T], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[T]:
        with self._lock:
            if self._shut:
                raise RuntimeError("cannot schedule new tasks after shutdown")
        ref = self._remote.remote(fn, args, kwargs)
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def landed(done: concurrent.futures.Future[T]) -> None:
            if not future.set_running_or_notify_cancel():
                return  # cancelled here first
            error = done.exception()
            if error is None:
                future.set_result(done.result())
            else:
                future.set_exception(error)

        def forget(ended: concurrent.futures.Future[T]) -> None:
            with self._lock:
                self._futures.discard(ended)
            if ended.cancelled():
                self._cancel(ref)  # not started: dropped; running: interrupted

        future.add_done_callback(forget)
        with self._lock:
            self._futures.add(future)
        ref.future().add_done_callback(landed)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            self._shut = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                future.cancel()
        if wait:
            concurrent.futures.wait(futures)
