"""An output of a cell that is filled or refreshed later, from any thread: a chat cell's static
copy, refreshed when a run ends; the run a run table opens below itself; a run shown as plain
text (``ask(plain=True)``), rewritten as it streams."""

from __future__ import annotations

import contextvars
import time
from typing import Any

from .._core.run import Run
from ..events import Event
from .environment import kernel_shell
from .run_text import run_text

__all__ = ["DisplaySlot", "PlainDisplay"]


class DisplaySlot:
    """An output displayed now (``bundle``, raw) whose content :meth:`update` replaces."""

    def __init__(self, handle: Any, context: contextvars.Context) -> None:
        self._handle = handle
        self._context = context

    @classmethod
    def display(cls, bundle: dict[str, Any]) -> DisplaySlot | None:
        """Display ``bundle`` in the cell executing now; None where nothing can be displayed
        again (no kernel to route an update)."""
        from IPython.display import display  # a slot is made in a notebook only

        handle = display(bundle, raw=True, display_id=True)  # type: ignore[no-untyped-call]
        if handle is None:
            return None
        # The context carries the kernel's parent header for this cell, so an update sent
        # later (from the loop thread, or while the kernel answers a widget's message) lands
        # on this cell's output.
        return cls(handle, contextvars.copy_context())

    def update(self, bundle: dict[str, Any]) -> None:
        """Show ``bundle`` in the slot instead of what it holds."""
        # Under the displaying cell's parent header (JupyterLab routes an update only to the
        # output area of the request it answers), and under the kernel's current one, from an
        # empty context (nbclient, and so nbconvert --execute and papermill, only read the
        # messages of the cell executing now): once where the two are the same request.
        shown_under = self._context.run(_parent_id)
        self._context.copy().run(self._handle.update, bundle, raw=True)
        if shown_under is None or contextvars.Context().run(_parent_id) != shown_under:
            contextvars.Context().run(self._handle.update, bundle, raw=True)


def _parent_id() -> str | None:
    """The id of the request the kernel's display messages answer in this context (None:
    not known here)."""
    publisher = getattr(kernel_shell(), "display_pub", None)
    header = getattr(publisher, "parent_header", None)
    msg_id = header.get("msg_id") if isinstance(header, dict) else None
    return msg_id if isinstance(msg_id, str) and msg_id else None


class PlainDisplay:
    """A run listener showing the run as one text output in a notebook, refreshed through a
    display handle at most ten times a second (display updates find their output by id, so
    they land in the right cell whichever cell is running)."""

    interval = 0.1

    def __init__(self) -> None:
        from IPython.display import display  # shown in a notebook only

        self._handle = display(  # type: ignore[no-untyped-call]
            {"text/plain": "(starting…)"}, raw=True, display_id=True
        )
        self._last = 0.0

    def __call__(self, run: Run, event: Event | None) -> None:
        now = time.monotonic()
        if event is not None and now - self._last < self.interval:
            return
        self._last = now
        if self._handle is not None:
            self._handle.update({"text/plain": run_text(run)}, raw=True)
