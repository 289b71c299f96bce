"""The local run history: its store, the records and tables it gives, and the views over it.

``agentnb.runs()`` and ``agentnb.summary()`` read the history; what they and ``browse`` /
``compare`` return, and the store and recorder underneath, live here:

- ``HistoryStore``: the SQLite file every run is recorded in (``AGENTNB_HISTORY``).
- ``RunHistory``: the table ``runs()`` returns (filter it, turn it into pandas).
- ``PlotOptions``: what ``RunHistory.plot(kind, ...)`` takes besides ``ax``.
- ``RunFilters``: the filter keywords ``runs()`` and ``summary()`` both take (agent, status,
  since, thread, metadata, score, tool, tool_status), for a function of your own that passes
  them on: ``def mine(**filters: Unpack[RunFilters])``.
- ``RunRecord``, ``ToolCallHistory``, ``ToolCallRecord``: one recorded run, and its tool calls.
- ``ScoreRecord``: one score given to a run (``agentnb.score``, evaluators, a verdict).
- ``RunsTable``: the browsable table ``browse()`` returns; ``Comparison``: what ``compare()``
  returns.
- ``default_store()``: the history agentnb records in (None when ``AGENTNB_HISTORY=off``);
  ``history_of(via)``: the one a connection records in.
- ``EVALUATES``: the metadata key that marks an evaluator's run (a judge's) with the run it
  grades, which keeps it out of listings that do not name its agent.
- ``RunRecorder``: what records a run (the history is one); pass your own as ``recorder=``,
  or hand it every run recorded by default with ``add_recorder`` (``remove_recorder``).
- ``add_migrations``: a package's own tables in the history file (evaluation's are), as named
  steps of SQL applied after agentnb's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._app.past.history_tables import (
    HistoryStore,
    RunHistory,
    ToolCallHistory,
    default_store,
    history_of,
)
from ._core.recorder import RunRecorder, add_recorder, remove_recorder
from ._display.history_plot import PlotOptions
from ._display.run_comparison import Comparison
from ._history import (
    EVALUATES,
    RunFilters,
    RunRecord,
    ScoreRecord,
    ToolCallRecord,
    add_migrations,
)

if TYPE_CHECKING:
    from ._display.runs_table import RunsTable

__all__ = [
    "EVALUATES",
    "Comparison",
    "HistoryStore",
    "PlotOptions",
    "RunFilters",
    "RunHistory",
    "RunRecord",
    "RunRecorder",
    "RunsTable",
    "ScoreRecord",
    "ToolCallHistory",
    "ToolCallRecord",
    "add_migrations",
    "add_recorder",
    "default_store",
    "history_of",
    "remove_recorder",
]


def __getattr__(name: str) -> Any:
    # RunsTable is an anywidget: loaded when asked for, so a script or the command line that
    # reads the history (agentnb.evals' commands among them) loads no widget nor IPython.
    if name == "RunsTable":
        from ._display.runs_table import RunsTable

        return RunsTable
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
