"""RunHistory: sequence, DataFrames with proper dtypes, summaries, plots, reprs, remote shape."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from agentnb._cli.main import main as cli_main
from agentnb._core.request import RunRequest
from agentnb._core.run import Run, RunErrorInfo
from agentnb.events import RunCompleted, TextDelta, ToolCallFinished, ToolCallStarted, Usage
from agentnb.history import HistoryStore, RunHistory
from agentnb.providers._base import RemoteRun

T0 = 1_700_000_000.0


def make_run(
    agent: str,
    *,
    at: float,
    status: str = "completed",
    tokens: int | None = 10,
    duration: float = 1.0,
    ttft: float = 0.2,
    tools: tuple[str, ...] = (),
    message: str = "question",
) -> Run:
    run = Run(agent=agent, message=message, provider="runagent", connection="default")
    run.start(at)
    run.apply(TextDelta(delta=f"answer of {agent}", received_at=at + ttft))
    for i, name in enumerate(tools):
        run.apply(ToolCallStarted(call_id=f"c{i}", name=name, received_at=at + ttft))
        run.apply(ToolCallFinished(call_id=f"c{i}", output=i, received_at=at + ttft + 0.01))
    if status == "completed":
        usage = Usage(total_tokens=tokens) if tokens is not None else None
        run.apply(RunCompleted(usage=usage, received_at=at + duration))
    else:
        run.finish(status, RunErrorInfo("went wrong", "E1") if status == "failed" else None)  # type: ignore[arg-type]
        run.finished_at = at + duration
    return run


@pytest.fixture
def store(tmp_path: Path) -> Iterator[HistoryStore]:
    with HistoryStore(tmp_path / "h.sqlite3") as opened:
        runs = [
            make_run("echo", at=T0, tokens=10, duration=1.0, ttft=0.1),
            make_run("echo", at=T0 + 10, tokens=30, duration=3.0, ttft=0.3, tools=("calculator",)),
            make_run("echo", at=T0 + 20, status="failed", duration=10.0),
            make_run(
                "finance_agent",
                at=T0 + 30,
                tokens=None,
                duration=5.0,
                ttft=0.5,
                tools=("get_stock_price", "get_stock_price", "calculator"),
            ),
        ]
        for run in runs:
            opened.record_start(run, RunRequest(agent=run.agent, message=run.message), base_url="")
            opened.record_end(run)
        still_running = Run(agent="finance_agent", message="pending")
        still_running.start(T0 + 40)
        opened.record_start(
            still_running, RunRequest(agent="finance_agent", message="pending"), base_url=""
        )
        yield opened


def test_sequence_of_records_most_recent_first(store: HistoryStore) -> None:
    history = store.runs()
    assert len(history) == 5
    assert [r.agent for r in history] == ["finance_agent"] * 2 + ["echo"] * 3
    assert history[0].status == "running"
    assert history[-1].total_tokens == 10
    sliced = history[1:3]
    assert isinstance(sliced, RunHistory)
    assert [r.status for r in sliced] == ["completed", "failed"]
    assert len(sliced.tool_calls()) == 3
    with pytest.raises(IndexError):
        history[5]


def test_to_pandas_has_proper_dtypes(store: HistoryStore) -> None:
    frame = store.runs().to_pandas()
    assert len(frame) == 5
    assert str(frame["started_at"].dtype).startswith("datetime64[")
    assert str(frame["started_at"].dt.tz) == "UTC"
    assert frame["started_at"].iloc[-1] == pd.Timestamp(T0, unit="s", tz="UTC")
    assert frame["finished_at"].isna().iloc[0]  # the running one
    for column in ("prompt_tokens", "completion_tokens", "total_tokens", "event_count"):
        assert frame[column].dtype == "Int64", column
    assert frame["total_tokens"].isna().tolist() == [True, True, True, False, False]
    for column in ("agent", "status", "provider", "connection"):
        assert isinstance(frame[column].dtype, pd.CategoricalDtype), column
    assert set(frame["status"].cat.categories) == {"running", "completed", "failed"}
    assert frame["duration"].dtype == "float64"
    assert isinstance(frame["message"].dtype, pd.StringDtype)
    assert frame["model_settings"].isna().all()
    assert list(store.runs().to_pandas(["agent", "ttft"]).columns) == ["agent", "ttft"]
    with pytest.raises(KeyError, match="unknown column"):
        store.runs().to_pandas(["tokens"])


def test_empty_history_still_has_typed_columns(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "empty.sqlite3") as empty:
        frame = empty.runs().to_pandas()
        assert len(frame) == 0
        assert frame["total_tokens"].dtype == "Int64"
        assert len(empty.runs().tool_calls().to_pandas()) == 0
        assert repr(empty.runs()) == "RunHistory: 0 runs"


def test_tool_calls_frame(store: HistoryStore) -> None:
    calls = store.runs().tool_calls()
    assert len(calls) == 4
    assert calls.counts() == {"get_stock_price": 2, "calculator": 2}
    frame = calls.to_pandas()
    assert list(frame["name"]) == ["get_stock_price", "get_stock_price", "calculator", "calculator"]
    assert list(frame["agent"]) == ["finance_agent"] * 3 + ["echo"]
    assert frame["position"].dtype == "Int64"
    assert str(frame["started_at"].dt.tz) == "UTC"
    runs = store.runs().to_pandas()
    joined = frame.merge(runs[["local_id", "message"]], on="local_id")
    assert len(joined) == 4


def test_summary_per_agent(store: HistoryStore) -> None:
    summary = store.runs().summary()
    echo = summary.loc["echo"]
    assert echo["runs"] == 3
    assert echo["completed"] == 2
    assert echo["failed"] == 1
    assert echo["success_rate"] == pytest.approx(2 / 3)
    assert echo["tokens_total"] == 40
    assert echo["tokens_mean"] == 20
    assert echo["duration_p50"] == pytest.approx(2.0)
    assert echo["duration_p95"] == pytest.approx(2.9)  # completed runs: not the failed 10 s
    assert echo["ttft_p50"] == pytest.approx(0.2)
    assert echo["tool_calls_per_run"] == pytest.approx(1 / 3)
    finance = summary.loc["finance_agent"]
    assert finance["runs"] == 2
    assert finance["success_rate"] == 1.0  # the running run does not count against it
    assert pd.isna(finance["tokens_total"])
    overall = store.runs().summary(by=None)
    assert overall["runs"].tolist() == [5]
    by_two = store.runs().summary(by=["agent", "status"])
    assert by_two.loc[("echo", "failed"), "runs"] == 1
    with pytest.raises(ValueError, match="cannot summarise by"):
        store.runs().summary(by="message")


@pytest.mark.parametrize("kind", ["tokens", "latency", "tools"])
def test_plots_draw_on_axes(store: HistoryStore, kind: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, ax = plt.subplots()
    try:
        returned = store.runs().plot(kind, ax=ax)
        assert returned is ax
        if kind == "tools":
            assert [t.get_text() for t in ax.get_yticklabels()] == ["calculator", "get_stock_price"]
        elif kind == "latency":  # completed runs only (one echo run failed)
            assert [t.get_text() for t in ax.get_xticklabels()] == [
                "echo\n(n=2)",
                "finance_agent\n(n=1)",
            ]
            assert "(completed runs;" in ax.get_title(loc="left")
            plt.cla()
            store.runs().plot(kind, ax=ax, include="all")
            assert next(t.get_text() for t in ax.get_xticklabels()) == "echo\n(n=3)"
        else:
            assert [c.get_label() for c in ax.collections] == ["echo"]
    finally:
        plt.close(figure)


def test_plot_rejects_unknown_kinds(store: HistoryStore) -> None:
    with pytest.raises(ValueError, match="choose from tokens, latency, tools"):
        store.runs().plot("pie")


def test_html_repr_escapes_untrusted_text(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run = make_run("<script>alert(1)</script>", at=T0, message='<img src=x onerror="boom">')
        store.record_end(run)
        html = store.runs()._repr_html_()
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html
    assert "RunHistory: 1 run" in html


def test_text_repr_is_an_aligned_table(store: HistoryStore) -> None:
    text = repr(store.runs())
    lines = text.splitlines()
    assert lines[0] == "RunHistory: 5 runs — 3 completed, 1 running, 1 failed"
    assert lines[1].split()[:4] == ["started", "agent", "status", "message"]
    assert "went wrong" in text


def test_history_from_in_memory_runs() -> None:
    runs = [make_run("echo", at=T0, tools=("calculator",)), make_run("echo", at=T0 + 1)]
    history = RunHistory.from_runs(runs)
    assert history.local_ids == [r.local_id for r in runs]
    assert history[0].answer == "answer of echo"
    assert len(history.tool_calls()) == 1
    assert history.to_pandas()["total_tokens"].tolist() == [10, 10]


def test_history_from_records_round_trips(store: HistoryStore) -> None:
    history = store.runs()
    copy = RunHistory.from_records(list(history), tool_calls=list(history.tool_calls()))
    assert list(copy) == list(history)
    assert list(copy.tool_calls()) == list(history.tool_calls())
    assert copy.to_pandas().equals(history.to_pandas())


def test_remote_listing_has_the_same_shape() -> None:
    remote = [
        RemoteRun(
            run_id="r2",
            agent="finance_agent",
            thread_id="t",
            status="CANCELED",
            created_at="2024-05-01T10:00:00Z",
            finished_at="2024-05-01T10:00:04.5Z",
            prompt_tokens=3,
            completion_tokens=4,
        ),
        RemoteRun(
            run_id="r1",
            agent="finance_agent",
            thread_id="t",
            status="COMPLETED",
            started_at="2024-05-01T09:00:00",
            total_tokens=9,
            raw={"metadata": {"k": "v"}, "error": {"message": "none"}},
        ),
    ]
    history = RunHistory.from_remote(remote, provider="seekrflow", connection="prod")
    assert history.source == "remote"
    first, second = history
    assert (first.local_id, first.status, first.total_tokens) == ("r2", "cancelled", 7)
    assert first.duration == pytest.approx(4.5)
    assert (second.status, second.metadata, second.error_message) == (
        "completed",
        {"k": "v"},
        "none",
    )
    assert second.started_at is not None and second.started_at.hour == 9  # naive means UTC
    frame = history.to_pandas()
    assert frame["provider"].tolist() == ["seekrflow", "seekrflow"]
    assert history.summary()["runs"].tolist() == [2]
    assert "(remote)" in repr(history)


def test_to_pandas_without_pandas_names_the_extra(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r'pip install "agentnb\[pandas\]"'):
        store.runs().to_pandas()
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    monkeypatch.delitem(sys.modules, "pandas")
    with pytest.raises(ImportError, match=r'pip install "agentnb\[plot\]"'):
        store.runs().plot("tokens")


def test_importing_agentnb_does_not_import_pandas_or_matplotlib() -> None:
    code = (
        "import sys, agentnb, agentnb._history; agentnb.runs; "
        "print('pandas' in sys.modules, 'matplotlib' in sys.modules)"
    )
    env_path = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": env_path, "AGENTNB_HISTORY": "off", "PATH": ""},
    )
    assert out.stdout.split() == ["False", "False"]


# ---- the CLI -----------------------------------------------------------------------------
def cli(*argv: str) -> int:
    return cli_main(["runs", *argv])


def test_cli_prints_a_table(store: HistoryStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--db", str(store.path), "--agent", "echo", "--limit", "2") == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["started", "agent", "status", "message"]
    assert len(lines) == 3
    assert "2 runs, most recent first" in err


def test_cli_json_is_parseable(store: HistoryStore, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("--db", str(store.path), "--json", "--status", "failed") == 0
    records = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in records] == ["failed"]
    assert records[0]["started_at"] == "2023-11-14T22:13:40+00:00"


def test_cli_since_spans_and_errors(
    store: HistoryStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("--db", str(store.path), "--since", "1h", "--json") == 0
    assert json.loads(capsys.readouterr().out) == []  # T0 is long ago
    assert cli("--db", str(store.path), "--status", "done") == 2
    assert "unknown run status 'done'" in capsys.readouterr().err


def test_cli_does_not_create_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.sqlite3"
    assert cli("--db", str(missing)) == 0
    assert not missing.exists()
    assert "no runs recorded yet" in capsys.readouterr().err


def test_cli_is_registered(store: HistoryStore) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "agentnb", "runs", "--db", str(store.path), "--json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert len(json.loads(out.stdout)) == 5


def test_the_table_shows_the_model_and_the_cost_with_its_source_on_hover() -> None:
    priced = make_run("echo", at=T0)
    priced.model = "gpt-4o-mini"
    priced.usage = Usage(prompt_tokens=1000, completion_tokens=500, cost=0.00123).merged(None)
    unknown = make_run("writer", at=T0 + 1)
    unknown.model = "corp-llm"
    unknown.usage = Usage(prompt_tokens=1000, completion_tokens=500).merged(None)
    history = RunHistory.from_runs([priced, unknown])
    lines = repr(history).splitlines()
    header = lines[1].split()
    assert header[header.index("tokens") + 1 : header.index("tokens") + 3] == ["model", "cost"]
    assert "gpt-4o-mini  $0.00123" in lines[2] and "corp-llm" in lines[3]
    assert "$" not in lines[3]  # an unknown cost is left empty, never $0.00
    assert "$0.00123 (platform)" in history._repr_html_()
    frame = history.to_pandas()
    assert (
        frame["cost_usd"].tolist()[0] == 0.00123 and frame["cost_source"].tolist()[0] == "platform"
    )
    assert frame["cost_usd"].isna().tolist() == [False, True]
