"""`RunHistory.plot()`: the common views, drawn with matplotlib."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._frame import Tabular
from ._optional import require_matplotlib_pyplot, require_pandas

__all__ = ["PLOT_KINDS", "plot"]

PLOT_KINDS = ("tokens", "latency", "tools")


def plot(history: Tabular, kind: str, *, ax: Any = None, **options: Any) -> Any:
    if kind not in PLOT_KINDS:
        raise ValueError(f"unknown plot kind {kind!r}; choose from {', '.join(PLOT_KINDS)}")
    require_pandas()
    pyplot: Any = require_matplotlib_pyplot()
    if ax is None:
        _, ax = pyplot.subplots(figsize=options.pop("figsize", (8, 4)))
    draw: dict[str, Callable[..., None]] = {
        "tokens": _tokens,
        "latency": _latency,
        "tools": _tools,
    }
    draw[kind](history, ax, **options)
    return ax


def _tokens(history: Tabular, ax: Any, column: str = "total_tokens") -> None:
    frame = history.to_pandas(["started_at", "agent", column]).dropna(subset=[column])
    for agent, group in frame.groupby("agent", observed=True, dropna=False, sort=True):
        group = group.sort_values("started_at")
        ax.plot(
            group["started_at"],
            group[column].astype("float64"),
            marker="o",
            linestyle="-",
            label=str(agent),
        )
    ax.set_title(f"{column.replace('_', ' ')} per run")
    ax.set_xlabel("started (UTC)")
    ax.set_ylabel("tokens")
    if len(frame):
        ax.legend(title="agent")
    ax.figure.autofmt_xdate()


def _latency(history: Tabular, ax: Any, metric: str = "duration") -> None:
    if metric not in ("duration", "ttft"):
        raise ValueError(f"metric must be 'duration' or 'ttft', not {metric!r}")
    frame = history.to_pandas(["agent", metric]).dropna(subset=[metric])
    groups = [
        (str(agent), group[metric].to_numpy())
        for agent, group in frame.groupby("agent", observed=True, dropna=False, sort=True)
    ]
    if groups:
        ax.boxplot([values for _, values in groups])
        ax.set_xticks(range(1, len(groups) + 1), [name for name, _ in groups])
    label = "time to first token" if metric == "ttft" else "duration"
    ax.set_title(f"{label} per agent")
    ax.set_ylabel("seconds")


def _tools(history: Tabular, ax: Any, top: int = 20) -> None:
    counts = list(history.tool_calls().counts().items())[:top]
    names = [name for name, _ in counts][::-1]
    ax.barh(names, [n for _, n in counts][::-1])
    ax.set_title("tool calls")
    ax.set_xlabel("calls")
