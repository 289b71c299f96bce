"""``RunHistory.plot()`` as report figures, with real matplotlib (Agg) and in a real kernel.

Tokens per run are points (runs are not a series: no line joins them), coloured by agent with
a legend; the time axis reads as clock times, never "39:30.500000"; every kind has a title and
axes labelled with units; and in a notebook the cell shows the figure with no ``<Axes…>``
text under it.
"""

from __future__ import annotations

import pickle
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kernel_session import notebook_client

from agentnb._core.exceptions import ConfigurationError
from agentnb._history import ToolCallRecord
from agentnb.history import RunHistory

matplotlib = pytest.importorskip("matplotlib")
pytest.importorskip("pandas")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.dates import ConciseDateFormatter  # noqa: E402

NOW = time.time()


def batch(gap: float = 0.5) -> RunHistory:
    """Seven runs of three agents, ``gap`` seconds apart (a batch: within seconds)."""
    agents = ["echo", "finance_agent", "writer", "echo", "finance_agent", "writer", "echo"]
    n = len(agents)
    return RunHistory(
        {
            "local_id": [f"{i:032x}" for i in range(n)],
            "agent": agents,
            "status": ["completed"] * 5 + ["cancelled", "failed"],
            "started_at": [NOW - 600 + i * gap for i in range(n)],
            "total_tokens": [120, 2400, 3100, 90, 1800, None, None],
            "duration": [0.5, 3.2, 8.0, 0.4, 2.9, 4.0, 0.2],
            "ttft": [0.1, 0.8, 0.5, 0.1, 0.7, 0.6, None],
            "tool_call_count": [0, 2, 0, 0, 1, 0, 0],
        },
        tool_rows=[
            ToolCallRecord(f"{1:032x}", "c1", 0, "finance_agent", "get_stock_price", "succeeded",
                           None, None, None, None, None, None).to_row(),
            ToolCallRecord(f"{1:032x}", "c2", 1, "finance_agent", "calculator", "succeeded",
                           None, None, None, None, None, None).to_row(),
            ToolCallRecord(f"{4:032x}", "c3", 0, "finance_agent", "get_stock_price", "succeeded",
                           None, None, None, None, None, None).to_row(),
        ],
    )  # fmt: skip


@pytest.fixture
def drawn() -> Iterator[list[Any]]:
    """Closes the figures a test's plots made."""
    axes: list[Any] = []
    yield axes
    for ax in axes:
        plt.close(ax.figure)


def draw(drawn: list[Any], history: RunHistory, kind: str, **options: Any) -> Any:
    ax = history.plot(kind, **options)
    drawn.append(ax)
    ax.figure.canvas.draw()
    return ax


def labelled_like_a_report(ax: Any) -> None:
    assert ax.get_title(loc="left"), "a title"
    assert ax.get_xlabel() and ax.get_ylabel(), "both axes labelled"


def test_tokens_are_points_per_run_coloured_by_agent(drawn: list[Any]) -> None:
    ax = draw(drawn, batch(), "tokens")
    joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "", " ")]
    assert joined == [], "no line joins unrelated runs"
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == 5, "one point per run with a token count"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "echo",
        "finance_agent",
        "writer",
    ]
    assert ax.get_legend().get_title().get_text() == "agent"
    labelled_like_a_report(ax)
    assert "tokens" in ax.get_ylabel()
    assert "local time" in ax.get_xlabel()
    assert ax.get_ylim()[0] == 0, "counts start at zero"
    assert ax.get_title(loc="right") == "2 runs without a token count not shown"


@pytest.mark.parametrize("gap", [0.5, 40.0, 3600.0, 86400.0 * 3])
def test_the_time_axis_reads_as_clock_times(drawn: list[Any], gap: float) -> None:
    ax = draw(drawn, batch(gap), "tokens")
    assert isinstance(ax.xaxis.get_major_formatter(), ConciseDateFormatter)
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert len(labels) >= 2, labels
    for label in labels:
        assert not re.search(r"\.\d", label), f"no fractions of a second: {labels}"
        assert not re.fullmatch(r"\d\d:\d\d\.\d+", label), labels
    if gap < 3600:
        assert all(re.fullmatch(r"\d\d:\d\d(:\d\d)?", label) for label in labels), labels


def test_latency_boxes_show_every_run_and_how_many(drawn: list[Any]) -> None:
    # completed runs by default (issue 27), and the title says so
    ax = draw(drawn, batch(), "latency")
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["echo\n(n=2)", "finance_agent\n(n=2)", "writer\n(n=1)"]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 5, "every completed run's point"
    assert "(completed runs; pauses for a person left out)" in ax.get_title(loc="left")
    every = draw(drawn, batch(), "latency", include="all")
    ticks = [t.get_text() for t in every.get_xticklabels()]
    assert ticks == ["echo\n(n=3)", "finance_agent\n(n=2)", "writer\n(n=2)"]
    assert sum(len(c.get_offsets()) for c in every.collections) == 7, "every run's point"
    assert "(all runs;" in every.get_title(loc="left")
    labelled_like_a_report(ax)
    assert "seconds" in ax.get_ylabel()
    ttft = draw(drawn, batch(), "latency", metric="ttft")
    assert "first token" in ttft.get_title(loc="left").lower()


def test_tool_bars_carry_their_counts(drawn: list[Any]) -> None:
    ax = draw(drawn, batch(), "tools")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["calculator", "get_stock_price"]
    assert sorted(t.get_text() for t in ax.texts) == ["1", "2"]
    labelled_like_a_report(ax)
    assert ax.get_xlabel() == "calls"


@pytest.mark.parametrize("kind", ["tokens", "latency", "tools"])
def test_an_empty_history_draws_a_labelled_empty_figure(drawn: list[Any], kind: str) -> None:
    ax = draw(drawn, RunHistory(), kind)
    assert ax.get_title(loc="left")
    assert any("no " in t.get_text() for t in ax.texts)


def test_the_axes_it_draws_on_is_returned_and_prints_nothing_in_ipython(
    drawn: list[Any],
) -> None:
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.axes import Axes

    ax = draw(drawn, batch(), "tokens")
    assert isinstance(ax, Axes)
    assert DisplayFormatter().format(ax) == ({}, {}), "no <Axes…> text under the figure"
    copy = pickle.loads(pickle.dumps(ax.figure))
    drawn.append(copy.axes[0])
    assert type(copy.axes[0]).__name__ == "QuietAxes"
    _, mine = plt.subplots()
    drawn.append(mine)
    assert batch().plot("latency", ax=mine) is mine, "yours, when you pass ax="


def test_unknown_options_are_refused(drawn: list[Any]) -> None:
    with pytest.raises(ValueError, match="metric must be"):
        batch().plot("latency", metric="p99")
    with pytest.raises(ValueError, match="column must be one of"):
        batch().plot("tokens", column="duration")
    plt.close("all")


# ---- in a real kernel ------------------------------------------------------------------------
@pytest.mark.kernel
def test_in_a_notebook_the_cell_shows_the_figure_and_no_axes_text() -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    setup = (
        "import time\n"
        "from agentnb.history import RunHistory\n"
        "now = time.time()\n"
        "history = RunHistory({'local_id': ['a', 'b', 'c'], 'agent': ['echo', 'writer', 'echo'],"
        " 'status': ['completed'] * 3, 'started_at': [now - 2, now - 1.5, now - 1],"
        " 'total_tokens': [10, 200, 30], 'duration': [0.5, 2.0, 0.7]})"
    )
    cells = [setup, "history.plot('tokens')", "history.plot('latency')"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook_client(notebook).execute()
    for cell in notebook.cells[1:]:
        kinds = [(o.output_type, sorted(o.get("data", {}))) for o in cell.outputs]
        assert kinds == [("display_data", ["image/png", "text/plain"])], kinds
        texts = [o["data"].get("text/plain", "") for o in cell.outputs]
        assert not any("<Axes" in text for text in texts), texts


# ---- over time ------------------------------------------------------------------------------
DAY = 86400.0


def days() -> RunHistory:
    """Runs of two agents and two models over three days, some without a cost."""
    start = (NOW // DAY - 3) * DAY + 3600  # 01:00 UTC, three days ago
    rows = [
        ("echo", "agentnb-echo", "completed", 0, None, 0.5),
        ("finance_agent", "gpt-4.1", "completed", 0, 0.02, 3.0),
        ("finance_agent", "gpt-4.1", "failed", 0, 0.01, 1.0),
        ("finance_agent", "gpt-4.1", "completed", 1, 0.03, 2.0),
        ("echo", "agentnb-echo", "completed", 2, None, 0.4),
        ("finance_agent", "gpt-4o-mini", "completed", 2, 0.001, 4.0),
    ]
    return RunHistory(
        {
            "local_id": [f"{i:032x}" for i in range(len(rows))],
            "agent": [r[0] for r in rows],
            "model": [r[1] for r in rows],
            "status": [r[2] for r in rows],
            "started_at": [start + r[3] * DAY + i for i, r in enumerate(rows)],
            "cost_usd": [r[4] for r in rows],
            "duration": [r[5] for r in rows],
            "total_tokens": [10, 100, 50, 200, 10, 300],
            "metadata": [
                '{"user": "alice"}',
                '{"user": "bob"}',
                None,
                '{"user": "bob"}',
                '{"user": "alice"}',
                '{"team": "red"}',
            ],
        }
    )


def lines(ax: Any) -> dict[str, list[float]]:
    return {line.get_label(): list(line.get_ydata()) for line in ax.get_lines()}


def test_cost_per_day_by_agent_draws_each_days_known_cost(drawn: list[Any]) -> None:
    ax = draw(drawn, days(), "cost", by="agent", every="day")
    labelled_like_a_report(ax)
    assert ax.get_title(loc="left") == "Cost per day by agent"
    assert lines(ax) == {"finance_agent": pytest.approx([0.03, 0.03, 0.001])}  # echo: unknown
    assert ax.get_title(loc="right") == "not priced, so not drawn: echo"  # said, not just absent
    assert lines(draw(drawn, days(), "cost", by="model")) == {
        "gpt-4.1": pytest.approx([0.03, 0.03]),
        "gpt-4o-mini": pytest.approx([0.001]),
    }


def test_cost_per_day_by_a_metadata_key_draws_a_line_per_value(drawn: list[Any]) -> None:
    ax = draw(drawn, days(), "cost", by="metadata.user", every="day")
    assert ax.get_title(loc="left") == "Cost per day by metadata.user"
    assert lines(ax) == {  # alice: echo only, no known cost; runs without the key: (no user)
        "bob": pytest.approx([0.02, 0.03]),
        "(no user)": pytest.approx([0.01, 0.001]),
    }
    with pytest.raises(ValueError, match=r"or metadata\.<key>"):
        days().plot("cost", by="user")
    plt.close("all")


def test_failures_and_latency_over_time(drawn: list[Any]) -> None:
    failures = lines(draw(drawn, days(), "failures"))
    assert failures == {"echo": [0.0, 0.0], "finance_agent": pytest.approx([0.5, 0.0, 0.0])}
    latency = lines(draw(drawn, days(), "latency", every="day"))
    assert latency["finance_agent"] == pytest.approx([3.0, 2.0, 4.0])  # completed runs only
    weekly = lines(draw(drawn, days(), "tokens", every="week"))
    assert sum(sum(points) for points in weekly.values()) == 670  # every run's tokens, once


def test_tool_failures_and_times_over_time(drawn: list[Any]) -> None:
    at = datetime.fromtimestamp((NOW // DAY - 1) * DAY + 60, tz=UTC)
    calls = [
        ("get_stock_price", "succeeded", 0.2),
        ("get_stock_price", "failed", 0.4),
        ("calculator", "succeeded", 0.1),
        ("get_stock_price", "running", None),  # not ended: not counted either way
    ]
    history = RunHistory(
        {"local_id": ["r"], "agent": ["a"], "status": ["completed"]},
        tool_rows=[
            ToolCallRecord(
                "r", f"c{i}", i, "a", name, status, None, None, None, at, None, duration
            ).to_row()
            for i, (name, status, duration) in enumerate(calls)
        ],
    )
    failures = lines(draw(drawn, history, "failures", by="tool", every="hour"))
    assert failures == {"calculator": [0.0], "get_stock_price": [0.5]}
    times = lines(draw(drawn, history, "latency", by="tool", every="day"))
    assert times == {"calculator": [0.1], "get_stock_price": pytest.approx([0.3])}


def test_tool_failures_over_time_count_what_the_tool_summary_counts(drawn: list[Any]) -> None:
    """A call denied or left without a result counted against its tool, over time as in
    ``tool_calls().summary()``; a call still running or awaiting a decision not at all."""
    at = datetime.fromtimestamp((NOW // DAY - 1) * DAY + 60, tz=UTC)
    statuses = ["succeeded", "failed", "denied", "no_result", "running", "awaiting_approval"]
    history = RunHistory(
        {"local_id": ["r"], "agent": ["a"], "status": ["completed"]},
        tool_rows=[
            ToolCallRecord(
                "r", f"c{i}", i, "a", "get_stock_price", status, None, None, None, at, None, None
            ).to_row()
            for i, status in enumerate(statuses)
        ],
    )
    summary = history.tool_calls().summary().to_pandas()
    assert summary.loc["get_stock_price", "failure_rate"] == 0.75
    failures = lines(draw(drawn, history, "failures", by="tool", every="hour"))
    assert failures == {"get_stock_price": [0.75]}


def test_tool_series_are_the_tool_summary_per_period_a_nameless_call_included(
    drawn: list[Any],
) -> None:
    """The plot by tool draws ``tool_calls().summary(every=...)``: a call the platform named
    nothing is its own line, ``(unnamed)``, as the summary counts it (it was left out)."""
    day = (NOW // DAY - 1) * DAY
    calls = [
        ("quote", "succeeded", 0.2, 60),
        (None, "failed", 0.4, 60),
        ("quote", "failed", 1.0, DAY),
    ]
    history = RunHistory(
        {"local_id": ["r"], "agent": ["a"], "status": ["completed"]},
        tool_rows=[
            ToolCallRecord(
                "r",
                f"c{i}",
                i,
                "a",
                name,
                status,
                None,
                None,
                None,
                datetime.fromtimestamp(day + offset, tz=UTC),
                None,
                duration,
            ).to_row()
            for i, (name, status, duration, offset) in enumerate(calls)
        ],
    )
    summary = history.tool_calls().summary(every="day").to_pandas()
    assert list(summary.index.names) == ["period", "name"]
    assert list(summary["calls"]) == [1, 1, 1]
    failures = lines(draw(drawn, history, "failures", by="tool", every="day"))
    assert failures == {"quote": [0.0, 1.0], "(unnamed)": [1.0]}
    with pytest.raises(ConfigurationError, match="every must be one of"):
        history.tool_calls().summary(every="month")


@pytest.mark.parametrize(
    ("kind", "options", "error"),
    [
        ("cost", {"by": "status"}, "by must be one of"),
        ("cost", {"every": "month"}, "every must be"),
        ("cost", {"column": "x"}, "by= and every= only, not column"),
        ("tools", {"every": "day"}, "the kinds over time are"),
    ],
)
def test_bad_series_options_are_refused(
    drawn: list[Any], kind: str, options: dict[str, Any], error: str
) -> None:
    before = plt.get_fignums()
    with pytest.raises(ValueError, match=error):
        days().plot(kind, **options)
    assert plt.get_fignums() == before  # no figure made for it


def test_an_empty_history_draws_an_empty_series(drawn: list[Any]) -> None:
    ax = draw(drawn, RunHistory(), "cost")
    assert not ax.get_lines()


# ---- periods and themes ---------------------------------------------------------------------
def one_day(runs: int = 3) -> RunHistory:
    """``runs`` runs minutes apart on one day (a day's plot: a single period)."""
    start = datetime(2026, 11, 24, 9, tzinfo=UTC).timestamp()
    return RunHistory(
        {
            "local_id": [f"{i:032x}" for i in range(runs)],
            "agent": ["finance_agent"] * runs,
            "model": [None] * runs,
            "status": ["completed"] * runs,
            "started_at": [start + i * 60 for i in range(runs)],
            "cost_usd": [0.01] * runs,
            "duration": [1.0] * runs,
            "total_tokens": [100] * runs,
        }
    )


def tick_labels(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.get_xticklabels() if t.get_text()]


def test_a_single_day_is_one_point_over_its_date_not_seconds_around_midnight(
    drawn: list[Any],
) -> None:
    ax = draw(drawn, one_day(), "cost", every="day")
    assert tick_labels(ax) == ["Tue 24 Nov"]
    assert "2026" in ax.get_xlabel()
    assert lines(ax) == {"finance_agent": pytest.approx([0.03])}
    by_model = draw(drawn, one_day(), "cost", by="model")
    assert lines(by_model) == {"(no model)": pytest.approx([0.03])}  # never "nan"


def test_ticks_follow_the_period(drawn: list[Any]) -> None:
    assert tick_labels(draw(drawn, one_day(), "cost", every="week")) == ["wk of 23 Nov"]
    hours = tick_labels(draw(drawn, one_day(), "cost", every="hour"))
    assert hours == ["09:00\n24 Nov"]
    three = tick_labels(draw(drawn, days(), "cost", every="day"))
    assert len(three) == 3
    assert all(re.fullmatch(r"\w{3} \d{1,2} \w{3}", label) for label in three), three
    many = RunHistory(
        {
            "local_id": [f"{i:032x}" for i in range(40)],
            "agent": ["a"] * 40,
            "status": ["completed"] * 40,
            "started_at": [NOW - i * DAY for i in range(40)],
            "cost_usd": [0.01] * 40,
        }
    )
    assert 4 <= len(tick_labels(draw(drawn, many, "cost"))) <= 8  # never crowded


def luminance(rgb: Any) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(float(c)) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: float, b: float) -> float:
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


@pytest.mark.parametrize("kind", ["cost", "tokens", "latency", "tools"])
def test_a_figure_reads_on_a_light_and_a_dark_notebook(drawn: list[Any], kind: str) -> None:
    """Its background is the page's (transparent), and every text, tick and line of the
    frame is a grey legible on white and on JupyterLab's dark ``#111``."""
    from matplotlib.colors import to_rgba

    ax = draw(drawn, days(), kind)
    assert to_rgba(ax.figure.get_facecolor())[3] == 0
    assert to_rgba(ax.get_facecolor())[3] == 0
    texts = [ax.title, ax._left_title, ax.xaxis.label, ax.yaxis.label]
    texts += ax.get_xticklabels() + ax.get_yticklabels() + list(ax.texts)
    legend = ax.get_legend()
    if legend is not None:
        texts += legend.get_texts()
    colours = [to_rgba(t.get_color()) for t in texts if t.get_text()]
    colours += [to_rgba(s.get_edgecolor()) for s in ax.spines.values() if s.get_visible()]
    colours += [to_rgba(line.get_color()) for line in ax.xaxis.get_ticklines()]
    white, dark = luminance((1, 1, 1)), luminance(to_rgba("#111111"))
    for colour in colours:
        assert contrast(luminance(colour), white) >= 3, colour
        assert contrast(luminance(colour), dark) >= 3, colour


@pytest.mark.parametrize("kind", ["cost", "tokens", "latency", "tools"])
def test_the_notebook_draws_no_box_under_a_figure(drawn: list[Any], kind: str) -> None:
    """IPython's inline backend (matplotlib-inline) marks a transparent figure whose tick
    labels are all light or all dark (ITU BT.601 luma above or below 0.5) as needing a dark
    or light background, and JupyterLab then draws a box of that colour under it in the
    other theme: a figure here has tick labels of both."""
    from matplotlib.colors import to_rgba

    ax = draw(drawn, batch() if kind == "tools" else days(), kind)
    labels = ax.get_xticklabels() + ax.get_yticklabels()
    light = {
        sum(c * w for c, w in zip(to_rgba(t.get_color())[:3], (0.299, 0.587, 0.114), strict=True))
        > 0.5
        for t in labels
    }
    assert light == {True, False}
