"""Reattach after the process died (issue 20): a process starts a long run against the
built-in server and is killed mid-run (SIGKILL: nothing runs at exit); in another process
``agentnb.attach`` of its history row shows the run again, and the same row ends
``completed`` with the whole answer, for every dialect that can stream a running run again.
A dialect that cannot says so before any I/O, and the row keeps its partial answer."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from killed_runs import start_and_kill

import agentnb
from agentnb._core.exceptions import ConfigurationError
from agentnb._history import close_default_stores
from agentnb.server import ServerHandle

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,
]

ATTACHING = ["seekrflow", "seekrflow-vercel", "langgraph", "a2a", "openai-responses"]


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "history.sqlite3"
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    yield path
    close_default_stores()


def server_run_id(run_id: str) -> str:
    """The built-in server's id of a run (a Responses API response ``resp_<hex>`` is the run
    ``run_<hex>``)."""
    return "run_" + run_id.removeprefix("resp_") if run_id.startswith("resp_") else run_id


def connect_like_the_child(server: ServerHandle, dialect: str) -> None:
    agentnb.connect(dialect, **server.client_settings(dialect), api_key=server.api_key, name="far")


@pytest.mark.parametrize("dialect", ATTACHING)
def test_a_killed_run_is_completed_in_its_own_row(
    server: ServerHandle, history: Path, dialect: str
) -> None:
    local_id = start_and_kill(server, dialect, history)
    rows = agentnb.runs()
    assert len(rows) == 1
    row = rows[0]
    assert row.local_id == local_id and row.status in ("running", "interrupted")
    partial = row.answer
    assert partial and row.run_id, "the child's checkpoint did not reach the history"
    log = server.app.state.agentnb.runs.get(server_run_id(row.run_id))
    assert log is not None and not log.finished  # the platform runs on without its client

    connect_like_the_child(server, dialect)
    handle = agentnb.attach(row, display=False, wait=True)

    run = handle.run
    assert run.local_id == local_id and run.status == "completed"
    assert run.text == log.answer_text() and run.text.startswith(partial)
    after = agentnb.runs()
    assert len(after) == 1, "the reattached run was recorded twice"
    done = after[0]
    assert (done.local_id, done.status, done.error_code) == (local_id, "completed", None)
    assert done.answer == run.text and done.message == "write at length"
    assert done.started_at == row.started_at  # the run's own start, not the attach's


def test_a_dialect_that_cannot_attach_says_so_and_keeps_the_row(
    server: ServerHandle, history: Path
) -> None:
    local_id = start_and_kill(server, "operativus", history)
    row = agentnb.runs()[0]
    connect_like_the_child(server, "operativus")
    with pytest.raises(ConfigurationError, match="cannot stream a run that is already going"):
        agentnb.attach(row, display=False)
    kept = agentnb.runs()[0]
    assert kept.local_id == local_id and kept.answer == row.answer


def test_attaching_from_the_run_id_and_from_remote_runs(
    server: ServerHandle, history: Path
) -> None:
    local_id = start_and_kill(server, "seekrflow", history)
    row = agentnb.runs()[0]
    connect_like_the_child(server, "seekrflow")
    assert row.thread_id is not None
    listed = agentnb.remote_runs("far", thread_id=row.thread_id)
    remote = next(r for r in listed if r.run_id == row.run_id)
    assert remote.status == "running"
    handle = agentnb.attach(remote, display=False, wait=True)
    assert handle.run.local_id == local_id  # the history's row, found by the run id
    assert agentnb.runs()[0].status == "completed" and len(agentnb.runs()) == 1
    with pytest.raises(ConfigurationError, match="has already ended"):
        agentnb.attach(row.run_id, display=False)


def test_the_magic_attaches_the_latest_run_left_going(
    server: ServerHandle, history: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from IPython.core.interactiveshell import InteractiveShell  # a real shell: only here

    local_id = start_and_kill(server, "seekrflow-vercel", history)
    connect_like_the_child(server, "seekrflow-vercel")
    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("agentnb")
    result = shell.run_cell("%agent_attach --wait --plain --out again")
    assert result.success, result.error_in_exec
    handle = shell.user_ns["again"]
    assert shell.user_ns["_agent"] is handle
    assert handle.run.local_id == local_id and handle.status == "completed"
    rows = agentnb.runs()
    assert len(rows) == 1 and rows[0].status == "completed" and rows[0].answer == handle.text
    capsys.readouterr()
    failed = shell.run_cell(f"%agent_attach {rows[0].run_id}")
    assert not failed.success
    assert "has already ended (completed)" in str(failed.error_in_exec)
    shell.run_cell("%agent_attach -h")
    shown = capsys.readouterr().out
    assert "--agent" in shown and "--via" in shown and "--thread" in shown
