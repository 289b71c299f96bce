"""A summary as a person reads it: figures formatted in the display only (``$``, ``%``, ms
and s, periods as dates, missing keys named, no ``nan``), the columns that answer first and
the rest one argument away; the frame itself stays a DataFrame of plain numbers."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from agentnb._display.summary_table import (
    cell_text,
    key_label,
    percent,
    period_label,
    summary_html,
    summary_text,
    table,
    time_taken,
)
from agentnb._history import RunRecord
from agentnb._history._records import RUN_COLUMNS
from agentnb._history._run_filter import RunFilter
from agentnb._history._summary import SUMMARY_COLUMNS
from agentnb.history import HistoryStore

MONDAY = datetime(2026, 11, 23, tzinfo=UTC).timestamp()


def record(i: int, **values: Any) -> RunRecord:
    row: dict[str, Any] = {
        "local_id": f"run-{i}",
        "agent": "finance_agent",
        "status": "completed",
        "started_at": MONDAY + 86400 + i * 60.0,
        "duration": 0.25 + i,
        "ttft": 0.1,
        "total_tokens": 1200,
        "cost_usd": 0.0125,
        "model": "claude-haiku-4-5-20251001",
    } | values
    return RunRecord.from_row(tuple(row.get(name) for name, _ in RUN_COLUMNS))


@pytest.fixture
def store(tmp_path: Path) -> Any:
    records = [record(i) for i in range(3)]
    records += [record(10 + i, model=None, cost_usd=None, status="failed") for i in range(5)]
    with HistoryStore(tmp_path / "h.sqlite3") as opened:
        opened.import_records(records)
        yield opened


@pytest.mark.parametrize(
    ("column", "value", "text"),
    [
        ("cost_total", 1234.5, "$1,234.50"),
        ("cost_mean", 0.000435, "$0.000435"),
        ("cost_total", 0.0, "$0.00"),
        ("success_rate", 0.95, "95.0%"),
        ("failure_rate", 0.003, "0.3%"),
        ("success_rate", 1.0, "100.0%"),
        ("duration_p50", 0.35, "350 ms"),
        ("duration_p95", 2.34, "2.3 s"),
        ("paused_total", 245.0, "4 min 05 s"),
        ("tokens_total", 1234567.0, "1,234,567"),
        ("tool_calls_per_run", 1.5, "1.5"),
        ("cost_total", float("nan"), "—"),
        ("tokens_total", pd.NA, "—"),
        ("cost_total", None, "—"),
        ("score_mean", 0.8125, "0.8125"),  # a column a summary does not know: a number
    ],
)
def test_each_figure_reads_as_what_it_is(column: str, value: Any, text: str) -> None:
    assert cell_text(column, value) == text


def test_rates_and_times() -> None:
    assert percent(0.0) == "0.0%"
    assert time_taken(59.96) == "60.0 s"
    assert time_taken(61) == "1 min 01 s"


@pytest.mark.parametrize(
    ("every", "text"),
    [
        ("hour", "24 Nov 2026 14:00"),
        ("day", "Tue 24 Nov 2026"),
        ("week", "week of 24 Nov 2026"),
    ],
)
def test_periods_read_as_dates(every: str, text: str) -> None:
    start = pd.Timestamp("2026-11-24 14:00", tz="UTC")
    assert period_label(start, every) == text


def test_a_missing_key_is_named_never_nan() -> None:
    assert key_label("model", float("nan")) == "(no model)"
    assert key_label("agent", None) == "(no agent)"
    assert key_label("error_code", pd.NA) == "(none)"
    assert key_label("metadata.user", pd.NA) == "(no user)"
    assert period_label(pd.NaT, "day") == "(no time)"
    assert key_label("agent", "a\x1b[31mb") == "a⟨U+001B⟩[31mb"


def test_a_weeks_summary_reads_formatted(store: Any) -> None:
    summary = store.summary(RunFilter(), "model", every="week")
    html, text = summary._repr_html_(), repr(summary)
    for shown in (html, text):
        assert "nan" not in shown.lower().replace("nanosec", "")
        assert "week of 23 Nov 2026" in shown
        assert "00:00:00" not in shown
        assert "(no model)" in shown
        assert "$0.0375" in shown  # three priced runs of $0.0125
        assert "100.0%" in shown and "0.0%" in shown  # the failed runs have no model
        assert "1.2 s" in shown  # the median of 0.25, 1.25, 2.25 s
    assert str(summary) == text
    assert "claude-haiku-4-5-20251001" in html  # whole on hover, cut only past 28 chars
    assert html.count('colspan="8"') == 1  # the week heads its groups: no column of its own
    assert "more columns: summary(..., columns='all')" in text


def test_the_frame_stays_plain_numbers(store: Any) -> None:
    """Everything that worked with the DataFrame works the same: it is one."""
    summary = store.summary(RunFilter(), "model")
    plain = summary.to_pandas()
    assert type(plain) is pd.DataFrame
    assert isinstance(summary, pd.DataFrame)
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert len(summary) == 2
    assert summary["cost_total"].iloc[0] == pytest.approx(0.0375)
    assert summary.loc["claude-haiku-4-5-20251001", "runs"] == 3
    pd.testing.assert_frame_equal(summary.to_pandas(), store.runs().summary("model").to_pandas())
    # what is made from it is plain pandas, shown as pandas shows it
    for derived in (summary.sort_values("runs"), summary.head(1), summary[["runs"]]):
        assert type(derived) is pd.DataFrame
    assert type(summary["runs"]) is pd.Series
    assert "$" not in plain.to_string()
    again = pickle.loads(pickle.dumps(summary))
    assert type(again) is type(summary)
    assert repr(again) == repr(summary)


def test_the_rest_is_one_argument_away(store: Any) -> None:
    default = store.summary(RunFilter(), "agent")
    every = store.summary(RunFilter(), "agent", columns="all")
    named = store.runs().summary("agent", columns=["ttft_p50", "cost_total"])
    assert "ttft p50" not in repr(default) and "time p50" in repr(default)
    assert "ttft p50" in repr(every) and "tools / run" in repr(every)
    assert repr(named).splitlines()[0].split() == ["agent", "ttft", "p50", "cost"]
    with pytest.raises(ValueError, match="no column \\['cost'\\]"):
        repr(store.summary(RunFilter(), "agent", columns="cost"))


def test_runs_without_a_cost_are_counted_in_view(store: Any) -> None:
    """``unpriced`` (a total that leaves runs out) is shown where any group has one."""
    header = repr(store.summary(RunFilter(), "model")).splitlines()[0].split()
    assert header[:6] == ["model", "runs", "success", "cost", "per", "run"]
    assert "unpriced" in header


def shown_cells(summary: pd.DataFrame) -> dict[str, list[str]]:
    """Each column of ``summary`` as shown, by its name (what its heading's hover starts
    with)."""
    shown = table(summary, "all")
    assert shown is not None
    rows = [row for row in shown.rows if not isinstance(row, str)]
    return {
        column.about.split(": ")[0]: [str(row[i]) for row in rows]
        for i, column in enumerate(shown.columns)
        if column.about
    }


@pytest.mark.parametrize("computed_by", ["sqlite", "pandas"])
def test_a_bool_scores_mean_reads_as_the_share_of_true(store: Any, computed_by: str) -> None:
    """A bool score's mean is the share of runs scored True: shown as a percent, as the
    success rate is; a number score's mean stays a number; the frame keeps both as floats."""
    for run, correct in (("run-0", True), ("run-1", True), ("run-2", False)):
        store.add_score(run, "correct", correct)
    store.add_score("run-0", "quality", 0.5)
    store.add_score("run-1", "quality", 0.75)
    store.add_score("run-10", "quality", True)  # a number score given a bool: a number still
    summary = (
        store.summary(RunFilter(), "model")
        if computed_by == "sqlite"
        else store.runs().summary("model")
    )
    cells = shown_cells(summary)
    assert cells["score.correct"] == ["66.7%", "—"], cells
    assert cells["score.quality"] == ["0.625", "1"], cells
    assert cells["score.correct_n"] == ["3", "0"], cells
    assert "66.7%" in repr(summary) and "66.7%" in summary._repr_html_()
    plain = summary.to_pandas()
    assert plain["score.correct"].dtype == "float64"
    assert plain.loc["claude-haiku-4-5-20251001", "score.correct"] == pytest.approx(2 / 3)
    assert "%" not in plain.to_string()


def test_a_column_added_to_the_frame_is_shown_as_a_number() -> None:
    frame = pd.DataFrame({"runs": [2], "score_mean": [0.75]}, index=pd.Index(["a"], name="agent"))
    assert "score_mean" in summary_html(frame, None)
    assert "0.75" in summary_text(frame, None)


def test_a_score_label_with_a_bidi_override_shows_marked_in_every_header() -> None:
    """A label from a file or a server never reorders the text a person reads: the
    summary's text and HTML headers write U+202E as the runs table does."""
    frame = pd.DataFrame(
        {"runs": [2], "score.good\u202eevil": [0.5], "score.x[\u202ey]": [1]},
        index=pd.Index(["a\u202eb"], name="agent\u200b"),
    )
    for shown in (summary_text(frame, "all"), summary_html(frame, "all")):
        assert "\u202e" not in shown and "\u200b" not in shown, shown
        assert "good⟨U+202E⟩evil" in shown and "x[⟨U+202E⟩y]" in shown, shown
        assert "a⟨U+202E⟩b" in shown and "agent⟨U+200B⟩" in shown, shown


def test_an_empty_summary(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as opened:
        summary = opened.summary(RunFilter(), "agent", every="day")
        assert repr(summary) == "no runs to summarise"
        assert len(summary) == 0


def call_row(i: int, **values: Any) -> tuple[Any, ...]:
    from agentnb._history._records import TOOL_CALL_COLUMNS

    row: dict[str, Any] = {
        "local_id": f"run-{i // 2}",
        "call_id": f"call-{i}",
        "position": i,
        "agent": "research_team",
        "name": "analyst" if i % 2 else "calculator",
        "status": "succeeded",
        "duration": 0.000123456 + i,
        "total_tokens": 1234567 if i % 2 else None,
        "cost_usd": 0.000435 if i % 2 else None,
    } | values
    return tuple(row.get(name) for name, _ in TOOL_CALL_COLUMNS)


def test_a_tool_call_summary_reads_formatted() -> None:
    """``tool_calls().summary()`` is shown as ``summary()`` is: figures formatted, the
    columns that answer first, the rest one argument away; the frame keeps plain numbers."""
    from agentnb.history import ToolCallHistory

    rows = [call_row(i) for i in range(6)] + [call_row(6, status="failed", name=None)]
    calls = ToolCallHistory(rows)
    summary = calls.summary()
    html, text = summary._repr_html_(), repr(summary)
    for shown in (html, text):
        assert "0.000123456" not in shown and "1234567" not in shown
        assert "nan" not in shown.lower()
        assert "(unnamed)" in shown  # a call with no name, never nan or None
        assert "$0.0013" in shown  # three priced analyst calls of $0.000435
        assert "100.0%" in shown  # the unnamed call failed
        assert "3.0 s" in shown  # the median of the analyst calls: 1, 3, 5 s
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "columns='all'" in text
    every = calls.summary(columns="all")
    assert "3,703,701" in repr(every)  # tokens with separators
    assert isinstance(summary, pd.DataFrame)
    plain = summary.to_pandas()
    assert type(plain) is pd.DataFrame
    assert plain.loc["analyst", "cost_total"] == pytest.approx(0.000435 * 3)
    assert "$" not in plain.to_string()
