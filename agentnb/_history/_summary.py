"""`RunHistory.summary()`: usage and reliability per agent (or any other column)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._core.exceptions import ConfigurationError
from ._frame import Tabular
from ._optional import require_pandas

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["SUMMARY_COLUMNS", "summarize"]

SUMMARY_COLUMNS = (
    "runs",
    "completed",
    "failed",
    "cancelled",
    "interrupted",
    "running",
    "success_rate",
    "tokens_total",
    "tokens_mean",
    "duration_p50",
    "duration_p95",
    "ttft_p50",
    "ttft_p95",
    "tool_calls_per_run",
)
"""``completed``, ``failed``, ``cancelled``, ``interrupted`` and ``running`` count runs by
status (``failed`` also holds any other status a platform reported, so the five add up to
``runs``). ``success_rate`` is completed / all runs that ended: every failed, cancelled or
interrupted run counts against it, a run still going does not."""

_COUNTED = ("completed", "cancelled", "interrupted", "running")
_GROUPABLE = ("agent", "provider", "connection", "host", "status", "error_code", "thread_id")


def summarize(history: Tabular, by: str | Sequence[str] | None) -> pd.DataFrame:
    pandas = require_pandas()
    keys = [] if by is None else [by] if isinstance(by, str) else list(by)
    bad = [key for key in keys if key not in _GROUPABLE]
    if bad:
        raise ConfigurationError(
            f"cannot summarise by {bad}; choose from {list(_GROUPABLE)} or None"
        )
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
    for status in _COUNTED:
        frame[f"_{status}"] = (frame["status"] == status).astype("int64")
    grouped: Any
    if keys:
        # observed=True: only groups that have runs; dropna=False keeps runs with no agent.
        grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
    else:
        frame["_all"] = "all"
        grouped = frame.groupby("_all")
    runs = grouped.size()
    counts = {status: grouped[f"_{status}"].sum() for status in _COUNTED}
    ended = runs - counts["running"]
    other = ended - counts["completed"] - counts["cancelled"] - counts["interrupted"]
    out: pd.DataFrame = pandas.DataFrame(
        {
            "runs": runs,
            "completed": counts["completed"],
            "failed": other,
            "cancelled": counts["cancelled"],
            "interrupted": counts["interrupted"],
            "running": counts["running"],
            "success_rate": (counts["completed"] / ended.where(ended > 0)).astype("float64"),
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
