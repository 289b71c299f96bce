"""`RunHistory.summary()`: usage and reliability per agent (or any other column)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ._optional import require_pandas

if TYPE_CHECKING:
    import pandas as pd

    from ._table import RunHistory

__all__ = ["SUMMARY_COLUMNS", "summarize"]

SUMMARY_COLUMNS = (
    "runs",
    "completed",
    "failed",
    "success_rate",
    "tokens_total",
    "tokens_mean",
    "duration_p50",
    "duration_p95",
    "ttft_p50",
    "ttft_p95",
    "tool_calls_per_run",
)
"""``failed`` counts every ended run that did not complete (failed, cancelled, interrupted);
``success_rate`` is completed / ended, so runs still going do not count against it."""

_GROUPABLE = ("agent", "provider", "connection", "host", "status", "error_code", "thread_id")


def summarize(history: RunHistory, by: str | Sequence[str] | None) -> pd.DataFrame:
    pandas = require_pandas()
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    bad = [key for key in keys if key not in _GROUPABLE]
    if bad:
        raise ValueError(f"cannot summarise by {bad}; choose from {list(_GROUPABLE)} or None")
    frame = history.to_pandas(
        [
            *keys,
            *(
                c
                for c in ("status", "total_tokens", "duration", "ttft", "tool_call_count")
                if c not in keys
            ),
        ]
    )
    frame["_completed"] = (frame["status"] == "completed").astype("int64")
    frame["_ended"] = (frame["status"] != "running").astype("int64")
    grouped: Any
    if keys:
        # observed=True: only groups that have runs; dropna=False keeps runs with no agent.
        grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
    else:
        frame["_all"] = "all"
        grouped = frame.groupby("_all")
    ended = grouped["_ended"].sum()
    completed = grouped["_completed"].sum()
    out: pd.DataFrame = pandas.DataFrame(
        {
            "runs": grouped.size(),
            "completed": completed,
            "failed": ended - completed,
            "success_rate": (completed / ended.where(ended > 0)).astype("float64"),
            "tokens_total": grouped["total_tokens"].sum(min_count=1),
            "tokens_mean": grouped["total_tokens"].mean().astype("float64"),
            "duration_p50": grouped["duration"].quantile(0.5),
            "duration_p95": grouped["duration"].quantile(0.95),
            "ttft_p50": grouped["ttft"].quantile(0.5),
            "ttft_p95": grouped["ttft"].quantile(0.95),
            "tool_calls_per_run": grouped["tool_call_count"].mean().astype("float64"),
        },
        columns=list(SUMMARY_COLUMNS),
    )
    if not keys:
        out.index.name = None
    return out
