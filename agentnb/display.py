"""What agentnb's own views draw with, public for a package that shows its results the same
way (``agentnb.evals``): ``from agentnb.display import Table, Column, table_html``.

- The one table model: ``Table`` of ``Column`` and rows (``Row``: a row's cells, each text
  or a ``Cell`` with HTML of its own), drawn by ``table_html`` and ``table_text`` (fitted to
  a width; ``in_blocks`` splits a wide one), ``text_width`` the terminal's.
- Untrusted text made safe and short: ``clean`` (no control characters or terminal
  sequences), ``visible`` (every invisible character shown), ``excerpt``, ``seen_text`` (the
  words a reader sees of markdown); ``NO_MATH``, the class that keeps MathJax off a view.
- Figures as a summary shows them: ``cell_text`` (``$1.25``, ``350 ms``), ``percent``;
  ``is_share`` (a score's mean is a share of True), ``shown_summary`` (a frame shown as a
  summary is, ``shares=`` its bool scores' columns), ``fitting_columns`` (those of its
  columns that fit one row a group in a width).
- ``require_pandas()``, ``require_pyplot()``: pandas, matplotlib's pyplot, or an error
  saying which extra to install.
- ``warn``: a warning worded in lines a terminal and a notebook hold; ``note``: information,
  not a warning (an ordinary output in a notebook, a line on stderr elsewhere).
- ``make_progress(total, label)``: the progress a batch shows (done, failed, left, cost).
- ``in_notebook``, and ``show_grid``: a question × arm grid shown as the clickable view an
  experiment is (``ShownGrid``).
"""

from __future__ import annotations

from ._app.past.history_tables import show_grid, shown_summary
from ._core.extras import require_pandas, require_pyplot
from ._core.text import excerpt, visible
from ._core.warning import warn
from ._display.environment import in_notebook, note
from ._display.progress import Progress, make_progress
from ._display.run_comparison import seen_text
from ._display.safe_markdown import NO_MATH
from ._display.static_copy import clean
from ._display.summary_table import cell_text, fitting_columns, percent, text_width
from ._display.table import (
    Cell,
    Column,
    Row,
    ShownGrid,
    Table,
    in_blocks,
    table_html,
    table_text,
)
from ._history._summary import is_share

__all__ = [
    "NO_MATH",
    "Cell",
    "Column",
    "Progress",
    "Row",
    "ShownGrid",
    "Table",
    "cell_text",
    "clean",
    "excerpt",
    "fitting_columns",
    "in_blocks",
    "in_notebook",
    "is_share",
    "make_progress",
    "note",
    "percent",
    "require_pandas",
    "require_pyplot",
    "seen_text",
    "show_grid",
    "shown_summary",
    "table_html",
    "table_text",
    "text_width",
    "visible",
    "warn",
]
