"""The run tables: :class:`RunHistory` (runs as a sequence of records that also turns into
DataFrames and summaries) and :class:`ToolCallHistory`, data only: what shows them is above
(``agentnb.history``'s tables). A table keeps one sequence per column, so a frame is built
column by column, never row by row; records are made only for the rows indexed."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final, Literal, Protocol, Self, overload

from .._core.exceptions import ConfigurationError
from .._core.extras import require_pandas, require_polars, require_pyarrow
from .._core.pricing import price_run
from .._core.run import Run, ToolCall
from ..events import Usage
from ._past_run import past_run
from ._records import (
    MALFORMED_COLUMN,
    ORIGIN_COLUMN,
    RUN_COLUMNS,
    SNIPPET_COLUMN,
    TOOL_CALL_COLUMNS,
    ColumnKind,
    RunRecord,
    ToolCallRecord,
    load_json,
    remote_row,
    run_row,
    to_json,
    tool_rows,
)
from ._run_filter import Count, RunFilter, metadata_text, shown_value
from ._scores import SCORE_PREFIX, score_column
from ._summary import summarize_calls, summary_in_memory

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl
    import pyarrow as pa

    from ..providers._base import RemoteRun

__all__ = [
    "SHOWN_ROWS",
    "Origin",
    "RunHistory",
    "RunsHead",
    "StoreRead",
    "ToolCallHistory",
    "columns_of",
]


class ToolCallSource(Protocol):
    """Where a table reads its runs' tool calls and scores from (the store that read the
    runs)."""

    def tool_call_rows(self, local_ids: Sequence[str]) -> list[tuple[Any, ...]]: ...

    def current_score_rows(self, local_ids: Sequence[str] | None = None) -> list[ScoreRow]: ...


CALLS_BLOCK: Final = 500
"""How many runs' tool calls one read gives a table's records: the block a record is in."""

CallRows = Callable[[Sequence[str]], Sequence[tuple[Any, ...]]]
"""What reads the tool-call rows (``TOOL_CALL_COLUMNS`` order) of runs by their ids."""


class CallsBlock:
    """Where the records of a block of runs (a table's rows, a store's one run) read their
    tool calls: every run's of the block in one read, the first time one of them asks."""

    __slots__ = ("_found", "_ids", "_read")

    def __init__(self, local_ids: Sequence[str], read: CallRows) -> None:
        self._ids = list(local_ids)
        self._read = read
        self._found: dict[str, list[ToolCallRecord]] | None = None

    def __len__(self) -> int:
        return len(self._ids)

    def call_records(self, local_id: str) -> list[ToolCallRecord]:
        found = self._found
        if found is None:
            found = {run: [] for run in self._ids}
            for row in self._read(self._ids):
                found.setdefault(row[0], []).append(ToolCallRecord.from_row(row))
            self._found = found
        if local_id in found:
            return list(found[local_id])
        return [ToolCallRecord.from_row(row) for row in self._read([local_id])]

    def tool_calls(self, record: RunRecord) -> list[ToolCall]:
        return past_run(record, self.call_records(record.local_id)).tool_calls


SHOWN_ROWS = 20
"""Rows a repr shows; the rest are counted."""
_EXTRA_COLUMNS = (SNIPPET_COLUMN, MALFORMED_COLUMN, ORIGIN_COLUMN)
"""Columns a table may have after ``RUN_COLUMNS``, in this order."""


@dataclass(frozen=True)
class RunsHead:
    """What a ``runs()`` call read at once: how many runs it holds and the first of them
    (the rows a table shows first), in the result's order."""

    total: int
    columns: Mapping[str, Sequence[Any]]
    """The first rows, one sequence per column (``RUN_COLUMNS``, then a search's
    ``snippet``)."""
    exact: bool = True
    """False when a search counted its matches only up to a cap: there are more than
    ``total``."""

    @property
    def rows(self) -> int:
        return len(self.columns["local_id"])

    @property
    def complete(self) -> bool:
        """Whether the head is every row of the result."""
        return self.exact and self.rows >= self.total

    @property
    def count(self) -> Count:
        return Count(self.total, self.exact)


JsonTexts = dict[str, Any]
"""JSON texts a read parsed, each with its value."""


class RowSource(Protocol):
    """Where a ``runs()`` result reads its rows (a :class:`~._store.HistoryStore`)."""

    def run_columns(self, where: RunFilter) -> dict[str, Sequence[Any]]: ...

    def run_count(self, where: RunFilter) -> int: ...

    def run_chunks(
        self, where: RunFilter
    ) -> Iterable[tuple[Mapping[str, Sequence[Any]], JsonTexts]]: ...


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
    """Runs as data, most recent first (a search's: best match first; a batch: in input
    order): records, columns and frames; a ``runs()`` result reads the rows past its head
    at first use. ``agentnb.history.RunHistory`` adds how a person sees them.
    """

    _calls_table: ClassVar[type[ToolCallHistory]]
    """What :meth:`tool_calls` returns (set below; a subclass that shows runs sets its own)."""

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
        self._spec = _spec_of(columns)
        """The columns: ``RUN_COLUMNS``, then ``snippet`` for a search's results,
        ``malformed`` when a row read from the file was, and ``origin`` for a history joined
        with a platform's listing."""
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
        self._calls_block: tuple[int, CallsBlock] | None = None
        """Where the records of the block of rows last indexed read their tool calls, and
        the block's first row."""

    @classmethod
    def read_from_store(cls, read: StoreRead) -> Self:
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
            rest = store.run_columns(unread.where)
            self._spec = _spec_of({**self._read, **rest})  # a malformed row may be in the rest
            self._read = _complete_columns(rest, self._spec)
            self._unread = None
        return self._read

    def read_rows(self) -> None:
        """Read every row now, while its store is open (a result reads them when used)."""
        self._columns  # noqa: B018 (the property reads them)

    def first_rows(self, rows: int) -> tuple[Mapping[str, Sequence[Any]], int, Count]:
        """The columns holding the first ``rows`` rows, how many of them there are, and
        the total: from the head while the rest are unread and it holds enough (a
        search's total may then be a lower bound; ``len()`` is exact)."""
        unread = self._unread
        if unread is not None and unread.head is not None and rows <= unread.head.rows:
            return self._with_scores(self._read, rows), rows, unread.head.count
        total = len(self)
        shown = min(rows, total)
        return self._with_scores(self._columns, shown), shown, Count(total)

    def _with_scores(
        self, columns: Mapping[str, Sequence[Any]], rows: int
    ) -> Mapping[str, Sequence[Any]]:
        """``columns`` and, for the first ``rows`` runs, their current scores as columns
        ``score.<name>`` (plain values; None where a run has none): what a table shows."""
        read = getattr(self._store, "current_score_rows", None)
        if read is None or not rows:
            return columns
        ids = list(columns["local_id"][:rows])
        scores: dict[str, list[Any]] = {}
        at = {local_id: i for i, local_id in enumerate(ids)}
        for local_id, name, kind, number, label in read(ids):
            value = label if kind == "label" else bool(number) if kind == "bool" else number
            scores.setdefault(f"score.{name}", [None] * len(ids))[at[local_id]] = value
        return {**columns, **scores} if scores else columns

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def from_records(
        cls, records: Iterable[RunRecord], *, tool_calls: Iterable[ToolCallRecord] = ()
    ) -> Self:
        rows = [record.to_row() for record in records]
        return cls(_transpose(rows, RUN_COLUMNS), tool_rows=[call.to_row() for call in tool_calls])

    @classmethod
    def from_runs(cls, runs: Iterable[Run]) -> Self:
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
    ) -> Self:
        """A platform's run listing in the same shape as the local history."""
        rows = [
            remote_row(run, provider=provider, connection=connection, host=host) for run in remote
        ]
        return cls(_transpose(rows, RUN_COLUMNS), tool_rows=[], source="remote")

    # ---- sequence ------------------------------------------------------------------------
    def __len__(self) -> int:
        """How many runs: counted (the head's count, or a ``COUNT(*)`` of the same filter),
        not read, while the rows past the head are unread."""
        unread = self._unread
        if unread is None:
            return len(self._read["local_id"])
        if unread.head is not None and unread.head.exact:
            return unread.head.total
        store: RowSource = unread.store
        return store.run_count(unread.where)

    @overload
    def __getitem__(self, index: int) -> RunRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Self: ...

    def __getitem__(self, index: int | slice) -> RunRecord | Self:
        if isinstance(index, slice):
            known = (
                (index.start or 0) >= 0
                and (index.step or 1) > 0
                and index.stop is not None
                and self._head_holds(index.stop)
            )
            rows = self._read if known else self._columns
            columns = {name: values[index] for name, values in rows.items()}
            return type(self)(
                columns, store=self._store, tool_rows=self._tool_rows, source=self.source
            )
        rows = self._read if index >= 0 and self._head_holds(index + 1) else self._columns
        malformed = rows.get(MALFORMED_COLUMN[0])
        values = tuple(rows[name][index] for name, _ in RUN_COLUMNS)
        ids = rows["local_id"]
        return RunRecord.from_row(
            values,
            malformed=None if malformed is None else malformed[index],
            calls=self._calls_of_block(ids, index % len(ids)),
        )

    def _calls_of_block(self, ids: Sequence[str], index: int) -> CallsBlock:
        """Where the record at ``index`` reads its tool calls: with the other runs of its
        block of :data:`CALLS_BLOCK` rows (of those read: ``ids``), in one read."""
        start = index - index % CALLS_BLOCK
        stop = min(start + CALLS_BLOCK, len(ids))
        last = self._calls_block
        if last is None or last[0] != start or len(last[1]) != stop - start:
            block = CallsBlock(ids[start:stop], self._tool_call_rows)
            last = self._calls_block = (start, block)
        return last[1]

    def _head_holds(self, stop: int) -> bool:
        """Whether the rows before ``stop`` are read (all are, once the rest are)."""
        unread = self._unread
        return unread is None or (unread.head is not None and 0 <= stop <= unread.head.rows)

    def rows_at(self, indices: Iterable[int]) -> Self:
        """The runs at these positions, in the order given, as a history held in memory."""
        picked = list(indices)
        columns = {name: [values[i] for i in picked] for name, values in self._columns.items()}
        return type(self)(columns, store=self._store, tool_rows=self._tool_rows, source=self.source)

    @property
    def column_names(self) -> list[str]:
        """The names of the columns (``RUN_COLUMNS``, then those a table may add)."""
        return list(self._columns)

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

    def with_remote(self, remote: RunHistory) -> Self:
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
            given = "a local history" if isinstance(remote, RunHistory) else shown_value(remote)
            raise ConfigurationError(
                f"with_remote() takes a platform's listing: agentnb.remote_runs(...), not {given}"
            )
        if self.source == "remote":
            raise ConfigurationError(
                "with_remote() joins a listing to the local history: call it on "
                "agentnb.runs(...), not on another listing"
            )
        local = {name: self._columns[name] for name, _ in self._spec}
        return type(self)(
            join_remote(local, remote._columns),
            store=self._store,
            tool_rows=self._tool_rows,
            source="joined",
        )

    # ---- analysis ------------------------------------------------------------------------
    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame, one row per run: UTC datetimes, nullable ``Int64`` token counts,
        categorical names and statuses, ``metadata`` as dicts; a search's results end with
        its ``snippet`` column. Then one column ``score.<name>`` per score given to these
        runs (:func:`agentnb.score`), each run's current one: floats for numbers, nullable
        booleans for bools, strings for labels, missing where a run has none. ``columns``
        picks columns (score ones too). Needs pandas (``pip install "agentnb[pandas]"``)."""
        named = None if columns is None else [c for c in columns if not c.startswith(SCORE_PREFIX)]
        unread = self._unread
        if unread is not None and unread.where.search is None:
            # converted as they are read, and not kept: a later use reads them again
            store: RowSource = unread.store
            ids: list[str] = []
            spec = (*RUN_COLUMNS, MALFORMED_COLUMN)
            frame = build_frame(store.run_chunks(unread.where), spec, named, ids)
        else:
            frame = build_frame([(self._columns, {})], self._spec, named)
            ids = self.local_ids
        if named is not None and len(named) == len(columns or ()):
            return frame  # no score column asked for: none read
        scores = self._scores_of(ids)
        frame = frame.assign(**scores)
        if columns is None:
            return frame
        unknown = [name for name in columns if name not in frame.columns]
        if unknown:
            raise KeyError(f"unknown column(s) {unknown}; the scores are {list(scores)}")
        return frame[list(columns)]

    def to_arrow(self, columns: Sequence[str] | None = None) -> pa.Table:
        """The runs as a pyarrow ``Table``: the columns of :meth:`to_pandas` (the same
        ``columns=``), times as UTC timestamps, names as dictionaries, ``metadata`` as a
        struct of its keys (each value as text, as ``runs(metadata=...)`` compares it:
        ``pc.struct_field``, polars' ``.struct.field("user")``, DuckDB's ``metadata.user``)
        and ``model_settings`` as its JSON text. Needs the ``arrow`` extra
        (``pip install "agentnb[arrow]"``)."""
        pyarrow = require_pyarrow()
        frame = self.to_pandas(columns)
        order = list(frame.columns)
        structs = {}
        if "metadata" in frame.columns:
            structs["metadata"] = _struct(pyarrow, frame.pop("metadata").tolist())
        for name in frame.columns:
            if name in _JSON_COLUMNS or str(frame[name].dtype) == "object":
                frame[name] = frame[name].map(_json_text, na_action="ignore").astype("string")
        table: pa.Table = pyarrow.Table.from_pandas(frame, preserve_index=False)
        for name, array in structs.items():  # back in its place
            table = table.add_column(order.index(name), name, array)
        return table

    def to_polars(self, columns: Sequence[str] | None = None) -> pl.DataFrame:
        """The runs as a polars ``DataFrame``, from :meth:`to_arrow` (the same columns and
        types). Needs the ``polars`` extra (``pip install "agentnb[polars]"``)."""
        frame: pl.DataFrame = require_polars().from_arrow(self.to_arrow(columns))
        return frame

    def score_columns(self) -> dict[str, Any]:
        """The ``score.<name>`` columns of these runs (see :meth:`to_pandas`); none for
        runs not read from a history."""
        return self._scores_of(self.local_ids)

    def _scores_of(self, ids: Sequence[str]) -> dict[str, Any]:
        """The ``score.<name>`` columns of the runs ``ids`` (none without a store)."""
        if self._store is None or not ids:
            return {}
        return score_columns(ids, self._store.current_score_rows(ids))

    def tool_calls(self) -> ToolCallHistory:
        """The tool calls of these runs, in run order."""
        return self._calls_table(self._tool_call_rows(list(self._columns["local_id"])))

    def _tool_call_rows(self, ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """The tool-call rows of the runs ``ids``: this history's own, else its store's
        (none for a platform's listing)."""
        if self._tool_rows is not None:
            wanted = set(ids)
            return [row for row in self._tool_rows if row[0] in wanted]
        if self._store is not None and len(ids):
            return self._store.tool_call_rows(ids)
        return []

    def summary(
        self,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
    ) -> pd.DataFrame:
        """Per group: the figures of :meth:`agentnb.history.RunHistory.summary`, as data."""
        read = self.read_from
        if read is not None and read.where.limit is None and read.where.search is None:
            # a runs() result: summarised in its file, pinned to the runs it holds
            summary: pd.DataFrame = read.store.plain_summary(
                read.where, by, every=every, include=include
            )
            return summary
        rows = self._columns
        scores = self._store.current_score_rows(self.local_ids) if self._store and len(self) else []
        return summary_in_memory(rows, scores, by, every, include, self.extra_keys())

    def extra_keys(self) -> list[str]:
        """Columns of this table a summary may group by besides the history's own."""
        return [ORIGIN_COLUMN[0]] if ORIGIN_COLUMN in self._spec else []

    def title(self) -> str:
        """``RunHistory: 5 runs — 3 completed, 2 failed``: the statuses once every row is
        read (a ``runs()`` result of more rows than its head says only how many: a search
        past its count's cap ``RunHistory: 10,000+ runs``)."""
        columns, _, total = self.first_rows(0)
        noun = "run" if total == Count(1) else "runs"
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

    def __repr__(self) -> str:
        return self.title()


class ToolCallHistory(Sequence[ToolCallRecord]):
    """Tool calls of a set of runs; ``to_pandas()`` makes a DataFrame of them."""

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._rows = list(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> ToolCallRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Self: ...

    def __getitem__(self, index: int | slice) -> ToolCallRecord | Self:
        if isinstance(index, slice):
            return type(self)(self._rows[index])
        return ToolCallRecord.from_row(self._rows[index])

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame, one row per call (``local_id`` joins it to the runs' frame)."""
        calls = _transpose(self._rows, TOOL_CALL_COLUMNS)
        return build_frame([(calls, {})], TOOL_CALL_COLUMNS, columns)

    def counts(self) -> dict[str, int]:
        """Calls per tool name, most called first."""
        return dict(Counter(row[4] or "(unnamed)" for row in self._rows).most_common())

    def summary(
        self, by: str | Sequence[str] = "name", *, every: str | None = None
    ) -> pd.DataFrame:
        """Per tool or agent: the figures of ``ToolCallHistory.summary``, as data."""
        return summarize_calls(self.to_pandas, by, every)

    def title(self) -> str:
        noun = "call" if len(self) == 1 else "calls"
        return f"ToolCallHistory: {len(self)} tool {noun}"

    def __repr__(self) -> str:
        return self.title()

    def columns(self) -> dict[str, list[Any]]:
        return _transpose(self._rows, TOOL_CALL_COLUMNS)


RunHistory._calls_table = ToolCallHistory

_JSON_COLUMNS = frozenset(name for name, kind in RUN_COLUMNS if kind == "json")


def _struct(pyarrow: Any, values: Sequence[Any]) -> Any:
    """Dicts as an Arrow struct of their keys, values as text (:func:`metadata_text`)."""
    dicts = [value if isinstance(value, dict) else None for value in values]
    keys = sorted({key for value in dicts if value for key in value})
    if not keys:  # a struct needs a field: no run has a key, so none is a value
        return pyarrow.nulls(len(dicts), pyarrow.string())
    kind = pyarrow.struct([(key, pyarrow.string()) for key in keys])
    texts = [
        None if value is None else {key: metadata_text(value.get(key)) for key in keys}
        for value in dicts
    ]
    return pyarrow.array(texts, type=kind)


def _json_text(value: Any) -> str:
    """A JSON column's value (or a score column's of several kinds) as text for Arrow."""
    return value if isinstance(value, str) else to_json(value)


def _transpose(
    rows: Sequence[Sequence[Any]], spec: Sequence[tuple[str, Any]]
) -> dict[str, list[Any]]:
    if not rows:
        return empty_columns(spec)
    return {
        name: list(values) for (name, _), values in zip(spec, zip(*rows, strict=True), strict=True)
    }


def _spec_of(columns: Mapping[str, Sequence[Any]]) -> tuple[tuple[str, ColumnKind], ...]:
    return (*RUN_COLUMNS, *(extra for extra in _EXTRA_COLUMNS if extra[0] in columns))


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


def build_frame(
    chunks: Iterable[tuple[Mapping[str, Sequence[Any]], JsonTexts]],
    spec: Sequence[tuple[str, ColumnKind]],
    wanted: Sequence[str] | None = None,
    ids: list[str] | None = None,
) -> pd.DataFrame:
    """A DataFrame typed by ``spec`` of raw history columns given in chunks, each with the
    values of the JSON texts its check parsed, and converted as it comes: the store's
    :meth:`~._store.HistoryStore.run_chunks` never holds every row at once. The malformed
    rows' note stands only when a row has one. ``ids`` gathers the rows' ``local_id``."""
    pandas = require_pandas()
    kinds = dict(spec)
    names = [name for name, _ in spec] if wanted is None else list(wanted)
    unknown = [name for name in names if name not in kinds]
    if unknown:
        raise KeyError(f"unknown column(s) {unknown}; the columns are {list(kinds)}")
    parts: dict[str, list[Any]] = {name: [] for name in names}
    note, noted, seen = MALFORMED_COLUMN[0], False, False
    for columns, parsed in chunks:
        seen, noted = True, noted or note in columns
        _convert_chunk(pandas, kinds, parts, columns, parsed)
        if ids is not None:
            ids += list(columns.get("local_id", ()))
    if not seen:  # no rows: each column empty, typed
        _convert_chunk(pandas, kinds, parts, {}, {})
    if not noted and note in parts:
        if wanted is not None:
            raise KeyError(f"unknown column(s) {[note]}; no row is malformed")
        names.remove(note)
    data = {name: _joined(pandas, kinds[name], parts[name]) for name in names}
    frame: pd.DataFrame = pandas.DataFrame(data, columns=names)
    return frame


def _convert_chunk(
    pandas: Any,
    kinds: Mapping[str, ColumnKind],
    parts: dict[str, list[Any]],
    columns: Mapping[str, Sequence[Any]],
    parsed: JsonTexts,
) -> None:
    """Each wanted column of one chunk converted, appended to its parts (missing: None)."""
    rows = len(next(iter(columns.values()), ()))
    for name, converted in parts.items():
        values = columns.get(name)
        raw = [None] * rows if values is None else values
        converted.append(_convert(pandas, kinds[name], raw, parsed))


def _joined(pandas: Any, kind: ColumnKind, parts: list[Any]) -> Any:
    """One column of a frame from its chunks' converted columns."""
    import numpy as np  # comes with pandas

    if len(parts) == 1:
        return parts[0]
    if kind == "category":  # one sorted set of categories, each chunk's codes moved to it
        categories = np.array(sorted({name for part in parts for name in part.categories}))
        codes = [
            np.append(np.searchsorted(categories, part.categories), -1)[part.codes]
            for part in parts
        ]
        return pandas.Categorical.from_codes(
            np.concatenate(codes), categories=categories.astype(object)
        )
    if isinstance(parts[0], np.ndarray):
        return np.concatenate(parts)
    series = [pandas.Series(part, copy=False) for part in parts]
    return pandas.concat(series, ignore_index=True).array


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


def _convert(
    pandas: Any, kind: ColumnKind, values: Sequence[Any], parsed: JsonTexts | None = None
) -> Any:
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
        return _parsed_json(pandas, column, {} if parsed is None else parsed)
    return pandas.array(column, dtype="string")


def _parsed_json(pandas: Any, column: Any, parsed: JsonTexts) -> Any:
    """Each row's value: each distinct text parsed once (rows mostly repeat the same
    settings), if the read's check has not already."""
    import numpy as np  # comes with pandas

    codes, texts = pandas.factorize(column)
    values = np.empty(len(texts) + 1, dtype=object)  # the last: None, for code -1
    for i, text in enumerate(texts):
        if text not in parsed:
            parsed[text] = load_json(text)
        values[i] = parsed[text]
    return values[codes]


ScoreRow = tuple[str, str, str, "float | None", "str | None"]
"""A current score as the store reads it: ``(local_id, name, kind, number, label)``."""


def score_columns(local_ids: Sequence[str], rows: Sequence[ScoreRow]) -> dict[str, Any]:
    """One column ``score.<name>`` per score name (sorted), aligned with ``local_ids``: floats
    where every value is a number, nullable booleans where every value is a bool, nullable
    strings for labels, objects for a name given values of several kinds; missing where a
    run has no score of that name. Built by pandas, column by column: no per-row Python."""
    pandas = require_pandas()
    import numpy as np  # comes with pandas

    if not rows or not len(local_ids):
        return {}
    count = len(local_ids)
    found = pandas.DataFrame(list(rows), columns=["local_id", "name", "kind", "number", "label"])
    found["at"] = pandas.Index(local_ids).get_indexer(found["local_id"])
    found = found[found["at"] >= 0]
    out: dict[str, Any] = {}
    for name, scores in found.groupby("name", sort=True):
        kinds = set(scores["kind"].unique())
        (only,) = kinds if len(kinds) == 1 else (None,)
        if only == "label":
            column = pandas.array(np.full(count, None, dtype=object), dtype="string")
            column[scores["at"].to_numpy()] = scores["label"].to_numpy()
        elif only == "number":
            column = pandas.array(np.full(count, np.nan), dtype="float64")
            column[scores["at"].to_numpy()] = scores["number"].to_numpy(dtype="float64")
        elif only == "bool":
            column = pandas.arrays.BooleanArray(np.zeros(count, bool), np.ones(count, bool))
            column[scores["at"].to_numpy()] = scores["number"].to_numpy(dtype="float64") != 0
        else:
            values = scores["label"].where(scores["kind"] == "label", scores["number"])
            values = values.where(scores["kind"] != "bool", scores["number"] != 0)
            column = pandas.array(np.full(count, None, dtype=object), dtype=object)
            column[scores["at"].to_numpy()] = values.to_numpy(dtype=object)
        out[score_column(str(name))] = column
    return out


Origin = Literal["local", "remote", "both"]
ORIGINS: Final[tuple[Origin, ...]] = ("both", "local", "remote")
"""Every ``origin`` value: on both sides, recorded here only, on the platform only."""

_LOCAL_ONLY: Final = frozenset({"local_id"})
"""Columns a listing never fills in (a local row keeps its own id)."""


def join_remote(
    local: Mapping[str, Sequence[Any]], remote: Mapping[str, Sequence[Any]]
) -> dict[str, list[Any]]:
    """The columns of ``local`` joined with ``remote`` (both ``RUN_COLUMNS``; ``local`` may
    have more, which remote-only rows leave empty), ``origin`` last, most recent first.
    ``local`` may be a joined history already (a second listing): its rows keep whether they
    were recorded here."""
    names = [name for name in local if name != ORIGIN_COLUMN[0]]
    local_rows = _rows(local, names)
    given = local.get(ORIGIN_COLUMN[0])
    before: list[Origin] = list(given) if given is not None else ["local"] * len(local_rows)
    remote_rows = _rows(remote, [name for name, _ in RUN_COLUMNS])
    by_run_id: dict[str, list[int]] = {}
    for index, row in enumerate(remote_rows):
        if row["run_id"] is not None:
            by_run_id.setdefault(row["run_id"], []).append(index)
    matched: set[int] = set()
    joined: list[tuple[dict[str, Any], Origin]] = []
    for row, was in zip(local_rows, before, strict=True):
        found = _match(row, remote_rows, by_run_id.get(row["run_id"] or "", []))
        if found is None:
            joined.append((row, was))
            continue
        matched.add(found)
        joined.append((_filled(row, remote_rows[found]), "remote" if was == "remote" else "both"))
    joined += [
        ({name: row.get(name) for name in names}, "remote")
        for index, row in enumerate(remote_rows)
        if index not in matched
    ]
    joined.sort(key=_newest_first)
    columns: dict[str, list[Any]] = {name: [row[name] for row, _ in joined] for name in names}
    columns[ORIGIN_COLUMN[0]] = [origin for _, origin in joined]
    return columns


def _rows(columns: Mapping[str, Sequence[Any]], names: Sequence[str]) -> list[dict[str, Any]]:
    count = len(next(iter(columns.values()), ()))
    return [{name: columns[name][i] for name in names} for i in range(count)]


def _match(row: dict[str, Any], remote: list[dict[str, Any]], candidates: list[int]) -> int | None:
    """The listed run that is ``row``'s: the same run id, and the same host where both say."""
    for index in candidates:
        hosts = (row["host"], remote[index]["host"])
        if None in hosts or hosts[0] == hosts[1]:
            return index
    return None


def _filled(row: dict[str, Any], listed: dict[str, Any]) -> dict[str, Any]:
    """``row`` with its missing values taken from the listed run, then priced if it has no
    cost yet."""
    filled = {
        name: listed.get(name) if value is None and name not in _LOCAL_ONLY else value
        for name, value in row.items()
    }
    if row["cost_usd"] is None:
        usd, source = _cost(row, listed, filled)
        filled["cost_usd"], filled["cost_source"] = usd, source
    return filled


def _cost(
    row: dict[str, Any], listed: dict[str, Any], filled: dict[str, Any]
) -> tuple[float | None, str | None]:
    if listed["cost_usd"] is not None and row["model"] in (None, listed["model"]):
        return listed["cost_usd"], listed["cost_source"]
    usage = Usage(
        prompt_tokens=filled["prompt_tokens"], completion_tokens=filled["completion_tokens"]
    )
    cost = price_run(filled["model"], usage, filled["started_at"])
    return cost.usd, cost.source


def _newest_first(item: tuple[dict[str, Any], Origin]) -> tuple[bool, float]:
    started = item[0]["started_at"]
    known = isinstance(started, int | float) and not math.isnan(started)
    return (not known, -started if known else 0.0)
