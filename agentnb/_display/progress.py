"""Batch progress: a widget in a notebook (with a static copy, for a notebook reopened
without its kernel), one rewritten line on a terminal, or nothing.

Updates come from agentnb's loop thread and are throttled; the last one always shows.
"""

from __future__ import annotations

import html
import sys
import threading
import time
from typing import IO, Any, Protocol

from .._core.pricing import usd
from .display_slot import DisplaySlot
from .environment import in_notebook
from .static_copy import REOPENED_STYLE, static_root

__all__ = ["Progress", "make_progress"]

Counts = tuple[int, int, float | None, str]
"""Runs done, failed, their cost so far, and what the others are doing."""

MIN_INTERVAL = 0.1
"""Seconds between two redraws, at most."""


class Progress(Protocol):
    """What shows a batch's progress (:func:`make_progress` makes one)."""

    def update(self, done: int, failed: int, cost: float | None = None, doing: str = "") -> None:
        """``done`` runs of the total ended, ``failed`` of them not completed; ``cost``: what
        they cost so far in USD (None: no run's cost is known); ``doing``: what the others
        are doing (``3 running on 2 workers``). Called again with the same counts, it
        redraws the clock."""

    def close(self) -> None: ...


class NoProgress:
    def update(self, done: int, failed: int, cost: float | None = None, doing: str = "") -> None:
        return None

    def close(self) -> None:
        return None


class _Throttled:
    """Keeps the latest counts; draws them at most every ``MIN_INTERVAL`` and at the end."""

    def __init__(self, total: int, label: str) -> None:
        self.total = total
        self.label = label
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._last_draw = 0.0
        self._counts: Counts = (0, 0, None, "")
        self._drawn: Counts | None = None
        self._closed = False

    def update(self, done: int, failed: int, cost: float | None = None, doing: str = "") -> None:
        with self._lock:
            self._counts = (done, failed, cost, doing)
            now = time.monotonic()
            if self._closed or (now - self._last_draw < MIN_INTERVAL and done < self.total):
                return
            self._last_draw = now
            drawn = self._drawn = self._counts
        self._draw(drawn)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            counts, drawn = self._counts, self._drawn
        if counts != drawn:
            self._draw(counts)
        self._finish()

    def text(self, counts: Counts) -> str:
        """``batch echo: 120/1000 runs, 3 failed, 880 left, $0.0123 so far, 3 running on 2
        workers (12.3 s)``."""
        done, failed, cost, doing = counts
        said = [
            f"{failed} failed" if failed else "",
            f"{self.total - done} left" if done < self.total else "",
            "" if cost is None else f"{usd(cost)} so far",
            doing,
        ]
        elapsed = time.monotonic() - self.started
        return ", ".join([f"{self.label}: {done}/{self.total} runs", *filter(None, said)]) + (
            f" ({elapsed:.1f} s)"
        )

    def _draw(self, counts: Counts) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        return None


class TextProgress(_Throttled):
    def __init__(self, total: int, label: str, out: IO[str] | None = None) -> None:
        super().__init__(total, label)
        self.out = out if out is not None else sys.stderr

    def _draw(self, counts: Counts) -> None:
        self.out.write("\r" + self.text(counts))
        self.out.flush()

    def _finish(self) -> None:
        self.out.write("\n")
        self.out.flush()


LIVE_STYLE = (
    "<style>"
    ".jp-OutputArea-child:has(> .jp-OutputArea-output .jupyter-widgets)"
    " + .jp-OutputArea-child:has(> .jp-OutputArea-output > .agentnb-static > .agentnb-progress)"
    "{display:none}"
    "</style>"
)
"""Hides the copy behind a rendered bar (the widget's own stylesheet is not on the page)."""


class WidgetProgress(_Throttled):
    """The bar and its caption, then their static copy, kept in step: where the widget is
    not rendered (a notebook reopened without its kernel, nbconvert) the copy is shown."""

    def __init__(self, total: int, label: str) -> None:
        # ipywidgets and IPython load with the first bar in a notebook, not with the batch
        # API: a script's batch and the command line never draw one.
        import ipywidgets
        from IPython.display import display

        super().__init__(total, label)
        self.bar: Any = ipywidgets.IntProgress(value=0, min=0, max=max(total, 1))
        self.caption: Any = ipywidgets.Label(value=self.text(self._counts))
        display(ipywidgets.HBox([self.bar, self.caption]))  # type: ignore[no-untyped-call]
        self.copy = DisplaySlot.display(self._static(0, self.caption.value))

    def _draw(self, counts: Counts) -> None:
        done, failed, _, _ = counts
        self.bar.value = done
        self.bar.bar_style = "warning" if failed else ""
        self.caption.value = self.text(counts)
        if self.copy is not None:
            self.copy.update(self._static(done, self.caption.value))

    def _finish(self) -> None:
        done, failed, _, _ = self._counts
        self.bar.bar_style = "success" if done == self.total and not failed else "warning"

    def _static(self, done: int, text: str) -> dict[str, str]:
        bar = f'<progress value="{done}" max="{max(self.total, 1)}"></progress> '
        body = f'<div class="agentnb-progress">{bar}{html.escape(text)}</div>'
        return {"text/html": static_root(body) + REOPENED_STYLE + LIVE_STYLE, "text/plain": text}


def make_progress(total: int, label: str, enabled: bool = True) -> Progress:
    """The progress a batch shows of ``total`` runs named ``label`` (done, failed, left, the
    cost so far): a widget in a notebook, one rewritten line on a terminal, nothing when not
    ``enabled``. ``update(done, failed, cost)`` as runs end, ``close()`` at the end."""
    if not enabled:
        return NoProgress()
    if in_notebook():
        return WidgetProgress(total, label)
    return TextProgress(total, label)
