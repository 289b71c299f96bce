"""The history file is a contract: docs/history-schema.md names every table and column of a
fresh file (so the page cannot fall behind a migration), and the runs read out as Arrow and
polars tables typed as the pandas frame is, or say which extra is missing."""

from __future__ import annotations

import re
import sqlite3
import sys
from pathlib import Path

import pytest
from agentnb_testing import REPO

from agentnb.history import HistoryStore

PAGE = REPO / "docs" / "history-schema.md"


def fresh_schema(path: Path) -> dict[str, list[str]]:
    """Every table of a new history file and its columns."""
    with HistoryStore(path):
        pass
    db = sqlite3.connect(path)
    try:
        tables = [
            name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {
            table: [row[1] for row in db.execute(f"PRAGMA table_info('{table}')")]
            for table in tables
        }
    finally:
        db.close()


def documented() -> dict[str, list[str]]:
    """Each ``### `table` `` section of the page and the columns its table names."""
    sections = re.split(r"^### `(\w+)`\n", PAGE.read_text(), flags=re.M)
    return {
        name: re.findall(r"^\| `(\w+)` \|", body, flags=re.M)
        for name, body in zip(sections[1::2], sections[2::2], strict=True)
    }


def test_the_schema_page_names_every_table_and_column_of_a_fresh_file(tmp_path: Path) -> None:
    schema, page = fresh_schema(tmp_path / "h.sqlite3"), documented()
    text = PAGE.read_text()
    fts_own = {name for name in schema if name.startswith("runs_search_")}
    assert fts_own, "FTS5's own tables are named in a sentence"
    assert all(f"`{name}`" in text for name in fts_own)
    missing = sorted(set(schema) - fts_own - set(page))
    assert not missing, f"tables the page does not describe: {missing}"
    for table, columns in schema.items():
        if table in fts_own:
            continue
        assert page[table] == columns, f"{table}: the page's columns, in the file's order"
    gone = sorted(set(page) - set(schema))
    assert not gone, f"the page describes tables a fresh file lacks: {gone}"


def test_the_schema_page_names_the_tool_call_statuses_a_file_holds(tmp_path: Path) -> None:
    from agentnb._core.request import RunRequest
    from agentnb._core.run import Run
    from agentnb.events import RunCompleted, ToolCallFinished, ToolCallStarted

    with HistoryStore(tmp_path / "h.sqlite3") as store:
        run = Run(agent="a", message="q")
        run.start()
        run.apply(ToolCallStarted(call_id="c1", name="search"))
        run.apply(ToolCallFinished(call_id="c1", output="found"))
        run.apply(ToolCallStarted(call_id="c2", name="search"))
        run.apply(ToolCallFinished(call_id="c2", error="down"))
        run.apply(RunCompleted())
        store.record(run, RunRequest(agent="a", message="q"))
        held = {row.status for row in store.runs().tool_calls()}
    assert held == {"succeeded", "failed"}
    (row,) = re.findall(r"^\| `status` \| TEXT \| (`succeeded`.*) \|$", PAGE.read_text(), re.M)
    assert held <= set(re.findall(r"`(\w+)`", row))


def test_the_schema_page_is_in_the_site() -> None:
    assert "history-schema.md" in (REPO / "mkdocs.yml").read_text()


@pytest.fixture
def scored(tmp_path: Path) -> HistoryStore:
    from agentnb._core.request import RunRequest
    from agentnb._core.run import Run
    from agentnb.events import RunCompleted, TextDelta

    store = HistoryStore(tmp_path / "h.sqlite3")
    for i in range(3):
        run = Run(agent=("a", "b")[i % 2], message=f"q{i}")
        run.start()
        run.apply(TextDelta(delta=f"answer {i}"))
        run.apply(RunCompleted())
        request = RunRequest(agent=run.agent, message=run.message, metadata={"user": f"u{i}"})
        store.record(run, request)
        store.add_score(run.local_id, "correct", i != 1)
        store.add_score(run.local_id, "grade", "good" if i else 0.5)  # of two kinds
    return store


def test_to_arrow_and_to_polars_are_typed_like_the_frame(scored: HistoryStore) -> None:
    pyarrow = pytest.importorskip("pyarrow")
    polars = pytest.importorskip("polars")
    history = scored.runs()
    frame = history.to_pandas()
    table = history.to_arrow()
    assert table.column_names == list(frame.columns)
    assert table.num_rows == len(frame) == 3
    types = dict(zip(table.column_names, table.schema.types, strict=True))
    assert types["started_at"] == pyarrow.timestamp("us", tz="UTC")
    assert types["total_tokens"] == pyarrow.int64()
    assert types["score.correct"] == pyarrow.bool_()
    assert pyarrow.types.is_dictionary(types["agent"])
    assert types["metadata"] == pyarrow.struct([("user", pyarrow.string())])
    assert pyarrow.compute.struct_field(table.column("metadata"), "user").to_pylist() == [
        "u2",
        "u1",
        "u0",
    ]
    users = history.to_polars(["agent", "metadata"])["metadata"].struct.field("user")
    assert users.to_list() == ["u2", "u1", "u0"]
    assert table.column("score.correct").to_pylist() == [True, False, True]
    assert table.column("score.grade").to_pylist() == ["good", "good", "0.5"]
    pl_frame = history.to_polars(["agent", "started_at", "score.correct"])
    assert pl_frame.columns == ["agent", "started_at", "score.correct"]
    assert pl_frame["score.correct"].to_list() == [True, False, True]
    assert pl_frame.schema["started_at"] == polars.Datetime("us", "UTC")
    scored.close()


@pytest.mark.parametrize(("method", "extra"), [("to_arrow", "arrow"), ("to_polars", "polars")])
def test_a_missing_extra_is_named(
    scored: HistoryStore, monkeypatch: pytest.MonkeyPatch, method: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow" if extra == "arrow" else "polars", None)
    with pytest.raises(ImportError, match=rf'pip install "agentnb\[{extra}\]"'):
        getattr(scored.runs(), method)()
    scored.close()
