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

__all__ = ["DisplaySlot", "PlainDisplay", "executing_cell", "first_of_cell"]

_claimed: set[tuple[str, str]] = set()
"""(what, execute request id) pairs :func:`first_of_cell` has answered True for (the last
few hundred)."""


class DisplaySlot:
    """An output displayed now (``bundle``, raw) whose content :meth:`update` replaces."""

    def __init__(
        self, handle: Any, context: contextvars.Context, shown: dict[str, Any] | None = None
    ) -> None:
        self._handle = handle
        self._context = context
        self._shown = shown

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
        return cls(handle, contextvars.copy_context(), bundle)

    def update(self, bundle: dict[str, Any]) -> None:
        """Show ``bundle`` in the slot instead of what it holds; nothing is sent when it holds
        that already (each update makes the notebook render the output again)."""
        if bundle == self._shown:
            return
        self._shown = bundle
        # Under the displaying cell's parent header (JupyterLab routes an update only to the
        # output area of the request it answers), and again under the kernel's current one
        # where a cell is executing now (nbclient, and so nbconvert --execute and papermill,
        # only read the messages of the cell executing now): JupyterLab renders the output
        # once per message, so not after a view's message (a hello, a click) or a cell's own.
        shown_under = self._context.run(_parent_header).get("msg_id")
        self._context.copy().run(self._handle.update, bundle, raw=True)
        current = contextvars.Context().run(_parent_header)
        if shown_under is None or (
            current.get("msg_type") == "execute_request" and current.get("msg_id") != shown_under
        ):
            contextvars.Context().run(self._handle.update, bundle, raw=True)


def executing_cell() -> bool:
    """Whether what this thread displays now goes to a notebook cell that is executing (the
    kernel's current request is a cell's, not a widget's message; after a cell ends it stays
    the current one until the next request)."""
    return _parent_header().get("msg_type") == "execute_request"


def first_of_cell(what: str) -> bool:
    """Whether this is the first time the cell executing now asks about ``what`` (True where
    the cell is not known): what a cell's outputs need once, not once an output."""
    request = _parent_header().get("msg_id")
    if not request:
        return True
    key = (what, str(request))
    if key in _claimed:
        return False
    if len(_claimed) > 500:
        _claimed.clear()
    _claimed.add(key)
    return True


def _parent_header() -> dict[str, Any]:
    """The header of the request the kernel's display messages answer in this context
    (empty: not known here)."""
    header = getattr(getattr(kernel_shell(), "display_pub", None), "parent_header", None)
    header = header.get("header", header) if isinstance(header, dict) else None
    return header if isinstance(header, dict) else {}


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
