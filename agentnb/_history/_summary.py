"""`RunHistory.summary()`: usage and reliability per agent (or any other column)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .._core.exceptions import ConfigurationError
from ._frame import Tabular
from ._optional import require_pandas

if TYPE_CHECKING:
    import pandas as pd


__all__ = ["SUMMARY_COLUMNS", "TIMED_BY_DEFAULT", "summarize", "timed_statuses"]

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
    "timed_runs",
    "duration_p50",
    "duration_p95",
    "ttft_p50",
    "ttft_p95",
    "paused_total",
    "tool_calls_per_run",
)
"""``completed``, ``failed``, ``cancelled``, ``interrupted`` and ``running`` count runs by
status (``failed`` also holds any other status a platform reported, so the five add up to
``runs``). ``success_rate`` is completed / all runs that ended: every failed, cancelled or
interrupted run counts against it, a run still going does not. The timing figures
(``duration_*``, ``ttft_*``: the agent's time, pauses for a person left out; ``paused_total``:
seconds spent waiting for a person) count only the runs ``include`` names, completed ones by
default, and ``timed_runs`` says how many those are; a missing TTFT (no token came) is left
out, never counted as 0."""

TIMED_BY_DEFAULT = ("completed",)
"""The statuses whose runs the timing figures of summaries and latency plots count."""

_COUNTED = ("completed", "cancelled", "interrupted", "running")
_GROUPABLE = ("agent", "provider", "connection", "host", "status", "error_code", "thread_id")


def timed_statuses(include: str | Sequence[str]) -> tuple[str, ...] | None:
    """The statuses ``include`` names (None: ``"all"`` of them)."""
    if include == "all":
        return None
    statuses = (include,) if isinstance(include, str) else tuple(include)
    if not statuses or not all(isinstance(s, str) for s in statuses):
        raise ConfigurationError(
            f"include= takes 'all', a status or a list of statuses, not {include!r}"
        )
    return statuses


def summarize(
    history: Tabular, by: str | Sequence[str] | None, include: str | Sequence[str] = "completed"
) -> pd.DataFrame:
    pandas = require_pandas()
    statuses = timed_statuses(include)
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
                for c in (
                    "status",
                    "total_tokens",
                    "duration",
                    "ttft",
                    "paused_seconds",
                    "tool_call_count",
                )
                if c not in keys
            ),
        ]
    )
    for status in _COUNTED:
        frame[f"_{status}"] = (frame["status"] == status).astype("int64")
    timed = frame["status"].isin(statuses) if statuses is not None else frame["status"].notna()
    frame["_timed"] = timed.astype("int64")
    for column in ("duration", "ttft", "paused_seconds"):
        frame[column] = frame[column].astype("float64").where(timed)
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
            "timed_runs": grouped["_timed"].sum(),
            "duration_p50": grouped["duration"].quantile(0.5),
            "duration_p95": grouped["duration"].quantile(0.95),
            "ttft_p50": grouped["ttft"].quantile(0.5),
            "ttft_p95": grouped["ttft"].quantile(0.95),
            "paused_total": grouped["paused_seconds"].sum(min_count=1),
            "tool_calls_per_run": grouped["tool_call_count"].mean().astype("float64"),
        },
        columns=list(SUMMARY_COLUMNS),
    )
    if not keys:
        out.index.name = None
    counted = "all runs" if statuses is None else " or ".join(statuses) + " runs"
    out.attrs["timed"] = f"duration, ttft and paused time count {counted} only"
    return out
