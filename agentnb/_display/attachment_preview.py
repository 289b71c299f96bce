"""The attachments a message typed in the chat cell's input would carry, shown before it is
sent: the view asks (``{"kind": "preview", "n", "text"}``) as the person types, and gets
``{"kind": "attachments", "n", "items": [{"mention", "text"}], "error"}`` back.

The mentions are read in the kernel by what the cell was given (:class:`Attachments`; the
notebook's is ``agentnb._app.context.attachments.KernelAttachments``), on a worker thread, one read
at a time per cell: a request that comes while one is read waits, and only the latest such
request is read then, so typing never queues work and never holds the kernel or the loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection
from typing import Any, Protocol

from .._core.exceptions import ConfigurationError

__all__ = ["AttachmentPreview", "Attachments", "RefusedMentions"]


class RefusedMentions(ConfigurationError):
    """A message names something the kernel lacks (a typo): why, and the mentions that do
    resolve with their texts (``items``), shown as chips beside the reason."""

    def __init__(self, message: str, items: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.items = items


class Attachments(Protocol):
    """How a message's ``@`` mentions are read and left out."""

    def preview(self, message: str) -> list[tuple[str, str]]:
        """Each mention and the exact text it attaches; an exception saying why not."""
        ...

    def without(self, message: str, mentions: Collection[str]) -> str:
        """``message`` sending ``mentions`` as written, attaching nothing for them."""
        ...

    def as_text(self, message: str) -> str:
        """``message`` sending every mention as written, attaching nothing."""
        ...


class AttachmentPreview:
    """Answers one cell's preview requests (from the loop ``loop``) through ``send``."""

    def __init__(
        self,
        attachments: Attachments,
        send: Callable[[dict[str, Any]], None],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.attachments = attachments
        self._send = send
        self._loop = loop
        self._lock = threading.Lock()
        self._reading = False
        self._waiting: tuple[int, str] | None = None

    def request(self, content: dict[str, Any]) -> None:
        """A view's request (on the loop): read now, or after the read under way."""
        number, text = content.get("n"), content.get("text")
        if not isinstance(number, int) or not isinstance(text, str):
            return
        with self._lock:
            if self._reading:
                self._waiting = (number, text)
                return
            self._reading = True
        self._read(number, text)

    def _read(self, number: int, text: str) -> None:
        future = self._loop.run_in_executor(None, self._answer, number, text)
        future.add_done_callback(self._next)

    def _answer(self, number: int, text: str) -> dict[str, Any]:
        error: str | None = None
        try:
            items = self.attachments.preview(text)
        except RefusedMentions as exc:  # a typo: the names beside it keep their chips
            items, error = exc.items, str(exc)
        except Exception as exc:  # the reason the message would be refused, said in the cell
            items, error = [], str(exc)
        shown = [{"mention": mention, "text": body} for mention, body in items]
        return {"kind": "attachments", "n": number, "items": shown, "error": error}

    def _next(self, future: asyncio.Future[dict[str, Any]]) -> None:
        if not future.cancelled() and future.exception() is None:
            self._send(future.result())
        with self._lock:
            waiting, self._waiting = self._waiting, None
            self._reading = waiting is not None
        if waiting is not None:
            self._read(*waiting)
