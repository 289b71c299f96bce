"""``runs().to_pandas()`` converts the rows as they are read, a chunk at a time; its frame
is the frame of every row read at once, whatever falls where: a malformed row, a name seen
only in a later chunk, a column empty in one chunk and not in the next, scores."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pandas as pd
import pytest
from agentnb_testing import history_id, history_records

from agentnb._history import _store
from agentnb.history import HistoryStore

RUNS = 27
CHUNK = 4


@pytest.fixture
def crafted(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records(history_records(RUNS, start=time.time()))
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE runs SET error_code = NULL, model = NULL")
    db.executemany(
        "UPDATE runs SET error_code = ?, model = ? WHERE local_id = ?",
        [("RATE_LIMIT", "gpt-4.1", history_id(25)), ("CAPACITY", "a-model", history_id(9))],
    )
    db.execute(
        "UPDATE runs SET total_tokens = 'lots', metadata = '{not json', started_at = 1e300 "
        "WHERE local_id = ?",
        (history_id(6),),
    )
    db.execute("UPDATE runs SET cost_usd = -5 WHERE local_id = ?", (history_id(17),))
    db.executemany(
        "INSERT INTO scores (local_id, name, kind, number, label, source, created) "
        "VALUES (?, ?, ?, ?, ?, 'code', 0)",
        [
            (history_id(2), "correct", "bool", 1, None),
            (history_id(22), "quality", "number", 0.5, None),
            (history_id(14), "tone", "label", None, "calm"),
        ],
    )
    db.close()
    return path


def read_whole(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    with HistoryStore(path) as store:
        history = store.runs()
        assert len(history) == RUNS  # every row read: the frame is built from them at once
        return history.to_pandas(columns)


def test_the_frame_read_in_chunks_is_the_frame_of_every_row(
    crafted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = read_whole(crafted)
    monkeypatch.setattr(_store, "READ_CHUNK", CHUNK)
    with HistoryStore(crafted) as store:
        chunked = store.runs().to_pandas()
    pd.testing.assert_frame_equal(chunked, whole)
    assert chunked["malformed"].notna().sum() == 1
    assert list(chunked["error_code"].cat.categories) == ["CAPACITY", "RATE_LIMIT"]
    assert "cost_usd=-5" in chunked["refused_figures"].dropna().iloc[0]
    assert [name for name in chunked.columns if name.startswith("score.")] == [
        "score.correct",
        "score.quality",
        "score.tone",
    ]


@pytest.mark.parametrize(
    "columns", [["agent", "score.tone", "malformed"], ["model", "ttft"], ["score.quality"]]
)
def test_so_is_a_pick_of_its_columns(
    crafted: Path, monkeypatch: pytest.MonkeyPatch, columns: list[str]
) -> None:
    whole = read_whole(crafted, columns)
    monkeypatch.setattr(_store, "READ_CHUNK", CHUNK)
    with HistoryStore(crafted) as store:
        chunked = store.runs().to_pandas(columns)
    pd.testing.assert_frame_equal(chunked, whole)
    assert list(chunked.columns) == columns


def test_an_unknown_column_is_named_before_any_row_is_read(crafted: Path) -> None:
    with HistoryStore(crafted) as store:
        for unknown in ("tokens", "score.nope"):
            with pytest.raises(KeyError, match="unknown column"):
                store.runs().to_pandas(["agent", unknown])


def test_a_result_of_a_closed_store_reads_its_frame_from_the_file_again(
    crafted: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = read_whole(crafted)
    monkeypatch.setattr(_store, "READ_CHUNK", CHUNK)
    with HistoryStore(crafted) as store:
        history = store.runs()
    pd.testing.assert_frame_equal(history.to_pandas(), whole)
    assert len(history) == RUNS  # its rows, read again at this use
