"""One page of a run table at a time, so a table over a million runs sends the browser 20.

:class:`StorePages` reads each page of a ``runs()`` result with one SQLite query (its filters,
sort and FTS5 search; a count for the total, a search's up to a cap); :class:`MemoryPages`
pages a history held in memory the same way, searching by words without ranking. A column's
filter syntax is the table's (docs/run-history.md, "Browse the history in a notebook").
"""

from __future__ import annotations

import dataclasses
import math
import operator
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from .._core.exceptions import ConfigurationError
from ._records import MALFORMED_COLUMN, RUN_COLUMNS, SNIPPET_COLUMN, checked_columns, load_json
from ._run_filter import (
    METADATA_IS_SQL,
    SEARCH_TABLE,
    Count,
    RunFilter,
    counted,
    matched_rows,
    metadata_filter,
    metadata_text,
    ranked_ids_sql,
    require_search_index,
    search_query,
    since_seconds,
)
from ._tables import RunHistory, RunsHead, columns_of

__all__ = [
    "MAX_PAGE_SIZE",
    "PAGE_COLUMNS",
    "MemoryPages",
    "Page",
    "PageQuery",
    "RunPages",
    "StorePages",
    "run_pages",
]

PAGE_SIZE: Final = 20
"""Rows a page holds unless the view asks for another size."""
MAX_PAGE_SIZE: Final = 500
"""The most rows one page may hold."""

ColumnType = Literal["time", "number", "text"]


@dataclass(frozen=True, slots=True)
class PageColumn:
    """A column of the browsable table: its title (the run tables' column it is) and how it
    sorts and filters, in SQL and in memory."""

    title: str
    type: ColumnType
    sql: str
    """The value sorted and filtered, as an SQL expression over ``runs``."""
    raw: Callable[[Mapping[str, Sequence[Any]], int], Any]
    """The same value read from a history's columns."""


def _named(name: str) -> Callable[[Mapping[str, Sequence[Any]], int], Any]:
    return lambda columns, i: columns[name][i]


def _first_of(*names: str) -> Callable[[Mapping[str, Sequence[Any]], int], Any]:
    def read(columns: Mapping[str, Sequence[Any]], i: int) -> Any:
        for name in names:
            value = columns[name][i]
            if value is not None:
                return value
        return None

    return read


def _snippet(columns: Mapping[str, Sequence[Any]], i: int) -> Any:
    values = columns.get(SNIPPET_COLUMN[0])
    return None if values is None else values[i]


MATCH: Final = "match"
"""The column of a search's snippets, shown (and sortable: by rank) only while searching."""

PAGE_COLUMNS: Final[tuple[PageColumn, ...]] = (
    PageColumn("started", "time", "runs.started_at", _named("started_at")),
    PageColumn("agent", "text", "runs.agent", _named("agent")),
    PageColumn("status", "text", "runs.status", _named("status")),
    PageColumn("message", "text", "runs.message", _named("message")),
    PageColumn(MATCH, "text", "rank", _snippet),
    PageColumn("model", "text", "runs.model", _named("model")),
    PageColumn("tokens", "number", "runs.total_tokens", _named("total_tokens")),
    PageColumn("cost", "number", "runs.cost_usd", _named("cost_usd")),
    PageColumn("secs", "number", "runs.duration", _named("duration")),
    PageColumn("tools", "number", "runs.tool_call_count", _named("tool_call_count")),
    PageColumn(
        "error",
        "text",
        "COALESCE(runs.error_message, runs.error_code)",
        _first_of("error_message", "error_code"),
    ),
    PageColumn("thread", "text", "runs.thread_id", _named("thread_id")),
    PageColumn(
        "run",
        "text",
        "COALESCE(runs.run_id, runs.local_id)",
        _first_of("run_id", "local_id"),
    ),
)
"""The browsable table's columns, in order."""
_BY_TITLE: Final = {column.title: column for column in PAGE_COLUMNS}

_PAGE_FIELDS: Final = (
    "local_id",
    "run_id",
    "agent",
    "thread_id",
    "message",
    "status",
    "error_code",
    "error_message",
    "total_tokens",
    "started_at",
    "duration",
    "tool_call_count",
    "model",
    "cost_usd",
    "cost_source",
)
"""The run columns a page reads (not the answers and reasoning, which a table never shows)."""
_PAGE_SPEC: Final = [(name, dict(RUN_COLUMNS)[name]) for name in _PAGE_FIELDS]


# ---- the query ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison:
    """A number or time filter: ``operator`` and the value compared with."""

    operator: str
    value: float


_COMPARE: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
    "=": operator.eq,
}
_COMPARISON = re.compile(r"\s*(>=|<=|!=|>|<|=)?\s*(.*?)\s*$", re.DOTALL)

Filter = str | Comparison


@dataclass(frozen=True, slots=True)
class PageQuery:
    """Which page to show: checked, so a bad request is a clear error, never bad SQL."""

    sort: str | None = None
    """A column title (:data:`PAGE_COLUMNS`), or None: the history's own order (a search's:
    best match first)."""
    descending: bool = False
    filters: tuple[tuple[str, Filter], ...] = ()
    search: str | None = None
    """An FTS5 query (:func:`~._run_filter.search_query`) made of the words typed."""
    words: tuple[str, ...] = ()
    """The words typed, for the in-memory search."""
    metadata: tuple[tuple[str, str], ...] = ()
    """Metadata keys and the text each must equal (typed ``user=alice team=red``)."""
    offset: int = 0
    limit: int = PAGE_SIZE
    last: bool = False
    """The last page, wherever it starts: the matches counted to the end (``offset``
    unused)."""

    @classmethod
    def build(
        cls,
        *,
        sort: str | None = None,
        descending: bool = False,
        filters: Mapping[str, str] | None = None,
        search: str | None = None,
        metadata: str | None = None,
        offset: int = 0,
        limit: int = PAGE_SIZE,
        last: bool = False,
    ) -> PageQuery:
        """A query from what a view (or a caller) sends; ConfigurationError names what is
        wrong: an unknown column, a filter that is not a comparison, an offset below 0, a
        page size outside 1 to :data:`MAX_PAGE_SIZE`."""
        if sort is not None:
            _column(sort, "sort by")
        if not isinstance(descending, bool):
            raise ConfigurationError(f"descending must be True or False, not {descending!r}")
        if not isinstance(last, bool):
            raise ConfigurationError(f"last must be True or False, not {last!r}")
        checked: list[tuple[str, Filter]] = []
        if filters is not None and not isinstance(filters, Mapping):
            raise ConfigurationError(f"filters must map column titles to text, not {filters!r}")
        for title, text in (filters or {}).items():
            column = _column(title, "filter")
            if title == MATCH:
                raise ConfigurationError("the match column is not filtered: search instead")
            if not isinstance(text, str):
                raise ConfigurationError(f"the filter for {title!r} must be text, not {text!r}")
            if text.strip():
                checked.append((title, _parsed_filter(column, text)))
        query: str | None = None
        words: tuple[str, ...] = ()
        if search is not None and not isinstance(search, str):
            raise ConfigurationError(f"search must be text, not {type(search).__name__}")
        if search is not None and search.strip():
            query = search_query(search)
            words = tuple(_folded(word.rstrip("*")) for word in search.split())
            words = tuple(word for word in words if any(char.isalnum() for char in word))
        return cls(
            sort=sort,
            descending=descending,
            filters=tuple(checked),
            search=query,
            words=words,
            metadata=_metadata_pairs(metadata),
            offset=_whole(offset, "offset", 0),
            limit=_page_size(limit),
            last=last,
        )

    @classmethod
    def from_message(cls, message: Mapping[str, Any]) -> PageQuery:
        """A query from a view's message ``{"sort": {"column", "descending"} | null,
        "filters": {title: text}, "search": text, "offset", "limit", "last"}``."""
        sort = message.get("sort")
        if sort is not None and not isinstance(sort, Mapping):
            raise ConfigurationError(f"sort must be {{column, descending}} or null, not {sort!r}")
        return cls.build(
            sort=None if sort is None else sort.get("column"),
            descending=False if sort is None else sort.get("descending", False),
            filters=message.get("filters"),
            search=message.get("search"),
            metadata=message.get("metadata"),
            offset=message.get("offset", 0),
            limit=message.get("limit", PAGE_SIZE),
            last=message.get("last", False),
        )


def _metadata_pairs(text: Any) -> tuple[tuple[str, str], ...]:
    """The metadata filter typed in a table: ``key=value`` pairs apart by spaces or commas,
    each an exact match (``runs(metadata=...)``)."""
    if text is None:
        return ()
    if not isinstance(text, str):
        raise ConfigurationError(f"the metadata filter must be text, not {text!r}")
    pairs = []
    for item in re.split(r"[\s,]+", text.strip()):
        if not item:
            continue
        key, equals, value = item.partition("=")
        if not equals or not key or not value:
            raise ConfigurationError(
                f"the metadata filter takes key=value pairs (user=alice team=red), not {item!r}"
            )
        pairs.append((key, value))
    return (metadata_filter(dict(pairs)) or ()) if pairs else ()


def _column(title: Any, what: str) -> PageColumn:
    column = _BY_TITLE.get(title) if isinstance(title, str) else None
    if column is None:
        raise ConfigurationError(
            f"cannot {what} {title!r}: the table's columns are {', '.join(_BY_TITLE)}"
        )
    return column


def _whole(value: Any, what: str, least: int) -> int:
    try:
        whole = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        whole = None
    if whole is None or whole < least:
        raise ConfigurationError(f"{what} must be a whole number ≥ {least}, not {value!r}")
    return whole


def _page_size(value: Any) -> int:
    size = _whole(value, "the page size", 1)
    if size > MAX_PAGE_SIZE:
        raise ConfigurationError(f"the page size is at most {MAX_PAGE_SIZE} rows, not {size}")
    return size


def _parsed_filter(column: PageColumn, text: str) -> Filter:
    if "\x00" in text:
        raise ConfigurationError(f"the filter for {column.title!r} holds a NUL character")
    if column.type == "text":
        return text.strip()
    found = _COMPARISON.match(text)
    sign, operand = (found.group(1) or "=", found.group(2)) if found else ("=", "")
    example = ">=2025-11-01" if column.type == "time" else ">1000 or <=0.5"
    try:
        value = since_seconds(operand) if column.type == "time" else float(operand)
    except (ConfigurationError, ValueError):
        value = None
    if value is None or not math.isfinite(value):
        raise ConfigurationError(
            f"the filter for {column.title!r} must be a comparison such as {example}, "
            f"not {text.strip()!r}"
        )
    return Comparison(sign, value)


# ---- the page ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Page:
    """The runs of one page, in order, as one sequence per history column (what the view's
    cells show), how many rows match in all (``exact`` False: more than ``total``, a search
    counted up to its cap) and where the page starts."""

    values: Mapping[str, Sequence[Any]]
    total: int
    offset: int
    columns: list[str]
    """The titles of the columns shown (``match`` only while searching)."""
    exact: bool = True

    @property
    def local_ids(self) -> list[str]:
        return [str(local_id) for local_id in self.values["local_id"]]


def _page(
    columns: Mapping[str, Sequence[Any]],
    indices: Sequence[int],
    *,
    total: Count,
    offset: int,
    searching: bool,
) -> Page:
    shown = [column.title for column in PAGE_COLUMNS if searching or column.title != MATCH]
    values = {name: [column[i] for i in indices] for name, column in columns.items()}
    return Page(values, total.n, offset, shown, total.exact)


def _last_offset(total: int, limit: int) -> int:
    return (max(total, 1) - 1) // limit * limit


class RunPages(Protocol):
    """A run table's rows, a page at a time (:class:`StorePages`, :class:`MemoryPages`)."""

    def page(self, query: PageQuery) -> Page: ...

    def history(self, local_ids: Sequence[str]) -> RunHistory:
        """These runs (by ``local_id``, in the order given) as a history."""
        ...


class RowReader(Protocol):
    """What :class:`StorePages` reads with (a :class:`~._store.HistoryStore`)."""

    @property
    def search_count_cap(self) -> int: ...

    def read_rows(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]: ...

    def runs_by_ids(
        self, local_ids: Sequence[str], *, table: type[RunHistory] = ...
    ) -> RunHistory: ...


# ---- in SQLite ---------------------------------------------------------------------------


@dataclass
class StorePages:
    """The pages of a ``runs()`` result, each read from the history by one query or two:
    the history's own filters (pinned to the runs it holds) and the page's, sorted, limited
    and counted by SQLite. The first page is what the ``runs()`` call read already (its
    head), when it holds that page."""

    store: RowReader
    where: RunFilter = field(default_factory=RunFilter)
    head: RunsHead | None = None
    """The rows the ``runs()`` call read: the first page shown, if it is the default one."""
    table: type[RunHistory] = RunHistory
    """What :meth:`history` returns: the kind of the ``runs()`` result paged."""
    own_total: Count | None = None
    """How many runs the history holds, counted by the ``runs()`` call (its head's total):
    a page with no filter of its own says so without counting every match again."""

    def __post_init__(self) -> None:
        if self.head is not None and self.where.limit is None:
            self.own_total = self.head.count

    def page(self, query: PageQuery) -> Page:
        search = " ".join(q for q in (self.where.search, query.search) if q) or None
        first = self._first_page(query, search)
        if first is not None:
            return first
        terms, params = self._conditions(query, search)
        if search is not None:
            require_search_index(self.store.read_rows, "this run history")
        total = self._count(search, query, terms, params)
        if query.last:
            query = dataclasses.replace(query, offset=_last_offset(total.n, query.limit))
        if search is not None and query.sort in (None, MATCH):
            rows = self._ranked_page(query, search, terms, params)
        else:
            rows = self._sorted_page(query, search, terms, params)
        spec = [*_PAGE_SPEC, SNIPPET_COLUMN] if search is not None else _PAGE_SPEC
        return _page(
            checked_columns(columns_of(rows, spec), spec),
            range(len(rows)),
            total=total,
            offset=query.offset,
            searching=search is not None,
        )

    def _first_page(self, query: PageQuery, search: str | None) -> Page | None:
        """The default first page from the head, once (later asks read the store again)."""
        head, self.head = self.head, None
        default = (
            query.sort is None and not query.filters and query.search is None and not query.metadata
        )
        if head is None or not default or query.offset or query.last:
            return None
        if query.limit > head.rows and not head.complete:
            return None
        shown = range(min(query.limit, head.rows))
        return _page(head.columns, shown, total=head.count, offset=0, searching=bool(search))

    def _ranked_page(
        self, query: PageQuery, search: str, terms: list[str], params: list[Any]
    ) -> list[tuple[Any, ...]]:
        """A page in the search's order (best match first; MATCH sorted descending: the
        other way round), its rows read by id with their snippets."""
        ascending = query.sort is None or not query.descending
        wanted = query.offset + query.limit if ascending else None
        sql, params = ranked_ids_sql(search, terms, params, wanted)
        ids = [rowid for (rowid,) in self.store.read_rows(sql, params)]
        if not ascending:
            ids.reverse()
        shown = ids[query.offset : query.offset + query.limit]
        return matched_rows(self.store.read_rows, search, shown, _PAGE_FIELDS)

    def _sorted_page(
        self, query: PageQuery, search: str | None, terms: list[str], params: list[Any]
    ) -> list[tuple[Any, ...]]:
        """A page sorted by a column (or, without a search, the latest first): its ids are
        found first, then read (sorting whole rows, their texts and a snippet per match,
        would cost every matching row what only the page's need)."""
        source, match, ids_params = "runs", "", list(params)
        if search is not None:
            source = f"{SEARCH_TABLE} JOIN runs ON runs.rowid = {SEARCH_TABLE}.rowid"
            terms = [f"{SEARCH_TABLE} MATCH ?", *terms]
            ids_params.insert(0, search)
            match = f"{SEARCH_TABLE} MATCH ? AND "
        clause = f" WHERE {' AND '.join(terms)}" if terms else ""
        order = self._order(query)
        page_ids = f"SELECT runs.rowid FROM {source}{clause} ORDER BY {order} LIMIT ? OFFSET ?"
        fields = ", ".join(f"runs.{name}" for name in _PAGE_FIELDS)
        if search is not None:
            fields += f", snippet({SEARCH_TABLE}, -1, '«', '»', '…', 12)"
        sql = (
            f"SELECT {fields} FROM {source} WHERE {match}runs.rowid IN ({page_ids}) "
            f"ORDER BY {order}"
        )
        outer = [*([search] if search is not None else []), *ids_params]
        return self.store.read_rows(sql, [*outer, query.limit, query.offset])

    def history(self, local_ids: Sequence[str]) -> RunHistory:
        return self.store.runs_by_ids(list(local_ids), table=self.table)

    def _count(
        self, search: str | None, query: PageQuery, terms: list[str], params: list[Any]
    ) -> Count:
        """The matches, counted (a search up to the store's cap, or past it to cover the
        page; to the end for the last page), or the count made before when it says enough."""
        unfiltered = not query.filters and not query.metadata and self.where.limit is None
        own = unfiltered and not query.search
        known = self.own_total if own else None
        covered = query.offset + query.limit
        if known is not None and (known.exact or (not query.last and covered <= known.n)):
            return known
        cap = None if query.last else max(self.store.search_count_cap, covered)
        read, upto = self.store.read_rows, self.where.recorded_upto
        if unfiltered:  # the history's filters alone: the pin goes where the index reads it
            terms, params = self.where.conditions(pinned=False)
            total = counted(read, search, terms, params, recorded_upto=upto, cap=cap)
        else:
            total = counted(read, search, terms, params, limit=self.where.limit, cap=cap)
        if own:
            self.own_total = total
        return total

    def _conditions(self, query: PageQuery, search: str | None) -> tuple[list[str], list[Any]]:
        terms, params = self.where.conditions()
        if self.where.limit is not None:
            # runs(limit=n) holds the n latest runs (best n matches): the page is of those;
            # a search typed in the table searches the history, as runs(search=, limit=n)
            # would: the best n matches, not the matches among the n latest runs
            sql, params = self._limited(search)
            terms = [f"runs.rowid IN ({sql})"]
        for title, wanted in query.filters:
            column = _BY_TITLE[title]
            if isinstance(wanted, Comparison):
                terms.append(f"{column.sql} {wanted.operator} ?")
                params.append(wanted.value)
            else:
                terms.append(f"{column.sql} LIKE ? ESCAPE '\\'")
                params.append("%" + re.sub(r"([\\%_])", r"\\\1", wanted) + "%")
        for key, value in query.metadata:
            terms.append(METADATA_IS_SQL)
            params += [key, value]
        return terms, params

    def _limited(self, search: str | None) -> tuple[str, list[Any]]:
        """The rowids of the runs a ``runs(limit=n)`` result holds (with ``search``: the n
        best matches of its filters), and the parameters."""
        terms, params = self.where.conditions()
        if search is None:
            clause = f" WHERE {' AND '.join(terms)}" if terms else ""
            sql = f"SELECT rowid FROM runs{clause} ORDER BY started_at DESC, rowid DESC LIMIT ?"
            return sql, [*params, self.where.limit]
        return ranked_ids_sql(search, terms, params, self.where.limit)

    @staticmethod
    def _order(query: PageQuery) -> str:
        latest = "runs.started_at DESC, runs.rowid DESC"
        if query.sort is None or query.sort == MATCH:  # MATCH without a search
            return latest
        direction = "DESC" if query.descending else "ASC"
        column = _BY_TITLE[query.sort].sql
        # empty values (an unpriced run's cost, a failed run's tokens) last either way: the
        # cheapest first are runs with a price
        return f"({column} IS NULL), {column} {direction}, {latest}"


# ---- in memory ---------------------------------------------------------------------------


@dataclass
class MemoryPages:
    """The pages of a history held in memory, filtered, sorted and cut in Python the way
    :class:`StorePages` does in SQLite."""

    source: RunHistory

    def page(self, query: PageQuery) -> Page:
        columns = self._columns()
        matching = [i for i in range(len(self.source)) if self._keeps(columns, i, query)]
        if query.sort is not None and query.sort != MATCH:
            read = _BY_TITLE[query.sort].raw
            down = query.descending
            matching.sort(key=lambda i: _sort_key(read(columns, i), down), reverse=down)
        offset = _last_offset(len(matching), query.limit) if query.last else query.offset
        shown = matching[offset : offset + query.limit]
        return _page(columns, shown, total=Count(len(matching)), offset=offset, searching=False)

    def history(self, local_ids: Sequence[str]) -> RunHistory:
        position = {local_id: i for i, local_id in enumerate(self.source.local_ids)}
        return self.source.rows_at([position[i] for i in local_ids if i in position])

    def _columns(self) -> dict[str, Sequence[Any]]:
        names = [name for name, _ in RUN_COLUMNS]
        if MALFORMED_COLUMN[0] in self.source.column_names:
            names.append(MALFORMED_COLUMN[0])
        return {name: self.source.column(name) for name in names}

    @staticmethod
    def _keeps(columns: Mapping[str, Sequence[Any]], i: int, query: PageQuery) -> bool:
        if query.metadata:
            metadata = load_json(columns["metadata"][i])
            if not isinstance(metadata, dict) or any(
                metadata_text(metadata.get(key)) != value for key, value in query.metadata
            ):
                return False
        for title, wanted in query.filters:
            value = _BY_TITLE[title].raw(columns, i)
            if value is None:
                return False
            if isinstance(wanted, Comparison):
                if not _COMPARE[wanted.operator](float(value), wanted.value):
                    return False
            elif _ascii_lower(wanted) not in _ascii_lower(str(value)):
                return False
        if query.words:
            text = " ".join(
                str(columns[name][i] or "") for name in ("message", "answer", "reasoning")
            )
            folded = _folded(text)
            return all(word in folded for word in query.words)
        return True


def _sort_key(value: Any, descending: bool) -> tuple[bool, Any]:
    """:meth:`StorePages._order`'s order: empty values (an unpriced run's cost) last, going up
    or down (``sort(reverse=descending)`` turns the key round)."""
    return (
        (value is not None) if descending else (value is None),
        value if value is not None else 0,
    )


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _ascii_lower(text: str) -> str:
    """Lower case as SQLite's ``LIKE`` folds it: ASCII letters only."""
    return text.translate(_ASCII_LOWER)


def _folded(text: str) -> str:
    """Case and accents dropped, as the search index reads text."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def run_pages(history: RunHistory) -> RunPages:
    """The pages of ``history``: from the store it was read from, with the same filters,
    when it is a ``runs()`` result; else from its rows in memory."""
    read_from = history.read_from
    if read_from is not None:
        return StorePages(read_from.store, read_from.where, read_from.head, type(history))
    return MemoryPages(history)
