"""The filters ``runs()`` takes (agent, status, since, thread, metadata, score, limit, search),
checked and
turned into SQL: :class:`RunFilter`. Every bad value is a :class:`ConfigurationError` saying
what is wrong, before any SQL is made; the user's words reach FTS5 quoted
(:func:`search_query`), never as its syntax."""

from __future__ import annotations

import math
import operator
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final, get_args

from .._core.exceptions import ConfigurationError
from .._core.text import excerpt
from .._core.transcript import ToolStatus
from ._metadata import METADATA_TABLE, metadata_filter
from ._scores import ScoreMatch, score_condition_sql, score_filter

__all__ = [
    "EVALUATES",
    "STATUSES",
    "RunFilter",
    "Since",
    "search_query",
    "shown_value",
    "since_seconds",
]

STATUSES: Final = ("running", "completed", "failed", "cancelled", "interrupted")
"""The statuses agentnb records."""
TOOL_STATUSES: Final = get_args(ToolStatus)
"""A tool call's statuses in the history."""

EVALUATES: Final = "evaluates"
"""The metadata key an evaluator's run (a judge's) is marked with: the ``local_id`` of the run
it graded. Such runs are left out of ``runs()``, ``summary()`` and plots unless their agent is
named."""
EVALUATOR_RUNS_SQL: Final = f"SELECT local_id FROM {METADATA_TABLE} WHERE key = '{EVALUATES}'"

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
    metadata: tuple[tuple[str, str], ...] | None = None
    """Metadata keys and the text each must equal (:func:`~._metadata.metadata_filter`)."""
    scores: tuple[ScoreMatch, ...] | None = None
    """Scores each run's current one must match, or that it must lack
    (:func:`~._scores.score_filter`)."""
    evaluations: bool = True
    """Whether evaluators' runs (marked :data:`EVALUATES`) are kept; ``build`` keeps them
    only when agents are named."""
    tools: tuple[tuple[str, str | None], ...] | None = None
    """Tool calls each run must hold: a tool's name and, unless None, the call's status."""
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
        metadata: Mapping[str, Any] | None = None,
        score: Mapping[str, Any] | None = None,
        tool: str | Iterable[str] | None = None,
        tool_status: str | None = None,
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
            metadata=metadata_filter(metadata),
            scores=score_filter(score),
            evaluations=agent is not None,
            tools=_tools(tool, tool_status),
        )

    def where(self) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` clause (empty when there is no condition) and its parameters."""
        terms, params = self.conditions()
        return (f"WHERE {' AND '.join(terms)}" if terms else ""), params

    def agent_and_status_sql(self, table: str) -> tuple[list[str], list[Any]]:
        """The conditions keeping this filter's agents and statuses on the ``agent`` and
        ``status`` columns of ``table`` (``"runs."``, or a side table's alias such as
        ``"m."``), and their parameters."""
        terms: list[str] = []
        params: list[Any] = []
        for column, values in (("agent", self.agents), ("status", self.statuses)):
            if values is not None:
                terms.append(f"{table}{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        return terms, params

    def conditions(self, *, pinned: bool = True) -> tuple[list[str], list[Any]]:
        """The conditions on ``runs`` columns (all must hold) and their parameters; the
        search is not one of them (the store joins the index for it), nor the limit.
        ``pinned=False`` leaves out ``recorded_upto`` too (a count puts it where the index
        reads it)."""
        terms, params = self.agent_and_status_sql("runs.")
        if self.since is not None:
            terms.append("runs.started_at >= ?")
            params.append(self.since)
        if self.thread is not None:
            terms.append("runs.thread_id = ?")
            params.append(self.thread)
        for key, value in self.metadata or ():
            terms.append(
                f"runs.local_id IN (SELECT local_id FROM {METADATA_TABLE} "
                "WHERE key = ? AND value = ?)"
            )
            params += [key, value]
        if not self.evaluations:
            terms.append(f"runs.local_id NOT IN ({EVALUATOR_RUNS_SQL})")
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
