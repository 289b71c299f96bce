"""A run's answer or reasoning past 1 MiB (1,048,576 characters) keeps that much in its row
(what the search index reads) and the rest apart, in ``run_texts``, written in pieces (never
joined into one string, never bound as one value): every reader reads it back whole, as it
was (non-ASCII, lone surrogates repaired, a secret redacted even when the pieces cut it);
search finds the words of its first MiB; SQLite holds a small part of it while writing it;
and a process killed mid-write leaves no half answer shown as complete."""

from __future__ import annotations

import _sqlite3
import ctypes
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import REPO, cli_in_process

from agentnb._core.request import RunRequest
from agentnb._core.run import MIB, Run
from agentnb._core.secrets import register_secret
from agentnb._history._past_run import past_run
from agentnb._history._run_filter import RunFilter
from agentnb._history._store import HEAD_ROWS
from agentnb.events import ReasoningDelta, RunCompleted, TextDelta
from agentnb.history import HistoryStore

SECRET = "sk-long-answer-secret-0123456789"
PIECE = "naïve wörds, 東京 and 😀 " * 3000
REQUEST = RunRequest(agent="writer", message="write at length")


def long_run(pieces: int = 40, *, ended: bool = True) -> Run:
    """About 3 MiB of answer: non-ASCII, a lone surrogate, and the secret cut across two
    deltas; reasoning past 1 MiB too."""
    register_secret(SECRET)
    run = Run(agent="writer", message="write at length")
    run.apply(ReasoningDelta(delta="reasonstart "))
    for n in range(pieces):
        run.apply(ReasoningDelta(delta=f"thinking {n} " * 5000))
        run.apply(TextDelta(delta=PIECE + SECRET[:10]))
        run.apply(TextDelta(delta=SECRET[10:] + f" part{n} \ud800 "))
    run.apply(TextDelta(delta="zebraword at the end"))
    run.apply(ReasoningDelta(delta="reasonmark"))
    if ended:
        run.apply(RunCompleted())
    return run


def stored(text: str) -> str:
    return text.replace(SECRET, "***").replace("\ud800", "?")


SCHEMA_PAGE = (REPO / "docs" / "history-schema.md").read_text()
WHOLE_TEXT_SQL = SCHEMA_PAGE.split("### `run_texts`")[1].split("```sql\n")[1].split("```")[0]
WHOLE_TEXT_SQL += " WHERE r.local_id = ?"
"""The query docs/history-schema.md gives for a run's whole texts."""


def short_run(n: int) -> Run:
    run = Run(agent="writer", message=f"short {n}")
    run.start(at=2_000_000_000.0 + n)  # later than the long run: it is not in the first rows
    run.apply(TextDelta(delta=f"short answer {n}"))
    run.apply(RunCompleted())
    return run


def cli_json(path: Path) -> list[dict[str, Any]]:
    out = cli_in_process("runs", "--db", str(path), "--all", "--json")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.strip("[]\n").split(",\n")]


@pytest.mark.parametrize("started", [True, False], ids=["start-and-end", "end-only"])
def test_a_long_answer_reads_back_as_it_was_through_every_reader(
    tmp_path: Path, started: bool
) -> None:
    register_secret(SECRET)
    path = tmp_path / "history.sqlite3"
    run = long_run()
    answer, reasoning = stored(run.text), run.reasoning
    assert len(run.text) > 2 * MIB and len(run.reasoning) > MIB
    with HistoryStore(path) as store:
        if started:
            store.record_start(run, REQUEST, base_url="")
        store.record_end(run)
        for n in range(HEAD_ROWS + 1):
            store.record(short_run(n), REQUEST)
        assert store.flush(30)
        whole = {(answer, reasoning)}
        assert SECRET not in answer
        record = store.get(run.local_id)
        assert record is not None and record.status == "completed"
        assert {(record.answer, record.reasoning)} == whole, "get"
        found = store.find(run.local_id)
        assert found is not None and {(found.answer, found.reasoning)} == whole, "find"
        (by_id,) = store.runs_by_ids([run.local_id])
        assert {(by_id.answer, by_id.reasoning)} == whole, "runs_by_ids (a table's page)"
        history = store.runs()
        assert run.local_id not in history.local_ids[:HEAD_ROWS], "read after the first rows"
        (late,) = [r for r in history if r.local_id == run.local_id]
        assert {(late.answer, late.reasoning)} == whole, "runs(), read after its first rows"
        frame = store.runs().to_pandas().set_index("local_id")
        assert {(frame.at[run.local_id, "answer"], frame.at[run.local_id, "reasoning"])} == whole
        (searched,) = store.runs(RunFilter.build(search="part0"))
        assert {(searched.answer, searched.reasoning)} == whole, "a search's result"
        searched_frame = store.runs(RunFilter.build(search="part0")).to_pandas()
        assert searched_frame["answer"][0] == answer
        assert past_run(record, []).text == answer, "show()"
        assert past_run(record, []).reasoning == reasoning
    (listed,) = [r for r in cli_json(path) if r["local_id"] == run.local_id]
    assert {(listed["answer"], listed["reasoning"])} == whole, "agentnb runs --json"
    db = sqlite3.connect(path)
    assert {db.execute(WHOLE_TEXT_SQL, (run.local_id,)).fetchone()[1:]} == whole, "the docs' SQL"
    pandas = pytest.importorskip("pandas")
    frame = pandas.read_sql(WHOLE_TEXT_SQL, db, params=(run.local_id,))
    assert frame["answer"][0] == answer
    db.close()


def test_the_runs_row_holds_a_long_texts_first_mib_and_run_texts_the_rest(
    tmp_path: Path,
) -> None:
    path = tmp_path / "history.sqlite3"
    run = long_run(20)
    with HistoryStore(path) as store:
        store.record(run, REQUEST)
        assert store.flush(30)
    db = sqlite3.connect(path)
    heads = db.execute("SELECT length(answer), length(reasoning), typeof(answer) FROM runs")
    assert heads.fetchone() == (MIB, MIB, "text")
    rests = db.execute("SELECT field, typeof(rest), length(rest) FROM run_texts ORDER BY field")
    assert rests.fetchall() == [
        ("answer", "blob", len(stored(run.text)[MIB:].encode())),
        ("reasoning", "blob", len(run.reasoning[MIB:].encode())),
    ]
    db.close()


def test_a_texts_rest_goes_with_every_write_of_it(tmp_path: Path) -> None:
    """A row written again (a run reattached and ended anew) keeps no rest of its last text."""
    long = long_run(20)
    short = Run(agent="writer", message="again", local_id=long.local_id)
    short.apply(TextDelta(delta="a short answer"))
    short.apply(RunCompleted())
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        store.record(long, REQUEST)
        store.record_end(short)
        assert store.flush(30)
        record = store.get(long.local_id)
        assert record is not None
        assert (record.answer, record.reasoning) == ("a short answer", None)
        store.record_end(long)
        store.record_start(short, REQUEST, base_url="")  # an ended row is not reopened
        assert store.flush(30)
        record = store.get(long.local_id)
        assert record is not None and record.answer == stored(long.text)
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM run_texts").fetchone() == (2,)
    db.close()


def test_a_long_run_going_when_its_store_closes_keeps_its_whole_texts(tmp_path: Path) -> None:
    run = long_run(20, ended=False)
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record_start(run, REQUEST, base_url="")
        store.record_progress(run)
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        (record,) = store.runs()
    assert record.status == "interrupted"
    assert (record.answer, record.reasoning) == (stored(run.text), run.reasoning)


def test_imported_records_keep_a_long_text_whole(tmp_path: Path) -> None:
    run = long_run(20)
    with HistoryStore(tmp_path / "one.sqlite3") as one:
        one.record(run, REQUEST)
        records = list(one.runs())
    with HistoryStore(tmp_path / "two.sqlite3") as two:
        assert two.import_records(records) == 1
        assert two.import_records(records) == 0
        (copied,) = two.runs()
        assert (copied.answer, copied.reasoning) == (stored(run.text), run.reasoning)
        assert two.runs(RunFilter.build(search="part0")).local_ids == [run.local_id]
        assert len(two.runs(RunFilter.build(search="zebraword"))) == 0
    db = sqlite3.connect(tmp_path / "two.sqlite3")
    assert db.execute("SELECT max(length(answer)) FROM runs").fetchone() == (MIB,)
    db.close()


def test_a_long_answer_written_before_run_texts_still_reads_and_is_found(
    tmp_path: Path,
) -> None:
    """An older agentnb wrote a long text whole into its row: it reads as it was, and the
    search index, which read all of it then, still finds its every word."""
    path = tmp_path / "history.sqlite3"
    run = long_run(20)
    whole = stored(run.text)
    with HistoryStore(path) as store:
        store.record(short_run(0), REQUEST)
        assert store.flush(30)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE runs SET answer = ?", (whole,))
    db.close()
    with HistoryStore(path) as store:
        (record,) = store.runs()
        assert record.answer == whole
        assert len(store.runs(RunFilter.build(search="zebraword"))) == 1


def test_search_reads_the_first_mib_of_a_long_text(tmp_path: Path) -> None:
    """Words of a text's first 1,048,576 characters are found; words only past them are
    not (the run is still found by any other word of its first MiB)."""
    path = tmp_path / "history.sqlite3"
    run = long_run(20)
    with HistoryStore(path) as store:
        store.record_start(run, REQUEST, base_url="")
        store.record_end(run)
        assert store.flush(30)
        for words in ("part0", "part3", "reasonstart", "length"):
            assert store.runs(RunFilter.build(search=words)).local_ids == [run.local_id], words
        for words in ("zebraword", "part19", "reasonmark", "part0 zebraword"):
            assert len(store.runs(RunFilter.build(search=words))) == 0, words
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("INSERT INTO runs_search (runs_search) VALUES ('integrity-check')")
    db.close()


def sqlite_memory() -> tuple[Any, Any]:
    """SQLite's own counts for the whole process: what it holds now, and the most it held
    since the last reset (``highwater(1)`` resets it to what it holds now)."""
    library = ctypes.CDLL(_sqlite3.__file__)
    used, highwater = library.sqlite3_memory_used, library.sqlite3_memory_highwater
    used.restype = highwater.restype = ctypes.c_int64
    return used, highwater


def test_sqlite_holds_a_small_part_of_a_long_answer_while_writing(tmp_path: Path) -> None:
    """Its first MiB bound into the row and read by the search index, and the rest written
    in pieces into a zero-filled value of its size, the last of its row: SQLite held two
    copies of all of it when the row held it whole."""
    run = Run(agent="writer", message="write at length")
    for _ in range(16 * 64):
        run.apply(TextDelta(delta="x" * 16383 + "\n"))
    run.apply(RunCompleted())
    with HistoryStore(tmp_path / "history.sqlite3") as store:
        store.record_start(run, REQUEST, base_url="")
        assert store.flush(30)
        used, highwater = sqlite_memory()
        # the count is the process's: what other open files hold (other tests' in a whole
        # run) is there before and after, so the end's write is what the peak adds to it
        before = int(used())
        highwater(1)
        store.record_end(run)
        assert store.flush(30)
        assert int(highwater(0)) - before < 16 * MIB, "less than one copy of the answer"


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
    assert db.execute("SELECT count(*) FROM run_texts").fetchone() == (0,)
    assert db.execute(
        "SELECT count(*) FROM runs_search WHERE runs_search MATCH 'first'"
    ).fetchone() == (1,)
    db.close()
