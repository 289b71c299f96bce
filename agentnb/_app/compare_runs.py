"""`agentnb.compare`: find the runs it is given, wherever they come from, and set them side by
side (the view is :mod:`agentnb._display.run_comparison`).

A run may be given as a :class:`~agentnb.Run` (or a handle or chat cell holding one), a
history record (``runs()[0]``), a ``runs()`` history or a batch's (every run in it), a pandas
row or frame of ``runs().to_pandas()`` (by ``local_id``), a dict with a ``local_id``
(``to_dicts()``), or an id (agentnb's ``local_id`` or the platform's ``run_id``) looked up in
the history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._core.exceptions import ConfigurationError
from .._display.run_comparison import ComparedCall, ComparedRun, Comparison, run_label
from .._history import HistoryStore, RunHistory, RunRecord, ToolCallRecord, default_store
from .run_like import RunLike, run_of

__all__ = [
    "PastRun",
    "compare",
    "compared_runs",
    "history_records",
    "names_past_runs",
    "names_runs",
    "run_ids",
]


def compare(*runs: RunLike) -> Comparison:
    """Two or more runs side by side: answers diffed word by word against the first, tool
    calls aligned by name and order, tokens, cost, agent time and status.

    Each argument is a ``Run``, a history record or a ``runs()`` row, a ``runs()`` history
    or batch result (all its runs), a pandas row or frame from ``.to_pandas()``, or a run id.
    The result shows itself in a notebook (HTML, kept by nbconvert and GitHub) and as text,
    and ``.to_pandas()`` gives one row per run.
    """
    return Comparison(compared_runs(runs))


def compared_runs(given: Sequence[RunLike]) -> list[ComparedRun]:
    found: list[ComparedRun] = []
    store: list[HistoryStore | None] = []  # opened at the first id that needs it
    for index, value in enumerate(given):
        found += _resolve(value, index, store)
    return found


def _resolve(value: RunLike, index: int, store: list[HistoryStore | None]) -> list[ComparedRun]:
    run = run_of(value)
    if run is not None:
        return [ComparedRun.from_run(run)]
    return [_from_record(record, calls) for record, calls in _records_of(value, index, store)]


PastRun = tuple[RunRecord, list[ToolCallRecord]]
"""A run of the history: its record and its tool calls."""


def history_records(given: Sequence[RunLike]) -> list[PastRun]:
    """The history's runs each value names (a record, a ``runs()`` history, a pandas row or
    frame, a dict with a ``local_id``, a run id), each with its tool calls, in order."""
    store: list[HistoryStore | None] = []
    return [
        found for index, value in enumerate(given) for found in _records_of(value, index, store)
    ]


def names_past_runs(value: RunLike) -> bool:
    """Whether ``value`` is a way to name runs of the history (see :func:`history_records`)."""
    return isinstance(value, RunHistory | RunRecord) or _ids_of(value) is not None


def names_runs(value: Any) -> bool:
    """Whether ``value`` names runs, live (a ``Run``, a handle, a stream, a chat cell) or of
    the history (see :func:`names_past_runs`)."""
    return run_of(value) is not None or names_past_runs(value)


def run_ids(value: Any) -> list[str]:
    """The ``local_id`` of each run ``value`` names (see :func:`names_runs`), an id looked up
    in the history (agentnb's ``local_id`` or the platform's ``run_id``)."""
    run = run_of(value)
    if run is not None:
        return [run.local_id]
    return [record.local_id for record in _found_records(value, 0, [])]


def _records_of(value: RunLike, index: int, store: list[HistoryStore | None]) -> list[PastRun]:
    if isinstance(value, RunHistory):
        by_run: dict[str, list[ToolCallRecord]] = {}
        for call in value.tool_calls():
            by_run.setdefault(call.local_id, []).append(call)
        return [(record, by_run.get(record.local_id, [])) for record in value]
    records = _found_records(value, index, store)
    found = _history(store).tool_calls([record.local_id for record in records])
    return [(r, [c for c in found if c.local_id == r.local_id]) for r in records]


def _found_records(value: Any, index: int, store: list[HistoryStore | None]) -> list[RunRecord]:
    """The records a record, a history, a pandas row or frame, a dict or an id names."""
    if isinstance(value, RunHistory):
        return list(value)
    if isinstance(value, RunRecord):
        return [value]
    ids = _ids_of(value)
    if ids is None:
        raise ConfigurationError(
            f"argument {index + 1} is a {type(value).__name__}; give a Run, a history "
            "record or runs() row, a runs() history, a pandas row or frame, or a run id"
        )
    history = _history(store)
    records = []
    for run_id in ids:
        record = history.find(run_id)
        if record is None:
            raise ConfigurationError(f"no run {run_id!r} in the history")
        records.append(record)
    return records


def _ids_of(value: Any) -> list[str] | None:
    """The local ids a str, a mapping, a pandas row or a pandas frame names, else None."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        local_id = value.get("local_id")
        return [local_id] if isinstance(local_id, str) else None
    module = type(value).__module__
    if module.startswith("pandas"):
        if hasattr(value, "columns"):  # a DataFrame
            if "local_id" not in value.columns:
                return None
            return [str(v) for v in value["local_id"]]
        if "local_id" in getattr(value, "index", ()):  # a Series: one row
            return [str(value["local_id"])]
    return None


def _history(store: list[HistoryStore | None]) -> HistoryStore:
    if not store:
        store.append(default_store())
    if store[0] is None:
        raise ConfigurationError(
            "run ids are looked up in the history, and history is off "
            "(AGENTNB_HISTORY=off); give the Run objects instead"
        )
    return store[0]


def _from_record(record: RunRecord, calls: list[ToolCallRecord]) -> ComparedRun:
    return ComparedRun(
        label=run_label(record.agent, record.local_id),
        local_id=record.local_id,
        agent=record.agent,
        model=record.model,
        status=record.status,
        message=record.message or "",
        answer=record.answer or "",
        prompt_tokens=record.prompt_tokens,
        completion_tokens=record.completion_tokens,
        total_tokens=record.total_tokens,
        cost=record.cost_usd,
        duration=record.duration if record.status != "running" else None,
        error=record.error_message,
        calls=tuple(
            ComparedCall(call.name or "", call.status or "", call.arguments or "", call.duration)
            for call in sorted(calls, key=lambda c: c.position)
        ),
    )
