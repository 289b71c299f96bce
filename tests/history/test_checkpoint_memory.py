"""A long run's checkpoints cost no copy of its whole answer: past
:data:`~agentnb._history._records.CHECKPOINT_TEXT_LIMIT` a checkpoint leaves the row's answer
as the last one wrote it, the end writes it whole, and a process exiting mid-run keeps it
all (memory counted with tracemalloc, which sees the copies Python makes)."""

from __future__ import annotations

import _sqlite3
import ctypes
import gc
import tracemalloc
import weakref
from pathlib import Path

from agentnb_testing import PATIENCE_S

from agentnb._core.request import RunRequest
from agentnb._core.run import MIB, Run
from agentnb._history._records import CHECKPOINT_TEXT_LIMIT
from agentnb.events import ReasoningDelta, RunCompleted, TextDelta
from agentnb.history import HistoryStore

PIECE = "x" * 65_535 + "\n"


def long_run(mib: int) -> Run:
    run = Run(agent="writer", message="write at length")
    run.apply(ReasoningDelta(delta=PIECE * 4))
    for _ in range(mib * 16):
        run.apply(TextDelta(delta=PIECE))
    return run


def peak_of_checkpoints(store: HistoryStore, run: Run, checkpoints: int) -> int:
    """The most Python held at once beyond what it held before, over ``checkpoints``
    checkpoints each after a little more answer."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(checkpoints):
            run.apply(TextDelta(delta="more "))
            store.record_progress(run)
            assert store.flush(PATIENCE_S)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_checkpoints_of_a_long_answer_make_no_copy_of_it(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    run = long_run(16)
    store.record_start(run, RunRequest(agent="writer", message="write at length"), base_url="")
    assert store.flush(PATIENCE_S)
    assert peak_of_checkpoints(store, run, 3) < 4 * MIB  # was > 16 MiB: a join per checkpoint
    run.apply(RunCompleted())
    store.record_end(run)
    kept = store.get(run.local_id)
    store.close()
    assert kept is not None and kept.answer == run.text and len(kept.answer) > 16 * MIB


def test_a_checkpoint_keeps_the_answer_while_it_is_short_and_the_last_one_after(
    tmp_path: Path,
) -> None:
    store = HistoryStore(tmp_path / "history.sqlite3")
    run = Run(agent="writer", message="write")
    store.record_start(run, RunRequest(agent="writer", message="write"), base_url="")
    short = "y" * (CHECKPOINT_TEXT_LIMIT - 10)
    run.apply(TextDelta(delta=short))
    store.record_progress(run)
    store.flush(PATIENCE_S)
    run.apply(TextDelta(delta="z" * 100))
    store.record_progress(run)
    store.flush(PATIENCE_S)
    kept = store.get(run.local_id)
    assert kept is not None and kept.status == "running" and kept.answer == short
    assert kept.event_count == run.event_count
    store.close()  # the process exits mid-run: the whole answer is kept, as interrupted
    with HistoryStore(tmp_path / "history.sqlite3") as reopened:
        record = reopened.get(run.local_id)
    assert record is not None and record.status == "interrupted"
    assert record.answer == short + "z" * 100


def test_a_recorded_run_is_let_go_once_written(tmp_path: Path) -> None:
    """The history holds no run it has written: dropped by its user, the run and its answer
    are freed while the store stays open (the writer thread kept its last batch, runs
    included, until the next write came)."""
    store = HistoryStore(tmp_path / "history.sqlite3")
    run = long_run(1)
    store.record_start(run, RunRequest(agent="writer", message="write at length"), base_url="")
    run.apply(RunCompleted())
    store.record_end(run)
    assert store.flush(PATIENCE_S)
    written = weakref.ref(run)
    del run
    gc.collect()
    assert written() is None
    store.close()


def sqlite_memory() -> int:
    """The bytes SQLite itself holds (its own count: tracemalloc sees only Python's)."""
    used = ctypes.CDLL(_sqlite3.__file__).sqlite3_memory_used
    used.restype = ctypes.c_int64
    return int(used())


def test_sqlite_keeps_at_most_one_copy_of_a_long_answer_once_written(tmp_path: Path) -> None:
    """The cached UPDATE of a run's end kept SQLite's copy of the answer it bound until the
    next run's end, beside the search index's own copy (its insert statement keeps its
    values the same way): two copies of the answer, kept after the run was dropped. The
    UPDATE's now goes at once; the search index's stays until the next run's end."""
    store = HistoryStore(tmp_path / "history.sqlite3")
    run = long_run(16)
    store.record_start(run, RunRequest(agent="writer", message="write at length"), base_url="")
    assert store.flush(PATIENCE_S)
    before = sqlite_memory()
    run.apply(RunCompleted())
    store.record_end(run)
    assert store.flush(PATIENCE_S)
    del run
    assert sqlite_memory() - before < 24 * MIB  # was > 32 MiB, for 16 MiB of answer
    store.close()
