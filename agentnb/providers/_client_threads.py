"""The conversation a stateless dialect keeps on the client: its server keeps nothing, so each
request carries the whole thread, and a thread lives as long as its provider."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._core.request import Media, RunRequest
from ._frames import local_id

__all__ = ["ClientThreads"]

_Obj = dict[str, Any]


class ClientThreads:
    """Each thread's messages, in the dialect's own shape, and the user message of the run in
    progress on each thread: made once by ``user_message``, so a continuation of the same run
    (an approval) sends the very same message, id included."""

    def __init__(self, id_prefix: str, user_message: Callable[[RunRequest], _Obj]) -> None:
        self._id_prefix = id_prefix
        self._user_message = user_message
        self._threads: dict[str, list[_Obj]] = {}
        self._asking: dict[str, tuple[str, tuple[Media, ...], _Obj]] = {}

    def with_thread(self, request: RunRequest) -> RunRequest:
        """``request`` with a thread id: its own, else a new local one."""
        if request.thread_id:
            return request
        return request.model_copy(update={"thread_id": self.thread_id(request)})

    def thread_id(self, request: RunRequest) -> str:
        """The request's thread id, else a new local one."""
        return request.thread_id or local_id(self._id_prefix)

    def messages(self, thread_id: str) -> list[_Obj]:
        """The thread's earlier messages (the kept ones, not copies: for a request body)."""
        return list(self._threads.get(thread_id, []))

    def history(self, thread_id: str) -> list[_Obj]:
        """The messages kept for a thread (copies)."""
        return [dict(m) for m in self._threads.get(thread_id, [])]

    def asking(self, thread_id: str, request: RunRequest) -> _Obj:
        """The user message of the run in progress on the thread (made anew when the request
        asks something else)."""
        kept = self._asking.get(thread_id)
        if kept is None or kept[:2] != (request.message, request.media):
            kept = self._asking[thread_id] = (
                request.message,
                request.media,
                self._user_message(request),
            )
        return kept[2]

    def finish(self, request: RunRequest, answer: Iterable[_Obj]) -> None:
        """The run ended: its user message and ``answer`` join its thread."""
        if not request.thread_id:
            return
        asked = self.asking(request.thread_id, request)
        del self._asking[request.thread_id]
        self._threads.setdefault(request.thread_id, []).extend([asked, *answer])
