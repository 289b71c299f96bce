"""Run history: every run agentnb makes, kept in SQLite for analysis.

``runs()`` reads it back as a :class:`RunHistory` (``.to_pandas()``, ``.summary()``,
``.plot()``); the same table holds a batch's runs and a platform's own listing. The
database is at a per-user location, or where ``AGENTNB_HISTORY`` says (a path,
``:memory:``, or ``off``).
"""

from __future__ import annotations

import atexit
import os
import threading
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._core.exceptions import HistoryError, HistoryLocationError, HistoryWriteError
from ._experiment_book import (
    Arm,
    Dataset,
    Example,
    ExperimentBook,
    ExperimentRecord,
    PairRun,
    dataset_names,
    keep_dataset,
    kept_dataset,
)
from ._file import ENV_VAR, default_location
from ._migrations import MIGRATIONS
from ._records import OUTPUT_LIMIT, RunRecord, ToolCallRecord, host_of
from ._run_filter import EVALUATES, STATUSES, RunFilter, Since, metadata_key
from ._scores import ScoreRecord, ScoreSource, ScoreValue, checked_score
from ._store import HistoryStore
from ._summary import ShownColumns
from ._tables import RunHistory, ToolCallHistory

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ENV_VAR",
    "EVALUATES",
    "MIGRATIONS",
    "OUTPUT_LIMIT",
    "STATUSES",
    "Arm",
    "Dataset",
    "Example",
    "ExperimentBook",
    "ExperimentRecord",
    "HistoryError",
    "HistoryLocationError",
    "HistoryStore",
    "HistoryWriteError",
    "PairRun",
    "RunHistory",
    "RunRecord",
    "ScoreRecord",
    "ScoreSource",
    "ScoreValue",
    "ToolCallHistory",
    "ToolCallRecord",
    "checked_score",
    "close_default_stores",
    "dataset_names",
    "default_store",
    "host_of",
    "keep_dataset",
    "kept_dataset",
    "runs",
    "summary",
]

_lock = threading.Lock()
_stores: dict[str, HistoryStore] = {}
_failed: dict[str, str] = {}
_by_setting: dict[str | None, HistoryStore] = {}
"""The store each value of ``AGENTNB_HISTORY`` led to. Every run asks for its store, and
resolving the location (platformdirs, a path, a stat: ~10 µs) was a quarter of what starting
a run costs the caller's thread; so the per-user folder is looked up when its store is
opened, not again while that store stays open."""


def default_store() -> HistoryStore | None:
    """The store ``AGENTNB_HISTORY`` (or the per-user default) names; None when history is
    off. A database that cannot be opened gives a warning once and None, so runs go on
    unrecorded; :func:`runs` raises the error instead."""
    try:
        return _open_default()
    except HistoryError as exc:
        key = os.environ.get(ENV_VAR, "")
        if _failed.get(key) != str(exc):
            _failed[key] = str(exc)
            warnings.warn(f"agentnb: runs are not being recorded: {exc}", stacklevel=2)
        return None


def _open_default() -> HistoryStore | None:
    setting = os.environ.get(ENV_VAR)
    store = _by_setting.get(setting)
    if store is not None and not store.closed:
        return store
    location = default_location()
    if location is None:
        return None
    key = str(location)
    with _lock:
        store = _stores.get(key)
        if store is None or store.closed:
            if not _stores:
                atexit.register(close_default_stores)
            store = HistoryStore(location)
            _stores[key] = store
        _by_setting[setting] = store
        return store


def close_default_stores() -> None:
    """Close the stores :func:`default_store` opened (at exit, or between tests)."""
    with _lock:
        stores = list(_stores.values())
        _stores.clear()
        _by_setting.clear()
        _failed.clear()
    for store in stores:
        store.close()


def runs(
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
) -> RunHistory:
    """Recorded runs, most recent first.

    ``agent`` and ``status`` take a name or a list; ``since`` a datetime, date, ISO 8601
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
    where = RunFilter.build(
        agent=agent,
        status=status,
        since=since,
        thread=thread,
        limit=limit,
        search=search,
        metadata=metadata,
        score=score,
        tool=tool,
        tool_status=tool_status,
    )
    store = _open_default()
    if store is None:
        return RunHistory()
    return store.runs(where)


def summary(
    by: str | Sequence[str] | None = "agent",
    *,
    every: str | None = None,
    agent: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    since: Since | None = None,
    thread: str | None = None,
    include: str | Sequence[str] = "completed",
    metadata: Mapping[str, Any] | None = None,
    score: Mapping[str, Any] | None = None,
    tool: str | Iterable[str] | None = None,
    tool_status: str | None = None,
    columns: ShownColumns = None,
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
    where = RunFilter.build(
        agent=agent,
        status=status,
        since=since,
        thread=thread,
        metadata=metadata,
        score=score,
        tool=tool,
        tool_status=tool_status,
    )
    store = _open_default()
    if store is None:
        return RunHistory().summary(by, every=every, include=include, columns=columns)
    _say_missing_keys(store, by)
    return store.summary(where, by, every=every, include=include, columns=columns)


def _say_missing_keys(store: HistoryStore, by: str | Sequence[str] | None) -> None:
    """Warn of a ``metadata.<key>`` no run has: its summary is one group of every run."""
    named = [by] if isinstance(by, str) else list(by or ())
    keys = {name: metadata_key(name) for name in named if isinstance(name, str)}
    wanted = [key for key in keys.values() if key is not None]
    held = set(store.metadata_keys(*wanted)) if wanted else set()
    for name, key in keys.items():
        if key is not None and key not in held:
            have = ", ".join(map(repr, store.metadata_keys())) or "none (no run has metadata)"
            warnings.warn(
                f"agentnb: no run has the metadata key {key!r}, so summary by {name!r} is one "
                f"group of every run; the keys runs have: {have}",
                stacklevel=3,
            )
