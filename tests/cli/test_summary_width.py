"""A summary (and a history) printed in a terminal fits it: at 80 columns in a real pty a summary by period
and key reads as sections (a line naming the period over its groups, as the notebook's table
does), and columns that do not fit go to a block of their own under the same keys."""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

from agentnb._history import RunRecord
from agentnb._history._records import RUN_COLUMNS
from agentnb.history import HistoryStore

pexpect = pytest.importorskip("pexpect")
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

MONDAY = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
AGENTS = ["finance_agent", "research_team_with_a_long_name", "echo"]


def record(i: int, agent: str, day: int, **values: Any) -> RunRecord:
    row: dict[str, Any] = {
        "local_id": f"run-{i}",
        "agent": agent,
        "status": "completed",
        "started_at": MONDAY + day * 86400 + i * 60.0,
        "duration": 0.25 + i,
        "ttft": 0.1,
        "total_tokens": 1200,
        "cost_usd": 0.0125,
        "model": "claude-haiku-4-5-20251001",
    } | values
    return RunRecord.from_row(tuple(row.get(name) for name, _ in RUN_COLUMNS))


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "history.sqlite3"
    records = [record(i, AGENTS[i % 3], i % 2) for i in range(9)]
    records += [record(20 + i, "finance_agent", 1, cost_usd=None) for i in range(2)]
    with HistoryStore(path) as store:
        store.import_records(records)
        for i in range(9):
            store.add_score(f"run-{i}", "accuracy", 0.5 + i / 20)
            store.add_score(f"run-{i}", "verdict_of_the_reviewer", "good" if i % 2 else "bad")
    return path


def printed_in_a_pty(db: Path, call: str, columns: int = 80) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["AGENTNB_HISTORY"] = str(db)
    child = pexpect.spawn(
        sys.executable,
        ["-c", f"import agentnb; print({call})"],
        env=env,
        encoding="utf-8",
        timeout=PATIENCE_S,
        dimensions=(60, columns),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return [line for line in child.before.split("\r\n") if line.strip()]


def test_a_summary_by_day_and_agent_fits_80_columns(db: Path) -> None:
    lines = printed_in_a_pty(db, "agentnb.summary(by='agent', every='day')")
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    # each day is a line of its own over its agents, never a column beside them
    assert "Mon 23 Nov 2026" in lines and "Tue 24 Nov 2026" in lines, "\n".join(lines)
    under_monday = lines[lines.index("Mon 23 Nov 2026") + 1]
    assert under_monday.lstrip().startswith(("echo", "finance_agent", "research_team")), lines
    assert any("$0.025" in line for line in lines)
    assert not any(re.search(r"\bnan\b", line, re.IGNORECASE) for line in lines)


def test_every_column_of_a_summary_fits_80_columns(db: Path) -> None:
    lines = printed_in_a_pty(db, "agentnb.summary(by='agent', every='day', columns='all')")
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    text = "\n".join(lines)
    for heading in ("tools / run", "ttft p95", "accuracy", "verdict_of_the_reviewer"):
        assert heading in text, text
    # the keys head each block of columns, so every figure is read against its group
    assert text.count("research_team") >= 3, text


def test_the_runs_printed_fit_80_columns(db: Path) -> None:
    """``print(agentnb.runs())`` in a terminal fits it as ``agentnb runs`` does."""
    lines = printed_in_a_pty(db, "agentnb.runs()")
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    assert lines[0].startswith("RunHistory: 11 runs")
    assert lines[1].split()[:3] == ["started", "agent", "status"]
    assert len(lines) == 2 + 11
