"""A run's answer or reasoning past 1 MiB is written into its row in pieces (never joined into
one string, never bound as one value): it reads back as the text it was (non-ASCII, lone
surrogates repaired, a secret redacted even when the pieces cut it), as text for SQL and
pandas; search finds it; SQLite holds about two copies of it at most while writing it; and a
process killed mid-write leaves no half answer shown as complete."""

from __future__ import annotations

import _sqlite3
import ctypes
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from agentnb._core.request import RunRequest
from agentnb._core.run import MIB, Run
from agentnb._core.secrets import register_secret
from agentnb._history._run_filter import RunFilter
from agentnb.events import ReasoningDelta, RunCompleted, TextDelta
from agentnb.history import HistoryStore

SECRET = "sk-long-answer-secret-0123456789"
PIECE = "naïve wörds, 東京 and 😀 " * 3000
REQUEST = RunRequest(agent="writer", message="write at length")


def long_run(pieces: int = 40) -> Run:
    """About 3 MiB of answer: non-ASCII, a lone surrogate, and the secret cut across two
    deltas; reasoning past 1 MiB too."""
    run = Run(agent="writer", message="write at length")
    for n in range(pieces):
        run.apply(ReasoningDelta(delta=f"thinking {n} " * 5000))
        run.apply(TextDelta(delta=PIECE + SECRET[:10]))
        run.apply(TextDelta(delta=SECRET[10:] + f" part{n} \ud800 "))
    run.apply(TextDelta(delta="zebraword at the end"))
    run.apply(ReasoningDelta(delta="reasonmark"))
    run.apply(RunCompleted())
    return run


def stored(text: str) -> str:
    return text.replace(SECRET, "***").replace("\ud800", "?")


@pytest.mark.parametrize("started", [True, False], ids=["start-and-end", "end-only"])
def test_a_long_answer_reads_back_as_it_was(tmp_path: Path, started: bool) -> None:
    register_secret(SECRET)
    path = tmp_path / "history.sqlite3"
    run = long_run()
    assert len(run.text) > 2 * MIB and len(run.reasoning) > MIB
    with HistoryStore(path) as store:
        if started:
            store.record_start(run, REQUEST, base_url="")
        store.record_end(run)
        assert store.flush(30)
        record = store.get(run.local_id)
    assert record is not None and record.status == "completed"
    assert record.answer == stored(run.text) and SECRET not in record.answer
    assert record.reasoning == run.reasoning
    db = sqlite3.connect(path)
    assert db.execute("SELECT typeof(answer), typeof(reasoning) FROM runs").fetchone() == (
        "text",
        "text",
    )
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_sql("SELECT answer FROM runs", db)
    assert frame["answer"][0] == stored(run.text)
    db.close()


def test_search_finds_a_long_answer(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    run = long_run(20)
    with HistoryStore(path) as store:
        store.record_start(run, REQUEST, base_url="")
        store.record_end(run)
        assert store.flush(30)
        for words in ("zebraword", "part19", "reasonmark", "length"):  # a word seen once
            assert store.runs(RunFilter.build(search=words)).local_ids == [run.local_id]
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO runs_search (runs_search) VALUES ('integrity-check')")
    assert db.execute("SELECT count(*) FROM runs_search_pending").fetchone() == (0,)
    db.close()


def sqlite_highwater(reset: bool) -> int:
    """The most SQLite held at once (its own count) since the last reset."""
    highwater = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_highwater
    highwater.restype = ctypes.c_int64
    return int(highwater(int(reset)))


def test_sqlite_holds_two_copies_of_a_long_answer_at_most_while_writing(tmp_path: Path) -> None:
    """Its placeholder and the row's record: the search index no longer reads the
    placeholder in the same statement (three copies before)."""
    run = Run(agent="writer", message="write at length")
    for _ in range(16 * 64):
        run.apply(TextDelta(delta="x" * 16383 + "\n"))
    run.apply(RunCompleted())
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record_start(run, REQUEST, base_url="")
        assert store.flush(30)
        sqlite_highwater(reset=True)
        store.record_end(run)
        assert store.flush(30)
        assert sqlite_highwater(reset=False) < 2.6 * 16 * MIB


CRASH = """
import os, signal, sqlite3, sys, threading
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb.events import RunCompleted, TextDelta
from agentnb.history import HistoryStore

def die_on_the_second_piece(frame, event, arg):
    if event == "c_call" and isinstance(getattr(arg, "__self__", None), sqlite3.Blob):
        die_on_the_second_piece.pieces += 1
        if die_on_the_second_piece.pieces == 2:
            os.kill(os.getpid(), signal.SIGKILL)
die_on_the_second_piece.pieces = 0

threading.setprofile(die_on_the_second_piece)  # the writer thread, started by the store
store = HistoryStore(sys.argv[1])
run = Run(agent="writer", message="write at length")
store.record_start(run, RunRequest(agent="writer", message="write at length"), base_url="")
run.apply(TextDelta(delta="the first words "))
store.record_progress(run)
assert store.flush(30)
for _ in range(12):
    run.apply(TextDelta(delta="x" * 262143 + "\\n"))
run.apply(RunCompleted())
store.record_end(run)
store.flush(30)
print("not killed")
"""


def test_a_process_killed_mid_write_leaves_no_half_answer(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    HistoryStore(path).close()
    script = textwrap.dedent(CRASH)
    child = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True)
    assert child.returncode == -9, child.stderr.decode()
    with HistoryStore(path) as store:
        (record,) = list(store.runs())
    assert record.status == "interrupted"
    assert record.answer == "the first words "
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM runs_search_pending").fetchone() == (0,)
    assert db.execute(
        "SELECT count(*) FROM runs_search WHERE runs_search MATCH 'first'"
    ).fetchone() == (1,)
    db.close()
