"""Several processes on one history file: concurrent writers, and runs whose process died."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, REPO

from agentnb._history._migrations import every_migration
from agentnb._history._writer import current_owner
from agentnb.history import HistoryStore

HOLDER = textwrap.dedent(
    """
    import sys, time
    from agentnb.history import HistoryStore
    from agentnb._core.request import RunRequest
    from agentnb._core.run import Run

    store = HistoryStore(sys.argv[1])
    run = Run(agent="echo", message="held open")
    run.start()
    store.record_start(run, RunRequest(agent="echo", message="held open"), base_url="")
    store.flush()  # recorder writes are queued: on disk now, before the kill
    print(run.local_id, flush=True)
    time.sleep(120)
    """
)

WRITER = textwrap.dedent(
    """
    import logging, sys, time
    from pathlib import Path
    from agentnb.history import HistoryStore
    from agentnb._core.request import RunRequest
    from agentnb._core.run import Run
    from agentnb.events import RunCompleted, TextDelta, ToolCallFinished, ToolCallStarted, Usage

    errors = []
    class Collect(logging.Handler):
        def emit(self, record):
            errors.append(record.getMessage())
    logging.getLogger("agentnb.history").addHandler(Collect())

    path, go, worker, count = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    while not go.exists():
        time.sleep(0.005)
    store = HistoryStore(path)
    for i in range(count):
        message = f"{worker}-{i}"
        run = Run(agent=f"agent-{worker}", message=message)
        run.start()
        store.record_start(run, RunRequest(agent=run.agent, message=message), base_url="")
        run.apply(ToolCallStarted(call_id="c", name="calculator", received_at=time.time()))
        run.apply(ToolCallFinished(call_id="c", output=i, received_at=time.time()))
        run.apply(TextDelta(delta=message, received_at=time.time()))
        run.apply(RunCompleted(usage=Usage(total_tokens=i), received_at=time.time()))
        store.record_end(run)
    store.close()
    if errors:
        print("\\n".join(errors), file=sys.stderr)
        sys.exit(1)
    """
)


def spawn(script: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    path = tmp_path / "h.sqlite3"
    process = spawn(HOLDER, str(path))
    try:
        assert process.stdout is not None
        local_id = process.stdout.readline().strip()
        assert local_id, process.stderr.read() if process.stderr else ""
        yield process, local_id, path
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()


def status_of(path: Path, local_id: str) -> tuple[str, str | None]:
    with HistoryStore(path) as store:
        record = store.get(local_id)
        assert record is not None
        return record.status, record.error_code


def test_a_live_process_keeps_its_running_row(
    holder: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, local_id, path = holder
    assert status_of(path, local_id) == ("running", None)
    with HistoryStore(path) as store:  # an open sweeps, and a read a second later again
        time.sleep(1.2)
        assert store.get(local_id).status == "running"  # type: ignore[union-attr]
    assert process.poll() is None
    assert status_of(path, local_id) == ("running", None)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_killed_process_leaves_an_interrupted_row(
    holder: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, local_id, path = holder
    with HistoryStore(path) as store:  # opened while the holder lives: untouched
        assert store.get(local_id).status == "running"  # type: ignore[union-attr]
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        # the same open store sweeps again before a read, at most once a second
        deadline = time.monotonic() + PATIENCE_S
        while store.get(local_id).status == "running":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the open store never swept the dead row"
            time.sleep(0.1)
    assert status_of(path, local_id) == ("interrupted", "process_exited")


def test_killed_process_row_is_swept_when_the_store_next_opens(
    holder: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, local_id, path = holder
    process.kill()
    process.wait()
    assert status_of(path, local_id) == ("interrupted", "process_exited")


def test_a_reused_pid_is_told_apart_and_other_hosts_are_left_alone(
    holder: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, holder_id, path = holder
    me = current_owner()
    if me.token is None:
        pytest.skip("no process start times on this platform")
    rows = [
        # the holder's pid, but stamped by an earlier process that had the same pid
        ("reused", me.host, process.pid, "boot/1"),
        # this very process's pid with another start token: an earlier process
        ("mine-before", me.host, os.getpid(), "boot/2"),
        ("this-process", me.host, me.pid, me.token),
        ("other-host", "another-machine", process.pid, "boot/1"),
    ]
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.executemany(
            "INSERT INTO runs (local_id, status, started_at, owner_host, owner_pid, owner_token)"
            " VALUES (?, 'running', 0, ?, ?, ?)",
            rows,
        )
    finally:
        db.close()
    with HistoryStore(path) as store:
        statuses = {record.local_id: record.status for record in store.runs()}
    assert statuses == {
        "reused": "interrupted",
        "mine-before": "interrupted",
        "this-process": "running",
        "other-host": "running",
        holder_id: "running",
    }


def test_several_processes_write_one_file_at_once(tmp_path: Path) -> None:
    path = tmp_path / "shared.sqlite3"  # new: the writers also race to create the schema
    go = tmp_path / "go"
    workers, count = 4, 250
    processes = [spawn(WRITER, str(path), str(go), str(w), str(count)) for w in range(workers)]
    time.sleep(0.5)  # let them all import and wait at the line
    go.touch()
    for process in processes:
        _, err = process.communicate(timeout=PATIENCE_S)
        assert process.returncode == 0, err
        assert "locked" not in err
    with HistoryStore(path) as store:
        history = store.runs()
        assert len(history) == workers * count
        assert set(history.column("status")) == {"completed"}
        assert sorted(history.column("message")) == sorted(
            f"{w}-{i}" for w in range(workers) for i in range(count)
        )
        assert len(history.tool_calls()) == workers * count
        assert store.migrations() == [m.__name__ for m in every_migration()]
