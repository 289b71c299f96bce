"""The local history joined with a platform's listing (:meth:`RunHistory.with_remote`).

Two rows are one run when they have the same platform run id (and, where both know it, the
same host). The joined row is the local one, its missing values filled from the listing:
the platform's usage and model for a run whose stream did not say, its end for a run this
process lost; a value the local row has always wins. A run the listing has and this history
does not (made from another notebook, another machine, the platform's UI) is a row of its
own. The ``origin`` column (:data:`ORIGIN_COLUMN`) says which each row is.

A joined run without a cost is priced again from the filled-in usage and model: the
listing's own cost when its model is the run's, else :func:`price_run` on the token counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

from .._core.pricing import price_run
from ..events import Usage
from ._records import ORIGIN_COLUMN, RUN_COLUMNS

__all__ = ["ORIGINS", "Origin", "join_remote"]

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
