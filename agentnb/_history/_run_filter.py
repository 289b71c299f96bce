"""The filters ``runs()`` and ``summary()`` take, written once (:class:`RunFilters`: agent,
status, since, thread, metadata, score, tool, tool_status; ``runs()`` adds limit and search),
checked and turned into SQL: :class:`RunFilter`. Every bad value is a
:class:`ConfigurationError` before any SQL is made; the user's words reach FTS5 quoted
(:func:`search_query`), never as its syntax; a metadata value is compared as text
(:func:`metadata_text`), through the side table ``run_metadata``."""

from __future__ import annotations

import json
import math
import operator
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, TypedDict, Unpack, get_args

from .._core.exceptions import ConfigurationError, HistoryError
from .._core.request import EVALUATES
from .._core.text import did_you_mean, excerpt
from .._core.transcript import ToolStatus
from ..providers import provider_names
from ._records import column_sql
from ._scores import ScoreMatch, filter_items, score_condition_sql, score_filter

__all__ = [
    "EVALUATES",
    "METADATA_IS_SQL",
    "SEARCH_CANDIDATES",
    "SEARCH_COUNT_CAP",
    "SEARCH_TABLE",
    "STATUSES",
    "Count",
    "RunFilter",
    "RunFilters",
    "Since",
    "counted",
    "matched_rows",
    "metadata_filter",
    "metadata_key",
    "metadata_key_sql",
    "metadata_text",
    "ranked_ids_sql",
    "require_search_index",
    "search_query",
    "shown_value",
    "since_seconds",
]

STATUSES: Final = ("running", "completed", "failed", "cancelled", "interrupted")
"""The statuses agentnb records."""
TOOL_STATUSES: Final = get_args(ToolStatus)
"""A tool call's statuses in the history."""

METADATA_TABLE: Final = "run_metadata"
METADATA_IS_SQL: Final = (
    f"runs.local_id IN (SELECT local_id FROM {METADATA_TABLE} WHERE key = ? AND value = ?)"
)
"""The condition that a run's metadata ``key`` (the first parameter) is ``value``."""
_MODE: Final = "CASE WHEN json_valid(runs.extras) THEN json_extract(runs.extras, '$.mode') END"
EVALUATOR_RUNS_SQL: Final = f"SELECT local_id FROM {METADATA_TABLE} WHERE key = '{EVALUATES}'"
_NOT_EVALUATOR: Final = f"runs.local_id NOT IN ({EVALUATOR_RUNS_SQL})"
_EVALUATOR_ROWIDS: Final = (
    f"SELECT e.rowid FROM runs AS e WHERE e.local_id IN ({EVALUATOR_RUNS_SQL})"
)

SQLITE_MAX_INTEGER: Final = 2**63 - 1
"""The largest integer SQLite stores; a larger ``limit`` means no limit."""

Since = datetime | date | str | timedelta | float | int
"""A point in time (datetime, date, ISO 8601 text, unix seconds) or a timedelta: within the
last that long. Naive datetimes and dates are local time."""


class RunFilters(TypedDict, total=False):
    """Which runs ``runs()``, ``summary()`` and the history's other readers keep, as
    keywords (every one left out means all): the one signature of a history filter."""

    agent: str | Iterable[str] | None
    """An agent's name or a list of them (an evaluator's runs only when its agent is named)."""
    status: str | Iterable[str] | None
    """A run status or a list of them."""
    model: str | Iterable[str] | None
    """The model that ran, or a list of them."""
    mode: str | Iterable[str] | None
    """The agent's mode the run was in (an ACP session's), or a list of them."""
    since: Since | None
    """A datetime, date, ISO 8601 string or unix seconds, or a timedelta: within the last."""
    thread: str | None
    """A thread or session id."""
    metadata: Mapping[str, object] | None
    """Keys and the value each run's metadata must hold (a string as itself, another value
    as its JSON text)."""
    score: Mapping[str, object] | None
    """Score names and the value each run's current one must be (a bool, a number, a label;
    None: not scored by that name)."""
    tool: str | Iterable[str] | None
    """A tool (or a list: any of them) the runs called."""
    tool_status: str | None
    """How that tool's call ended (``succeeded``, ``failed``, ``denied``...)."""
    provider: str | Iterable[str] | None
    """A dialect (or a list: any of them) the runs spoke: ``"acp"`` keeps every coding
    agent's runs, whatever their connection's name."""


@dataclass(frozen=True)
class RunFilter:
    """Which runs to read; every field None means all."""

    agents: tuple[str, ...] | None = None
    statuses: tuple[str, ...] | None = None
    models: tuple[str, ...] | None = None
    modes: tuple[str, ...] | None = None
    since: float | None = None
    thread: str | None = None
    limit: int | None = None
    search: str | None = None
    """An FTS5 query made from the user's words (:func:`search_query`), never their text."""
    metadata: tuple[tuple[str, str], ...] | None = None
    """Metadata keys and the text each must equal (:func:`metadata_filter`)."""
    scores: tuple[ScoreMatch, ...] | None = None
    """Scores each run's current one must match, or that it must lack
    (:func:`~._scores.score_filter`)."""
    evaluations: bool = True
    """Whether evaluators' runs (marked :data:`EVALUATES`) are kept; ``build`` keeps them
    only when agents are named, or the metadata asked for is what they evaluate."""
    tools: tuple[tuple[str, str | None], ...] | None = None
    """Tool calls each run must hold: a tool's name and, unless None, the call's status."""
    providers: tuple[str, ...] | None = None
    """The dialects the runs spoke (any of them)."""
    recorded_upto: int | None = None
    """The highest rowid of the runs table when ``runs()`` was called: a result holds the
    runs recorded by then, however late its rows are read (later runs have higher ones)."""

    @classmethod
    def build(
        cls,
        *,
        limit: int | None = None,
        search: str | None = None,
        **filters: Unpack[RunFilters],
    ) -> RunFilter:
        """The filter of ``runs(limit=..., search=..., **filters)``, every value checked."""
        _check_filter_names(filters)
        agent, thread = filters.get("agent"), filters.get("thread")
        statuses = _names(filters.get("status"), "status")
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
            models=_names(filters.get("model"), "model"),
            modes=_names(filters.get("mode"), "mode"),
            since=since_seconds(filters.get("since")),
            thread=thread,
            limit=_limit(limit),
            search=None if search is None else search_query(search),
            metadata=metadata_filter(filters.get("metadata")),
            scores=score_filter(filters.get("score")),
            evaluations=agent is not None or EVALUATES in (filters.get("metadata") or {}),
            tools=_tools(filters.get("tool"), filters.get("tool_status")),
            providers=_providers(filters.get("provider")),
        )

    def conditions(self, *, pinned: bool = True) -> tuple[list[str], list[Any]]:
        """The conditions on ``runs`` columns (all must hold) and their parameters; the
        search is not one of them (the store joins the index for it), nor the limit.
        ``pinned=False`` leaves out ``recorded_upto`` too (a count puts it where the index
        reads it)."""
        terms: list[str] = []
        params: list[Any] = []
        named = (
            ("runs.agent", self.agents),
            ("runs.status", self.statuses),
            ("runs.provider", self.providers),
            ("runs.model", self.models),
            (_MODE, self.modes),
        )
        for column, values in named:
            if values is not None:
                terms.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if self.since is not None:
            terms.append("runs.started_at >= ?")
            params.append(self.since)
        if self.thread is not None:
            terms.append("runs.thread_id = ?")
            params.append(self.thread)
        for key, value in self.metadata or ():
            terms.append(METADATA_IS_SQL)
            params += [key, value]
        if not self.evaluations:
            terms.append(_NOT_EVALUATOR)
        for name, status in self.tools or ():
            terms.append(
                "runs.local_id IN (SELECT local_id FROM tool_calls WHERE name = ?"
                + (" AND status = ?)" if status is not None else ")")
            )
            params += [name] if status is None else [name, status]
        for match in self.scores or ():
            term, matched = score_condition_sql(match)
            terms.append(term)
            params += matched
        if pinned and self.recorded_upto is not None:
            terms.append("runs.rowid <= ?")
            params.append(self.recorded_upto)
        return terms, params


def _check_filter_names(filters: Mapping[str, object]) -> None:
    unknown = sorted(set(filters) - set(RunFilters.__annotations__))
    if unknown:
        raise ConfigurationError(
            f"unknown run filter {', '.join(map(repr, unknown))}; the filters are "
            f"{', '.join(RunFilters.__annotations__)} (and limit, search for runs())"
        )


def _providers(value: str | Iterable[str] | None) -> tuple[str, ...] | None:
    """The dialects asked for, each one agentnb knows (a typo would keep no run, silently)."""
    names = _names(value, "provider")
    known = provider_names()
    for name in names or ():
        if name not in known:
            near = did_you_mean(name, known)
            hint = f"did you mean {near!r}? " if near else ""
            raise ConfigurationError(
                f"unknown provider {name!r}: {hint}the providers (dialects) are {', '.join(known)}"
            )
    return names


def _tools(
    tool: str | Iterable[str] | None, status: str | None
) -> tuple[tuple[str, str | None], ...] | None:
    if status is not None and status not in TOOL_STATUSES:
        raise ConfigurationError(
            f"tool_status is one of {', '.join(TOOL_STATUSES)}, not {shown_value(status)}"
        )
    names = _names(tool, "tool")
    if names is None:
        if status is not None:
            raise ConfigurationError("tool_status= needs tool= (the tool whose calls to match)")
        return None
    return tuple((name, status) for name in names)


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
        raise ConfigurationError(
            f"limit must be a whole number ≥ 0 or None, not {shown_value(limit)}"
        )
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
        raise ConfigurationError(
            f"since={shown_value(value)} is not a point in time (unix seconds)"
        )
    return seconds


def _timestamp(moment: datetime) -> float:
    try:
        return moment.timestamp()
    except (OverflowError, OSError, ValueError) as exc:
        raise ConfigurationError(f"since={moment!r} is out of range: {exc}") from None


def shown_value(value: object) -> str:
    """A short repr for an error message (a huge int has no repr at all)."""
    try:
        text = repr(value)
    except ValueError:
        return f"a {type(value).__name__} too long to show"
    return excerpt(text, 60)


SEARCH_TABLE: Final = "runs_search"
"""The full-text index of runs (FTS5): one row per run, with the run's rowid."""
SEARCH_CANDIDATES: Final = 2000
"""The most recently recorded matches ranked first (see the module's docstring)."""

_ORDER: Final = "score, started DESC, id DESC"


def _matches(terms: Sequence[str]) -> str:
    return (
        f"FROM {SEARCH_TABLE} JOIN runs ON runs.rowid = {SEARCH_TABLE}.rowid "
        f"WHERE {SEARCH_TABLE} MATCH ?" + "".join(f" AND {term}" for term in terms)
    )


def ranked_ids_sql(
    search: str, terms: Sequence[str], params: Sequence[Any], limit: int | None
) -> tuple[str, list[Any]]:
    """The rowids of the runs matching ``search`` (an FTS5 query) and ``terms`` (conditions
    on ``runs``), in the search's order (the module's docstring), the first ``limit``.

    Up to ``SEARCH_CANDIDATES`` rows, only the latest matches are read and ranked: the
    index gives them newest first without scoring the rest."""
    candidates = SEARCH_CANDIDATES
    scored = (
        f"{SEARCH_TABLE}.rowid AS id, bm25({SEARCH_TABLE}) AS score, runs.started_at AS started"
    )
    if limit is not None and limit <= candidates:
        hits = f"SELECT {scored} {_matches(terms)} ORDER BY {SEARCH_TABLE}.rowid DESC"
        sql = f"WITH hits AS ({hits} LIMIT {candidates}) SELECT id FROM hits ORDER BY {_ORDER}"
        return f"{sql} LIMIT {limit}", [search, *params]
    # The latest matches are those from the candidates-th newest up (none: all of them).
    oldest_latest = f"(SELECT id FROM hits ORDER BY id DESC LIMIT 1 OFFSET {candidates - 1})"
    hits = f"SELECT {scored} {_matches(terms)}"
    sql = f"WITH hits AS ({hits}) SELECT id FROM hits ORDER BY id < {oldest_latest}, {_ORDER}"
    return f"{sql} LIMIT {-1 if limit is None else limit}", [search, *params]


Query = Callable[[str, Sequence[Any]], Iterable[tuple[Any, ...]]]


def require_search_index(query: Query, what: str) -> None:
    """A clear error when the history (``what``: which) has no full-text index to search."""
    sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    if not list(query(sql, [SEARCH_TABLE])):
        raise HistoryError(
            f"cannot search {what}: this Python's SQLite "
            f"({sqlite3.sqlite_version}) was built without FTS5, the full-text index"
        )


"""Runs one SQL statement with its parameters and gives its rows."""


def matched_rows(
    query: Query, search: str, ids: Sequence[int], fields: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The ``fields`` (``runs`` columns) of the runs with these rowids, in the order given,
    each ending with the snippet of ``search``: the matching words in their context.

    One query: the search runs once more over the rowids' range (a snippet needs the match;
    a query per run would build a prefix's matches each time)."""
    if not ids:
        return []
    sql = (
        f"SELECT {SEARCH_TABLE}.rowid, "
        + ", ".join(map(column_sql, fields))
        + f", snippet({SEARCH_TABLE}, -1, '«', '»', '…', 12) FROM {SEARCH_TABLE} CROSS JOIN runs "
        f"WHERE {SEARCH_TABLE} MATCH ? AND {SEARCH_TABLE}.rowid BETWEEN ? AND ? "
        # +: not a constraint handed to FTS5, which would run the query once per id
        f"AND +{SEARCH_TABLE}.rowid IN (SELECT value FROM json_each(?)) "
        f"AND runs.rowid = {SEARCH_TABLE}.rowid"
    )
    params = [search, min(ids), max(ids), json.dumps(list(ids))]
    found = {row[0]: row[1:] for row in query(sql, params)}
    return [found[rowid] for rowid in ids if rowid in found]


def count_sql(
    search: str | None,
    terms: Sequence[str],
    params: Sequence[Any],
    *,
    recorded_upto: int | None = None,
    most: int | None = None,
) -> tuple[str, list[Any]]:
    """How many runs match ``search`` (or every run, without one) and ``terms``, recorded
    up to rowid ``recorded_upto``, counting no further than ``most``. A search with no
    other condition is counted by the index alone: no run is looked up per match."""
    pinned = [] if recorded_upto is None else [recorded_upto]
    if search is None:
        where = [*terms, *(["runs.rowid <= ?"] if pinned else [])]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        source, params = f"FROM runs{clause}", [*params, *pinned]
    elif list(terms) in ([], [_NOT_EVALUATOR]):
        # evaluators' runs are left out by rowid: no run is read per match
        upto = f" AND {SEARCH_TABLE}.rowid <= ?" if pinned else ""
        upto += f" AND {SEARCH_TABLE}.rowid NOT IN ({_EVALUATOR_ROWIDS})" if terms else ""
        source = f"FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH ?{upto}"
        params = [search, *pinned]
    else:
        upto_term = [f"{SEARCH_TABLE}.rowid <= ?"] if pinned else []
        source, params = _matches([*terms, *upto_term]), [search, *params, *pinned]
    if most is None:
        return f"SELECT COUNT(*) {source}", params
    return f"SELECT COUNT(*) FROM (SELECT 1 {source} LIMIT ?)", [*params, most]


SEARCH_COUNT_CAP: Final = 10_000
"""The matches a search counts before it says "more than" (``HistoryStore.search_count_cap``):
counting every one of 44,000 matches took three times as long as ranking the best 20."""


@dataclass(frozen=True, slots=True)
class Count:
    """How many runs a result holds: ``n``, or (not ``exact``) more than ``n``."""

    n: int
    exact: bool = True

    def __str__(self) -> str:
        return f"{self.n:,}" if self.exact else f"{self.n:,}+"


def counted(
    query: Query,
    search: str | None,
    terms: Sequence[str],
    params: Sequence[Any],
    *,
    recorded_upto: int | None = None,
    limit: int | None = None,
    cap: int | None = None,
) -> Count:
    """:func:`count_sql`'s count, at most ``limit``; a search matching more than ``cap``
    runs (when ``limit`` does not bound it below) is counted only that far."""
    capped = search is not None and cap is not None and (limit is None or limit > cap)
    most = cap + 1 if capped and cap is not None else limit
    sql, params = count_sql(search, terms, params, recorded_upto=recorded_upto, most=most)
    ((n,),) = query(sql, params)
    if capped and cap is not None and n > cap:
        return Count(cap, exact=False)
    return Count(int(n))


METADATA_PREFIX: Final = "metadata."
"""A summary key, a plot's ``by`` or a DataFrame column ``metadata.<key>``: that key of
each run's metadata."""


def metadata_text(value: Any) -> str | None:
    """A metadata value as the history compares it: a string as itself, None (JSON null)
    as no value, anything else as its compact JSON text."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def metadata_key(name: str) -> str | None:
    """The metadata key ``name`` (``metadata.<key>``) names, or None for another name."""
    if not name.startswith(METADATA_PREFIX):
        return None
    key = name[len(METADATA_PREFIX) :]
    if not key or "\x00" in key:
        raise ConfigurationError(f"{name!r} names no metadata key: write metadata.<key>")
    return key


def metadata_key_sql(key: str, table: str = "runs.") -> str:
    """A run's value of the metadata ``key`` as SQL (NULL when it has none): a lookup in
    the side table by its primary key."""
    quoted = "'" + key.replace("'", "''") + "'"
    return (
        f"(SELECT m.value FROM {METADATA_TABLE} m "
        f"WHERE m.local_id = {table}local_id AND m.key = {quoted})"
    )


def metadata_filter(metadata: object) -> tuple[tuple[str, str], ...] | None:
    """``runs(metadata=...)`` checked: each key and the text its value must equal."""
    if metadata is None:
        return None
    pairs: list[tuple[str, str]] = []
    held = "key: value that every run kept must hold"
    for key, value in filter_items(metadata, "metadata", held, "{'user': 'alice'}"):
        if not isinstance(key, str) or not key or "\x00" in key:
            raise ConfigurationError(f"a metadata key must be a non-empty str, not {key!r}")
        text = metadata_text(value)
        if text is None:
            raise ConfigurationError(
                f"metadata={{{key!r}: None}} matches nothing: a run without {key!r} has no "
                "value to compare; give the value it must have"
            )
        for part in (key, text):
            _check_text(part, "metadata")
        pairs.append((key, text))
    return tuple(pairs)
