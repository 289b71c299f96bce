"""The run tables: :class:`RunHistory` (runs as a sequence of records that also turns into
DataFrames, summaries, plots and HTML) and :class:`ToolCallHistory`, and the filters
``runs()`` takes. Local and remote listings share the tables, so they analyse the same way.

A table keeps one list per column (what the store reads), so ``to_pandas()`` builds the frame
column by column, with no per-row Python objects: times become tz-aware UTC datetimes, token
counts nullable ``Int64``, names categoricals, texts pandas' nullable ``string``, JSON
columns Python objects; records are made only for the rows you index.

The notebook's HTML table shows the columns of :mod:`._text_table`, one line per run. Every
value is escaped, in cells and in hover titles: runs hold untrusted text. The styles are
inline (JupyterLab's sanitizer drops ``<style>`` elements from untrusted outputs) and every
cell sets its own alignment and ``white-space`` (JupyterLab's ``.jp-RenderedHTMLCommon td``
rule sets both). Colours come from the theme: JupyterLab's ``--jp-*`` variables with
fallbacks that do not assume a light page, and status colours mixed with the text colour
around them (``currentColor``), so they darken on a light theme and lighten on a dark one. A
cut value ends in an ellipsis and keeps its whole text on hover; a table wider than its
output scrolls sideways. Clicking a header sorts the rows (again: the other way) through an
inline handler on the ``<thead>``; where handlers do not run (untrusted or sanitized outputs,
GitHub) the table reads the same, unsorted. There is no filter box: filter with
``runs(agent=…, status=…, since=…, thread=…)`` or the DataFrame from ``.to_pandas()``.
"""

from __future__ import annotations

import json
import math
import operator
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html import escape
from typing import TYPE_CHECKING, Any, Final, Protocol, overload

from .._core.exceptions import ConfigurationError
from .._core.pricing import MAX_COST_USD, MAX_TOKENS
from .._core.run import Run
from .._core.text import excerpt, visible
from ._plot import plot, require_pandas, timed_statuses
from ._records import (
    ORIGIN_COLUMN,
    RUN_COLUMNS,
    SNIPPET_COLUMN,
    TOOL_CALL_COLUMNS,
    ColumnKind,
    RunRecord,
    ToolCallRecord,
    remote_row,
    run_row,
    tool_rows,
)
from ._remote_join import ORIGINS, join_remote
from ._text_table import Cell, TableColumn, shown_columns, text_table

if TYPE_CHECKING:
    import pandas as pd

    from ..providers._base import RemoteRun

__all__ = [
    "COUNTED_STATUSES",
    "PERIOD",
    "PERIODS",
    "STATUSES",
    "SUMMARY_COLUMNS",
    "RunFilter",
    "RunHistory",
    "Since",
    "StoreRead",
    "ToolCallHistory",
    "ToolCallSource",
    "build_frame",
    "columns_of",
    "empty_columns",
    "html_table",
    "search_query",
    "summarize",
    "summary_keys",
]


# ---- the filters runs() takes, checked and turned into SQL ---------------------------

STATUSES: Final = ("running", "completed", "failed", "cancelled", "interrupted")
"""The statuses agentnb records."""

SQLITE_MAX_INTEGER: Final = 2**63 - 1
"""The largest integer SQLite stores; a larger ``limit`` means no limit."""

Since = datetime | date | str | timedelta | float | int
"""A point in time (datetime, date, ISO 8601 text, unix seconds) or a timedelta: within the
last that long. Naive datetimes and dates are local time."""


@dataclass(frozen=True)
class RunFilter:
    """Which runs to read; every field None means all."""

    agents: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    since: float | None = None
    thread: str | None = None
    limit: int | None = None
    search: str | None = None
    """An FTS5 query made from the user's words (:func:`search_query`), never their text."""
    recorded_upto: int | None = None
    """The highest rowid of the runs table when ``runs()`` was called: a result holds the
    runs recorded by then, however late its rows are read (later runs have higher ones)."""

    @classmethod
    def build(
        cls,
        *,
        agent: str | Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        since: Since | None = None,
        thread: str | None = None,
        limit: int | None = None,
        search: str | None = None,
    ) -> RunFilter:
        statuses = _names(status, "status")
        unknown = sorted(set(statuses or ()) - set(STATUSES))
        if unknown:
            raise ConfigurationError(
                f"unknown run status {', '.join(map(repr, unknown))}; "
                f"the statuses are {', '.join(STATUSES)}"
            )
        if thread is not None and not isinstance(thread, str):
            raise ConfigurationError(f"thread must be a thread id (str), not {thread!r}")
        if thread is not None:
            _check_text(thread, "thread")
        return cls(
            agents=_names(agent, "agent"),
            statuses=statuses,
            since=since_seconds(since),
            thread=thread,
            limit=_limit(limit),
            search=None if search is None else search_query(search),
        )

    def where(self) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause (empty when there is no condition) and its parameters."""
        terms, params = self.conditions()
        return (f"WHERE {' AND '.join(terms)}" if terms else ""), params

    def conditions(self, *, pinned: bool = True) -> tuple[list[str], list[Any]]:
        """The conditions on ``runs`` columns (all must hold) and their parameters; the
        search is not one of them (the store joins the index for it), nor the limit.
        ``pinned=False`` leaves out ``recorded_upto`` too (a count puts it where the index
        reads it)."""
        terms: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("runs.agent", self.agents),
            ("runs.status", self.statuses),
        ):
            if values is not None:
                terms.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.since is not None:
            terms.append("runs.started_at >= ?")
            params.append(self.since)
        if self.thread is not None:
            terms.append("runs.thread_id = ?")
            params.append(self.thread)
        if pinned and self.recorded_upto is not None:
            terms.append("runs.rowid <= ?")
            params.append(self.recorded_upto)
        return terms, params


def search_query(text: str) -> str:
    """The FTS5 query for what a user typed: every word must occur (in any column, any
    order, accents and case ignored); ``word*`` matches words that start with ``word``.

    Each word becomes a quoted FTS5 string, so nothing the user types is FTS5 syntax
    (``AND``, ``NEAR(``, ``"``, ``-``, ``:`` are words or punctuation like any other). A word
    with no letter or digit (``-``, ``*``, an emoji) is left out: the index holds letters and
    digits only, and an empty phrase would match nothing at all."""
    if not isinstance(text, str):
        raise ConfigurationError(f"search must be text, not {type(text).__name__}")
    _check_text(text, "search")
    if not text.strip():
        raise ConfigurationError("search is empty: give one or more words to look for")
    phrases = []
    for word in text.replace("\x00", " ").split():  # FTS5 reads a NUL as the query's end
        prefix = word.endswith("*")
        core = word.rstrip("*") if prefix else word
        if not any(char.isalnum() for char in core):
            continue
        quoted = '"' + core.replace('"', '""') + '"'
        phrases.append(quoted + "*" if prefix else quoted)
    return " ".join(phrases) if phrases else '""'


def _names(value: str | Iterable[str] | None, what: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    try:
        names = (value,) if isinstance(value, str) else tuple(value)
    except TypeError:
        names = (value,)  # type: ignore[assignment]
    if not all(isinstance(name, str) for name in names):
        raise ConfigurationError(f"{what} must be a name or a list of names, not {value!r}")
    for name in names:
        _check_text(name, what)
    return names


def _check_text(text: str, what: str) -> None:
    """SQLite stores UTF-8: a string with lone surrogates cannot even be looked up."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ConfigurationError(
            f"{what} {text!r} is not valid text (it holds a lone surrogate)"
        ) from None


def _limit(limit: int | None) -> int | None:
    """A whole number ≥ 0 (numpy integers too); one past SQLite's range means no limit."""
    if limit is None:
        return None
    try:
        whole = operator.index(limit) if not isinstance(limit, bool) else -1
    except TypeError:
        whole = -1
    if whole < 0:
        raise ConfigurationError(f"limit must be a whole number ≥ 0 or None, not {_shown(limit)}")
    return None if whole > SQLITE_MAX_INTEGER else whole


def since_seconds(since: Since | None) -> float | None:
    """``since`` as unix seconds."""
    if since is None:
        return None
    if isinstance(since, timedelta):
        if since < timedelta(0):
            raise ConfigurationError(f"since={since!r} is negative; give how far back to look")
        return time.time() - since.total_seconds()
    if isinstance(since, bool):
        raise ConfigurationError(f"since must be a time, not {since!r}")
    if isinstance(since, int | float):
        return _unix_seconds(since)
    if isinstance(since, str):
        try:
            since = datetime.fromisoformat(since.strip())
        except ValueError:
            raise ConfigurationError(
                f"since={since!r} is not an ISO 8601 date or time (e.g. '2025-01-31' or "
                "'2025-01-31T12:00:00+00:00')"
            ) from None
    if isinstance(since, datetime):
        return _timestamp(since)
    if isinstance(since, date):
        return _timestamp(datetime(since.year, since.month, since.day))
    raise ConfigurationError(
        f"since must be a datetime, date, ISO 8601 string, unix seconds or timedelta, "
        f"not {type(since).__name__}"
    )


def _unix_seconds(value: float) -> float:
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not math.isfinite(seconds):
        raise ConfigurationError(f"since={_shown(value)} is not a point in time (unix seconds)")
    return seconds


def _timestamp(moment: datetime) -> float:
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError) as exc:
        raise ConfigurationError(f"since={moment!r} is out of range: {exc}") from None


def _shown(value: object) -> str:
    """A short repr for an error message (a huge int has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too long to show"
    return excerpt(text, 60)


# ---- the tables ----------------------------------------------------------------------


class ToolCallSource(Protocol):
    """Where a table reads its runs' tool calls from (the store that read the runs)."""

    def tool_call_rows(self, local_ids: Sequence[str]) -> list[tuple[Any, ...]]: ...


SHOWN_ROWS = 20
"""Rows a repr shows; the rest are counted."""
_EXTRA_COLUMNS = (SNIPPET_COLUMN, ORIGIN_COLUMN)
"""Columns a table may have after ``RUN_COLUMNS``, in this order."""


@dataclass(frozen=True)
class RunsHead:
    """What a ``runs()`` call read at once: how many runs it holds and the first of them
    (the rows a table shows first), in the result's order."""

    total: int
    columns: Mapping[str, Sequence[Any]]
    """The first rows, one sequence per column (``RUN_COLUMNS``, then a search's
    ``snippet``)."""

    @property
    def rows(self) -> int:
        return len(self.columns["local_id"])

    @property
    def complete(self) -> bool:
        """Whether the head is every row of the result."""
        return self.rows >= self.total


class RowSource(Protocol):
    """Where a ``runs()`` result reads its rows (a :class:`~._store.HistoryStore`)."""

    def run_columns(self, where: RunFilter) -> dict[str, Sequence[Any]]: ...


@dataclass(frozen=True)
class StoreRead:
    """Where a ``runs()`` result was read: the store, the filters (with the rowid the
    result is pinned to) and what the call read at once. A browsable table reads its pages
    there (:mod:`._pages`); the result reads the rest of its rows there at first use."""

    store: Any
    """The :class:`~._store.HistoryStore` (which imports this module): a :class:`RowSource`."""
    where: RunFilter
    head: RunsHead | None = None


class RunHistory(Sequence[RunRecord]):
    """Runs, most recent first (a search's: best match first; a batch: in input order).

    ``history[0]`` is a :class:`RunRecord`; ``history[:10]`` another ``RunHistory``.

    A ``runs()`` result of more rows than a table shows first holds those rows and the
    count; the rest are read from the history file at first use (``len()``, iterating,
    ``to_pandas()``...), and are the runs recorded when ``runs()`` was called. So showing
    ``agentnb.runs()`` over a million runs reads 20 of them.
    """

    def __init__(
        self,
        columns: Mapping[str, Sequence[Any]] | None = None,
        *,
        store: ToolCallSource | None = None,
        tool_rows: Sequence[tuple[Any, ...]] | None = None,
        source: str = "local",
        read_from: StoreRead | None = None,
    ) -> None:
        columns = columns or {}
        self._spec: tuple[tuple[str, ColumnKind], ...] = (
            *RUN_COLUMNS,
            *(extra for extra in _EXTRA_COLUMNS if extra[0] in columns),
        )
        """The columns: ``RUN_COLUMNS``, then ``snippet`` for a search's results and
        ``origin`` for a history joined with a platform's listing."""
        self._read: dict[str, Sequence[Any]] = _complete_columns(columns, self._spec)
        """Every row's columns; only the head's while :attr:`_unread` is set."""
        self._unread: StoreRead | None = None
        """Where the rest of the rows are to be read, until they are."""
        self._store = store
        self._tool_rows = list(tool_rows) if tool_rows is not None else None
        self.source = source
        """``local`` for agentnb's history, ``remote`` for a platform's listing, ``joined``
        for the two joined (:meth:`with_remote`)."""
        self.read_from = read_from
        """The store and filters of a ``runs()`` result (None for runs held in memory: a
        batch, ``from_runs``, a listing, a joined history, a slice)."""

    @classmethod
    def read_from_store(cls, read: StoreRead) -> RunHistory:
        """A ``runs()`` result: the rows its head holds, the others read at first use."""
        head = read.head
        history = cls(head.columns if head else None, store=read.store, read_from=read)
        if head is None or not head.complete:
            history._unread = read
        return history

    @property
    def _columns(self) -> dict[str, Sequence[Any]]:
        """Every row's columns (read from the store first, if they are not yet)."""
        unread = self._unread
        if unread is not None:
            store: RowSource = unread.store
            self._read = _complete_columns(store.run_columns(unread.where), self._spec)
            self._unread = None
        return self._read

    def _shown(self, rows: int) -> tuple[Mapping[str, Sequence[Any]], int, int]:
        """The columns holding the first ``rows`` rows, how many of them there are, and
        the total: from the head while the rest are unread and it holds enough."""
        unread = self._unread
        if unread is not None and unread.head is not None and rows <= unread.head.rows:
            return self._read, rows, unread.head.total
        total = len(self)
        return self._columns, min(rows, total), total

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def from_records(
        cls, records: Iterable[RunRecord], *, tool_calls: Iterable[ToolCallRecord] = ()
    ) -> RunHistory:
        rows = [record.to_row() for record in records]
        return cls(_transpose(rows, RUN_COLUMNS), tool_rows=[call.to_row() for call in tool_calls])

    @classmethod
    def from_runs(cls, runs: Iterable[Run]) -> RunHistory:
        """A history of in-memory runs (when nothing was recorded, e.g. history is off)."""
        runs = list(runs)
        return cls(
            _transpose([run_row(run) for run in runs], RUN_COLUMNS),
            tool_rows=[row for run in runs for row in tool_rows(run)],
        )

    @classmethod
    def from_remote(
        cls,
        remote: Iterable[RemoteRun],
        *,
        provider: str | None = None,
        connection: str | None = None,
        host: str | None = None,
    ) -> RunHistory:
        """A platform's run listing in the same shape as the local history."""
        rows = [
            remote_row(run, provider=provider, connection=connection, host=host) for run in remote
        ]
        return cls(_transpose(rows, RUN_COLUMNS), tool_rows=[], source="remote")

    # ---- sequence ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._columns["local_id"])

    @overload
    def __getitem__(self, index: int) -> RunRecord: ...

    @overload
    def __getitem__(self, index: slice) -> RunHistory: ...

    def __getitem__(self, index: int | slice) -> RunRecord | RunHistory:
        if isinstance(index, slice):
            known = (
                (index.start or 0) >= 0
                and (index.step or 1) > 0
                and index.stop is not None
                and self._head_holds(index.stop)
            )
            rows = self._read if known else self._columns
            columns = {name: values[index] for name, values in rows.items()}
            return RunHistory(
                columns, store=self._store, tool_rows=self._tool_rows, source=self.source
            )
        rows = self._read if index >= 0 and self._head_holds(index + 1) else self._columns
        return RunRecord.from_row(tuple(rows[name][index] for name, _ in RUN_COLUMNS))

    def _head_holds(self, stop: int) -> bool:
        """Whether the rows before ``stop`` are read (all are, once the rest are)."""
        unread = self._unread
        return unread is None or (unread.head is not None and 0 <= stop <= unread.head.rows)

    def rows_at(self, indices: Iterable[int]) -> RunHistory:
        """The runs at these positions, in the order given, as a history held in memory."""
        picked = list(indices)
        columns = {name: [values[i] for i in picked] for name, values in self._columns.items()}
        return RunHistory(columns, store=self._store, tool_rows=self._tool_rows, source=self.source)

    def column(self, name: str) -> list[Any]:
        """One column's raw values (times as unix seconds, JSON as text)."""
        if name not in self._columns:
            raise KeyError(f"unknown column {name!r}; the columns are {list(self._columns)}")
        return list(self._columns[name])

    @property
    def local_ids(self) -> list[str]:
        return list(self._columns["local_id"])

    def to_dicts(self) -> list[dict[str, Any]]:
        """The runs as JSON-ready dicts (times in ISO 8601; a search's ``snippet`` and a
        joined history's ``origin`` last)."""
        dicts = [record.to_dict() for record in self]
        for name, _ in self._spec[len(RUN_COLUMNS) :]:
            for row, value in zip(dicts, self._columns[name], strict=True):
                row[name] = value
        return dicts

    def with_remote(self, remote: RunHistory) -> RunHistory:
        """These runs joined with a platform's own listing (:func:`agentnb.remote_runs`), so
        runs made from another notebook or the platform's UI are analysed beside these.

        A run on both sides (the same platform run id, and host where both know it) is one
        row: what this history recorded wins, and what it lacks comes from the listing (the
        platform's usage and model, its end), priced again when the run had no cost. A run
        only on the platform is a row of its own. The ``origin`` column says which each row
        is: ``both``, ``local`` (not in the listing) or ``remote``; ``summary(by="origin")``
        compares them. Most recent first; ``tool_calls()`` are this history's. A joined
        history takes another listing the same way (another thread's)."""
        if not isinstance(remote, RunHistory) or remote.source != "remote":
            raise ConfigurationError(
                "with_remote() takes a platform's listing: agentnb.remote_runs(...), not "
                f"{_shown(remote) if not isinstance(remote, RunHistory) else 'a local history'}"
            )
        if self.source == "remote":
            raise ConfigurationError(
                "with_remote() joins a listing to the local history: call it on "
                "agentnb.runs(...), not on another listing"
            )
        local = {name: self._columns[name] for name, _ in self._spec}
        return RunHistory(
            join_remote(local, remote._columns),
            store=self._store,
            tool_rows=self._tool_rows,
            source="joined",
        )

    # ---- analysis ------------------------------------------------------------------------
    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame, one row per run: UTC datetimes, nullable ``Int64`` token counts,
        categorical names and statuses; a search's results end with its ``snippet`` column.
        Needs pandas (``pip install "agentnb[pandas]"``)."""
        return build_frame(self._columns, self._spec, columns)

    def tool_calls(self) -> ToolCallHistory:
        """The tool calls of these runs, in run order."""
        ids = list(self._columns["local_id"])
        if self._tool_rows is not None:
            wanted = set(ids)
            return ToolCallHistory([row for row in self._tool_rows if row[0] in wanted])
        if self._store is not None and ids:
            return ToolCallHistory(self._store.tool_call_rows(ids))
        return ToolCallHistory([])

    def summary(
        self,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
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
        ``summary(every="day")["cost_total"]`` is the cost per day."""
        return summarize(self, by, every, include)

    def extra_keys(self) -> list[str]:
        """Columns of this table a summary may group by besides the history's own."""
        return [ORIGIN_COLUMN[0]] if ORIGIN_COLUMN in self._spec else []

    def plot(self, kind: str = "tokens", *, ax: Any = None, **options: Any) -> Any:
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
        return plot(self, kind, ax=ax, **options)

    # ---- display -------------------------------------------------------------------------
    def _title(self) -> str:
        """``RunHistory: 5 runs — 3 completed, 2 failed``: the statuses once every row is
        read (a ``runs()`` result of more rows than its head says only how many)."""
        columns, _, total = self._shown(0)
        noun = "run" if total == 1 else "runs"
        where = " (remote)" if self.source == "remote" else self._origins()
        if self._unread is not None:
            return f"RunHistory: {total} {noun}{where}"
        statuses = Counter(columns["status"])
        counts = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
        return f"RunHistory: {total} {noun}{where}" + (f" — {counts}" if counts else "")

    def _origins(self) -> str:
        """`` (2 both, 1 local, 3 remote)`` for a joined history, else nothing."""
        if ORIGIN_COLUMN not in self._spec:
            return ""
        origins = Counter(self._columns[ORIGIN_COLUMN[0]])
        shown = ", ".join(f"{origins[o]} {o}" for o in ORIGINS if origins[o])
        return f" ({shown})" if shown else ""

    def to_text(self, limit: int | None = None, *, width: int | None = None) -> str:
        """The runs (the first ``limit`` of them; None: all) as an aligned plain-text table,
        one line per run, with the columns of the notebook's table; with ``width`` (a
        terminal's columns) fitted to it: columns shortened or left out, the message
        taking what is left."""
        columns, shown, _ = self._shown(len(self) if limit is None else limit)
        return text_table(columns, range(shown), time.time(), width)

    def __repr__(self) -> str:
        _, shown, total = self._shown(SHOWN_ROWS)
        if not total:
            return self._title()
        more = total - shown
        tail = f"\n… and {more} more" if more else ""
        return f"{self._title()}\n{self.to_text(SHOWN_ROWS)}{tail}"

    def _repr_html_(self) -> str:
        columns, shown, total = self._shown(SHOWN_ROWS)
        return html_table(
            columns, range(shown), title=self._title(), more=total - shown, now=time.time()
        )


class ToolCallHistory(Sequence[ToolCallRecord]):
    """Tool calls of a set of runs; ``to_pandas()`` makes a DataFrame of them."""

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._rows = list(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> ToolCallRecord: ...

    @overload
    def __getitem__(self, index: slice) -> ToolCallHistory: ...

    def __getitem__(self, index: int | slice) -> ToolCallRecord | ToolCallHistory:
        if isinstance(index, slice):
            return ToolCallHistory(self._rows[index])
        return ToolCallRecord.from_row(self._rows[index])

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame, one row per call (``local_id`` joins it to the runs' frame)."""
        return build_frame(_transpose(self._rows, TOOL_CALL_COLUMNS), TOOL_CALL_COLUMNS, columns)

    def counts(self) -> dict[str, int]:
        """Calls per tool name, most called first."""
        names = Counter(row[4] or "(unnamed)" for row in self._rows)
        return dict(names.most_common())

    def summary(self, by: str | Sequence[str] = "name") -> pd.DataFrame:
        """Per tool (``by="name"``), per agent that made the calls (``"agent"``: the run's
        agent or the sub-agent inside it), or both: ``calls``; ``failed`` and
        ``failure_rate`` (of the calls that ended: failed, denied and those with no result
        count against it); ``time_total`` (seconds spent in calls), ``duration_p50`` and
        ``duration_p95``; ``tokens_total`` and ``cost_total`` (USD), what the sub-agents
        inside the calls spent, where the platform reports usage per call (missing, not 0,
        where it does not), and ``priced_calls``, how many calls that cost counts; ``runs``
        (how many runs made such a call). Busiest first."""
        return summarize_calls(self, by)

    def __repr__(self) -> str:
        noun = "call" if len(self) == 1 else "calls"
        lines = [f"ToolCallHistory: {len(self)} tool {noun}"]
        lines += [f"  {visible(name)}: {n}" for name, n in self.counts().items()]
        unapproved = [row for row in self._rows if row[_UNAPPROVED]]
        if unapproved:
            lines.append(f"⚠ {len(unapproved)} ran without your approval:")
            lines += [
                f"  {excerpt(row[4], 60, marked=True)}: {row[_UNAPPROVED]}" for row in unapproved
            ]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(excerpt(row[4], 30, marked=True))}</td>"
            f"<td>{escape(str(row[5] or ''))}{_unapproved_mark(row)}</td>"
            f"<td>{escape(excerpt(row[6], 60, marked=True))}</td>"
            f"<td>{escape(excerpt(row[7] or row[8], 60, marked=True))}</td></tr>"
            for row in self._rows[:SHOWN_ROWS]
        )
        more = len(self) - min(len(self), SHOWN_ROWS)
        tail = f"<p><em>… and {more} more</em></p>" if more else ""
        return (
            f"<div><p><strong>{escape(repr(self).splitlines()[0])}</strong></p>"
            "<table><thead><tr><th>tool</th><th>status</th><th>arguments</th>"
            f"<th>output / error</th></tr></thead><tbody>{rows}</tbody></table>{tail}</div>"
        )


def _unapproved_mark(row: Sequence[Any]) -> str:
    """`` · ⚠ approved by the server itself, not by you`` for a call that ran without the
    user's approval (HTML)."""
    unapproved = row[_UNAPPROVED]
    return f" · <strong>⚠ {escape(unapproved)}</strong>" if unapproved else ""


_UNAPPROVED = [name for name, _ in TOOL_CALL_COLUMNS].index("unapproved")


def _transpose(
    rows: Sequence[Sequence[Any]], spec: Sequence[tuple[str, Any]]
) -> dict[str, list[Any]]:
    if not rows:
        return empty_columns(spec)
    return {
        name: list(values) for (name, _), values in zip(spec, zip(*rows, strict=True), strict=True)
    }


def _complete_columns(
    columns: Mapping[str, Sequence[Any]], spec: Sequence[tuple[str, Any]]
) -> dict[str, Sequence[Any]]:
    unknown = set(columns) - {name for name, _ in spec}
    if unknown:
        raise ValueError(f"unknown history column(s) {sorted(unknown)}")
    lengths = {len(values) for values in columns.values()}
    if len(lengths) > 1:
        raise ValueError(f"history columns differ in length: {sorted(lengths)}")
    n = lengths.pop() if lengths else 0
    return {name: columns.get(name, [None] * n) for name, _ in spec}


# ---- DataFrames, built column by column ----------------------------------------------


def build_frame(
    columns: Mapping[str, Sequence[Any]],
    spec: Sequence[tuple[str, ColumnKind]],
    wanted: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A DataFrame of ``columns`` (raw history values), typed by ``spec``."""
    pandas = require_pandas()
    kinds = dict(spec)
    names = list(wanted) if wanted is not None else [name for name, _ in spec]
    unknown = [name for name in names if name not in kinds]
    if unknown:
        raise KeyError(f"unknown column(s) {unknown}; the columns are {list(kinds)}")
    data = {name: _convert(pandas, kinds[name], columns[name]) for name in names}
    frame: pd.DataFrame = pandas.DataFrame(data, columns=names)
    return frame


def empty_columns(spec: Sequence[tuple[str, ColumnKind]]) -> dict[str, list[Any]]:
    return {name: [] for name, _ in spec}


def columns_of(
    rows: Sequence[tuple[Any, ...]], spec: Sequence[tuple[str, ColumnKind]]
) -> dict[str, Sequence[Any]]:
    """Rows turned into one sequence per column (numpy object columns when numpy is there:
    a 2-D object array transposes three times faster than ``zip(*rows)``)."""
    names = [name for name, _ in spec]
    if not rows:
        return {name: [] for name in names}
    try:
        import numpy  # optional (comes with pandas): only to transpose fast
    except ImportError:
        return dict(zip(names, zip(*rows, strict=True), strict=True))
    table: Any = numpy.empty((len(rows), len(names)), dtype=object)
    table[:] = rows
    return {name: table[:, i] for i, name in enumerate(names)}


def _convert(pandas: Any, kind: ColumnKind, values: Sequence[Any]) -> Any:
    import numpy as np  # optional (comes with pandas): loaded with the frame

    column = np.asarray(values, dtype=object)
    if kind == "time":
        # Whole microseconds: what a float of unix seconds holds, without binary noise.
        micros = np.round(column.astype("float64") * 1e6)
        return pandas.to_datetime(micros, unit="us", utc=True)
    if kind == "float":
        return column.astype("float64")
    if kind == "int":
        floats = column.astype("float64")  # token counts are far below 2**53
        missing = np.isnan(floats)
        return pandas.arrays.IntegerArray(np.where(missing, 0, floats).astype("int64"), missing)
    if kind == "category":
        codes, names = pandas.factorize(column, sort=True)
        return pandas.Categorical.from_codes(codes, categories=names)
    if kind == "json":
        return _parsed_json(column)
    return pandas.array(column, dtype="string")


def _parsed_json(values: Iterable[Any]) -> list[Any]:
    # Rows mostly repeat the same settings: parse each distinct text once.
    parsed: dict[str, Any] = {}
    out: list[Any] = []
    for text in values:
        if text is None:
            out.append(None)
            continue
        value = parsed.get(text)
        if value is None:
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            parsed[text] = value
        out.append(value)
    return out


# ---- summary(): usage and reliability per agent (or any other column) ----------------

SUMMARY_COLUMNS = (
    "runs",
    "completed",
    "failed",
    "cancelled",
    "interrupted",
    "running",
    "success_rate",
    "failure_rate",
    "tokens_total",
    "tokens_mean",
    "cost_total",
    "cost_mean",
    "unpriced",
    "timed_runs",
    "duration_p50",
    "duration_p95",
    "ttft_p50",
    "ttft_p95",
    "paused_total",
    "tool_calls_per_run",
)
"""``completed``, ``failed``, ``cancelled``, ``interrupted`` and ``running`` count runs by
status (``failed`` also holds any other status a platform reported, so the five add up to
``runs``). ``success_rate`` is completed / all runs that ended: every failed, cancelled or
interrupted run counts against it, a run still going does not. ``failure_rate`` is failed /
runs that ended. ``cost_total`` and ``cost_mean`` (USD) are over the runs whose cost is known;
``unpriced`` counts the others (an unknown cost is never counted as 0). The timing figures
(``duration_*``, ``ttft_*``: the agent's time, pauses for a person left out; ``paused_total``:
seconds spent waiting for a person) count only the runs ``include`` names, completed ones by
default (a run that failed fast or was cancelled does not make the agent look quick), and
``timed_runs`` says how many those are; a missing TTFT (no token came) is left out, never
counted as 0."""

COUNTED_STATUSES: Final = ("completed", "cancelled", "interrupted", "running")
"""The statuses a summary counts in a column of their own (``failed`` holds the rest)."""
GROUPABLE: Final = (
    "agent",
    "model",
    "provider",
    "connection",
    "host",
    "status",
    "error_code",
    "cost_source",
    "thread_id",
)
"""The columns a summary groups by (``by=``)."""
PERIOD = "period"
"""The key a summary ``every`` hour, day or week groups by: the period's start, UTC."""
PERIODS: Final[dict[str, tuple[int, int]]] = {
    "hour": (3600, 0),
    "day": (86400, 0),
    "week": (7 * 86400, 4 * 86400),  # 1970-01-01 was a Thursday: weeks start on Monday
}
"""Each ``every``: its length in seconds and the offset of its first start from the epoch."""


def summary_keys(
    by: str | Sequence[str] | None, every: str | None = None, extra: Sequence[str] = ()
) -> list[str]:
    """The columns to group by, checked: ``period`` first when ``every`` is given; ``extra``
    names the table's own groupable columns (a joined history's ``origin``)."""
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    groupable = [*GROUPABLE, *extra]
    bad = [key for key in keys if key not in groupable]
    if bad:
        raise ConfigurationError(f"cannot summarise by {bad}; choose from {groupable} or None")
    if every is None:
        return keys
    if every not in PERIODS:
        raise ConfigurationError(f"every must be one of {list(PERIODS)}, not {every!r}")
    return [PERIOD, *keys]


def _period_start(seconds: Any, every: str) -> Any:
    """The start of the period (unix seconds) each of ``seconds`` falls in."""
    size, offset = PERIODS[every]
    return (seconds - offset) // size * size + offset


def summarize(
    history: RunHistory,
    by: str | Sequence[str] | None,
    every: str | None = None,
    include: str | Sequence[str] = "completed",
) -> pd.DataFrame:
    pandas = require_pandas()
    keys = summary_keys(by, every, history.extra_keys())
    statuses = timed_statuses(include)
    figures = (
        "status",
        "total_tokens",
        "cost_usd",
        "duration",
        "ttft",
        "paused_seconds",
        "tool_call_count",
    )
    wanted = [key for key in keys if key != PERIOD]
    wanted += [c for c in (*figures, "started_at") if c not in wanted]
    frame = history.to_pandas(wanted)
    if every is not None:
        started = (frame["started_at"] - pandas.Timestamp(0, tz="UTC")) / pandas.Timedelta(
            seconds=1
        )
        frame[PERIOD] = pandas.to_datetime(_period_start(started, every), unit="s", utc=True)
    for status in COUNTED_STATUSES:
        frame[f"_{status}"] = (frame["status"] == status).astype("int64")
    timed = frame["status"].isin(statuses) if statuses is not None else frame["status"].notna()
    frame["_timed"] = timed.astype("int64")
    for column in ("duration", "ttft", "paused_seconds"):
        frame[column] = frame[column].astype("float64").where(timed)
    # a figure out of its sane range (a crafted or old row) is no figure: never an inf sum
    frame["cost_usd"] = frame["cost_usd"].where(frame["cost_usd"].between(0, MAX_COST_USD))
    tokens = frame["total_tokens"]
    frame["total_tokens"] = tokens.where(tokens.between(0, MAX_TOKENS))
    grouped: Any
    if keys:
        # observed=True: only groups that have runs; dropna=False keeps runs with no agent.
        grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
    else:
        frame["_all"] = "all"
        grouped = frame.groupby("_all")
    runs = grouped.size()
    counts = {status: grouped[f"_{status}"].sum() for status in COUNTED_STATUSES}
    ended = runs - counts["running"]
    other = ended - counts["completed"] - counts["cancelled"] - counts["interrupted"]
    out: pd.DataFrame = pandas.DataFrame(
        {
            "runs": runs,
            "completed": counts["completed"],
            "failed": other,
            "cancelled": counts["cancelled"],
            "interrupted": counts["interrupted"],
            "running": counts["running"],
            "success_rate": (counts["completed"] / ended.where(ended > 0)).astype("float64"),
            "failure_rate": (other / ended.where(ended > 0)).astype("float64"),
            "tokens_total": grouped["total_tokens"].sum(min_count=1),
            "tokens_mean": grouped["total_tokens"].mean().astype("float64"),
            "cost_total": grouped["cost_usd"].sum(min_count=1).astype("float64"),
            "cost_mean": grouped["cost_usd"].mean().astype("float64"),
            "unpriced": (runs - grouped["cost_usd"].count()).astype("int64"),
            "timed_runs": grouped["_timed"].sum(),
            "duration_p50": grouped["duration"].quantile(0.5),
            "duration_p95": grouped["duration"].quantile(0.95),
            "ttft_p50": grouped["ttft"].quantile(0.5),
            "ttft_p95": grouped["ttft"].quantile(0.95),
            "paused_total": grouped["paused_seconds"].sum(min_count=1),
            "tool_calls_per_run": grouped["tool_call_count"].mean().astype("float64"),
        },
        columns=list(SUMMARY_COLUMNS),
    )
    if not keys:
        out.index.name = None
    out.attrs["timed"] = timed_note(statuses)
    return out


def timed_note(statuses: tuple[str, ...] | None) -> str:
    """What a summary says it timed."""
    counted = "all runs" if statuses is None else " or ".join(statuses) + " runs"
    return f"duration, ttft and paused time count {counted} only"


CALL_SUMMARY_COLUMNS = (
    "calls",
    "failed",
    "failure_rate",
    "time_total",
    "duration_p50",
    "duration_p95",
    "tokens_total",
    "cost_total",
    "priced_calls",
    "runs",
)
_CALL_KEYS = ("name", "agent", "status")
_CALL_FAILED = ("failed", "denied", "no_result")
_CALL_PENDING = ("running", "awaiting_approval")


def summarize_calls(calls: ToolCallHistory, by: str | Sequence[str]) -> pd.DataFrame:
    pandas = require_pandas()
    keys = [by] if isinstance(by, str) else list(by)
    bad = [key for key in keys if key not in _CALL_KEYS]
    if bad or not keys:
        raise ConfigurationError(
            f"cannot summarise tool calls by {bad or keys}; choose from {list(_CALL_KEYS)}"
        )
    frame = calls.to_pandas(
        ["local_id", "name", "agent", "status", "duration", "total_tokens", "cost_usd"]
    )
    status = frame["status"].astype("object")
    frame["_failed"] = status.isin(_CALL_FAILED).astype("int64")
    frame["_ended"] = (~status.isin(_CALL_PENDING)).astype("int64")
    grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
    failed, ended = grouped["_failed"].sum(), grouped["_ended"].sum()
    out: pd.DataFrame = pandas.DataFrame(
        {
            "calls": grouped.size(),
            "failed": failed,
            "failure_rate": (failed / ended.where(ended > 0)).astype("float64"),
            "time_total": grouped["duration"].sum(min_count=1).astype("float64"),
            "duration_p50": grouped["duration"].quantile(0.5).astype("float64"),
            "duration_p95": grouped["duration"].quantile(0.95).astype("float64"),
            "tokens_total": grouped["total_tokens"].sum(min_count=1),
            "cost_total": grouped["cost_usd"].sum(min_count=1).astype("float64"),
            "priced_calls": grouped["cost_usd"].count().astype("int64"),
            "runs": grouped["local_id"].nunique(),
        },
        columns=list(CALL_SUMMARY_COLUMNS),
    )
    return out.sort_values("calls", ascending=False, kind="stable")


# ---- the notebook's HTML table -------------------------------------------------------

_STATUS_COLOURS = {
    "completed": "var(--jp-success-color1, #388e3c)",
    "failed": "var(--jp-error-color1, #d32f2f)",
    "interrupted": "var(--jp-error-color1, #d32f2f)",
    "cancelled": "var(--jp-warn-color1, #f57c00)",
    "running": "var(--jp-brand-color1, #1976d2)",
}
"""The chat cell's colours for each ending (see js/src/widget.css)."""
_STATUS_MIX = 55
"""Percent of the status colour mixed with the text colour: ≥ 4.5:1 on JupyterLab's light
and dark backgrounds and their striped rows."""

_EM_PER_CHAR = 0.6
"""A column's ``chars`` in em (the sanitizer of untrusted outputs refuses ``ch``)."""
_BORDER = "var(--jp-border-color1, rgba(128, 128, 128, 0.5))"
_PAD = "padding:0.25em 0.6em"
_TABLE = (
    "border-collapse:collapse;table-layout:auto;width:auto;margin:0;"
    "font-size:var(--jp-ui-font-size1, 13px);font-variant-numeric:tabular-nums"
)

# Sorts the body's rows by the clicked column: a cell's data-key (numbers, times) or its
# text; empty cells last; a second click reverses. Kept in the attribute (no <script>).
_SORT = (
    "var th=event.target.closest('th');if(!th)return;"
    "var head=th.parentNode,i=[].indexOf.call(head.cells,th),"
    "body=head.closest('table').tBodies[0],up=th.getAttribute('aria-sort')!=='ascending';"
    "[].forEach.call(head.cells,function(c){c.removeAttribute('aria-sort');"
    "c.lastChild.textContent=''});"
    "th.setAttribute('aria-sort',up?'ascending':'descending');"
    "th.lastChild.textContent=up?' \\u25B2':' \\u25BC';"
    "var key=function(r){var c=r.cells[i],k=c.getAttribute('data-key');"
    "return k===null?c.textContent:k};"
    "var rows=[].slice.call(body.rows);"
    "rows.sort(function(a,b){var x=key(a),y=key(b);"
    "if(x===''||y==='')return (x==='')-(y==='');"
    "var d=(isNaN(x)||isNaN(y))?x.localeCompare(y):x-y;return up?d:-d});"
    "rows.forEach(function(r){body.appendChild(r)})"
)
_POINTER = "this.style.cursor='pointer'"


def html_table(
    columns: Mapping[str, Sequence[Any]],
    rows: Sequence[int],
    *,
    title: str,
    more: int,
    now: float,
) -> str:
    """The given rows of history ``columns`` as a titled HTML table; ``more`` counts the
    rows left out."""
    heading = f'<div style="font-weight:600;margin:0 0 0.3em">{escape(title)}</div>'
    tail = f"<div><em>… and {more} more</em></div>" if more > 0 else ""
    if not rows:
        return f'<div class="agentnb-runs">{heading}</div>'
    shown = shown_columns(columns, rows, now)
    head = "".join(_header(column) for column, _ in shown)
    body = "".join(
        "<tr>" + "".join(_cell(column, cells[r]) for column, cells in shown) + "</tr>"
        for r in range(len(rows))
    )
    return (
        f'<div class="agentnb-runs" style="max-width:100%;overflow-x:auto">{heading}'
        f'<table class="agentnb-runs-table" style="{_TABLE}">'
        f'<thead onclick="{escape(_SORT)}" onpointerover="{escape(_POINTER)}"><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table>{tail}</div>"
    )


def _align(column: TableColumn) -> str:
    return f"text-align:{'right' if column.right else 'left'};white-space:nowrap;{_PAD}"


def _header(column: TableColumn) -> str:
    style = f"{_align(column)};font-weight:600;border-bottom:1px solid {_BORDER}"
    # The trailing span holds the sort arrow.
    return (
        f'<th style="{style}" title="{escape(column.about)}">{escape(column.title)}'
        "<span></span></th>"
    )


def _cell(column: TableColumn, cell: Cell) -> str:
    style = _align(column)
    attrs = ""
    if column.chars:
        style += f";max-width:{column.chars * _EM_PER_CHAR:.1f}em;overflow:hidden"
        style += ";text-overflow:ellipsis"
    if column.title == "status" and cell.text in _STATUS_COLOURS:
        mix = f"color-mix(in srgb, {_STATUS_COLOURS[cell.text]} {_STATUS_MIX}%, currentColor)"
        style += f";color:{mix}"
    hover = cell.full or (cell.text if column.chars else "")
    if hover:
        attrs += f' title="{escape(hover)}"'
    if cell.key is not None:
        attrs += f' data-key="{_number(cell.key)}"'
    return f'<td style="{style}"{attrs}>{escape(cell.text)}</td>'


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
