"""The seam between keeping runs and showing them: whatever draws a run history.

A history (``agentnb._history``) keeps records and draws nothing; ``_display`` draws and
imports only the core. The package root installs ``_display``'s drawer with
:func:`set_history_drawer`, as it installs the history as the client's recorder
(:mod:`.recorder`), so a history is *handed* what draws it and neither layer imports the
other. ``RunHistory`` and ``ToolCallHistory`` show themselves (``repr``, ``_repr_html_``,
``to_text``, ``plot``) through :func:`history_drawer`.

What a history hands the drawer is data: its title, its columns (one sequence per column
name, the values as the store keeps them: times as unix seconds, JSON as text) and counts;
a plot reads the frames and summaries of the history itself (:class:`Plotted`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .exceptions import ConfigurationError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Columns",
    "HistoryDrawer",
    "Plotted",
    "PlottedCalls",
    "history_drawer",
    "set_history_drawer",
    "timed_statuses",
]

Columns = Mapping[str, Sequence[Any]]
"""A history's rows as one sequence per column name, the values as the store keeps them."""


def timed_statuses(include: str | Sequence[str]) -> tuple[str, ...] | None:
    """The statuses whose runs summaries and latency plots time, as ``include=`` names them
    (None: ``"all"`` of them): the one reading of ``include=`` for the history's summaries
    and the drawer's latency plot."""
    if include == "all":
        return None
    statuses = (include,) if isinstance(include, str) else tuple(include)
    if not statuses or not all(isinstance(s, str) for s in statuses):
        raise ConfigurationError(
            f"include= takes 'all', a status or a list of statuses, not {include!r}"
        )
    return statuses


class PlottedCalls(Protocol):
    """What a plot reads of a history's tool calls (``ToolCallHistory``)."""

    def counts(self) -> dict[str, int]: ...

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame: ...


class Plotted(Protocol):
    """What a plot reads of a run history (``RunHistory``): its frame, its summary, its
    tool calls."""

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def tool_calls(self) -> PlottedCalls: ...

    def summary(
        self,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
    ) -> pd.DataFrame: ...


class HistoryDrawer(Protocol):
    """Draws a history from the data it hands over (``_display/history_views.py``)."""

    def runs_text(
        self, columns: Columns, rows: int, *, title: str | None, more: int, width: int | None
    ) -> str:
        """The first ``rows`` runs as an aligned text table (fitted to ``width`` columns
        when given), under ``title`` and over ``… and {more} more`` when given."""
        ...

    def runs_html(self, columns: Columns, rows: int, *, title: str, more: int) -> str:
        """The first ``rows`` runs as the notebook's titled HTML table."""
        ...

    def tool_calls_text(self, columns: Columns, *, title: str) -> str:
        """Tool calls (columns of ``TOOL_CALL_COLUMNS``) as text under ``title``: calls per
        tool, and the calls that ran without the user's approval."""
        ...

    def tool_calls_html(self, columns: Columns, *, title: str) -> str:
        """Tool calls as an HTML table under ``title``."""
        ...

    def terminal_columns(self) -> int | None:
        """The width of the terminal standard output writes to; None when it writes to a
        pipe, a file or a notebook (a history's text then keeps its columns whole)."""
        ...

    def summary_text(self, frame: pd.DataFrame, columns: str | Sequence[str] | None) -> str:
        """A summary's frame as an aligned text table of formatted figures, ``columns``
        shown (None: the ones that answer first, ``"all"``, or those named)."""
        ...

    def summary_html(self, frame: pd.DataFrame, columns: str | Sequence[str] | None) -> str:
        """A summary's frame as the notebook's HTML table of formatted figures."""
        ...

    def plot(self, history: Plotted, kind: str, ax: Any, options: dict[str, Any]) -> Any:
        """``RunHistory.plot(kind, ax=ax, **options)``: the Axes drawn on."""
        ...


def _none_installed() -> HistoryDrawer:
    raise RuntimeError("agentnb: no history drawer is installed (agentnb/__init__ installs it)")


_factory: Callable[[], HistoryDrawer] = _none_installed


def set_history_drawer(factory: Callable[[], HistoryDrawer]) -> None:
    """Install what :func:`history_drawer` returns (called once, by ``agentnb/__init__``)."""
    global _factory
    _factory = factory


def history_drawer() -> HistoryDrawer:
    """What draws a run history: ``_display``'s tables and plots."""
    return _factory()
