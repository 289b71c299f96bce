"""``agentnb runs`` fits the terminal (issue 27): at 80 columns in a real pty every line fits,
the message column takes what the shortened columns leave, ``--wide`` prints every column,
and a pipe gets the whole table. Where the terminal's width alone matters, the CLI's ``main``
runs in this process with ``COLUMNS`` saying it (the width a pipe is given)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, cli_in_process

from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb.events import RunCompleted, RunStarted, TextDelta, Usage
from agentnb.history import HistoryStore

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

LONG = "Compare NVDA, AMD and INTC over the last five years: revenue, margins and the outlook " * 2


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    with HistoryStore(path) as store:
        for i, agent in enumerate(["finance_agent", "research_team", "echo"]):
            run = Run(agent=agent, message=f"{i} {LONG}", connection="default")
            run.start()
            store.record_start(run, RunRequest(agent=agent, message=run.message), base_url="")
            now = time.time()
            run.apply(
                RunStarted(run_id=f"run_{i:024x}", thread_id=f"thread_{i:020x}", received_at=now)
            )
            run.apply(TextDelta(delta="an answer", received_at=now))
            run.apply(RunCompleted(usage=Usage(total_tokens=1234 + i), received_at=now))
            store.record_end(run)
    return path


def in_a_pty(*args: str, columns: int) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentnb", "runs", *args],
        env=env,
        encoding="utf-8",
        timeout=PATIENCE_S,
        dimensions=(40, columns),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return [line for line in child.before.split("\r\n") if line.strip()]


def at_columns(*args: str, columns: int | None) -> list[str]:
    """``agentnb runs ARGS`` by the CLI's ``main`` here, its output a pipe ``COLUMNS`` wide (or
    a plain pipe)."""
    env = {"NO_COLOR": "1"} | ({} if columns is None else {"COLUMNS": str(columns)})
    done = cli_in_process("runs", *args, env=env)
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.strip()]


def test_the_table_fits_an_80_column_terminal(db: Path) -> None:
    lines = in_a_pty("--db", str(db), columns=80)
    footer = next(i for i, line in enumerate(lines) if "runs, most recent first" in line)
    table = lines[:footer]  # the footer after it is wrapped at words, as every note is
    assert len(table) == 4  # the header and three runs
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    header = table[0].split()
    assert header[:4] == ["started", "agent", "status", "message"]
    assert "thread" not in header and "run" not in header  # left out to make room
    assert all("…" in line for line in table[1:])  # the message, cut to what is left
    assert "2 Compare NVDA" in table[1]


def test_wide_prints_every_column(db: Path) -> None:
    lines = at_columns("--db", str(db), "--wide", columns=80)
    assert "thread" in lines[0].split() and "run" in lines[0].split()
    assert max(len(line) for line in lines) > 80


def test_a_pipe_gets_the_whole_table(db: Path) -> None:
    lines = at_columns("--db", str(db), columns=None)
    assert "thread" in lines[0].split()


def test_at_80_columns_the_message_has_the_room_and_a_long_model_is_cut(tmp_path: Path) -> None:
    """The question is what a person scans: a long model name gives way to it."""
    path = tmp_path / "models.sqlite3"
    with HistoryStore(path) as store:
        for i, model in enumerate(["claude-sonnet-4-5-20250929", "gpt-4o-mini"]):
            run = Run(agent="research_team", message=f"{i} {LONG}", connection="default")
            run.start()
            store.record_start(run, RunRequest(agent=run.agent, message=run.message), base_url="")
            now = time.time()
            run.apply(RunStarted(run_id=f"run_{i}", model=model, received_at=now))
            run.apply(TextDelta(delta="an answer", received_at=now))
            run.apply(RunCompleted(usage=Usage(total_tokens=10), received_at=now))
            store.record_end(run)
    lines = at_columns("--db", str(path), columns=80)
    table = [line for line in lines if "runs, most recent first" not in line]
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    header = table[0]
    message_room = header.index("model") - header.index("message")
    assert message_room >= 24, "\n".join(table)  # 20 before: the model kept 18
    assert "claude-sonn…" in "\n".join(table)  # cut to 12 characters to give way


def test_at_80_columns_a_failed_run_leaves_the_question_readable(tmp_path: Path) -> None:
    """A failed run's error and its model give way to the question, which a person scans;
    the start time is never cut."""
    from agentnb.events import RunFailed

    path = tmp_path / "failed.sqlite3"
    with HistoryStore(path) as store:
        for i, fails in enumerate([False, True]):
            run = Run(agent="finance_agent", message=f"{i} {LONG}", connection="default")
            run.start()
            store.record_start(run, RunRequest(agent=run.agent, message=run.message), base_url="")
            now = time.time()
            run.apply(RunStarted(run_id=f"run_{i}", model="gpt-4o-mini", received_at=now))
            if fails:
                error = "POST http://127.0.0.1:8000/v1/runs → 404 Not Found: unknown agent 'x'"
                run.apply(RunFailed(message=error, received_at=now))
            else:
                run.apply(TextDelta(delta="an answer", received_at=now))
                run.apply(RunCompleted(usage=Usage(total_tokens=10), received_at=now))
            store.record_end(run)
    lines = in_a_pty("--db", str(path), columns=80)
    assert all(len(line) <= 80 for line in lines), lines
    head = lines[0]
    assert "message" in head
    rows = [line for line in lines[1:3]]
    for row in rows:
        assert "Compare NVDA, AMD" in row, row  # at least 20 characters of the question
    assert all(row.split()[0].count(":") == 2 and len(row.split()[0]) == 8 for row in rows), rows
