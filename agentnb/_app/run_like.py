"""What names a run to ``show``, ``compare`` and ``attach``: :data:`RunLike`, and the run a
live value holds.

A run is named by the object holding it (a :class:`~agentnb.Run`, a ``RunHandle``, a stream,
a ``ChatCell``: its last run), by a row of the history (a record, a ``runs()`` history, a
pandas row or frame of ``.to_pandas()``, a dict with a ``local_id``), by a row of the
platform's listing (a :class:`~agentnb.providers.RemoteRun`), or by an id (agentnb's
``local_id`` or the platform's ``run_id``). Each function says which of these it can use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, Union

from .._client.stream import AsyncRunStream
from .._client.sync import RunStream
from .._core.handle import RunHandle
from .._core.run import Run
from .._display.widget import ChatCell
from .._history import RunHistory, RunRecord
from ..providers import RemoteRun

if TYPE_CHECKING:
    import pandas as pd

    PandasRow: TypeAlias = pd.Series[Any]
else:  # pandas loads on first use; its Series is not subscriptable at run time
    PandasRow = "pd.Series"

__all__ = ["RunLike", "run_of"]

RunLike: TypeAlias = Union[
    Run,
    RunHandle,
    AsyncRunStream,
    RunStream,
    ChatCell,
    RunRecord,
    RunHistory,
    RemoteRun,
    PandasRow,
    "pd.DataFrame",
    Mapping[str, Any],
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
