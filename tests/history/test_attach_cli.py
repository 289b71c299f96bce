"""``agentnb attach`` (issue 20): as a user runs it, a subprocess against the built-in server
shows again a run whose process was killed mid-run, completing its history row; the CLI's
``main`` in this process streams a bare platform id and says in one line, with exit status 2,
when there is nothing to attach to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, REPO, cli_in_process
from killed_runs import start_and_kill

import agentnb
import agentnb.history
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
    pytest.mark.slow,
]

DIALECT = "seekrflow-vercel"


def attach_flags(server: ServerHandle, provider: str) -> list[str]:
    return ["--provider", provider, "--base-url", server.url_for(provider), "--no-color"]


def attach_process(
    server: ServerHandle, history: Path, *args: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(PYTHONPATH=str(REPO), AGENTNB_HISTORY=str(history), AGENTNB_API_KEY=server.api_key)
    return subprocess.run(
        [sys.executable, "-m", "agentnb", "attach", *args, *attach_flags(server, DIALECT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=PATIENCE_S,
        check=False,
    )


def attach_cli(
    server: ServerHandle, history: Path, *args: str, provider: str = DIALECT
) -> subprocess.CompletedProcess[str]:
    env = {"AGENTNB_HISTORY": str(history), "AGENTNB_API_KEY": server.api_key}
    return cli_in_process("attach", *args, *attach_flags(server, provider), env=env)


def rows(history: Path) -> list[agentnb.history.RunRecord]:
    store = HistoryStore(history)
    try:
        return list(store.runs(None))
    finally:
        store.close()


def test_attach_streams_a_killed_run_to_its_end_in_its_own_row(
    server: ServerHandle, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    local_id = start_and_kill(server, DIALECT, history)
    [row] = rows(history)
    assert row.status in ("running", "interrupted") and row.run_id
    log = server.app.state.agentnb.runs.get(row.run_id)
    assert log is not None and not log.finished

    done = attach_process(server, history, local_id)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1].startswith("completed · "), done.stdout
    assert "Why stream" in done.stdout  # the document, from its start
    [after] = rows(history)
    assert (after.local_id, after.status) == (local_id, "completed")
    assert after.answer == log.answer_text()


def test_a_finished_run_is_refused_in_one_line(server: ServerHandle, tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    store = HistoryStore(history)
    client = agentnb.AgentClient(
        DIALECT, **server.client_settings(DIALECT), api_key=server.api_key, recorder=store
    )
    try:
        run = client.run("echo", "hello")
    finally:
        client.close()
        store.close()
    done = attach_cli(server, history, run.local_id)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith("agentnb attach: ") and "has already ended (completed)" in (
        done.stderr
    )


def test_an_unknown_id_is_refused_in_one_line(server: ServerHandle, tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    without_agent = attach_cli(server, history, "run_nobody_knows")
    assert without_agent.returncode == 2, without_agent.stderr
    assert "is not in the history: say which agent it belongs to, --agent AGENT" in (
        without_agent.stderr
    )
    assert without_agent.stderr.count("\n") == 1

    unknown = attach_cli(
        server, history, "run_nobody_knows", "--agent", "writer", "--thread", "thread_nope"
    )
    assert unknown.returncode == 2, unknown.stderr
    assert unknown.stderr.count("\n") == 1 and unknown.stderr.startswith("agentnb attach: ")
    assert "404" in unknown.stderr or "not found" in unknown.stderr.lower()
    assert "Traceback" not in unknown.stderr
    assert rows(history) == []  # a refused attach records nothing


def test_a_run_without_its_thread_is_refused_naming_the_flag(
    server: ServerHandle, tmp_path: Path
) -> None:
    done = attach_cli(server, tmp_path / "history.sqlite3", "run_1", "--agent", "echo")
    assert done.returncode == 2, done.stderr
    assert "pass --thread ID" in done.stderr and done.stderr.count("\n") == 1


def test_a_dialect_that_cannot_attach_is_refused_in_one_line(
    server: ServerHandle, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    done = attach_cli(server, history, "run_1", "--agent", "echo", provider="openai")
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("agentnb attach: ")
    assert "Traceback" not in done.stderr


# ---- a bare platform id the history does not know: the platform says whether it still runs


def test_a_bare_id_of_a_run_still_going_is_streamed(server: ServerHandle, tmp_path: Path) -> None:
    history = tmp_path / "history.sqlite3"
    # still going after the history's read and the attach's start on a loaded machine
    start_and_kill(server, DIALECT, history, paragraphs=24)
    [row] = rows(history)
    assert row.run_id and row.thread_id
    elsewhere = tmp_path / "elsewhere.sqlite3"  # a machine whose history never saw the run

    done = attach_cli(server, elsewhere, row.run_id, "--agent", "writer", "--thread", row.thread_id)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].startswith("completed · ")
    [recorded] = rows(elsewhere)
    assert (recorded.run_id, recorded.status) == (row.run_id, "completed")


def test_a_bare_id_of_a_run_that_ended_on_the_platform_is_refused(
    server: ServerHandle, tmp_path: Path
) -> None:
    history = tmp_path / "history.sqlite3"
    client = agentnb.AgentClient(
        DIALECT, **server.client_settings(DIALECT), api_key=server.api_key, record=False
    )
    try:
        run = client.run("echo", "hello")
        assert run.run_id and run.thread_id
        with pytest.raises(agentnb.ConfigurationError, match="already ended on the platform"):
            agentnb.attach(run.run_id, agent="echo", thread_id=run.thread_id, client=client)
    finally:
        client.close()

    done = attach_cli(server, history, run.run_id, "--agent", "echo", "--thread", run.thread_id)

    assert done.returncode == 2 and done.stdout == "", done.stdout
    assert done.stderr.count("\n") == 1
    assert "has already ended on the platform (completed)" in done.stderr
    assert rows(history) == []
