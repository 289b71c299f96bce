"""A history file is outside input (a shared folder, a repository): a file whose schema is
not agentnb's is refused and left as it was; a malformed row is shown as such, its bad
fields empty and the row flagged, and never keeps the other runs from showing. The files
are crafted with plain sqlite3."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, REPO, history_id, history_records
from kernel_session import kernel_manager

import agentnb
import agentnb.evals
from agentnb import HistoryError, HistoryLocationError
from agentnb._history import MIGRATIONS, _file, _migrations, close_default_stores
from agentnb._history._migrations import apply_migrations, every_migration
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

NOW = time.time()
COUNT = 3
BAD = history_id(1)
"""The run whose row the malformed file spoils."""


def legit_file(path: Path, migrations: int = len(MIGRATIONS)) -> Path:
    """An agentnb history file (its first ``migrations``), with ``COUNT`` runs once whole."""
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, MIGRATIONS[:migrations])
    db.close()
    if migrations == len(MIGRATIONS):
        with HistoryStore(path) as store:
            store.import_records(history_records(COUNT, start=NOW))
        with sqlite3.connect(path) as db:  # a rollback journal: reading it writes nothing
            db.execute("PRAGMA journal_mode = DELETE")
    return path


def crafted(path: Path, *statements: str) -> Path:
    db = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        db.execute(statement)
    db.close()
    return path


def fingerprint(path: Path) -> tuple[bytes, int, list[str]]:
    """The file's bytes, its mtime, and the files beside it."""
    return path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir())


ENDLESS = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n"
NOT_AGENTNBS: dict[str, tuple[list[str], str]] = {
    "a view in place of a table": (
        [
            "DROP TABLE runs",
            f"CREATE VIEW runs AS {ENDLESS}",
        ],
        "runs is a view",
    ),
    "an extra index": (
        ["CREATE INDEX slow ON runs (length(message) * length(answer))"],
        "index slow",
    ),
    "an extra table": (["CREATE TABLE notes (x)"], "table notes"),
    "a changed table": (
        [
            "DROP TABLE tool_calls",
            "CREATE TABLE tool_calls (local_id TEXT, position INTEGER CHECK (position > 0))",
        ],
        "table tool_calls",
    ),
    "a changed table of long texts' rests": (
        [
            "DROP TABLE run_texts",
            "CREATE TABLE run_texts (local_id TEXT, field TEXT, rest BLOB)",
        ],
        "table run_texts",
    ),
    "a view in place of the migrations": (
        [
            "DROP TABLE _migrations",
            f"CREATE VIEW _migrations (name, applied_at) AS SELECT i, i FROM ({ENDLESS})",
        ],
        "_migrations is a view",
    ),
    "a view in a newer agentnb's file": (
        [
            "INSERT INTO _migrations VALUES ('m999_from_the_future', 0)",
            f"CREATE VIEW recent AS {ENDLESS}",
        ],
        "view recent",
    ),
    "a newer agentnb's file with a view in place of a table": (
        [
            "INSERT INTO _migrations VALUES ('m999_from_the_future', 0)",
            "DROP TABLE tool_calls",
            f"CREATE VIEW tool_calls AS {ENDLESS}",
        ],
        "tool_calls is a view",
    ),
}


@pytest.mark.parametrize("case", list(NOT_AGENTNBS))
def test_a_file_whose_schema_is_not_agentnbs_is_refused_and_left_as_it_was(
    tmp_path: Path, case: str
) -> None:
    statements, named = NOT_AGENTNBS[case]
    path = crafted(legit_file(tmp_path / "shared.sqlite3"), *statements)
    before = fingerprint(path)
    with pytest.raises(HistoryLocationError) as caught:
        HistoryStore(path)
    message = str(caught.value)
    assert str(path) in message and named in message, message
    assert "not agentnb's" in message, message
    assert fingerprint(path) == before, "no migration, no write, no journal beside it"


def test_the_default_history_refuses_it_too_and_runs_go_on_unrecorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements, _ = NOT_AGENTNBS["a view in place of a table"]
    path = crafted(legit_file(tmp_path / "shared.sqlite3"), *statements)
    before = fingerprint(path)
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        with pytest.raises(HistoryLocationError, match="runs is a view"):
            agentnb.runs()
        with pytest.warns(UserWarning, match="runs are not being recorded"):
            assert agentnb._history.default_store() is None
    finally:
        close_default_stores()
    assert fingerprint(path) == before


# ---- a file whose triggers or views act on agentnb's tables opens read-only ------------

FLIP_VERDICTS = (
    "CREATE TRIGGER flip AFTER INSERT ON scores WHEN new.name = 'verdict' "
    "BEGIN UPDATE scores SET number = 1 WHERE id = new.id; END"
)
ACTING_ON_OURS: dict[str, tuple[list[str], str]] = {
    "a newer agentnb's file with a trigger on scores": (
        ["INSERT INTO _migrations VALUES ('m999_from_the_future', 0)", FLIP_VERDICTS],
        "trigger flip",
    ),
    "a trigger on scores": ([FLIP_VERDICTS], "trigger flip"),
    "a trigger on runs": (
        ["CREATE TRIGGER evil AFTER INSERT ON runs BEGIN DELETE FROM tool_calls; END"],
        "trigger evil",
    ),
    "a newer file's trigger elsewhere that writes ours": (
        [
            "INSERT INTO _migrations VALUES ('m999_from_the_future', 0)",
            "CREATE TABLE future (x)",
            "CREATE TRIGGER sneaky AFTER INSERT ON future BEGIN DELETE FROM scores; END",
        ],
        "trigger sneaky",
    ),
    "a view over runs": (["CREATE VIEW mine AS SELECT local_id FROM runs"], "view mine"),
    "a trigger on long texts' rests": (
        ["CREATE TRIGGER cut AFTER INSERT ON run_texts BEGIN DELETE FROM run_texts; END"],
        "trigger cut",
    ),
}


@pytest.mark.parametrize("case", list(ACTING_ON_OURS))
def test_a_file_acting_on_agentnbs_tables_opens_read_only_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    statements, named = ACTING_ON_OURS[case]
    path = crafted(legit_file(tmp_path / "shared.sqlite3"), *statements)
    before = fingerprint(path)
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        with pytest.warns(UserWarning, match="read-only") as warned:
            found = agentnb.runs()
        message = str(warned[0].message)
        assert str(path) in message and named in message, message
        assert len(found) == COUNT, "its runs still read"
        with pytest.raises(HistoryLocationError, match=f"read-only.*{named}"):
            agentnb.score(found[0].local_id, "verdict", False)
    finally:
        close_default_stores()
    assert fingerprint(path) == before, "no migration, no write, no journal beside it"


def test_an_agentnb_without_run_texts_reads_a_file_with_it_as_a_newer_ones_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agentnb without m026 (its migrations before it) opens a file this one made
    read-only, as a newer agentnb's: it would write long texts whole and leave their rests."""
    path = legit_file(tmp_path / "shared.sqlite3")
    at = [step.__name__ for step in MIGRATIONS].index("m026_long_texts_apart")
    monkeypatch.setattr(_migrations, "MIGRATIONS", MIGRATIONS[:at])
    db = sqlite3.connect(path)
    try:
        assert _file.check_schema(db, str(path)) == ["the table run_texts"]
    finally:
        db.close()


def test_an_older_agentnb_file_still_opens_and_is_brought_up_to_date(tmp_path: Path) -> None:
    path = legit_file(tmp_path / "old.sqlite3", migrations=6)
    with HistoryStore(path) as store:
        assert store.migrations() == [m.__name__ for m in every_migration()]


def test_a_file_without_the_search_index_still_opens(tmp_path: Path) -> None:
    """A Python whose SQLite lacks FTS5 writes no search index: its file is agentnb's."""
    path = legit_file(tmp_path / "no-fts.sqlite3")
    db = sqlite3.connect(path, isolation_level=None)
    for (name,) in db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'runs_search%'"
    ).fetchall():
        db.execute(f"DROP TRIGGER {name}")
    db.execute("DROP TABLE runs_search")
    db.execute("DROP TABLE runs_search_pending")
    db.execute("DROP VIEW runs_search_text")
    db.close()
    with HistoryStore(path) as store:
        assert store.count() == COUNT


# ---- a newer agentnb's file: additions that would change agentnb's writes make it read-only ----

FUTURE = "INSERT INTO _migrations VALUES ('m999_from_the_future', 0)"
EDIT_SCHEMA = "PRAGMA writable_schema = ON"


def runs_sql(old: str, new: str) -> str:
    """A statement (under ``EDIT_SCHEMA``) that rewrites part of the runs table's SQL."""
    return f"UPDATE sqlite_master SET sql = replace(sql, '{old}', '{new}') WHERE name = 'runs'"


WRITES_CHANGED: dict[str, tuple[list[str], str]] = {
    "a generated column that drops a failed run's final write": (
        [
            "ALTER TABLE runs ADD COLUMN flag INTEGER AS (CASE WHEN status = 'failed' "
            "THEN NULL ELSE 1 END) VIRTUAL NOT NULL ON CONFLICT IGNORE"
        ],
        "flag INTEGER AS",
    ),
    "a unique column whose conflict clause deletes the previous run": (
        [
            "ALTER TABLE runs ADD COLUMN k INTEGER DEFAULT 1",
            "UPDATE runs SET k = rowid",
            "CREATE UNIQUE INDEX made_unique ON runs (k)",
            EDIT_SCHEMA,
            runs_sql("k INTEGER DEFAULT 1", "k INTEGER DEFAULT 1 UNIQUE ON CONFLICT REPLACE"),
            "UPDATE sqlite_master SET name = 'sqlite_autoindex_runs_2', sql = NULL "
            "WHERE name = 'made_unique'",
        ],
        "ON CONFLICT REPLACE",
    ),
    "a unique index of its own on runs": (
        [
            "ALTER TABLE runs ADD COLUMN k INTEGER DEFAULT 1",
            "UPDATE runs SET k = rowid",
            "CREATE UNIQUE INDEX one_k ON runs (k)",
        ],
        "index one_k",
    ),
    "a check constraint on runs": (
        [
            EDIT_SCHEMA,
            # the table's constraint after its last column, whichever that is
            "UPDATE sqlite_master SET sql = substr(sql, 1, length(sql) - 1) || "
            "', CHECK (length(local_id) > 0))' WHERE name = 'runs'",
        ],
        "CHECK (length(local_id) > 0)",
    ),
    "a collation on an added column": (
        ["ALTER TABLE runs ADD COLUMN c TEXT COLLATE NOCASE"],
        "COLLATE NOCASE",
    ),
    "a table of its own whose foreign key holds runs": (
        [
            "CREATE TABLE notes (run TEXT REFERENCES runs (local_id) ON DELETE RESTRICT)",
            f"INSERT INTO notes VALUES ('{BAD}')",
        ],
        "table notes",
    ),
}


@pytest.fixture
def failing_connection(server: ServerHandle) -> Iterator[str]:
    """A connection to the built-in server whose runs fail mid-stream (each run its own)."""
    name = f"failing_{uuid.uuid4().hex[:8]}"
    fault = f"stream-error=500;times=1000;tag={name}"
    agentnb.connect(
        "operativus",
        base_url=server.url_for("operativus"),
        api_key=server.api_key,
        name=name,
        headers={"X-AgentNB-Fault": fault},
    )
    try:
        yield name
    finally:
        from agentnb._app.front.connections import disconnect

        disconnect(name)


@pytest.mark.parametrize("case", list(WRITES_CHANGED))
def test_a_newer_file_that_would_change_agentnbs_writes_opens_read_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_connection: str, case: str
) -> None:
    statements, named = WRITES_CHANGED[case]
    path = crafted(legit_file(tmp_path / "shared.sqlite3"), FUTURE, *statements)
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    before = fingerprint(path)
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        with pytest.warns(UserWarning, match="read-only") as warned:
            handle = agentnb.ask("echo", "hello", via=failing_connection, display=False)
        with pytest.raises(agentnb.RunFailedError):
            handle.wait(PATIENCE_S)
        message = str(warned[0].message)
        assert str(path) in message and named in message, message
        found = agentnb.runs()
        assert len(found) == COUNT, "its runs still read; the failed run is not recorded there"
        assert BAD in {run.local_id for run in found}
        with pytest.raises(HistoryLocationError, match="read-only"):
            agentnb.score(found[0].local_id, "verdict", False)
    finally:
        close_default_stores()
    assert fingerprint(path) == before, "no migration, no write, no journal beside it"


HARMLESS_ADDITIONS = [
    "ALTER TABLE runs ADD COLUMN note TEXT",
    "ALTER TABLE runs ADD COLUMN weight REAL DEFAULT 1.5",
    "ALTER TABLE scores ADD COLUMN \"by whom\" TEXT DEFAULT 'me, myself'",
    "CREATE TABLE future (x)",
    "CREATE INDEX future_by_x ON future (x)",
]


def test_a_newer_file_with_plain_additions_still_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_connection: str
) -> None:
    path = crafted(legit_file(tmp_path / "shared.sqlite3"), FUTURE, *HARMLESS_ADDITIONS)
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        handle = agentnb.ask("echo", "hello", via=failing_connection, display=False)
        with pytest.raises(agentnb.RunFailedError):
            handle.wait(PATIENCE_S)
        found = agentnb.runs()
        assert len(found) == COUNT + 1
        assert {run.local_id: run.status for run in found}[handle.run.local_id] == "failed"
    finally:
        close_default_stores()


# ---- a JSON column that is not the JSON agentnb wrote raises the history's error -----------

DEEP = "[" * 100_000 + "]" * 100_000
DATASET_ROWS = {
    "not JSON": "{not json",
    "nested past any sane depth": DEEP,
    "a number": "5",
    "an object, not a list": '{"question": "q"}',
    "a list of numbers": "[1, 2]",
    "a number past the parser's digits": "[" + "9" * 5000 + "]",
    "a blob": b"[]",
}


@pytest.mark.parametrize("case", list(DATASET_ROWS))
def test_a_malformed_dataset_row_raises_the_historys_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        agentnb.evals.dataset("qa", ["What is 2 + 2?"])
        agentnb.evals.dataset("ok", ["Is this kept?"])
        close_default_stores()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("UPDATE datasets SET rows = ? WHERE name = 'qa'", (DATASET_ROWS[case],))
        db.close()
        with pytest.raises(HistoryError, match="dataset 'qa'"):
            agentnb.evals.dataset("qa")
        assert agentnb.evals.dataset("ok").rows[0]["question"] == "Is this kept?", "the rest reads"
    finally:
        close_default_stores()


@pytest.mark.parametrize("created", [1e300, -1e300, "yesterday"])
def test_a_dataset_row_with_an_impossible_time_raises_the_historys_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, created: object
) -> None:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        agentnb.evals.dataset("qa", ["What is 2 + 2?"])
        close_default_stores()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("UPDATE datasets SET created = ?", (created,))
        db.close()
        with pytest.raises(HistoryError, match="dataset 'qa'"):
            agentnb.evals.dataset("qa")
    finally:
        close_default_stores()


def test_a_dataset_row_whose_version_is_text_raises_and_new_versions_are_still_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        agentnb.evals.dataset("qa", ["What is 2 + 2?"])
        agentnb.evals.dataset("qa", ["What is 3 + 3?"])
        close_default_stores()
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("UPDATE datasets SET version = 'latest' WHERE version = 1")
        db.close()
        with pytest.raises(HistoryError, match="dataset 'qa'"):
            agentnb.evals.dataset("qa")
        assert agentnb.evals.dataset("qa", version=2).rows[0]["question"] == "What is 3 + 3?"
        assert agentnb.evals.dataset("qa", ["What is 4 + 4?"]).version == 3
    finally:
        close_default_stores()


ARM = '{"agent": "echo", "variant": null, "request": "{}"}'
EXPERIMENT_ROWS = {
    "arms not JSON": ("[{", 0.0),
    "arms nested past any sane depth": (DEEP, 0.0),
    "arms a number": ("5", 0.0),
    "an arm without its request": ('[{"agent": "echo", "variant": null}]', 0.0),
    "an arm whose agent is a number": ('[{"agent": 7, "variant": null, "request": "{}"}]', 0.0),
    "a time past any date": (f"[{ARM}]", 1e300),
}


@pytest.mark.parametrize("case", list(EXPERIMENT_ROWS))
def test_a_malformed_experiment_row_raises_the_historys_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    arms, created = EXPERIMENT_ROWS[case]
    path = legit_file(tmp_path / "history.sqlite3")
    db = sqlite3.connect(path, isolation_level=None)
    insert = "INSERT INTO experiments (name, created, arms) VALUES (?, ?, ?)"
    db.execute(insert, ("bad", created, arms))
    db.execute(insert, ("good", NOW, f"[{ARM}]"))
    db.close()
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        with pytest.raises(HistoryError, match="experiment 'bad'"):
            agentnb.evals.experiment("bad")
        assert agentnb.evals.experiment("good").arms == ["echo"], "the others read on"
    finally:
        close_default_stores()


@pytest.mark.parametrize(
    ("expected", "extra"), [(DEEP, None), ("{not json", None), ('"a"', "[1]"), ('"a"', "7")]
)
def test_a_malformed_experiment_example_raises_the_historys_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, expected: str, extra: str | None
) -> None:
    path = legit_file(tmp_path / "history.sqlite3")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO experiments (name, created, arms) VALUES (?, ?, ?)", ("x", NOW, "[]"))
    db.execute(
        "INSERT INTO experiment_examples VALUES ('x', 0, 'q0', 'What is 2 + 2?', ?, ?)",
        (expected, extra),
    )
    db.close()
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        with pytest.raises(HistoryError, match="example at 0 of an experiment"):
            agentnb.evals.experiment("x").examples()
    finally:
        close_default_stores()


def test_a_run_whose_json_is_nested_past_any_sane_depth_is_flagged_malformed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = legit_file(tmp_path / "history.sqlite3")
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE runs SET metadata = ? WHERE local_id = ?", (DEEP, BAD))
    db.close()
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    try:
        found = agentnb.runs()
        assert len(found) == COUNT
        assert "malformed" in repr(found)
        assert {run.local_id: run.metadata for run in found}[BAD] is None
    finally:
        close_default_stores()


# ---- every query can be interrupted --------------------------------------------------


def interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_a_long_query_stops_at_ctrl_c_and_the_store_reads_on(tmp_path: Path) -> None:
    with HistoryStore(legit_file(tmp_path / "history.sqlite3")) as store:
        timer = interrupt_after(0.5)
        try:
            with pytest.raises(KeyboardInterrupt):
                store.read_rows(f"SELECT count(*) FROM ({ENDLESS})", [])
        finally:
            timer.cancel()
        assert store.count() == COUNT


def wait_for_output(client: Any, msg_id: str, text: str) -> None:
    """Until the cell ``msg_id`` has printed ``text``."""
    while True:
        message = client.get_iopub_msg(timeout=PATIENCE_S)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "stream" and text in message["content"]["text"]:
            return


def test_a_kernel_interrupt_stops_a_long_query(tmp_path: Path) -> None:
    pytest.importorskip("jupyter_client")
    path = legit_file(tmp_path / "history.sqlite3")
    manager = kernel_manager()
    manager.start_kernel(env={**os.environ, "PYTHONPATH": str(REPO), "AGENTNB_HISTORY": "off"})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=PATIENCE_S)
        opened = client.execute_interactive(
            f"from agentnb._history import HistoryStore; store = HistoryStore({str(path)!r})",
            timeout=PATIENCE_S,
        )
        assert opened["content"]["status"] == "ok"
        msg_id = client.execute(  # its error must not abort the cell after it (ipykernel 7)
            f"print('querying', flush=True); store.read_rows('SELECT count(*) FROM ({ENDLESS})', [])",
            stop_on_error=False,
        )
        wait_for_output(client, msg_id, "querying")  # the cell is past its print: in the query
        manager.interrupt_kernel()
        reply = client.get_shell_msg(timeout=PATIENCE_S)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = client.get_shell_msg(timeout=PATIENCE_S)
        assert reply["content"]["status"] == "error"
        assert reply["content"]["ename"] == "KeyboardInterrupt"
        assert "read_rows" in "".join(reply["content"]["traceback"])
        after = client.execute_interactive("assert store.count() == 3", timeout=PATIENCE_S)
        assert after["content"]["status"] == "ok"
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
