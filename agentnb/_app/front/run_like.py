"""What names a run to ``show``, ``compare`` and ``attach``: :data:`RunLike`, and the run a
live value holds.

A run is named by the object holding it (a :class:`~agentnb.Run`, a ``RunHandle``, a stream,
a ``ChatCell``: its last run), by a row of the history (a record, a ``runs()`` history, a
pandas row or frame of ``.to_pandas()``, a dict with a ``local_id``), by a row of the
platform's listing (a :class:`~agentnb.providers.RemoteRun`), or by an id (agentnb's
``local_id`` or the platform's ``run_id``). Each function says which of these it can use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeAlias, Union

from ..._client.stream import AsyncRunStream
from ..._client.sync import RunStream
from ..._core.exceptions import ConfigurationError
from ..._core.handle import RunHandle
from ..._core.run import Run
from ..._history import (
    HistoryStore,
    RunHistory,
    RunRecord,
    ToolCallRecord,
    call_records_of,
    default_store,
)
from ...providers import RemoteRun

if TYPE_CHECKING:
    import pandas as pd

    from ..._display.widget import ChatCell  # named only: a command line loads no widget

    PandasRow: TypeAlias = pd.Series[Any]
else:  # pandas loads on first use; its Series is not subscriptable at run time
    PandasRow = "pd.Series"

__all__ = [
    "RunLike",
    "history_records",
    "names_past_runs",
    "names_runs",
    "run_ids",
    "run_of",
]

RunLike: TypeAlias = Union[
    Run,
    RunHandle,
    AsyncRunStream,
    RunStream,
    "ChatCell",
    RunRecord,
    RunHistory,
    RemoteRun,
    PandasRow,
    "pd.DataFrame",
    Mapping[str, object],
    str,
]
"""A run, or what names one: see the module's docstring."""


def run_of(value: object) -> Run | None:
    """The run a ``Run``, a ``RunHandle``, a stream or a ``ChatCell`` (its last run) holds;
    None for a value that names a run some other way."""
    if isinstance(value, Run):
        return value
    run = getattr(value, "run", None)
    if isinstance(run, Run):
        return run
    cell_runs = getattr(value, "runs", None)
    if isinstance(cell_runs, list) and cell_runs and isinstance(cell_runs[-1], Run):
        return cell_runs[-1]
    return None


PastRun = tuple[RunRecord, list[ToolCallRecord]]
"""A run of the history: its record and its tool calls."""


def history_records(given: Sequence[RunLike], *, first: int = 0) -> list[PastRun]:
    """The history's runs each value names (a record, a ``runs()`` history, a pandas row or
    frame, a dict with a ``local_id``, a run id), each with its tool calls, in order (an
    error names a value by its place, counted from ``first``)."""
    return [
        found for index, value in enumerate(given, first) for found in _records_of(value, index)
    ]


def names_past_runs(value: RunLike) -> bool:
    """Whether ``value`` is a way to name runs of the history (see :func:`history_records`)."""
    return isinstance(value, RunHistory | RunRecord) or _ids_of(value) is not None


def names_runs(value: Any) -> bool:
    """Whether ``value`` names runs, live (a ``Run``, a handle, a stream, a chat cell) or of
    the history (see :func:`names_past_runs`)."""
    return run_of(value) is not None or names_past_runs(value)


def run_ids(value: object) -> list[str]:
    """The ``local_id`` of each run ``value`` names (see :func:`names_runs`), an id looked up
    in the history (agentnb's ``local_id`` or the platform's ``run_id``)."""
    run = run_of(value)
    if run is not None:
        return [run.local_id]
    return [record.local_id for record in _found_records(value, 0)]


def _records_of(value: RunLike, index: int) -> list[PastRun]:
    if isinstance(value, RunHistory):
        by_run: dict[str, list[ToolCallRecord]] = {}
        for call in value.tool_calls():
            by_run.setdefault(call.local_id, []).append(call)
        return [(record, by_run.get(record.local_id, [])) for record in value]
    if isinstance(value, RunRecord):
        own = call_records_of(value)  # read where the record came from
        if own is not None:
            return [(value, own)]
    records = _found_records(value, index)
    found = _history().tool_calls([record.local_id for record in records])
    return [(r, [c for c in found if c.local_id == r.local_id]) for r in records]


def _found_records(value: Any, index: int) -> list[RunRecord]:
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
    history = _history()
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


def _history() -> HistoryStore:
    store = default_store()
    if store is None:
        raise ConfigurationError(
            "run ids are looked up in the history, and history is off "
            "(AGENTNB_HISTORY=off); give the Run objects instead"
        )
    return store
