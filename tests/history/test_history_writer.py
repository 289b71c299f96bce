"""The history's writer thread: recorder writes are queued (the event loop never waits for
SQLite), done in order in batches, seen by any read right after, kept at exit, and their
failures still reported once."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, REPO, ctrl_c_as_a_wait_takes_its_lock_back

from agentnb._core.pricing import price_run
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._history._run_filter import RunFilter
from agentnb._history._writer import HistoryWriter, PendingWrite, coalesced
from agentnb.events import RunCompleted, RunFailed, TextDelta, Usage
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


def finished(message: str) -> Run:
    run = Run(agent="echo", message=message)
    run.start()
    run.apply(TextDelta(delta=f"answer to {message}"))
    run.apply(RunCompleted())
    return run


def raw_statuses(path: Path) -> dict[str, str]:
    """Rows as another process sees them (no flush: straight from the file)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute("SELECT message, status FROM runs").fetchall()
    db.close()
    return dict(rows)


# ---- queued, not waited for ---------------------------------------------------------------------------
def test_recording_does_not_wait_for_a_locked_database(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")  # another process holds the write lock
        run = finished("while locked")
        store.record_start(run, RunRequest(agent="echo", message="while locked"), base_url="")
        store.record_end(run)  # returns although nothing can be written yet
        assert store._recording._writer.pending == 2
        other.execute("ROLLBACK")
        other.close()
        record = store.get(run.local_id)  # the read waits for the queued writes
    assert record is not None and record.status == "completed"


def test_a_read_right_after_recording_sees_the_run(tmp_path: Path) -> None:
    with HistoryStore(tmp_path / "h.sqlite3") as store:
        runs = [finished(f"m{i}") for i in range(20)]
        for run in runs:
            store.record_start(run, RunRequest(agent="echo", message=run.message), base_url="")
            store.record_end(run)
        assert store.count() == 20
        assert {r.status for r in store.runs()} == {"completed"}
        assert store.get(runs[-1].local_id).answer == "answer to m19"  # type: ignore[union-attr]


def test_a_second_store_of_the_same_file_sees_the_first_ones_writes(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as writer, HistoryStore(path) as reader:
        run = finished("shared")
        writer.record_start(run, RunRequest(agent="echo", message="shared"), base_url="")
        writer.record_end(run)
        assert reader.get(run.local_id) is not None


def every_table(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (the search index read through its table, not its shadow ones)."""
    with sqlite3.connect(path) as db:
        names = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not name.startswith(("sqlite_", "runs_search_", "_migrations"))
        ]
        tables = {name: sorted(map(repr, db.execute(f"SELECT * FROM {name}"))) for name in names}
    db.close()
    return tables  # type: ignore[return-value]


@pytest.mark.parametrize("status", ["completed", "failed"])
def test_a_run_written_as_one_row_reads_as_one_started_then_ended(
    tmp_path: Path, status: str
) -> None:
    request = RunRequest(agent="echo", message="m", metadata={"team": "a", "n": "2"})
    run = Run(agent="echo", message="m", provider="operativus", model="gpt-4o")
    run.start()
    run.apply(TextDelta(delta="an answer"))
    if status == "completed":
        run.apply(RunCompleted(usage=Usage(prompt_tokens=3, completion_tokens=4, total_tokens=7)))
    else:
        run.apply(RunFailed(code="boom", message="it broke"))
    with HistoryStore(tmp_path / "two.sqlite3") as store:
        store.record_start(run, request, base_url="http://127.0.0.1:1")
        store.record_end(run)
    with HistoryStore(tmp_path / "one.sqlite3") as store:
        store.record_run(run, request, base_url="http://127.0.0.1:1")
        assert store.runs(RunFilter.build(search="answer")).local_ids == [run.local_id]
    one, two = every_table(tmp_path / "one.sqlite3"), every_table(tmp_path / "two.sqlite3")
    assert one == two and one["runs"] and one["run_metadata"]


def test_close_finishes_the_queue(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    for i in range(50):
        run = finished(f"c{i}")
        store.record_start(run, RunRequest(agent="echo", message=run.message), base_url="")
        store.record_end(run)
    store.close()
    assert raw_statuses(path) == {f"c{i}": "completed" for i in range(50)}


# ---- batches ---------------------------------------------------------------------------------------------
def test_of_several_checkpoints_of_a_run_queued_together_only_the_last_is_done() -> None:
    a, b = Run(agent="a", message="a"), Run(agent="b", message="b")

    def write(kind: str, run: Run) -> PendingWrite:
        return PendingWrite(kind, run, kind, lambda db: None)  # type: ignore[arg-type]

    writes = [
        write("start", a),
        write("progress", a),
        write("progress", b),
        write("progress", a),
        write("end", a),
        write("progress", b),
    ]
    assert [(w.kind, w.run.agent) for w in coalesced(writes)] == [
        ("start", "a"),
        ("end", "a"),
        ("progress", "b"),
    ]


def test_a_checkpoint_queued_with_its_runs_start_is_written_by_the_start(tmp_path: Path) -> None:
    a, b = Run(agent="a", message="a"), Run(agent="b", message="b")
    writes = [
        PendingWrite("start", a, "start", lambda db: None),
        PendingWrite("progress", a, "progress", lambda db: None),
        PendingWrite("progress", b, "progress", lambda db: None),
    ]
    assert [(w.kind, w.run.agent) for w in coalesced(writes)] == [("start", "a"), ("progress", "b")]

    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN EXCLUSIVE")  # both writes wait in one batch
        run = Run(agent="echo", message="long")
        run.start()
        run.apply(TextDelta(delta="partial"))
        store.record_start(run, RunRequest(agent="echo", message="long"), base_url="")
        store.record_progress(run)
        run.apply(TextDelta(delta=" answer"))  # a write's values are taken when it is done
        other.execute("ROLLBACK")
        other.close()
        record = store.get(run.local_id)
    assert record is not None and record.status == "running"
    assert record.answer == "partial answer"


def test_a_model_without_a_price_is_looked_up_once_a_day(monkeypatch: pytest.MonkeyPatch) -> None:
    import genai_prices

    looked_up: list[str] = []
    calc_price = genai_prices.calc_price

    def counted(*args: Any, **kwargs: Any) -> Any:
        looked_up.append(kwargs["model_ref"])
        return calc_price(*args, **kwargs)

    monkeypatch.setattr(genai_prices, "calc_price", counted)
    usage = Usage(prompt_tokens=10, completion_tokens=20)
    costs = [price_run("no-such-model-anywhere", usage, time.time()) for _ in range(3)]
    assert looked_up == ["no-such-model-anywhere"]
    assert {cost.usd for cost in costs} == {None}
    assert all("genai-prices has no price" in (cost.reason or "") for cost in costs)
    known = [price_run("gpt-4o", usage, time.time()) for _ in range(2)]
    assert looked_up.count("gpt-4o") == 2 and known[0] == known[1]
    assert known[0].source == "genai-prices" and known[0].usd


def test_writes_are_done_in_order_and_flush_waits_for_them() -> None:
    done: list[int] = []
    batches: list[int] = []
    release = threading.Event()

    def do_batch(writes: list[PendingWrite]) -> None:
        release.wait(PATIENCE_S)
        batches.append(len(writes))
        done.extend(int(w.what) for w in writes)

    writer = HistoryWriter(do_batch, name="test-writer")
    run = Run(agent="a", message="m")
    for i in range(100):
        writer.submit(PendingWrite("start", run, str(i), lambda db: None))
    held = "nothing is done while the batch is held"
    assert not writer.flush(timeout=0.2), held  # checked: cannot race
    release.set()
    assert writer.flush(timeout=PATIENCE_S)
    writer.stop()
    assert done == list(range(100))
    assert len(batches) < 100, "writes queued together are done together"
    assert not writer.submit(PendingWrite("start", run, "late", lambda db: None))


def test_a_ctrl_c_while_a_flush_waits_is_the_interrupt_and_loses_no_write() -> None:
    """A read flushes the writes before it in the person's thread: a Ctrl-C landing as
    CPython's ``Condition.wait`` takes its lock back is the interrupt, not ``RuntimeError``,
    and the writes it waited for are still done."""
    done: list[str] = []
    release = threading.Event()

    def do_batch(writes: list[PendingWrite]) -> None:
        release.wait(PATIENCE_S)
        done.extend(w.what for w in writes)

    writer = HistoryWriter(do_batch, name="test-writer")
    writer.submit(PendingWrite("start", Run(agent="a", message="m"), "kept", lambda db: None))
    try:
        with pytest.raises(KeyboardInterrupt), ctrl_c_as_a_wait_takes_its_lock_back():
            # the batch is held until release: no flush ends before the interrupt lands
            writer.flush(timeout=0.2)  # checked: cannot race
    finally:
        release.set()
    assert writer.flush(timeout=PATIENCE_S)
    writer.stop()
    assert done == ["kept"]


def test_one_bad_write_costs_only_itself_and_is_reported_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def bad(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO no_such_table VALUES (1)")

    with HistoryStore(tmp_path / "h.sqlite3") as store, caplog.at_level(logging.WARNING):
        good = finished("good")
        store.record_start(good, RunRequest(agent="echo", message="good"), base_url="")
        store._recording.queue("progress", Run(agent="x", message="x"), "a bad write", bad)
        store._recording.queue("progress", Run(agent="y", message="y"), "a bad write", bad)
        store.record_end(good)
        record = store.get(good.local_id)
    assert record is not None and record.status == "completed"
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1 and "could not record a bad write" in problems[0], problems


# ---- a process that exits right after its run -------------------------------------------------------------
EXIT_AFTER_RUN = textwrap.dedent(
    f"""
    import sys
    import agentnb

    url, key = sys.argv[1], sys.argv[2]
    agentnb.connect("operativus", base_url=url, api_key=key, name="quick")
    handle = agentnb.ask("echo", "exit right after me", via="quick", display=False)
    handle.wait({PATIENCE_S:g})
    print(handle.run.local_id, flush=True)
    # no close, no flush: the interpreter exits at once
    """
)


def test_a_run_is_in_the_history_of_a_process_that_exits_right_after_it(
    server: ServerHandle, tmp_path: Path
) -> None:
    path = tmp_path / "quick.sqlite3"
    done = subprocess.run(
        [sys.executable, "-c", EXIT_AFTER_RUN, server.url_for("operativus"), server.api_key],
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        env={**os.environ, "PYTHONPATH": str(REPO), "AGENTNB_HISTORY": str(path)},
    )
    assert done.returncode == 0, done.stderr
    local_id = done.stdout.strip()
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        row = db.execute(
            "SELECT status, answer, total_tokens FROM runs WHERE local_id = ?", (local_id,)
        ).fetchone()
    db.close()
    assert row is not None, "the run was lost at exit"
    status, answer, tokens = row
    assert (status, answer) == ("completed", "exit right after me")
    assert tokens is not None, "with its usage"
