"""Chat cells in marimo, the reactive notebook (``marimo edit`` / ``marimo run``).

marimo hosts anywidgets itself: no IPython kernel, no ``IPython.display``. Three things differ
from Jupyter, and this module is the one place that knows them:

* **Each cell carries its own code and style.** In Jupyter a cell's module is a small loader
  that imports the code from the kernel's hidden `AgentRuntime` widget. marimo gives a widget
  its stylesheet only inside its own views, so the runtime's, never displayed, would reach
  no cell; and marimo closes every widget with the cell that created it, so re-running the
  cell that made the first chat would take the shared code away from all the others. There,
  a `ChatCell` is built with the whole bundle as its ``_esm`` and the stylesheet as its
  ``_css`` (:func:`self_contained_front_end`). marimo serves the module from a URL keyed by
  its hash, so the page imports it once, and a marimo notebook saves no widget state.
* **Its theme has its own variables, and its reset.** The stylesheet takes its colours and
  fonts from JupyterLab's variables; inside marimo's shadow root they are set from
  marimo's, which follow its light and dark themes, and the lists and links that marimo's
  CSS reset flattens get their look back (:data:`MARIMO_STYLE`).
* **Displaying is appending to the running cell's output** (:func:`show_in_marimo`); marimo
  wraps the widget in ``mo.ui.anywidget`` itself.

marimo is never imported here: a marimo kernel has imported it before running any cell, so
it is looked up in ``sys.modules``, and everywhere else agentnb costs nothing extra.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any

__all__ = ["MARIMO_STYLE", "in_marimo", "self_contained_front_end", "show_in_marimo"]

MARIMO_STYLE = """
/* marimo: the JupyterLab variables the chat cell reads, from marimo's theme (light or dark).
   `:host` is the shadow root's host, so nothing here applies outside marimo; a variable
   marimo lacks leaves the stylesheet's own fallback. */
:host {
  --jp-ui-font-color1: var(--foreground);
  --jp-ui-font-color2: var(--muted-foreground);
  --jp-layout-color1: var(--background);
  --jp-layout-color2: var(--gray-3);
  --jp-cell-editor-background: var(--gray-3);
  --jp-border-color2: var(--border);
  --jp-brand-color1: var(--blue-9);
  --jp-content-link-color: var(--link);
  --jp-error-color1: var(--red-9);
  --jp-success-color1: var(--grass-9);
  --jp-warn-color1: var(--orange-9);
  --jp-content-font-family: var(--text-font);
  --jp-code-font-family: var(--monospace-font);
}
/* marimo also puts its page's stylesheets in every widget's shadow root, and their reset
   takes away what the answer's markdown gets from the browser's defaults elsewhere. */
.anb-answer ul { list-style: disc; padding-left: 2em; }
.anb-answer ul ul { list-style: circle; }
.anb-answer ol { list-style: decimal; padding-left: 2em; }
.anb-answer a { text-decoration: underline; }
.anb-answer hr { margin: 0.8em 0; }
"""


def in_marimo() -> bool:
    """True when called from a cell of a running marimo notebook.

    marimo's runtime context is per thread: code on agentnb's background loop, or in a
    plain script that merely imported marimo, gets False."""
    running = getattr(sys.modules.get("marimo"), "running_in_notebook", None)
    return callable(running) and bool(running())


@functools.cache
def self_contained_front_end(static: Path) -> dict[str, str]:
    """The chat cell's whole front-end module and stylesheet from ``static`` (the built
    bundle's folder), with marimo's theme, as the ``_esm`` and ``_css`` traits of a cell
    that needs no runtime."""
    return {
        "_esm": (static / "widget.js").read_text(encoding="utf-8"),
        "_css": (static / "widget.css").read_text(encoding="utf-8") + MARIMO_STYLE,
    }


def show_in_marimo(widget: Any) -> None:
    """Append ``widget`` to the output of the marimo cell running now.

    A cell whose last expression is the same widget shows it once: marimo replaces the
    appended outputs with the last expression's value."""
    sys.modules["marimo"].output.append(widget)
