"""``RunHistory.plot()``: the common views as report figures, drawn with matplotlib from what a
history gives (its frames, summary and tool calls: :class:`Plotted`); the kinds are listed on
``RunHistory.plot``. A figure is a PNG made in the kernel, which cannot know the page's theme:
its background is transparent and its ink one grey (:data:`INK`), so it reads on a light and
a dark notebook. pandas and matplotlib are imported only when a plot is asked for."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol, TypedDict

from .._core.extras import require_pandas, require_pyplot
from .._core.statuses import timed_statuses
from .summary_table import key_label

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PLOT_KINDS", "PlotOptions", "Plotted", "plot", "quiet_axes"]


class PlottedCalls(Protocol):
    """What a plot reads of a history's tool calls (``ToolCallHistory``)."""

    def counts(self) -> dict[str, int]: ...

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def summary(self, by: str = "name", *, every: str | None = None) -> pd.DataFrame: ...


class Plotted(Protocol):
    """What a plot reads of a run history (``RunHistory``)."""

    def to_pandas(self, columns: Sequence[str] | None = None) -> pd.DataFrame: ...

    def tool_calls(self) -> PlottedCalls: ...

    def summary(
        self,
        by: str | Sequence[str] | None = "agent",
        *,
        every: str | None = None,
        include: str | Sequence[str] = "completed",
    ) -> pd.DataFrame: ...


PLOT_KINDS = ("tokens", "latency", "tools", "cost", "failures")
SERIES_BY = ("agent", "model", "tool")
SERIES_COLUMN = {
    "cost": ("cost_total", "USD"),
    "tokens": ("tokens_total", "tokens"),
    "latency": ("duration_p50", "seconds (median)"),
    "failures": ("failure_rate", "failure rate"),
}
"""Each kind over time: the column drawn (of the runs' summary, or by tool of the tool calls')
and its axis label."""
_NO_TOOL_USAGE = (
    "no tool call has usage: this platform reports none per call\n"
    "(some report a sub-agent's usage inside the call that ran it)"
)
TOKEN_COLUMNS = ("total_tokens", "prompt_tokens", "completion_tokens")
INK = "#7a7a7a"
"""Text, axes, ticks and grid: a grey that reads on a light notebook and on a dark one (about
4.2:1 against white, 4.4:1 against JupyterLab's dark ``#111``): a figure is a PNG made in
the kernel, which cannot know the page's theme, so its background is transparent (the
page's own shows through) and nothing in it is black or white."""
INK_Y_LABELS = "#808080"
"""The y axis's tick labels: the same grey to the eye (4.0:1 against white, 4.8:1 against
``#111``), but just light by matplotlib-inline's measure where :data:`INK` is just dark.
Tick labels all light or all dark make it mark a transparent figure as needing a dark or
light background, and JupyterLab then draws a box of that colour under the PNG in the
other theme."""
THEME_NEUTRAL = {
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "text.color": INK,
    "axes.labelcolor": INK,
    "axes.titlecolor": INK,
    "axes.edgecolor": INK,
    "xtick.color": INK,
    "ytick.color": INK,
    "grid.color": INK,
    "legend.labelcolor": INK,
    "boxplot.boxprops.color": INK,
    "boxplot.whiskerprops.color": INK,
    "boxplot.capprops.color": INK,
    "boxplot.medianprops.color": INK,
}
"""The rcParams a plot is drawn under (:data:`INK`)."""
_MIN_SPAN = timedelta(seconds=60)
"""The narrowest time axis: runs seconds apart still get whole-second ticks."""


class PlotOptions(TypedDict, total=False):
    """What ``RunHistory.plot(kind, ...)`` takes besides ``ax``; each kind reads its own."""

    column: str
    """``tokens``: ``total_tokens`` (default), ``prompt_tokens`` or ``completion_tokens``."""
    metric: str
    """``latency``: ``duration`` (default) or ``ttft``."""
    include: str | Sequence[str]
    """``latency``: the statuses timed (``completed`` by default, or ``all``)."""
    top: int
    """``tools``: how many tools (default 20)."""
    by: str
    """Over time: one line per ``agent`` (default), ``model``, ``tool`` or ``metadata.<key>``."""
    every: str
    """Over time: ``hour``, ``day`` (default) or ``week``."""
    figsize: tuple[float, float]
    """A new figure's size in inches (default ``(8, 4)``)."""


def plot(history: Plotted, kind: str, *, ax: Any = None, **options: Any) -> Any:
    if kind not in PLOT_KINDS:
        raise ValueError(f"unknown plot kind {kind!r}; choose from {', '.join(PLOT_KINDS)}")
    require_pandas()
    pyplot: Any = require_pyplot()
    figsize = options.pop("figsize", (8, 4))
    draw: dict[str, Callable[..., None]] = {
        "tokens": _tokens,
        "latency": _latency,
        "tools": _tools,
    }
    over_time = kind in ("cost", "failures") or "every" in options
    if over_time:
        _check_series(kind, options)
    else:
        _check_options(kind, options)
    # The figure made before the context: making the first one chooses the backend, and what
    # that turns on (the notebook showing figures) the context's end would undo.
    figure = (
        pyplot.figure(figsize=figsize, layout="constrained", facecolor="none")
        if ax is None
        else None
    )
    with pyplot.rc_context(THEME_NEUTRAL):
        if figure is not None:
            ax = figure.add_subplot(axes_class=quiet_axes())
        if over_time:
            _series(history, ax, kind, **options)
        else:
            draw[kind](history, ax, **options)
        ax.tick_params(which="both", colors=INK)  # ticks made later, when drawn, too
        ax.tick_params(axis="y", which="both", labelcolor=INK_Y_LABELS)
    return ax


def _check_series(kind: str, options: dict[str, Any]) -> None:
    unknown = set(options) - {"by", "every"}
    if kind not in SERIES_COLUMN or unknown:
        raise ValueError(
            f"plot({kind!r}) over time takes by= and every= only"
            + (f", not {', '.join(sorted(unknown))}" if unknown else "")
            + f"; the kinds over time are {', '.join(SERIES_COLUMN)}"
        )
    by = options.get("by", "agent")
    # metadata.<key>: a key of the runs' metadata, which the history's summary groups by
    if by not in SERIES_BY and not (isinstance(by, str) and by.startswith("metadata.")):
        raise ValueError(f"by must be one of {', '.join(SERIES_BY)} or metadata.<key>, not {by!r}")
    if options.get("every", "day") not in ("hour", "day", "week"):
        raise ValueError(f"every must be 'hour', 'day' or 'week', not {options['every']!r}")


def _series(history: Plotted, ax: Any, kind: str, by: str = "agent", every: str = "day") -> None:
    column, unit = SERIES_COLUMN[kind]
    if by == "tool":
        frame = history.tool_calls().summary("name", every=every)
    else:
        frame = history.summary(by, every=every)
    what = {"cost": "Cost", "tokens": "Tokens", "latency": "Agent time", "failures": "Failures"}
    _titled(ax, f"{what[kind]} per {every} by {by}", x=f"{every} (UTC)", y=unit)
    values = frame[column].astype("float64").dropna() if len(frame) else frame[column]
    if not len(values):
        _empty(
            ax,
            _NO_TOOL_USAGE
            if by == "tool" and kind in ("cost", "tokens")
            else f"no runs with a {column.replace('_', ' ')}",
        )
        return
    starts: list[datetime] = []
    level = "name" if by == "tool" else by
    for name, group in values.groupby(level=level, observed=True, dropna=False, sort=True):
        times = [
            moment.to_pydatetime().replace(tzinfo=None)
            for moment in group.index.get_level_values(0)
        ]
        starts += times
        ax.plot(times, list(group), marker="o", label=key_label(level, name), zorder=3)
    _period_axis(ax, starts, every)
    ax.set_ylim(bottom=0)
    _report_style(ax, grid="y")
    ax.legend(title=by, frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    left_out = _without_values(frame, values, level)
    if left_out and kind == "cost":  # an absent line would read as "cost nothing"
        _note(ax, f"not priced, so not drawn: {', '.join(left_out)}")


def _without_values(frame: Any, values: Any, level: str) -> list[str]:
    """The groups of ``frame`` with no value to draw (an agent whose runs have no cost)."""
    every_group = {key_label(level, name) for name in frame.index.get_level_values(level)}
    drawn = {key_label(level, name) for name in values.index.get_level_values(level)}
    return sorted(every_group - drawn)


def _check_options(kind: str, options: dict[str, Any]) -> None:
    """Refuse a wrong option before a figure is made for it."""
    if kind == "tokens" and options.get("column", "total_tokens") not in TOKEN_COLUMNS:
        raise ValueError(f"column must be one of {', '.join(TOKEN_COLUMNS)}")
    if kind == "latency" and options.get("metric", "duration") not in ("duration", "ttft"):
        raise ValueError(f"metric must be 'duration' or 'ttft', not {options['metric']!r}")


@functools.cache
def quiet_axes() -> type:
    """matplotlib's Axes, less the ``<Axes: …>`` text IPython prints for a returned one
    (made on first use: matplotlib is optional)."""
    from matplotlib.axes import Axes  # optional extra: loaded on first plot

    def _ipython_display_(self: Any) -> None:
        """Show nothing: the figure shows itself."""

    return type("QuietAxes", (Axes,), {"_ipython_display_": _ipython_display_})


def __getattr__(name: str) -> Any:
    # Unpickling a figure looks its Axes class up here by name.
    if name == "QuietAxes":
        return quiet_axes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _tokens(history: Plotted, ax: Any, column: str = "total_tokens") -> None:
    frame = history.to_pandas(["started_at", "agent", column])
    known = frame.dropna(subset=[column, "started_at"])
    what = column.replace("_", " ")
    x = f"run started (local time, {_utc_offset()})"
    _titled(ax, f"{what[0].upper()}{what[1:]} per run", x=x, y="tokens")
    missing = len(frame) - len(known)
    if missing:
        noun = "run" if missing == 1 else "runs"
        _note(ax, f"{missing} {noun} without a token count not shown")
    if not len(known):
        _empty(ax, "no runs with a token count")
        return
    for agent, group in known.groupby("agent", observed=True, dropna=False, sort=True):
        ax.scatter(
            _local_times(group["started_at"]),
            group[column].astype("float64"),
            s=36,
            alpha=0.85,
            label=str(agent),
            zorder=3,
        )
    _time_axis(ax, _local_times(known["started_at"]))
    ax.set_ylim(bottom=0)
    _count_axis(ax.yaxis)
    _report_style(ax, grid="y")
    ax.legend(title="agent", frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))


def _latency(
    history: Plotted, ax: Any, metric: str = "duration", include: str | Sequence[str] = "completed"
) -> None:
    statuses = timed_statuses(include)
    frame = history.to_pandas(["agent", "status", metric]).dropna(subset=[metric])
    if statuses is not None:
        frame = frame[frame["status"].isin(statuses)]
    counted = "all runs" if statuses is None else " or ".join(statuses) + " runs"
    groups = [
        (str(agent), group[metric].astype("float64").to_numpy())
        for agent, group in frame.groupby("agent", observed=True, dropna=False, sort=True)
    ]
    title = "Time to first token per agent" if metric == "ttft" else "Run duration per agent"
    _titled(ax, f"{title} ({counted}; pauses for a person left out)", x="agent", y="seconds")
    if not groups:
        what = "time to first token" if metric == "ttft" else "duration"
        _empty(ax, f"no {counted} with a {what}")
        return
    positions = range(1, len(groups) + 1)
    ax.boxplot(
        [values for _, values in groups],
        positions=list(positions),
        widths=0.5,
        showfliers=False,  # every run is drawn as a point instead
        medianprops={"color": INK, "linewidth": 2},
    )
    for position, (_, values) in zip(positions, groups, strict=True):
        ax.scatter(
            [position + offset for offset in _spread(len(values))],
            values,
            s=14,
            alpha=0.6,
            zorder=3,
        )
    ax.set_xticks(list(positions), [f"{name}\n(n={len(values)})" for name, values in groups])
    ax.set_ylim(bottom=0)
    _report_style(ax, grid="y")


def _tools(history: Plotted, ax: Any, top: int = 20) -> None:
    counts = list(history.tool_calls().counts().items())
    shown = counts[:top]
    more = f" (top {top} of {len(counts)})" if counts[top:] else ""
    _titled(ax, f"Tool calls per tool{more}", x="calls", y="tool")
    if not shown:
        _empty(ax, "no tool calls")
        return
    bars = ax.barh([name for name, _ in shown][::-1], [n for _, n in shown][::-1])
    ax.bar_label(bars, padding=3)
    ax.margins(x=0.1)
    _count_axis(ax.xaxis)
    _report_style(ax, grid="x")


# ---- pieces -------------------------------------------------------------------------------
def _local_times(column: Any) -> list[datetime]:
    """UTC times as naive local ones (each with its own UTC offset, so DST is right)."""
    return [datetime.fromtimestamp(moment.timestamp()) for moment in column]


def _utc_offset() -> str:
    """This machine's UTC offset now: ``UTC+01:00``."""
    offset = datetime.now().astimezone().isoformat(timespec="seconds")[-6:]
    return "UTC" if offset in ("+00:00", "-00:00") else f"UTC{offset}"


def _time_axis(ax: Any, times: Sequence[datetime]) -> None:
    from matplotlib import dates as typed_dates  # with matplotlib

    dates: Any = typed_dates  # their constructors are untyped
    locator = dates.AutoDateLocator(minticks=3, maxticks=8)
    formatter = dates.ConciseDateFormatter(locator)
    # Whole seconds at the finest level (matplotlib's default there is "%S.%f").
    formatter.formats[5] = formatter.zero_formats[5] = "%H:%M:%S"
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(formatter)
    first, last = min(times), max(times)
    if last - first < _MIN_SPAN:
        middle = first + (last - first) / 2
        ax.set_xlim(middle - _MIN_SPAN / 2, middle + _MIN_SPAN / 2)
    else:
        pad = (last - first) * 0.04
        ax.set_xlim(first - pad, last + pad)


PERIOD_SPAN = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(weeks=1)}
MAX_PERIOD_TICKS = 8
"""Period ticks on one axis at most: past it every second (third, ...) period is ticked."""


def period_tick(start: datetime, every: str) -> str:
    """A period's tick: ``14:00`` (an hour; its date under the first of each day),
    ``Tue 24 Nov`` (a day), ``wk of 23 Nov`` (a week, from Monday)."""
    if every == "hour":
        return f"{start:%H:%M}"
    if every == "week":
        return f"wk of {start.day} {start:%b}"
    return f"{start:%a} {start.day} {start:%b}"


def _period_axis(ax: Any, starts: Sequence[datetime], every: str) -> None:
    """Ticks at the periods' starts, labelled as the periods they are (never the seconds
    around midnight), half a period of room each side, so a single period is one point
    over its own date."""
    from matplotlib import dates as typed_dates  # with matplotlib

    date2num: Any = typed_dates.date2num  # untyped

    span = PERIOD_SPAN[every]
    periods = sorted(set(starts))
    step = -(-len(periods) // MAX_PERIOD_TICKS)
    ticked = periods[::step]
    labels = [period_tick(start, every) for start in ticked]
    if every == "hour":  # the date under the first hour of each day shown
        labels = [
            f"{label}\n{start.day} {start:%b}" if i == 0 or start.date() != ticked[i - 1].date()
            else label
            for i, (label, start) in enumerate(zip(labels, ticked, strict=True))
        ]  # fmt: skip
    ax.set_xticks([date2num(start) for start in ticked], labels)
    first, last = periods[0], periods[-1]
    ax.set_xlim(date2num(first - span / 2), date2num(last + span / 2))
    ax.set_xlabel(
        f"{ax.get_xlabel()}, {first:%Y}" + (f"–{last:%Y}" if last.year != first.year else "")
    )


def _count_axis(axis: Any) -> None:
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter  # with matplotlib

    axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))


def _spread(n: int) -> list[float]:
    """Fixed horizontal offsets for ``n`` points of one box, so they do not hide each other."""
    if n == 1:
        return [0.0]
    return [-0.12 + 0.24 * i / (n - 1) for i in range(n)]


def _titled(ax: Any, title: str, *, x: str, y: str) -> None:
    """A plot's title, at the left as a report's, and its axes' labels."""
    ax.set_title(title, loc="left")
    ax.set(xlabel=x, ylabel=y)


def _report_style(ax: Any, *, grid: str) -> None:
    ax.grid(axis=grid, alpha=0.3)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _note(ax: Any, text: str) -> None:
    ax.set_title(text, loc="right", fontsize="small", color=INK)


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color=INK)
    ax.set_xticks([])
    ax.set_yticks([])
