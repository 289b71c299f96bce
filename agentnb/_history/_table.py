"""`RunHistory`: runs as a sequence of records that also turns into DataFrames, summaries,
plots and tables. Local and remote listings share it, so they analyse the same way.

It keeps one list per column (what the store reads), so ``to_pandas()`` builds the frame
column by column and records are made only for the rows you index.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import TYPE_CHECKING, Any, Protocol, overload

from .._core.run import Run
from .._core.text import excerpt
from ._frame import build_frame, empty_columns
from ._html import html_table
from ._plot import plot
from ._records import RUN_COLUMNS, TOOL_CALL_COLUMNS, RunRecord, ToolCallRecord
from ._remote_rows import remote_row
from ._rows import run_row, tool_rows
from ._summary import summarize
from ._text import text_table

if TYPE_CHECKING:
    import pandas as pd

    from ..providers._base import RemoteRun

__all__ = ["RunHistory", "ToolCallHistory", "ToolCallSource"]


class ToolCallSource(Protocol):
    """Where a table reads its runs' tool calls from (the store that read the runs)."""

    def tool_call_rows(self, local_ids: Sequence[str]) -> list[tuple[Any, ...]]: ...


SHOWN_ROWS = 20
"""Rows a repr shows; the rest are counted."""


class RunHistory(Sequence[RunRecord]):
    """Runs, most recent first (a batch: in input order).

    ``history[0]`` is a :class:`RunRecord`; ``history[:10]`` another ``RunHistory``.
    """

    def __init__(
        self,
        columns: Mapping[str, Sequence[Any]] | None = None,
        *,
        store: ToolCallSource | None = None,
        tool_rows: Sequence[tuple[Any, ...]] | None = None,
        source: str = "local",
    ) -> None:
        self._columns = _complete_columns(columns or {}, RUN_COLUMNS)
        self._store = store
        self._tool_rows = list(tool_rows) if tool_rows is not None else None
        self.source = source
        """``local`` for agentnb's history, ``remote`` for a platform's listing."""

    # ---- building ------------------------------------------------------------------------
    @classmethod
    def from_records(
        cls, records: Iterable[RunRecord], *, tool_calls: Iterable[ToolCallRecord] = ()
    ) -> RunHistory:
        rows = [record.to_row() for record in records]
        return cls(_transpose(rows, RUN_COLUMNS), tool_rows=[call.to_row() for call in tool_calls])

    @classmethod
    def from_runs(cls, runs: Iterable[Run]) -> RunHistory:
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
    ) -> RunHistory:
        """A platform's run listing in the same shape as the local history."""
        rows = [
            remote_row(run, provider=provider, connection=connection, host=host) for run in remote
        ]
        return cls(_transpose(rows, RUN_COLUMNS), tool_rows=[], source="remote")

    # ---- sequence ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._columns["local_id"])

    @overload
    def __getitem__(self, index: int) -> RunRecord: ...

    @overload
    def __getitem__(self, index: slice) -> RunHistory: ...

    def __getitem__(self, index: int | slice) -> RunRecord | RunHistory:
        if isinstance(index, slice):
            columns = {name: values[index] for name, values in self._columns.items()}
            return RunHistory(
                columns, store=self._store, tool_rows=self._tool_rows, source=self.source
            )
        return RunRecord.from_row(tuple(values[index] for values in self._columns.values()))

    def column(self, name: str) -> list[Any]:
        """One column's raw values (times as unix seconds, JSON as text)."""
        if name not in self._columns:
            raise KeyError(f"unknown column {name!r}; the columns are {list(self._columns)}")
        return list(self._columns[name])

    @property
    def local_ids(self) -> list[str]:
        return list(self._columns["local_id"])

    def to_dicts(self) -> list[dict[str, Any]]:
        """The runs as JSON-ready dicts (times in ISO 8601)."""
        return [record.to_dict() for record in self]

    # ---- analysis ------------------------------------------------------------------------
    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame, one row per run: UTC datetimes, nullable ``Int64`` token counts,
        categorical names and statuses. Needs pandas (``pip install "agentnb[pandas]"``)."""
        return build_frame(self._columns, RUN_COLUMNS, columns)

    def tool_calls(self) -> ToolCallHistory:
        """The tool calls of these runs, in run order."""
        ids = list(self._columns["local_id"])
        if self._tool_rows is not None:
            wanted = set(ids)
            return ToolCallHistory([row for row in self._tool_rows if row[0] in wanted])
        if self._store is not None and ids:
            return ToolCallHistory(self._store.tool_call_rows(ids))
        return ToolCallHistory([])

    def summary(
        self,
        by: str | Sequence[str] | None = "agent",
        *,
        include: str | Sequence[str] = "completed",
    ) -> pd.DataFrame:
        """Per group (``agent`` by default; None for one overall row): runs; how many
        completed, failed, were cancelled, interrupted or are still running (each run in
        exactly one of the five); success rate: completed / runs that ended (completed,
        failed, cancelled or interrupted; a run still going is not counted); tokens total
        and mean; the agent's duration and TTFT p50/p95 and the time paused for a person,
        over the runs ``include`` names (``"completed"`` by default, a status, a list of
        them, or ``"all"``; ``timed_runs`` says how many; a cancelled run's missing TTFT is
        left out, not counted as 0); tool calls per run."""
        return summarize(self, by, include)

    def plot(self, kind: str = "tokens", *, ax: Any = None, **options: Any) -> Any:
        """Draw a common view as a report figure with matplotlib; return the Axes drawn on.

        ``kind``: ``"tokens"`` (one point per run over its start time, local, coloured by
        agent; ``column="prompt_tokens"`` or ``"completion_tokens"`` for one side),
        ``"latency"`` (per agent, a box of the agent's durations with each run's point;
        ``metric="ttft"`` for time to first token; completed runs only unless
        ``include="all"`` or statuses, and the title says which), ``"tools"`` (calls per
        tool; ``top=20``). ``figsize`` sizes a new figure. Pass ``ax=`` to draw into a
        figure of your own: that Axes is returned. Otherwise the new figure's Axes is
        returned, a plain Axes that IPython does not print as ``<Axes: …>`` under the figure.
        """
        return plot(self, kind, ax=ax, **options)

    # ---- display -------------------------------------------------------------------------
    def _title(self) -> str:
        statuses = Counter(self._columns["status"])
        counts = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
        noun = "run" if len(self) == 1 else "runs"
        where = " (remote)" if self.source == "remote" else ""
        return f"RunHistory: {len(self)} {noun}{where}" + (f" — {counts}" if counts else "")

    def to_text(self, limit: int | None = None) -> str:
        """The runs (the first ``limit`` of them; None: all) as an aligned plain-text table,
        one line per run, with the columns of the notebook's table."""
        shown = len(self) if limit is None else min(len(self), limit)
        return text_table(self._columns, range(shown), time.time())

    def __repr__(self) -> str:
        if not len(self):
            return self._title()
        more = len(self) - min(len(self), SHOWN_ROWS)
        tail = f"\n… and {more} more" if more else ""
        return f"{self._title()}\n{self.to_text(SHOWN_ROWS)}{tail}"

    def _repr_html_(self) -> str:
        shown = range(min(len(self), SHOWN_ROWS))
        return html_table(
            self._columns, shown, title=self._title(), more=len(self) - len(shown), now=time.time()
        )


class ToolCallHistory(Sequence[ToolCallRecord]):
    """Tool calls of a set of runs; ``to_pandas()`` makes a DataFrame of them."""

    def __init__(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._rows = list(rows)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> ToolCallRecord: ...

    @overload
    def __getitem__(self, index: slice) -> ToolCallHistory: ...

    def __getitem__(self, index: int | slice) -> ToolCallRecord | ToolCallHistory:
        if isinstance(index, slice):
            return ToolCallHistory(self._rows[index])
        return ToolCallRecord.from_row(self._rows[index])

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """A DataFrame, one row per call (``local_id`` joins it to the runs' frame)."""
        return build_frame(_transpose(self._rows, TOOL_CALL_COLUMNS), TOOL_CALL_COLUMNS, columns)

    def counts(self) -> dict[str, int]:
        """Calls per tool name, most called first."""
        names = Counter(row[4] or "(unnamed)" for row in self._rows)
        return dict(names.most_common())

    def __repr__(self) -> str:
        noun = "call" if len(self) == 1 else "calls"
        lines = [f"ToolCallHistory: {len(self)} tool {noun}"]
        lines += [f"  {name}: {n}" for name, n in self.counts().items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{escape(excerpt(row[4], 30))}</td><td>{escape(str(row[5] or ''))}</td>"
            f"<td>{escape(excerpt(row[6], 60))}</td><td>{escape(excerpt(row[7] or row[8], 60))}"
            f"</td></tr>"
            for row in self._rows[:SHOWN_ROWS]
        )
        more = len(self) - min(len(self), SHOWN_ROWS)
        tail = f"<p><em>… and {more} more</em></p>" if more else ""
        return (
            f"<div><p><strong>{escape(repr(self).splitlines()[0])}</strong></p>"
            "<table><thead><tr><th>tool</th><th>status</th><th>arguments</th>"
            f"<th>output / error</th></tr></thead><tbody>{rows}</tbody></table>{tail}</div>"
        )


def _transpose(
    rows: Sequence[Sequence[Any]], spec: Sequence[tuple[str, Any]]
) -> dict[str, list[Any]]:
    if not rows:
        return empty_columns(spec)
    return {
        name: list(values) for (name, _), values in zip(spec, zip(*rows, strict=True), strict=True)
    }


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
