"""Schema migrations: from an empty file and from every earlier version, losslessly."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from genai_prices import Usage as PricedUsage
from genai_prices import calc_price

from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._display.run_text import settings_line
from agentnb._history import MIGRATIONS, HistoryLocationError
from agentnb._history._migrations import applied_migrations, apply_migrations, every_migration
from agentnb._history._past_run import past_run
from agentnb._history._run_filter import RunFilter
from agentnb.events import RunCompleted, TextDelta, Usage
from agentnb.history import HistoryStore

ALL = [migration.__name__ for migration in MIGRATIONS]
EVERY = [migration.__name__ for migration in every_migration()]
"""agentnb's steps, then the packages' (evaluation's: this suite imports agentnb.evals)."""

SAMPLE_RUN: dict[str, Any] = {
    "local_id": "old-run",
    "run_id": "remote-old",
    "connection": "prod",
    "provider": "seekrflow",
    "host": "flow.example.com",
    "agent": "finance_agent",
    "thread_id": "thread-old",
    "message": "old question",
    "answer": "old answer",
    "reasoning": "old reasoning",
    "status": "completed",
    "error_code": None,
    "error_message": None,
    "prompt_tokens": 5,
    "completion_tokens": 7,
    "total_tokens": 12,
    "started_at": 1_700_000_000.25,
    "first_token_at": 1_700_000_000.5,
    "finished_at": 1_700_000_002.25,
    "duration": 2.0,
    "ttft": 0.25,
    "tokens_per_second": 3.5,
    "event_count": 9,
    "retries": 1,
    "model_settings": '{"temperature": 0.5}',
    "metadata": '{"case": "a"}',
    "owner_host": "elsewhere",
    "owner_pid": 1,
    "owner_token": "x",
    "tool_call_count": 1,
    "resumes": 2,
    "execution_time": 1.5,
    "cancel_error": "the platform was not told to stop the run: 500",
    "model": "gpt-4o",
    "cost_usd": 0.5,
    "cost_source": "platform",
    "unapproved_calls": 1,
    "elapsed": 2.0,
    "paused_seconds": 0.0,
    "refused_figures": "cost=1e+308",
    "finish_reason": "length",
    "mode": "code",
    "config": '{"model": "m", "mode": "code"}',
    "plan": '[{"content": "a step", "status": "pending", "priority": null}]',
    "imported": 1,
    "extras": None,
}
SAMPLE_TOOL_CALL: dict[str, Any] = {
    "local_id": "old-run",
    "position": 0,
    "call_id": "call-old",
    "name": "calculator",
    "status": "succeeded",
    "arguments": '{"expression": "1+1"}',
    "output": "2",
    "error": None,
    "started_at": 1_700_000_001.0,
    "finished_at": 1_700_000_001.5,
    "duration": 0.5,
    "question": "Which one?",
    "answer": "the first",
    "parent_call_id": "call-parent",
    "agent": "analyst",
    "depth": 1,
    "decided_by": "server",
    "unapproved": "approved by the server itself, not by you",
    "prompt_tokens": 40,
    "completion_tokens": 8,
    "total_tokens": 48,
    "model": "gpt-4o-mini",
    "cost_usd": 0.0000108,
    "cost_source": "genai-prices",
    "arguments_changed": 1,
    "protocol_error": "its arguments (or name) changed after they were shown for approval",
    "ran_by": "client",
}


def columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({table})")]


def insert_sample(db: sqlite3.Connection, table: str, sample: dict[str, Any]) -> dict[str, Any]:
    present = {name: sample[name] for name in columns(db, table)}
    db.execute(
        f"INSERT INTO {table} ({', '.join(present)}) VALUES ({', '.join('?' * len(present))})",
        tuple(present.values()),
    )
    return present


def build_version(path: Path, k: int) -> dict[str, dict[str, Any]]:
    """A database as the first ``k`` migrations left it, with a row in each table."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        apply_migrations(db, MIGRATIONS[:k])
        assert applied_migrations(db) == ALL[:k]
        written: dict[str, dict[str, Any]] = {}
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "runs" in tables:
            written["runs"] = insert_sample(db, "runs", SAMPLE_RUN)
        if "tool_calls" in tables:
            written["tool_calls"] = insert_sample(db, "tool_calls", SAMPLE_TOOL_CALL)
        return written
    finally:
        db.close()


def read_row(path: Path, table: str) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        db.row_factory = sqlite3.Row
        row = db.execute(f"SELECT * FROM {table}").fetchone()
        return dict(row)
    finally:
        db.close()


def test_migration_names_are_unique_and_ordered() -> None:
    assert len(set(ALL)) == len(ALL) >= 2
    numbers = [int(name[1:4]) for name in ALL]
    assert all(name[0] == "m" and name[4] == "_" for name in ALL)
    # Increasing, each named by its place; a gap is a migration another branch adds.
    assert numbers[0] == 1 and numbers == sorted(set(numbers))


@pytest.mark.parametrize("empty", ["missing", "zero-bytes"])
def test_a_new_database_gets_every_migration(tmp_path: Path, empty: str) -> None:
    path = tmp_path / "h.sqlite3"
    if empty == "zero-bytes":
        path.write_bytes(b"")
    with HistoryStore(path) as store:
        assert store.migrations() == EVERY
        assert store.count() == 0


@pytest.mark.parametrize("version", range(len(MIGRATIONS) + 1))
def test_upgrade_from_every_earlier_version_keeps_every_value(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.sqlite3"
    written = build_version(path, version)
    with HistoryStore(path) as store:
        assert store.migrations() == EVERY
        new = Run(agent="echo", message="new question")
        new.start()
        store.record_start(new, RunRequest(agent="echo", message="new question"), base_url="")
        new.apply(TextDelta(delta="new answer", received_at=time.time()))
        new.apply(RunCompleted(usage=Usage(total_tokens=3), received_at=time.time()))
        store.record_end(new)
        history = store.runs()
        assert history.local_ids == [new.local_id, *(["old-run"] if "runs" in written else [])]

    if "runs" in written:
        upgraded = read_row_by_id(path, "old-run")
        for name, value in written["runs"].items():
            assert upgraded[name] == value, name
        for name in set(upgraded) - set(written["runs"]) - {"elapsed", "extras"}:
            assert upgraded[name] is None, f"{name} should be unknown (NULL) for an old row"
        assert upgraded["elapsed"] == upgraded["duration"]  # an old row's wall time
        if "mode" in written["runs"] and "extras" not in written["runs"]:  # m029's, now m030's
            assert json.loads(upgraded["extras"]) == {
                "mode": "code",
                "config": {"model": "m", "mode": "code"},
                "plan": [{"content": "a step", "status": "pending", "priority": None}],
            }
        elif "extras" not in written["runs"]:
            assert upgraded["extras"] is None
    if "tool_calls" in written:
        upgraded_call = read_row(path, "tool_calls")
        for name, value in written["tool_calls"].items():
            assert upgraded_call[name] == value, name
        for name in set(upgraded_call) - set(written["tool_calls"]):
            assert upgraded_call[name] is None, f"{name} should be unknown (NULL) for an old row"


def read_row_by_id(path: Path, local_id: str) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        db.row_factory = sqlite3.Row
        return dict(db.execute("SELECT * FROM runs WHERE local_id = ?", (local_id,)).fetchone())
    finally:
        db.close()


def test_old_rows_read_back_through_the_api(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    build_version(path, 1)
    with HistoryStore(path) as store:
        (old,) = store.runs()
        assert old.total_tokens == 12
        assert old.model_settings == {"temperature": 0.5}
        assert old.tool_call_count is None  # not known before tool calls were recorded
        assert old.resumes is None
        assert old.started_at is not None and old.started_at.timestamp() == 1_700_000_000.25


def test_old_tool_calls_read_back_without_a_tree(tmp_path: Path) -> None:
    """A call recorded before ``m006_call_tree``: its agent is its run's, its place in the
    tree unknown (None), and the new columns group without dropping it."""
    path = tmp_path / "v4.sqlite3"
    build_version(path, ALL.index("m004_tool_call_questions") + 1)
    with HistoryStore(path) as store:
        [call] = store.runs().tool_calls()
        assert (call.agent, call.parent_call_id, call.depth) == ("finance_agent", None, None)
        assert (call.question, call.answer) == ("Which one?", "the first")
        frame = store.runs().tool_calls().to_pandas()
        assert str(frame["depth"].dtype) == "Int64" and frame["depth"].isna().all()
        assert list(frame.groupby("agent", observed=True).size().items()) == [("finance_agent", 1)]


def test_old_rows_keep_their_wall_time_and_lose_a_zero_ttft(tmp_path: Path) -> None:
    """``m010_paused_time``: a row from before knew no pause, so its wall time is its
    elapsed time and its duration is unchanged; a cancelled run written with ``ttft`` 0 and
    no first token gets a missing TTFT (NULL, NaN in pandas), not 0."""
    path = tmp_path / "v6.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, MIGRATIONS[: ALL.index("m008_model_and_cost") + 1])
    insert_sample(db, "runs", SAMPLE_RUN)
    cancelled = {
        **SAMPLE_RUN,
        "local_id": "cancelled-run",
        "status": "cancelled",
        "first_token_at": None,
        "ttft": 0.0,
        "duration": 0.75,
    }
    insert_sample(db, "runs", cancelled)
    db.close()
    with HistoryStore(path) as store:
        old, stopped = store.find("old-run"), store.find("cancelled-run")
        assert old is not None and stopped is not None
        assert (old.duration, old.elapsed, old.paused_seconds, old.ttft) == (2.0, 2.0, None, 0.25)
        assert (stopped.duration, stopped.elapsed, stopped.ttft) == (0.75, 0.75, None)
        frame = store.runs().to_pandas()
        assert frame.set_index("local_id").loc["cancelled-run", "ttft"] != 0
        summary = store.runs().summary(include="all")
        assert summary.loc["finance_agent", "ttft_p50"] == 0.25  # the missing one left out


def test_old_tool_calls_have_no_usage_and_sum_to_missing(tmp_path: Path) -> None:
    """``m011_tool_call_usage``: a call recorded before knew no usage per call: its tokens,
    model and cost are unknown (None, NaN in sums), never 0; the summary says none is
    priced."""
    path = tmp_path / "v10.sqlite3"
    build_version(path, ALL.index("m011_tool_call_usage"))
    with HistoryStore(path) as store:
        [call] = store.runs().tool_calls()
        assert (call.total_tokens, call.model, call.cost_usd, call.cost_source) == (None,) * 4
        assert call.unapproved == SAMPLE_TOOL_CALL["unapproved"]  # what it had stays
        summary = store.runs().tool_calls().summary()
        assert summary.loc["calculator", "calls"] == 1
        assert summary.loc["calculator", "priced_calls"] == 0
        assert summary[["tokens_total", "cost_total"]].isna().all().all()


def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    HistoryStore(path).close()
    first = read_all(path, "SELECT name, applied_at FROM _migrations ORDER BY rowid")
    HistoryStore(path).close()
    assert read_all(path, "SELECT name, applied_at FROM _migrations ORDER BY rowid") == first


def test_a_database_from_a_newer_agentnb_still_opens(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    HistoryStore(path).close()
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("ALTER TABLE runs ADD COLUMN future_column TEXT")
        db.execute("INSERT INTO _migrations VALUES ('m999_future', 0)")
    finally:
        db.close()
    with HistoryStore(path) as store:
        assert store.migrations() == [*EVERY, "m999_future"]
        run = Run(agent="echo", message="hi")
        run.finish("cancelled")
        store.record_end(run)
        assert store.count() == 1


def test_a_failing_migration_leaves_the_database_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    build_version(path, 1)

    def m_broken(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE runs ADD COLUMN half_done TEXT")
        raise RuntimeError("disk on fire")

    db = sqlite3.connect(path, isolation_level=None)
    try:
        with pytest.raises(RuntimeError, match="disk on fire"):
            apply_migrations(db, [*MIGRATIONS[:2], m_broken])
        assert applied_migrations(db) == ALL[:1]
        assert "half_done" not in columns(db, "runs")
        assert "tool_calls" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    finally:
        db.close()


def read_all(path: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(path)
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_model_and_cost_fill_old_rows_when_asked_where_their_data_allows(tmp_path: Path) -> None:
    path = tmp_path / "v7.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    at = 1_750_000_000.0
    try:
        apply_migrations(db, MIGRATIONS[:7])
        rows = [  # (local_id, provider, agent, prompt, completion)
            ("chat", "openai", "gpt-4o-mini", 1000, 200),  # the agent is the model
            ("chat-no-usage", "openai", "gpt-4o-mini", None, None),
            ("private", "openai", "corp-llm", 1000, 200),  # a model genai-prices does not know
            ("agent", "seekrflow", "finance_agent", 1000, 200),  # the model is not on the row
        ]
        for local_id, provider, agent, prompt, completion in rows:
            db.execute(
                "INSERT INTO runs (local_id, provider, agent, status, started_at, "
                "prompt_tokens, completion_tokens) VALUES (?, ?, ?, 'completed', ?, ?, ?)",
                (local_id, provider, agent, at, prompt, completion),
            )
    finally:
        db.close()
    with HistoryStore(path) as store:
        assert store.migrations() == EVERY
        assert {r.model for r in store.runs()} == {None}, "a migration runs no code of agentnb"
        assert store.fill_models_and_costs() == 1
        found = {r.local_id: (r.model, r.cost_usd, r.cost_source) for r in store.runs()}
    when = datetime.fromtimestamp(at, UTC)
    usage = PricedUsage(input_tokens=1000, output_tokens=200)
    expected = float(calc_price(usage, "gpt-4o-mini", genai_request_timestamp=when).total_price)
    assert found["chat"][0] == "gpt-4o-mini" and found["chat"][2] == "genai-prices"
    assert found["chat"][1] == pytest.approx(expected, rel=1e-12)
    assert found["chat-no-usage"] == ("gpt-4o-mini", None, None)
    assert found["private"] == ("corp-llm", None, None)
    assert found["agent"] == (None, None, None)


def test_a_new_run_records_its_model_and_cost(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run = Run(agent="echo", message="q", model="gpt-4o-mini")
        run.start()
        store.record_start(run, RunRequest(agent="echo", message="q"), base_url="")
        run.apply(
            RunCompleted(
                usage=Usage(prompt_tokens=10, completion_tokens=5, cost=0.125),
                model="gpt-4o",
                received_at=time.time(),
            )
        )
        store.record_end(run)
        (record,) = store.runs()
        frame_row = store.runs().to_pandas().iloc[0]
    assert (record.model, record.cost_usd, record.cost_source) == ("gpt-4o", 0.125, "platform")
    assert (frame_row["model"], frame_row["cost_usd"]) == ("gpt-4o", 0.125)


SHIPPED_FILES = sorted((Path(__file__).parent / "data").glob("history-*.sqlite3"))
"""A history file each shipped version wrote (``data/make_history.py`` run with it)."""


KEPT_ROWS = {
    "runs": "SELECT * FROM runs ORDER BY local_id",
    "tool_calls": "SELECT * FROM tool_calls ORDER BY local_id, position",
    "scores": "SELECT * FROM scores ORDER BY id",
    "run_metadata": "SELECT key, value, local_id FROM run_metadata ORDER BY local_id, key",
}
"""What a shipped file keeps: every row of each table, its columns as that version wrote them."""


def kept_rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    tables = {name for (name,) in read_all(path, "SELECT name FROM sqlite_master")}
    return {table: read_all(path, sql) for table, sql in KEPT_ROWS.items() if table in tables}


@pytest.mark.parametrize("shipped", SHIPPED_FILES, ids=lambda path: path.stem)
def test_a_file_of_every_shipped_version_upgrades_to_a_fresh_files_schema(
    tmp_path: Path, shipped: Path
) -> None:
    """A file agentnb 0.1, 0.2, 0.3, 0.4 or 0.6 wrote (its rollups and their triggers included)
    opens with every migration, keeps every run, tool call, score and metadata key, loses the
    rollups and ends with the schema a fresh file gets; its summaries are those of its runs."""
    old = tmp_path / shipped.name
    shutil.copyfile(shipped, old)
    before = kept_rows(old)
    assert len(before["runs"]) == 24 and len(before["tool_calls"]) == 6
    if "scores" in before:
        db = sqlite3.connect(old, isolation_level=None)
        try:
            db.execute(
                "INSERT INTO scores (local_id, name, kind, number, source, created) "
                "SELECT local_id, 'verdict', 'bool', 0, 'person', 1700000003 FROM runs LIMIT 1"
            )
        finally:
            db.close()
        before["scores"] = read_all(old, KEPT_ROWS["scores"])
    with HistoryStore(old) as store:
        assert sorted(store.migrations()) == sorted(EVERY)  # each once: evaluation's in its place
        history = store.runs()
        assert sorted(history.local_ids) == sorted(row[0] for row in before["runs"])
        assert {record.answer for record in history} == {f"answer {i}" for i in range(24)}
        assert len(store.runs(RunFilter.build(metadata={"case": "a"}))) == 12
        assert len(store.runs(RunFilter(search="answer"))) == 24
        assert len(history.tool_calls()) == 6
        given = [(s.name, s.value) for s in store.scores(history=True)]
        assert given == [(row[2], row[5] or row[4]) for row in before.get("scores", [])]
        for by, every in (("agent", None), (None, None), ("model", "day"), ("metadata.case", None)):
            pd.testing.assert_frame_equal(
                store.summary(RunFilter(), by, every=every, include="all"),
                history.summary(by, every=every, include="all"),
            )
        by_agent = store.summary(RunFilter(), "agent", include="all")
        assert by_agent["runs"].sum() == 24 and by_agent["failed"].sum() == 4
    after = kept_rows(old)
    assert len(after["run_metadata"]) == 24
    for table, rows in before.items():
        assert [row[: len(rows[0])] for row in after[table]] == rows, table
    HistoryStore(tmp_path / "fresh.sqlite3").close()
    assert schema(old) == schema(tmp_path / "fresh.sqlite3")
    assert not [row for row in schema(old) if "rollup" in row[1] or "rollup" in row[3]]


def shipped(version: str) -> Path:
    return Path(__file__).parent / "data" / f"history-{version}.sqlite3"


def rollup_objects_of_0_3() -> list[str]:
    return [
        sql
        for (sql,) in read_all(
            shipped("0.3.0"),
            "SELECT sql FROM sqlite_master WHERE name LIKE 'runs_rollup%' ORDER BY type DESC",
        )
    ]


@pytest.mark.parametrize(
    ("version", "statements", "named"),
    [
        (  # the name a shipped version used, SQL of its own
            "0.3.0",
            [
                "DROP TRIGGER runs_rollup_delete",
                "CREATE TRIGGER runs_rollup_delete AFTER DELETE ON runs "
                "BEGIN DELETE FROM tool_calls; END",
            ],
            "trigger runs_rollup_delete",
        ),
        ("0.4.0", rollup_objects_of_0_3(), "runs_rollup"),  # 0.3.0's rollups, after m022
        (  # the search index's trigger as m007 named it, SQL of its own
            "0.4.0",
            [
                "DROP TRIGGER runs_search_reopen",
                "CREATE TRIGGER runs_search_reopen AFTER UPDATE OF status ON runs "
                "BEGIN DELETE FROM scores; END",
            ],
            "trigger runs_search_reopen",
        ),
    ],
    ids=["a forged rollup trigger", "rollups after they were dropped", "a forged search trigger"],
)
def test_objects_of_emptied_steps_agentnb_did_not_make_there_keep_the_file_unchanged(
    tmp_path: Path, version: str, statements: list[str], named: str
) -> None:
    """An object a shipped version made with a step now empty is known by its SQL's digest,
    and only in a file m022 has not yet dropped it from: any other is not agentnb's."""
    path = tmp_path / "shared.sqlite3"
    shutil.copyfile(shipped(version), path)
    db = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        db.execute(statement)
    db.close()
    before = path.read_bytes()
    with pytest.raises(HistoryLocationError, match=named):
        HistoryStore(path)
    assert path.read_bytes() == before


def schema(path: Path) -> list[tuple[str, str, str, str]]:
    rows = read_all(path, "SELECT type, name, tbl_name, sql FROM sqlite_master")
    return sorted(
        (kind, name, table, " ".join(str(sql).split())) for kind, name, table, sql in rows
    )


def test_an_upgraded_file_tells_unpriced_runs_from_runs_without_usage(tmp_path: Path) -> None:
    """A file written before the summaries told the two apart: once upgraded, a summary
    splits the runs of unknown cost into unpriced ones and ones without usage."""
    path = tmp_path / "before.sqlite3"
    build_version(path, ALL.index("m021_unpriced_runs"))
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for i, (tokens, cost) in enumerate([(12, None), (12, None), (None, None), (12, 0.5)]):
            row = {**SAMPLE_RUN, "local_id": f"r{i}", "total_tokens": tokens, "cost_usd": cost}
            insert_sample(db, "runs", row)
    finally:
        db.close()
    with HistoryStore(path) as store:
        for by in (None, "metadata.case"):
            got = store.summary(RunFilter(), by, include="all")
            assert got[["runs", "unpriced", "no_usage"]].iloc[-1].tolist() == [5, 2, 1]


def test_the_dialects_extras_move_into_one_column_whatever_the_file_held(tmp_path: Path) -> None:
    """``m030_dialect_extras``: m029's three columns, as any file may hold them (text that is
    not JSON, a BLOB, a number), are copied into ``extras`` and read back as the run's."""
    path = tmp_path / "v29.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, MIGRATIONS[: ALL.index("m029_acp_session_controls") + 1])
    odd = {"mode": b"\x00m", "config": "not json {", "plan": 7, "imported": None}
    for local_id, values in (("acp-run", {}), ("odd-run", odd)):
        sample = {k: v for k, v in SAMPLE_RUN.items() if k != "extras"}
        insert_sample(db, "runs", {**sample, "local_id": local_id, **values})
    db.close()
    with HistoryStore(path) as store:
        acp, strange = store.get("acp-run"), store.get("odd-run")
        assert acp is not None and strange is not None
        assert acp.extras == {
            "mode": "code",
            "config": {"model": "m", "mode": "code"},
            "plan": [{"content": "a step", "status": "pending", "priority": None}],
        }
        assert strange.extras == {"mode": "\x00m", "config": "not json {", "plan": 7}
        with pytest.warns(DeprecationWarning, match=r"use\s+RunRecord\.extras\.get\('plan'\)"):
            assert (acp.plan, strange.plan) == (acp.extras["plan"], 7)
        assert store.runs(RunFilter.build(mode="code")).local_ids == ["acp-run"]
        again = past_run(acp, [])
        assert again.extras == acp.extras
        assert settings_line(past_run(strange, [])) == "mode ⟨U+0000⟩m"  # shown, never acted on
        frame = store.runs().to_pandas().set_index("local_id")
        assert frame.loc["acp-run", "extras"]["mode"] == "code"
