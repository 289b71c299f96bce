"""A run's metadata as dimensions: recorded by every entry point, filtered by ``runs(metadata=)``
(exact per key, several keys AND, with search and scores), kept in ``to_pandas()``, and its
side table always what the runs' JSON says, whatever writes the file."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import client_for

import agentnb
from agentnb import runs
from agentnb._core.exceptions import ConfigurationError
from agentnb._history import MIGRATIONS, close_default_stores, default_store
from agentnb._history._migrations import apply_migrations
from agentnb._history._run_filter import metadata_text
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    store = default_store()
    assert store is not None
    try:
        yield store
    finally:
        close_default_stores()


def side_table(path: Path) -> set[tuple[str, str, str]]:
    """The side table's keys, each of a run that exists."""
    with sqlite3.connect(path) as db:
        stale = db.execute(
            "SELECT COUNT(*) FROM run_metadata m LEFT JOIN runs r USING (local_id) "
            "WHERE r.local_id IS NULL"
        ).fetchone()[0]
        assert stale == 0, "a side row of no run"
        return set(db.execute("SELECT local_id, key, value FROM run_metadata"))


def from_json(path: Path) -> set[tuple[str, str, str]]:
    """The side table as the runs' metadata says it should be, computed in Python."""
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT local_id, metadata FROM runs").fetchall()
    want = set()
    for local_id, text in rows:
        try:
            metadata = json.loads(text) if text else None
        except ValueError:
            continue
        if isinstance(metadata, dict):
            want |= {
                (local_id, key, metadata_text(value))
                for key, value in metadata.items()
                if value is not None
            }
    return want  # type: ignore[return-value]


async def test_runs_filter_by_metadata_and_compose_with_search_and_scores(
    server: ServerHandle, history: HistoryStore
) -> None:
    asked = [
        ("What is NVDA at?", {"user": "alice", "team": "red"}),
        ("What is AAPL at?", {"user": "alice", "team": "blue"}),
        ("What is NVDA at now?", {"user": "bob", "team": "red", "tier": "2"}),
        ("Hello there", None),
    ]
    async with client_for(server, "operativus", recorder=history) as client:
        made = [await client.run("echo", text, metadata=meta) for text, meta in asked]
    history.flush()
    ids = [run.local_id for run in made]

    def found(**filters: Any) -> list[str]:
        return sorted(runs(**filters).local_ids, key=ids.index)

    assert found(metadata={"user": "alice"}) == ids[:2]
    assert found(metadata={"user": "alice", "team": "red"}) == ids[:1]
    assert found(metadata={"team": "red"}) == [ids[0], ids[2]]
    assert found(metadata={"tier": "2"}) == [ids[2]]
    assert found(metadata={"tier": 2}) == [ids[2]]  # a number matches its text
    assert found(metadata={"user": "carol"}) == []
    assert found(metadata={"user": "Alice"}) == []  # exact
    assert found(metadata={"team": "red"}, search="NVDA") == [ids[0], ids[2]]
    assert found(metadata={"team": "red"}, search="now") == [ids[2]]
    agentnb.score(made[0], "correct", True)
    agentnb.score(made[2], "correct", False)
    assert found(metadata={"team": "red"}, score={"correct": True}) == [ids[0]]
    assert found(score={"correct": None}) == [ids[1], ids[3]]
    assert found(search="NVDA", score={"correct": False}) == [ids[2]]

    frame = runs().to_pandas()
    by_id = dict(zip(frame["local_id"], frame["metadata"], strict=True))
    assert by_id[ids[2]] == {"user": "bob", "team": "red", "tier": "2"}
    assert by_id[ids[3]] is None
    correct = frame.set_index("local_id")["score.correct"]
    assert str(correct.dtype) == "boolean"
    assert correct[ids[0]] and not correct[ids[2]] and correct.isna()[ids[1]]

    summary = agentnb.summary("metadata.user")
    assert summary.loc["alice", "runs"] == 2 and summary.loc["bob", "runs"] == 1
    assert summary.loc["alice", "score.correct"] == 1.0
    assert history.path is not None
    assert side_table(history.path) == from_json(history.path)


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ({}, "must be a dict"),
        (["user"], "must be a dict"),
        ({"": "x"}, "non-empty str"),
        ({3: "x"}, "non-empty str"),
        ({"user": None}, "matches nothing"),
        ({"user": "\ud800"}, "lone surrogate"),
    ],
)
def test_a_bad_metadata_filter_is_a_clear_error(
    history: HistoryStore, metadata: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        runs(metadata=metadata)
    with pytest.raises(ConfigurationError, match=message):
        agentnb.summary(metadata=metadata)


@pytest.mark.parametrize(
    ("score", "message"),
    [
        ({}, "must be a dict"),
        ({"two words": True}, "name like"),
        ({"x": float("nan")}, "finite number"),
        ({"x": [1]}, "not list"),
    ],
)
def test_a_bad_score_filter_is_a_clear_error(
    history: HistoryStore, score: Any, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        runs(score=score)


def test_the_side_table_follows_every_write(tmp_path: Path) -> None:
    """Inserted, imported, rewritten, given text that is no JSON or no object, deleted, and
    a file made before the side table was (filled when it opens): always the runs' JSON."""
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path):
        pass
    db = sqlite3.connect(path, isolation_level=None)
    try:
        insert = "INSERT INTO runs (local_id, status, started_at, metadata) VALUES (?, 'completed', 0, ?)"
        values = [
            ("a", '{"user": "alice", "n": 1.5, "ok": true, "no": false, "nested": {"b": [1, 2]}}'),
            ("b", '{"user": "bob", "gone": null}'),
            ("c", "not json"),
            ("d", "[1, 2]"),
            ("e", None),
        ]
        db.executemany(insert, values)
        assert side_table(path) == from_json(path)
        assert ("a", "ok", "true") in side_table(path) and ("a", "n", "1.5") in side_table(path)
        assert ("a", "nested", '{"b":[1,2]}') in side_table(path)
        db.execute("UPDATE runs SET metadata = '{\"user\": \"carol\"}' WHERE local_id = 'a'")
        db.execute("UPDATE runs SET metadata = NULL WHERE local_id = 'b'")
        db.execute("UPDATE runs SET metadata = '{\"x\": \"y\"}' WHERE local_id = 'c'")
        db.execute("UPDATE runs SET status = 'failed', duration = 2.5 WHERE local_id = 'c'")
        db.execute("UPDATE runs SET cost_usd = 0.25, ttft = 0.1, agent = 'x' WHERE local_id = 'a'")
        assert side_table(path) == from_json(path)
        db.execute("DELETE FROM runs WHERE local_id = 'd'")
        assert side_table(path) == from_json(path) == {("a", "user", "carol"), ("c", "x", "y")}
    finally:
        db.close()
    # a file from before the side table: filled when it opens
    before = tmp_path / "before.sqlite3"
    db = sqlite3.connect(before, isolation_level=None)
    try:
        apply_migrations(db, [m for m in MIGRATIONS if m.__name__ < "m015_run_metadata"])
        db.executemany(insert, [("a", '{"user": "carol"}'), ("c", '{"x": "y", "z": 1}')])
    finally:
        db.close()
    with HistoryStore(before) as store:
        assert side_table(before) == from_json(before)
        assert store.runs(agentnb_filter(metadata={"x": "y"})).local_ids == ["c"]


def agentnb_filter(**filters: Any) -> Any:
    from agentnb._history._run_filter import RunFilter

    return RunFilter.build(**filters)


def test_the_run_tables_metadata_box_filters_in_sqlite_and_in_memory(tmp_path: Path) -> None:
    import dataclasses

    from agentnb_testing import history_records

    from agentnb._history._pages import MemoryPages, PageQuery, StorePages, run_pages

    users = ("alice", "bob", "chloé")
    records = [
        dataclasses.replace(record, metadata={"user": users[i % 3], "tier": i % 2})
        for i, record in enumerate(history_records(30))
    ]
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        store.import_records(records)
        history = store.runs()
        pages = run_pages(history)
        assert isinstance(pages, StorePages)
        memory = MemoryPages(history[:])
        want = {r.local_id for r in records if r.metadata and r.metadata["user"] == "bob"}
        for typed in ("user=bob", " user=bob ,", "user=bob tier=1", "user=nobody"):
            query = PageQuery.build(metadata=typed, limit=50)
            found = pages.page(query)
            assert found.local_ids == memory.page(query).local_ids, typed
            assert found.total == len(found.local_ids)
            if typed.strip(" ,") == "user=bob":
                assert set(found.local_ids) == want
        assert pages.page(PageQuery.build(metadata="", limit=50)).total == 30
        for bad in ("user", "=bob", "user=", 3):
            with pytest.raises(ConfigurationError, match="metadata filter"):
                PageQuery.build(metadata=bad)  # type: ignore[arg-type]


def test_the_side_table_follows_random_writes(tmp_path: Path) -> None:
    """Inserted running or stopped, ended, given other metadata (or none, or no JSON),
    moved to another hour, given figures out of range, deleted: the side table of metadata
    keys always equals the runs' metadata read afresh, and a summary by a key counts them."""
    import random

    path = tmp_path / "h.sqlite3"
    with HistoryStore(path):
        pass
    rng = random.Random(7)
    metadata = [None, '{"user": "a"}', '{"user": "b", "team": "x"}', "no json", "[1, 2]",
                '{"n": 1.5, "ok": true, "gone": null}', '{"user": "a", "tier": 2}']  # fmt: skip
    db = sqlite3.connect(path, isolation_level=None)
    try:
        for i in range(200):
            db.execute(
                "INSERT INTO runs (local_id, status, started_at, agent, metadata, cost_usd, "
                "total_tokens, duration, ttft, tool_call_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?)",
                (f"r{i}", rng.choice(["running", "completed", "failed"]),
                 1.7e9 + rng.randint(0, 40_000), rng.choice(["x", None]), rng.choice(metadata),
                 rng.choice([0.5, None, -1.0, 1e300]), rng.choice([10, None, "x", 10**13]),
                 rng.choice([1.0, None]), rng.choice([0.1, None]), rng.choice([2, None])),
            )  # fmt: skip
        assert side_table(path) == from_json(path)
        for i in range(0, 200, 3):
            db.execute(
                "UPDATE runs SET status = 'completed', metadata = ?, agent = 'y', cost_usd = 0.25, "
                "started_at = started_at + ? WHERE local_id = ?",
                (rng.choice(metadata), rng.choice([0, 7200]), f"r{i}"),
            )
        for i in range(0, 200, 7):
            db.execute("DELETE FROM runs WHERE local_id = ?", (f"r{i}",))
        assert side_table(path) == from_json(path)
        (users,) = db.execute(
            "SELECT COUNT(*) FROM runs WHERE json_valid(metadata) "
            "AND json_extract(metadata, '$.user') = 'a'"
        ).fetchone()
    finally:
        db.close()
    with HistoryStore(path) as store:
        assert store.summary(None, "metadata.user", include="all").loc["a", "runs"] == users > 0
