"""``agentnb.summary()`` / ``HistoryStore.summary()``: the figures of ``runs().summary()``
computed by SQLite, equal to pandas' own on the same runs (groups, NULL keys, statuses a
platform made up, filters, an empty history)."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._history import RunRecord, close_default_stores
from agentnb._history._migrations import apply_migrations
from agentnb._history._records import RUN_COLUMNS
from agentnb._history._run_filter import RunFilter
from agentnb._history._summary import counts_sql, summary_keys, timed_values_sql
from agentnb.events import RunCompleted, TextDelta, Usage
from agentnb.history import HistoryStore

STATUSES = ("completed", "completed", "failed", "cancelled", "interrupted", "running", "paused")


def record_values(i: int, rng: random.Random, now: float) -> dict[str, Any]:
    status = STATUSES[i % len(STATUSES)]
    has_tokens = i % 3 != 0
    return {
        "local_id": f"run-{i}",
        "agent": (None, "analyst", "trader", "écrivain")[i % 4],
        "provider": ("operativus", "seekrflow")[i % 2],
        "status": status,
        "error_code": "CAPACITY" if status == "failed" else None,
        "total_tokens": rng.randint(1, 5000) if has_tokens else None,
        "started_at": now - i * 600.0,
        "duration": rng.uniform(0.1, 30) if i % 5 else None,
        "ttft": rng.uniform(0.01, 2) if i % 4 else None,
        "tool_call_count": i % 3 if i % 7 else None,
        "model": ("gpt-4.1", "gpt-4o-mini", None)[i % 3],
        "cost_usd": rng.uniform(0, 0.05) if i % 4 else None,  # some unknown, none counted 0
        "cost_source": "genai-prices" if i % 4 else None,
        "paused_seconds": rng.uniform(0, 60) if i % 3 == 1 else None,
        "thread_id": f"thread-{i % 5}",
        "metadata": None if metadata_of(i) is None else json.dumps(metadata_of(i)),
    }


def metadata_of(i: int) -> dict[str, Any] | None:
    """Users and teams as strings, a number and a bool; some runs without a key, some with
    none at all."""
    if i % 11 == 0:
        return None
    metadata: dict[str, Any] = {"user": ("alice", "bob", "chloé")[i % 3], "tier": i % 2}
    if i % 4:
        metadata["team"] = ("red", "blue")[i % 2]
    if i % 5 == 0:
        metadata["beta"] = True
    return metadata


def give_scores(store: HistoryStore) -> None:
    """A bool, a number and a label given to some runs; some replaced later."""
    for i in range(0, 400, 3):
        store.add_score(f"run-{i}", "correct", i % 2 == 0)
    for i in range(0, 400, 7):
        store.add_score(f"run-{i}", "quality", (i % 5) / 4)
    for i in range(1, 400, 5):
        store.add_score(f"run-{i}", "verdict", ("good", "bad", "meh")[i % 3])
    for i in range(0, 60, 3):
        store.add_score(f"run-{i}", "correct", True)  # a later verdict replaces the first


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HistoryStore]:
    path = tmp_path_factory.mktemp("summary") / "history.sqlite3"
    rng, now = random.Random(3), time.time()
    records = [
        RunRecord.from_row(tuple(record_values(i, rng, now).get(n) for n, _ in RUN_COLUMNS))
        for i in range(400)
    ]
    with HistoryStore(path) as opened:
        assert opened.import_records(records) == 400
        give_scores(opened)
        yield opened


def same(sql: pd.DataFrame, pandas: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(sql, pandas, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(
    "by",
    [
        "agent",
        None,
        "status",
        "error_code",
        "provider",
        "model",
        ["agent", "status"],
        ["provider", "agent"],
        "thread_id",
        ["agent", "model"],
        "metadata.user",
        ["agent", "metadata.team"],
        ["metadata.team", "metadata.user"],
        "metadata.tier",
        "metadata.beta",
        "metadata.nobody",
    ],
)
def test_sql_summary_equals_pandas_summary(store: HistoryStore, by: Any) -> None:
    same(store.summary(RunFilter(), by), store.runs().summary(by))


@pytest.mark.parametrize("every", ["hour", "day", "week"])
@pytest.mark.parametrize("by", [None, "model", ["agent", "status"], "metadata.user"])
def test_per_period_sql_equals_pandas(store: HistoryStore, every: str, by: Any) -> None:
    same(store.summary(RunFilter(), by, every=every), store.runs().summary(by, every=every))


@pytest.mark.parametrize("include", ["all", "failed", ["completed", "cancelled"]])
@pytest.mark.parametrize("every", [None, "day"])
@pytest.mark.parametrize("by", [None, "model", ["agent", "status"], "metadata.user"])
def test_sql_equals_pandas_for_each_include(
    store: HistoryStore, include: Any, every: str | None, by: Any
) -> None:
    sql = store.summary(RunFilter(), by, every=every, include=include)
    same(sql, store.runs().summary(by, every=every, include=include))
    assert sql.attrs["timed"] == store.runs().summary(by, include=include).attrs["timed"]
    assert sql["paused_total"].notna().any()


def test_cost_per_day_is_the_sum_of_each_days_known_costs(store: HistoryStore) -> None:
    frame = store.runs().to_pandas(["started_at", "cost_usd"])
    days = frame["started_at"].dt.floor("D")
    want = frame.groupby(days)["cost_usd"].sum(min_count=1)
    unknown = frame["cost_usd"].isna().groupby(days).sum()
    got = store.summary(RunFilter(), None, every="day")
    assert list(got.index) == list(want.index)
    assert list(got["cost_total"]) == pytest.approx(list(want), nan_ok=True)  # no known cost
    assert list(got["unpriced"] + got["no_usage"]) == list(unknown)
    assert got["runs"].sum() == len(frame)


def test_weeks_start_on_monday_utc(store: HistoryStore) -> None:
    got = store.summary(RunFilter(), None, every="week")
    assert all(start.weekday() == 0 and start.hour == 0 for start in got.index)
    assert str(got.index.tz) == "UTC"


def test_failure_rate_is_failed_over_ended(store: HistoryStore) -> None:
    got = store.summary(RunFilter(), None)
    ended = got["runs"] - got["running"]
    assert got["failure_rate"].iloc[0] == pytest.approx(got["failed"].iloc[0] / ended.iloc[0])


@pytest.mark.parametrize(
    "filters",
    [
        {"agent": "analyst"},
        {"agent": ["trader", "écrivain"], "since": timedelta(days=1)},
        {"status": ["completed", "failed"]},
        {"since": timedelta(hours=5)},
        {"agent": "nobody"},
        {"thread": "thread-2"},
        {"thread": "thread-3", "agent": "analyst"},
        {"since": 1.0},
        {"metadata": {"user": "alice"}},
        {"metadata": {"user": "bob", "team": "red"}},
        {"metadata": {"tier": 1}, "agent": "analyst"},
        {"metadata": {"beta": True}},
        {"score": {"correct": True}},
        {"score": {"verdict": "good"}, "since": timedelta(days=1)},
        {"score": {"verdict": None}},
        {"score": {"quality": 0.5}},
    ],
)
def test_filters_apply_as_in_runs(store: HistoryStore, filters: dict[str, Any]) -> None:
    where = RunFilter.build(**filters)
    for by in ("agent", None, "metadata.user", ["agent", "metadata.team"]):
        same(store.summary(where, by), store.runs(where).summary(by))


@pytest.mark.parametrize(
    "filters",
    [
        {"since": timedelta(hours=7, minutes=25)},  # inside an hour: its part read from rows
        {"status": ["running", "completed"], "since": timedelta(hours=30)},
        {"status": "running"},
        {"agent": ["analyst", "écrivain"], "status": ["failed", "cancelled"]},
    ],
)
@pytest.mark.parametrize("every", [None, "hour", "day"])
@pytest.mark.parametrize("include", ["completed", "all"])
def test_a_summary_by_a_metadata_key_equals_pandas(
    store: HistoryStore, filters: dict[str, Any], every: str | None, include: str
) -> None:
    """By a metadata key, alone or with another, with or without a period: pandas' figures,
    the runs without the key in a group of their own."""
    where = RunFilter.build(**filters)
    for by in ("metadata.user", ["agent", "metadata.team"], "metadata.beta"):
        sql = store.summary(where, by, every=every, include=include)
        same(sql, store.runs(where).summary(by, every=every, include=include))


def test_an_empty_history(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "empty.sqlite3") as empty:
        for by in ("agent", None):
            same(empty.summary(RunFilter(), by), empty.runs().summary(by))
            same(empty.summary(RunFilter(), by, every="day"), empty.runs().summary(by, every="day"))


def test_a_bad_key_is_the_same_clear_error(store: HistoryStore) -> None:
    with pytest.raises(agentnb.ConfigurationError, match="cannot summarise by"):
        store.summary(RunFilter(), "message")
    with pytest.raises(agentnb.ConfigurationError, match="every must be one of"):
        store.summary(RunFilter(), None, every="month")
    with pytest.raises(agentnb.ConfigurationError, match="every must be one of"):
        store.runs().summary(None, every="fortnight")
    for summary in (lambda by: store.summary(RunFilter(), by), store.runs().summary):
        with pytest.raises(agentnb.ConfigurationError, match="names no metadata key"):
            summary("metadata.")
        with pytest.raises(agentnb.ConfigurationError, match="a key is named twice"):
            summary(["agent", "agent"])


def test_a_summary_by_a_metadata_key_counts_each_value(store: HistoryStore) -> None:
    got = store.summary(RunFilter(), "metadata.user")
    want = {"alice": 0, "bob": 0, "chloé": 0, None: 0}
    for i in range(400):
        metadata = metadata_of(i)
        want[metadata["user"] if metadata else None] += 1
    assert {(None if pd.isna(k) else k): n for k, n in got["runs"].items()} == want
    tiers = store.summary(RunFilter(), "metadata.tier")
    assert [k for k in tiers.index if not pd.isna(k)] == ["0", "1"]  # numbers as JSON text


def test_the_score_figures_are_each_groups_current_scores(store: HistoryStore) -> None:
    got = store.summary(RunFilter(), None)
    scores = {(s.local_id, s.name): s.value for s in store.scores()}
    correct = [v for (_, name), v in scores.items() if name == "correct"]
    assert got["score.correct_n"].iloc[0] == len(correct) == len(range(0, 400, 3))
    assert got["score.correct"].iloc[0] == pytest.approx(sum(correct) / len(correct))
    verdicts = [v for (_, name), v in scores.items() if name == "verdict"]
    assert got["score.verdict[good]"].iloc[0] == verdicts.count("good") > 0
    assert "score.verdict" not in got  # labels have counts, no mean
    columns = [c for c in got.columns if c.startswith("score.")]
    assert columns == [
        "score.correct_n",
        "score.correct",
        "score.quality_n",
        "score.quality",
        "score.verdict_n",
        "score.verdict[bad]",
        "score.verdict[good]",
        "score.verdict[meh]",
    ]


def test_agentnb_summary_reads_the_default_history(
    monkeypatch: pytest.MonkeyPatch, store: HistoryStore
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", str(store.path))
    close_default_stores()
    try:
        same(agentnb.summary(), agentnb.runs().summary())
        same(
            agentnb.summary("status", agent="analyst"),
            agentnb.runs(agent="analyst").summary("status"),
        )
        monkeypatch.setenv("AGENTNB_HISTORY", "off")
        assert agentnb.summary().empty
    finally:
        close_default_stores()


def users_summary_by_agent(path: Path) -> pd.DataFrame:
    """What a user writes instead of ``summary("agent")`` (``read_sql`` + ``groupby``): the
    benchmark's own code, ``benchmarks/summary_by_pandas.py``."""
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "summary_by_pandas.py"
    spec = importlib.util.spec_from_file_location("summary_by_pandas", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame: pd.DataFrame = module.read_sql_summary_by_agent(path)
    return frame


def test_the_summary_by_agent_equals_what_a_user_computes_with_read_sql_and_groupby(
    store: HistoryStore,
) -> None:
    ours = store.summary(RunFilter(), "agent").to_pandas()
    ours = ours[ours.index.notna()]  # pandas' groupby leaves out the runs of no agent
    ours.index = pd.Index(ours.index.astype(str).tolist(), dtype=object)
    theirs = users_summary_by_agent(store.path)
    theirs.index = pd.Index(theirs.index.astype(str).tolist(), dtype=object)
    same_columns = [
        "runs",
        "tokens_total",
        "tokens_mean",
        "cost_total",
        "cost_mean",
        "tool_calls_per_run",
        "completed",
        "cancelled",
        "interrupted",
        "running",
        "paused_total",
        "duration_p50",
        "duration_p95",
        "ttft_p50",
        "ttft_p95",
    ]
    pd.testing.assert_frame_equal(
        ours[same_columns].astype("float64"),
        theirs[same_columns].astype("float64"),
        check_names=False,
        check_exact=False,
        rtol=1e-9,
    )
    made_up = theirs["failed"] + theirs["paused"]  # agentnb counts other statuses as failed
    assert ours["failed"].tolist() == made_up.tolist()


def test_a_summary_imports_neither_the_clients_nor_httpx(store: HistoryStore) -> None:
    code = (
        "import sys, agentnb; agentnb.summary('agent'); "
        "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'agentnb._client'))))"
    )
    env = {**os.environ, "AGENTNB_HISTORY": str(store.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=PATIENCE_S
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def assert_summary_is_the_runs(store: HistoryStore) -> None:
    for by in ("agent", None, "model", "metadata.user"):
        for every in (None, "hour"):
            same(store.summary(RunFilter(), by, every=every), store.runs().summary(by, every=every))


def test_the_summary_follows_every_write(tmp_path: Path) -> None:
    """Inserted, checkpointed, ended, written again, moved to another hour, deleted, imported:
    the summary always equals the runs counted afresh, and the file keeps no rollup."""
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        now = time.time()
        runs = []
        for i in range(6):
            run = Run(agent=("analyst", None)[i % 2], message=f"q{i}", provider="operativus")
            run.start(now - i * 1800)
            store.record_start(run, RunRequest(agent="a", message=run.message), base_url="")
            run.apply(TextDelta(delta="part", received_at=now))
            store.record_progress(run)
            runs.append(run)
        store.flush()
        assert_summary_is_the_runs(store)  # every run is still running
        for i, run in enumerate(runs[:4]):
            run.apply(RunCompleted(usage=Usage(total_tokens=10 * i), received_at=now + i))
            store.record_end(run)
        store.record_cancel_error(runs[0])  # the same end written again: counted once
        store.flush()
        assert_summary_is_the_runs(store)
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute(
                "UPDATE runs SET started_at = started_at - 86400, cost_usd = 0.25 "
                "WHERE local_id = ?",
                (runs[1].local_id,),
            )
            db.execute("DELETE FROM runs WHERE local_id = ?", (runs[2].local_id,))
        finally:
            db.close()
        assert_summary_is_the_runs(store)
        history = store.runs()
        with HistoryStore(tmp_path / "copy.sqlite3") as copy:
            copy.import_records(history, history.tool_calls())
            assert_summary_is_the_runs(copy)
            same(copy.summary(RunFilter(), "agent"), store.summary(RunFilter(), "agent"))
        db = sqlite3.connect(path, isolation_level=None)
        try:
            db.execute("DELETE FROM runs")
            kept = db.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE '%rollup%' OR type = 'trigger' "
                "AND sql LIKE '%rollup%'"
            ).fetchall()
        finally:
            db.close()
        assert kept == []
        assert store.summary(RunFilter(), None).empty


@pytest.mark.parametrize("every", [None, "day"])
@pytest.mark.parametrize("by", [None, "model", "agent", "metadata.user"])
def test_unpriced_runs_had_usage_and_no_usage_runs_reported_none(
    store: HistoryStore, by: str | None, every: str | None
) -> None:
    """Two counts, never mixed: ``unpriced`` runs reported their tokens but no price was
    known; ``no_usage`` runs reported no usage. With the priced runs they are every run."""
    frame = store.runs().to_pandas(["started_at", "model", "agent", "total_tokens", "cost_usd"])
    metadata = store.runs().to_pandas(["metadata"])["metadata"]
    frame["metadata.user"] = [(m or {}).get("user", "(none)") for m in metadata]
    frame["model"] = frame["model"].astype(object).fillna("(none)")
    frame["agent"] = frame["agent"].astype(object).fillna("(none)")
    unknown = frame["cost_usd"].isna()
    frame["unpriced"] = frame["total_tokens"].notna() & unknown
    frame["no_usage"] = frame["total_tokens"].isna() & unknown
    keys = ([frame["started_at"].dt.floor("D")] if every else []) + ([frame[by]] if by else [])
    want = frame.groupby(keys or (lambda _: "all"))[["unpriced", "no_usage"]].sum()
    assert want["unpriced"].sum() > 0 and want["no_usage"].sum() > 0
    for got in (store.summary(RunFilter(), by, every=every), store.runs().summary(by, every=every)):
        priced = got["runs"] - got["unpriced"] - got["no_usage"]
        assert priced.tolist() == got["cost_total"].notna().astype(int).mul(priced).tolist()
        assert counted(got) == counted(want)


def counted(frame: pd.DataFrame) -> dict[tuple[str, ...], tuple[int, int]]:
    """Each group's (unpriced, no_usage), its key as text (a missing key "(none)")."""
    keys = [key if isinstance(key, tuple) else (key,) for key in frame.index]
    return {
        tuple("(none)" if pd.isna(k) else str(k) for k in key): (int(u), int(n))
        for key, u, n in zip(keys, frame["unpriced"], frame["no_usage"], strict=True)
    }


def test_a_recorded_run_without_a_price_is_unpriced_and_one_without_usage_is_not(
    tmp_path: Path,
) -> None:
    def record(store: HistoryStore, model: str, usage: Usage | None, user: str) -> None:
        run = Run(agent="echo", message="q", model=model)
        run.start()
        request = RunRequest(agent="echo", message="q", metadata={"user": user})
        store.record_start(run, request, base_url="")
        run.apply(RunCompleted(usage=usage, received_at=time.time()))
        store.record_end(run)

    with HistoryStore(tmp_path / "h.sqlite3") as store:
        tokens = Usage(prompt_tokens=10, completion_tokens=5)
        record(store, "gpt-4o", tokens, "ann")  # priced by genai-prices
        record(store, "my-llama", tokens, "ann")  # no price known for the model
        record(store, "gpt-4o", None, "bob")  # the platform reported no usage
        for got in (store.summary(RunFilter(), "model"), store.runs().summary("model")):
            assert got.loc["gpt-4o", ["runs", "unpriced", "no_usage"]].tolist() == [2, 0, 1]
            assert got.loc["my-llama", ["runs", "unpriced", "no_usage"]].tolist() == [1, 1, 0]
        by_user = store.summary(RunFilter(), "metadata.user")
        assert by_user.loc["ann", ["unpriced", "no_usage"]].tolist() == [1, 0]
        assert by_user.loc["bob", ["unpriced", "no_usage"]].tolist() == [0, 1]
        store.rebuild_side_tables()
        pd.testing.assert_frame_equal(store.summary(RunFilter(), "metadata.user"), by_user)


def test_quantiles_equal_pandas_own_for_groups_of_every_size(tmp_path: Path) -> None:
    """Each group's quantiles are pandas' linear ones over its timed runs, for groups of
    one to five runs and the runs with no thread, some runs without a duration or TTFT."""
    rng, now = random.Random(5), time.time()
    threads = ["one", *["two"] * 2, *["three"] * 3, *["four"] * 4, *["five"] * 5, *[None] * 6]
    records = []
    for i, thread in enumerate(threads):
        values = {**record_values(i, rng, now), "status": "completed", "thread_id": thread}
        records.append(RunRecord.from_row(tuple(values.get(n) for n, _ in RUN_COLUMNS)))
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.import_records(records)
        summary = store.summary(RunFilter(), "thread_id")
        runs = store.runs().to_pandas()
    keys = runs["thread_id"].astype(object).where(runs["thread_id"].notna(), None)
    for thread in set(threads):
        mine = runs[[key == thread for key in keys]]
        row = summary.loc[thread] if thread is not None else summary[summary.index.isna()].iloc[0]
        for metric in ("duration", "ttft"):
            for q in (0.5, 0.95):
                expected = mine[metric].dropna().quantile(q)
                found = row[f"{metric}_p{round(q * 100)}"]
                if pd.isna(expected):  # no run of it timed: none ranked
                    assert pd.isna(found), (thread, metric, q)
                else:
                    assert found == pytest.approx(expected, rel=1e-12), (thread, metric, q)


@pytest.mark.parametrize(
    ("by", "every", "where"),
    [
        ("agent", None, RunFilter()),
        (None, None, RunFilter(evaluations=False)),
        ("model", "day", RunFilter(agents=("analyst",), since=0.0, statuses=("failed",))),
        ("metadata.user", None, RunFilter(agents=("analyst",))),
        ("status", None, RunFilter()),
        (["agent", "metadata.team"], "week", RunFilter()),
    ],
)
def test_a_summary_reads_the_index_of_the_figures_not_the_runs_rows(
    by: Any, every: str | None, where: RunFilter
) -> None:
    """Both passes of a summary of every run, or of an agent's, read each run's figures from
    the narrow index holding them (the wide rows of runs, with their texts, are never read),
    and by agent in that index's order, with no sort."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    apply_migrations(db)
    keys = summary_keys(by, every)
    for sql, params in (
        counts_sql(keys, where, every, ("completed",)),
        timed_values_sql(keys, where, every, ("completed",)),
    ):
        plan = [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        reads = [step for step in plan if step.startswith(("SCAN runs", "SEARCH runs"))]
        assert reads, plan
        assert all("COVERING INDEX runs_by_agent_figures" in step for step in reads), plan
        if by == "agent":
            assert not any("GROUP BY" in step for step in plan), plan
    db.close()
