"""The SQL of a search over the run history: which runs match, in what order, how many.

The index is FTS5 (``runs_search``, made by migration ``m007_search``): one row per stopped
run, with the run's rowid, holding its question, answer, reasoning and tools.

**The order of a search's results.** The ``SEARCH_CANDIDATES`` most recently recorded
matches come first, best first (bm25; ties: the latest started first); the older matches
follow, best first too. With fewer matches than that, it is plain bm25 over every match. Why
not bm25 over everything: FTS5 scores every match to find the best one, and a common word
in a million runs matches tens of thousands (ranking 60,000 takes 0.2–0.3 s), while the
latest 2,000 are ranked in milliseconds. The first rows are what a search shows, and
recent runs are what a history's search is mostly after; the order is the same however
many rows are asked for, so ``runs(search=s, limit=n)`` is ``runs(search=s)[:n]``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final

__all__ = [
    "SEARCH_CANDIDATES",
    "SEARCH_TABLE",
    "count_sql",
    "matched_rows",
    "ranked_ids_sql",
]

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
        + ", ".join(f"runs.{name}" for name in fields)
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
) -> tuple[str, list[Any]]:
    """How many runs match ``search`` (or every run, without one) and ``terms``, recorded
    up to rowid ``recorded_upto``. A search with no other condition is counted by the
    index alone: no run is looked up per match."""
    pinned = [] if recorded_upto is None else [recorded_upto]
    if search is None:
        where = [*terms, *(["runs.rowid <= ?"] if pinned else [])]
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return f"SELECT COUNT(*) FROM runs{clause}", [*params, *pinned]
    if not terms:
        upto = f" AND {SEARCH_TABLE}.rowid <= ?" if pinned else ""
        return (
            f"SELECT COUNT(*) FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH ?{upto}",
            [search, *pinned],
        )
    upto_term = [f"{SEARCH_TABLE}.rowid <= ?"] if pinned else []
    return f"SELECT COUNT(*) {_matches([*terms, *upto_term])}", [search, *params, *pinned]
