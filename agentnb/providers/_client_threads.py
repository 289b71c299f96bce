"""The conversation a stateless dialect keeps on the client: its server keeps nothing, so each
request carries the whole thread. The most recently used threads are kept (a long session's
memory stays bounded), turn by turn, so a retry can fork one."""

from __future__ import annotations

import abc
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .._core.exceptions import ConfigurationError
from .._core.request import Fork, Media, RunRequest
from ..events import RunCompleted
from ._base import Provider, SendJson, Translator
from ._frames import local_id

__all__ = ["MAX_KEPT_THREADS", "ClientThreadProvider", "ClientThreads"]

_Obj = dict[str, Any]

MAX_KEPT_THREADS = 256
"""Threads kept, the most recently used; a follow-up on an older one cannot be sent."""


@dataclass
class _Turn:
    """One run's part of a thread: its user message and answer, and what the dialect keeps
    beside the messages once it ended (AG-UI's shared state)."""

    run_id: str | None
    messages: list[_Obj]
    state: Any = None


@dataclass
class _Thread:
    turns: list[_Turn] = field(default_factory=list)
    asking: tuple[str, tuple[Media, ...], _Obj] | None = None
    """The run in progress: its message and media, and the user message made of them."""


class ClientThreads:
    """Each thread's messages, in the dialect's own shape, and the user message of the run in
    progress on each thread: made once by ``user_message``, so a continuation of the same run
    (an approval) sends the very same message, id included."""

    def __init__(self, id_prefix: str, user_message: Callable[[RunRequest], _Obj]) -> None:
        self._id_prefix = id_prefix
        self._user_message = user_message
        self._threads: OrderedDict[str, _Thread] = OrderedDict()

    def with_thread(self, request: RunRequest) -> RunRequest:
        """``request`` with a thread id: a fork of the thread (see :meth:`fork`) when it
        replaces a turn, else its own, else a new local one."""
        if request.fork is not None:
            return request.model_copy(update={"thread_id": self.fork(request.fork), "fork": None})
        if request.thread_id:
            return request
        return request.model_copy(update={"thread_id": self.thread_id(request)})

    def thread_id(self, request: RunRequest) -> str:
        """The request's thread id, else a new local one."""
        return request.thread_id or local_id(self._id_prefix)

    def knows(self, thread_id: str) -> bool:
        """Whether this process holds the thread's messages."""
        thread = self._threads.get(thread_id)
        return thread is not None and bool(thread.turns)

    def _used(self, thread_id: str) -> _Thread:
        """The thread (made when new), now the most recently used; the least recently used
        past :data:`MAX_KEPT_THREADS` are dropped."""
        thread = self._threads.setdefault(thread_id, _Thread())
        self._threads.move_to_end(thread_id)
        while len(self._threads) > MAX_KEPT_THREADS:
            self._threads.popitem(last=False)
        return thread

    def fork(self, fork: Fork) -> str:
        """The thread to run ``fork``'s replacement on: a new thread holding the turns of
        ``fork.thread_id`` before the run it replaces (the thread itself keeps every turn);
        the thread itself when it holds nothing of that run (a failed or cancelled run
        never joins its thread)."""
        thread = self._threads.get(fork.thread_id)
        if thread is None or not thread.turns:
            raise ConfigurationError(
                f"cannot start thread {fork.thread_id!r} again from before a turn: its messages "
                f"are not kept by this process (the client keeps this dialect's conversations "
                f"while it lives, the {MAX_KEPT_THREADS} most recently used)"
            )
        ids = [turn.run_id for turn in thread.turns]
        if fork.run_id is None or fork.run_id not in ids:
            return fork.thread_id
        kept = thread.turns[: ids.index(fork.run_id)]
        forked = local_id(self._id_prefix)
        self._used(forked).turns = [_Turn(t.run_id, list(t.messages), t.state) for t in kept]
        return forked

    def conversation(self, request: RunRequest) -> tuple[str, list[_Obj]]:
        """The request's thread id, and what its run sends: the thread's earlier messages
        and the run's user message."""
        thread_id = self.thread_id(request)
        return thread_id, [*self.messages(thread_id), self.asking(thread_id, request)]

    def messages(self, thread_id: str) -> list[_Obj]:
        """The thread's earlier messages (the kept ones, not copies: for a request body)."""
        thread = self._threads.get(thread_id)
        return [m for turn in thread.turns for m in turn.messages] if thread else []

    def history(self, thread_id: str) -> list[_Obj]:
        """The messages kept for a thread (copies)."""
        return [dict(m) for m in self.messages(thread_id)]

    def state(self, thread_id: str, default: Any = None) -> Any:
        """What the dialect kept beside the messages after the thread's last turn."""
        thread = self._threads.get(thread_id)
        return thread.turns[-1].state if thread and thread.turns else default

    def asking(self, thread_id: str, request: RunRequest) -> _Obj:
        """The user message of the run in progress on the thread (made anew when the request
        asks something else)."""
        thread = self._used(thread_id)
        kept = thread.asking
        if kept is None or kept[:2] != (request.message, request.media):
            kept = thread.asking = (request.message, request.media, self._user_message(request))
        return kept[2]

    def finish(
        self,
        request: RunRequest,
        answer: Iterable[_Obj],
        *,
        run_id: str | None,
        state: Any = None,
    ) -> None:
        """The run ``run_id`` ended: its user message and ``answer`` join its thread as a
        turn, with the dialect's ``state`` after it."""
        if not request.thread_id:
            return
        asked = self.asking(request.thread_id, request)  # the thread, now the latest used
        thread = self._threads[request.thread_id]
        thread.asking = None
        thread.turns.append(_Turn(run_id, [asked, *answer], state))


class ClientThreadProvider(Provider):
    """A dialect whose server keeps nothing (``vercel``, ``ag-ui``, ``openai``): its
    conversations are the :class:`ClientThreads` in ``threads``, so it can fork one (a
    retry drops the turn it replaces) and can continue only those this process holds."""

    threads: ClientThreads

    async def prepare(self, request: RunRequest, send: SendJson) -> RunRequest:
        return self.threads.with_thread(request)

    @abc.abstractmethod
    def answer(self, translator: Translator) -> tuple[list[_Obj], Any] | None:
        """A finished run's part of its thread: the answer's messages and the dialect's
        state after it; None for a translator of another dialect."""

    async def finalize(
        self, request: RunRequest, translator: Translator, completed: RunCompleted, send: SendJson
    ) -> RunCompleted:
        """The run joins its thread."""
        answer = self.answer(translator)
        if answer is not None:
            self.threads.finish(request, answer[0], run_id=translator.run_id, state=answer[1])
        return completed

    def history(self, thread_id: str) -> list[_Obj]:
        """The messages kept for a thread, in the dialect's shape (copies)."""
        return self.threads.history(thread_id)

    def cannot_fork(self, thread_id: str | None) -> str | None:
        return None

    def cannot_continue(self, thread_id: str) -> str | None:
        if self.threads.knows(thread_id):
            return None
        return (
            f"{self.named} keeps no conversation on its side: agentnb sends the whole thread with "
            f"each message, and this kernel does not hold thread {thread_id!r} (it ran before "
            f"a restart, on another connection, or before the {MAX_KEPT_THREADS} threads used "
            f"since)"
        )
