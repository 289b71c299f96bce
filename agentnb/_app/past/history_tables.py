"""The history as a person sees it: ``agentnb.runs()`` and ``summary()``, and a store's
``runs()`` and ``summary()``, return the history's data types with their display added here
(a notebook's HTML, a terminal's text, plots, drawn by ``_display``; in a Jupyter kernel, the
table to browse). The history itself keeps and reads runs and draws nothing: importing this
module has its store return these tables (``show_tables_as``), and every door to the history
(``agentnb.history``, ``agentnb.runs``, ``agentnb.summary``) imports it."""

from __future__ import annotations

import functools
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Unpack, cast

from ..._core.extras import require_pandas
from ..._core.warning import warn
from ..._display.environment import kernel_shell
from ..._display.history_plot import PlotOptions
from ..._display.history_plot import plot as draw_plot
from ..._display.history_views import runs_html, runs_text, tool_calls_html, tool_calls_text
from ..._display.summary_table import summary_html, summary_text
from ..._display.table import ShownGrid
from ..._display.terminal import terminal_width
from ..._history import HistoryStore as StoreData
from ..._history import (
    RunFilter,
    RunFilters,
    metadata_key,
    open_default_store,
    show_tables_as,
)
from ..._history import RunHistory as RunsData
from ..._history import ToolCallHistory as CallsData
from ..._history import default_store as open_default_store_quietly
from ..._history._summary import SHARES, ShownColumns
from ..._history._tables import SHOWN_ROWS

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from ..._display.runs_table import RunsTable
    from ..front.connections import Via

__all__ = [
    "HistoryStore",
    "RunHistory",
    "ShownColumns",
    "ToolCallHistory",
    "browse",
    "default_store",
    "history_of",
    "runs",
    "shown_summary",
    "summary",
]


class ToolCallHistory(CallsData):
    """Tool calls of a set of runs; ``to_pandas()`` makes a DataFrame of them."""

    def summary(
        self,
        by: str | Sequence[str] = "name",
        *,
        every: str | None = None,
        columns: ShownColumns = None,
    ) -> pd.DataFrame:
        """Per tool (``by="name"``), per agent that made the calls (``"agent"``: the run's
        agent or the sub-agent inside it), or both: ``calls``; ``failed`` and
        ``failure_rate`` (of the calls that ended: failed, denied and those with no result
        count against it); ``time_total`` (seconds spent in calls), ``duration_p50`` and
        ``duration_p95``; ``tokens_total`` and ``cost_total`` (USD), what the sub-agents
        inside the calls spent, where the platform reports usage per call (missing, not 0,
        where it does not), and ``priced_calls``, how many calls that cost counts; ``runs``
        (how many runs made such a call). Busiest first. ``every="hour" | "day" | "week"``
        adds a first index level, ``period``, as ``RunHistory.summary`` does (by the calls'
        start).

        The frame holds plain numbers; a notebook and ``print`` show it formatted (``$``,
        ``%``, ms and s, dates), the columns that answer first: ``columns="all"`` shows
        every one, or name them; ``.to_pandas()`` is the plain DataFrame."""
        return shown_summary(super().summary(by, every=every), columns)

    def __repr__(self) -> str:
        return tool_calls_text(self.columns(), self.counts(), title=self.title())

    def _repr_html_(self) -> str:
        return tool_calls_html(self.columns(), title=self.title())


class RunHistory(RunsData):
    """Runs, most recent first (a search's: best match first; a batch: in input order),
    shown as a table in a notebook and a terminal.

    ``history[0]`` is a :class:`RunRecord`; ``history[:10]`` another ``RunHistory``.

    A ``runs()`` result of more rows than a table shows first holds those rows and the
    count; the rest are read from the history file at first use (``len()``, iterating,
    ``to_pandas()``...), and are the runs recorded when ``runs()`` was called. So showing
    ``agentnb.runs()`` over a million runs reads 20 of them.
    """

    _calls_table: ClassVar[type[CallsData]] = ToolCallHistory

    def summary(
        self,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
        columns: ShownColumns = None,
    ) -> pd.DataFrame:
        """Per group (``agent`` by default, or ``model``, ``provider``...; None for one
        overall row): runs; how many completed, failed, were cancelled, interrupted or are
        still running (each run in exactly one of the five); success rate: completed / runs
        that ended (completed, failed, cancelled or interrupted; a run still going is not
        counted) and failure rate (failed / runs that ended); tokens total and mean; cost
        total and mean in USD over the runs whose cost is known, and ``unpriced``, how many
        are not; the agent's duration and TTFT p50/p95 and the time paused for a person,
        over the runs ``include`` names (``"completed"`` by default, a status, a list of
        them, or ``"all"``; ``timed_runs`` says how many; a cancelled run's missing TTFT is
        left out, not counted as 0); tool calls per run.

        ``every="hour" | "day" | "week"`` adds a first index level, ``period``: the start
        (UTC) of the hour, day or week (from Monday) each run started in, so
        ``summary(every="day")["cost_total"]`` is the cost per day.
        ``by="metadata.user"`` (any key of the runs' metadata; in a list too:
        ``["agent", "metadata.team"]``) groups by that key. Each score given to these runs
        adds ``score.<name>_n`` (runs scored), ``score.<name>`` (the mean of its numbers and
        bools: for a bool, the share of True) and ``score.<name>[<label>]`` per label (how
        many runs have it).

        The frame holds plain numbers; a notebook and ``print`` show it formatted (``$``,
        ``%``, ms and s, dates), the columns that answer first: ``columns="all"`` shows
        every one, or name them; ``.to_pandas()`` is the plain DataFrame."""
        return shown_summary(super().summary(by, every=every, include=include), columns)

    def plot(
        self, kind: str = "tokens", *, ax: Axes | None = None, **options: Unpack[PlotOptions]
    ) -> Axes:
        """Draw a common view as a report figure with matplotlib; return the Axes drawn on.

        ``kind``: ``"tokens"`` (one point per run over its start time, local, coloured by
        agent; ``column="prompt_tokens"`` or ``"completion_tokens"`` for one side),
        ``"latency"`` (per agent, a box of the agent's durations with each run's point;
        ``metric="ttft"`` for time to first token; completed runs only unless
        ``include="all"`` or statuses, and the title says which), ``"tools"`` (calls per
        tool; ``top=20``).

        Over time: ``plot("cost" | "tokens" | "latency" | "failures", by="agent" | "model" |
        "tool", every="hour" | "day" | "week")`` draws one line per agent, model or tool
        over each period's start (UTC), from ``summary(by, every=...)``'s figures (cost:
        known costs in USD; latency: median agent time of completed runs; failures: failure
        rate). ``cost`` and ``failures`` are always over time (``every="day"`` unless
        given); ``by="tool"`` draws the tool calls' median time or failure rate. ``figsize``
        sizes a new figure. Pass ``ax=`` to draw into a figure of your own: that Axes is
        returned. Otherwise the new figure's Axes is returned, a plain Axes that IPython does
        not print as ``<Axes: …>`` under the figure.
        """
        drawn: Axes = draw_plot(self, kind, ax=ax, **options)
        return drawn

    def export_traces(self, endpoint: str | None = None) -> int:
        """Send these runs to a tracing collector as the traces they would have made live:
        ``agentnb.export_traces(self, endpoint)`` (see there). Returns how many were sent."""
        from .trace_export import export_traces  # the exporter and past runs: when sending

        return export_traces(self, endpoint)

    def to_text(self, limit: int | None = None, *, width: int | None = None) -> str:
        """The runs (the first ``limit`` of them; None: all) as an aligned plain-text table,
        one line per run, with the columns of the notebook's table; with ``width`` (a
        terminal's columns) fitted to it: columns shortened or left out, the message
        taking what is left."""
        columns, shown, _ = self.first_rows(len(self) if limit is None else limit)
        return runs_text(columns, shown, title=None, more=0, width=width)

    def __repr__(self) -> str:
        columns, shown, total = self.first_rows(SHOWN_ROWS)
        width = terminal_width(sys.stdout)  # None for a pipe, a file or a notebook
        more, at_least = total.n - shown, not total.exact
        return runs_text(
            columns, shown, title=self.title(), more=more, width=width, at_least=at_least
        )

    def _repr_html_(self) -> str:
        columns, shown, total = self.first_rows(SHOWN_ROWS)
        more, at_least = total.n - shown, not total.exact
        return runs_html(columns, shown, title=self.title(), more=more, at_least=at_least)

    def _ipython_display_(self) -> None:
        """In a Jupyter kernel (a cell's last line, ``display``, ``%agent_runs``): the
        table to browse, then its static table. Elsewhere IPython shows the text and the
        HTML table: ``NotImplementedError`` is how this method says so."""
        if kernel_shell() is None:
            raise NotImplementedError
        browse(self).publish()


if TYPE_CHECKING:

    class HistoryStore(StoreData[RunHistory]):
        """A run history database (the one class at runtime: ``_history``'s store), whose
        ``runs()`` are, to a type checker too, the tables this module shows."""

else:
    HistoryStore = StoreData


def runs(
    *, limit: int | None = None, search: str | None = None, **filters: Unpack[RunFilters]
) -> RunHistory:
    """Recorded runs, most recent first.

    ``agent``, ``status``, ``model`` and ``mode`` (an ACP agent's) take a name or a list;
    ``since`` a datetime, date, ISO 8601
    string, unix seconds, or a timedelta meaning "within the last"; ``thread`` a thread or
    session id; ``limit`` keeps the most recent that many. Empty when history is off.

    ``search`` keeps the runs whose question, answer, reasoning or tool calls (names and
    arguments) hold every word given (case and accents ignored; ``word*`` for words that
    start so), best match first, with a ``snippet`` column showing where; it combines with
    the other filters (``limit`` then keeps the best that many).

    ``metadata={"user": "alice"}`` keeps the runs whose metadata has that value for each
    key given (a string as itself, another value as its JSON text). ``score={"correct":
    True}`` keeps the runs whose current score of each name given is that value (a bool, a
    number or a label); ``{"verdict": None}``: the runs not given one. ``tool="search"``
    keeps the runs that called that tool (a list: any of them), ``tool_status="failed"``
    (``succeeded``, ``denied``, ...) those whose call of it ended so.

    An evaluator's runs (a judge's, marked with the metadata ``evaluates``: the run it
    graded) are left out unless ``agent`` names their agent (``runs(agent="judge")``).
    """
    where = RunFilter.build(limit=limit, search=search, **filters)
    store = open_default_store()
    if store is None:
        return RunHistory()
    return store.runs(where, table=RunHistory)


def summary(
    by: str | Sequence[str] | None = "agent",
    *,
    every: str | None = None,
    include: str | Sequence[str] = "completed",
    columns: ShownColumns = None,
    **filters: Unpack[RunFilters],
) -> pd.DataFrame:
    """``runs(...).summary(by, every=..., include=..., columns=...)`` computed by SQLite
    without reading the runs out: the same frame (runs and outcomes, success and failure
    rates, tokens, cost, the agent's duration and TTFT p50/p95 and time paused over the
    ``include`` runs, completed ones by default, tool calls per run, per group) in a
    fraction of the time on a large history. ``by`` names a column (``agent``, ``model``,
    ...) or a list; ``every="day"`` (or ``"hour"``, ``"week"``) adds the period as the first
    level: ``agentnb.summary("model", every="day")["cost_total"]`` is each model's cost per
    day; ``by="metadata.user"`` groups by a key of the runs' metadata
    (``agentnb.summary("metadata.user", every="day")["cost_total"]``: the cost per user per
    day). Each score given to the runs adds its mean and counts (``score.<name>``,
    ``score.<name>_n``, ``score.<name>[<label>]``). Filters as :func:`runs`. Needs pandas.

    The frame holds plain numbers; a notebook and ``print`` show it formatted (``$``, ``%``,
    ms and s, dates), the columns that answer first: ``columns="all"`` shows every one, or
    name them; ``.to_pandas()`` is the plain DataFrame. Evaluators' runs are left out
    (unless ``agent`` names theirs); the frame's note says what they cost."""
    where = RunFilter.build(**filters)
    store = open_default_store()
    if store is None:
        return RunHistory().summary(by, every=every, include=include, columns=columns)
    _say_missing_keys(store, by)
    return store.summary(where, by, every=every, include=include, columns=columns)


def _say_missing_keys(store: StoreData[Any], by: str | Sequence[str] | None) -> None:
    """Warn of a ``metadata.<key>`` no run has: its summary is one group of every run."""
    named = [by] if isinstance(by, str) else list(by or ())
    keys = {name: metadata_key(name) for name in named if isinstance(name, str)}
    wanted = [key for key in keys.values() if key is not None]
    held = set(store.metadata_keys(*wanted)) if wanted else set()
    for name, key in keys.items():
        if key is not None and key not in held:
            have = ", ".join(map(repr, store.metadata_keys())) or "none (no run has metadata)"
            warn(
                f"agentnb: no run has the metadata key {key!r}, so summary by {name!r} is one "
                f"group of every run; the keys runs have: {have}",
                stacklevel=3,
            )


def default_store() -> HistoryStore | None:
    """The history agentnb records in by default (``AGENTNB_HISTORY``; None when it is
    off): one store per file, the same object every run, score and table of this process
    uses. Its ``runs()`` and ``summary()`` are the tables ``agentnb.runs()`` shows."""
    return shown_store(open_default_store_quietly())


def history_of(via: Via = None) -> HistoryStore | None:
    """The history the connection ``via`` (a name, a Connection or a client; default: the
    default connection) records its runs in; None when it records none."""
    from ..front.connections import connection_of, store_of  # the clients: never on a summary's way

    return shown_store(store_of(connection_of(via).client()))


def shown_store(store: StoreData[Any] | None) -> HistoryStore | None:
    """``store`` as a type checker should see it: its tables are this module's, since
    importing it named them (:func:`show_tables_as`)."""
    return cast("HistoryStore | None", store)


def show_grid(grid: ShownGrid, runs: RunHistory) -> None:
    """Show ``grid`` in a notebook as a view whose cells open their run (``runs``: the
    grid's runs) and whose questions compare theirs, over its static table."""
    from .runs_browser import grid_view  # the widget: only in a notebook

    grid_view(grid, runs).publish()


def browse(history: RunHistory | None = None) -> RunsTable:
    """``history`` (``agentnb.runs()`` when None) as a table to browse, returned to keep:
    ``table.selected`` is the `RunHistory` of the rows selected in it.

    A ``runs()`` result is paged from the history file with the filters it was read with
    (so a table over a million runs reads one page at a time); any other history (a batch, a
    platform's listing, a slice) from its rows in memory."""
    if history is None:
        history = runs()
    if not isinstance(history, RunHistory):
        raise TypeError(f"agentnb.browse() takes a RunHistory, not {type(history).__name__}")
    from .runs_browser import runs_table  # the widget: at the first table browsed

    return runs_table(history)


def shown_summary(
    frame: pd.DataFrame, columns: ShownColumns = None, *, shares: Sequence[str] | None = None
) -> pd.DataFrame:
    """A history's summary frame (or any frame of its figures) as the :func:`summary_class`
    a person is shown (``$``, dates, ``—`` for a missing figure); ``shares``: its
    ``score.<name>`` columns that are a bool score's share of True (shown as a percent)."""
    if shares is not None:
        frame.attrs[SHARES] = list(shares)
    summary = summary_class()(frame)
    summary.shown_columns = columns  # type: ignore[attr-defined]
    summary.attrs = dict(frame.attrs)
    return summary


@functools.cache
def summary_class() -> type[pd.DataFrame]:
    """``Summary``: the DataFrame a summary is (made on first use: pandas is optional).

    It is a DataFrame in every use and keeps plain numbers; only its display differs: a
    notebook and ``repr``/``print`` show it formatted (``$``, ``%``, ms and s, dates, the
    columns that answer first). Whatever is made from it (a column, a slice, a sorted copy)
    is a plain DataFrame or Series; ``to_pandas()`` is the plain frame itself."""
    pandas = require_pandas()
    base: Any = pandas.DataFrame

    class Summary(base):  # type: ignore[misc]
        _metadata: ClassVar[list[str]] = ["shown_columns"]
        shown_columns: ShownColumns = None

        @property
        def _constructor(self) -> Any:
            return pandas.DataFrame

        def to_pandas(self) -> pd.DataFrame:
            """The summary as a plain DataFrame (a copy): numbers, not text."""
            frame: pd.DataFrame = pandas.DataFrame(self, copy=True)
            frame.attrs = dict(self.attrs)
            return frame

        def _repr_html_(self) -> str:
            return summary_html(self.to_pandas(), self.shown_columns)

        def __repr__(self) -> str:
            return summary_text(self.to_pandas(), self.shown_columns)

    Summary.__qualname__ = "Summary"
    return Summary


show_tables_as(RunHistory, shown_summary)


def __getattr__(name: str) -> Any:
    # Unpickling a summary looks its class up here by name.
    if name == "Summary":
        return summary_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
