"""Figures in a crafted history file (rows written by another tool through sqlite3, a forged
side-table row, a forged rollup row of a file from before the rollups went) are refused the
same way by every summary: ``agentnb.summary()`` of the file, by a metadata key, and
``runs().summary()`` of the rows read give equal, finite answers, and the refused figures stay readable in the run's row, flagged.
The files are crafted with plain sqlite3."""

from __future__ import annotations

import json
import math
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import agentnb
from agentnb._history import MIGRATIONS, close_default_stores
from agentnb._history._migrations import apply_migrations
from agentnb._history._run_filter import RunFilter
from agentnb.history import HistoryStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "client"))
from hostile_server import Conn, HostileServer, Request, sse_head
from kernel_session import notebook_client

NOW = time.time()
HOUR = int(NOW // 3600 * 3600)
BEFORE_GUARDS = [m for m in MIGRATIONS if m.__name__ <= "m016_experiments"]
"""The migrations of a file written before the figures were guarded in SQLite."""


def legit_rows() -> list[dict[str, Any]]:
    rows = []
    for i in range(24):
        rows.append(
            {
                "local_id": f"ok-{i}",
                "agent": ("analyst", "trader")[i % 2],
                "status": ("completed", "completed", "failed")[i % 3],
                "started_at": NOW - 1800 * i,
                "total_tokens": 100 + i,
                "cost_usd": 0.001 * (i + 1),
                "duration": 1.0 + i / 10,
                "ttft": 0.1 + i / 100,
                "tool_call_count": i % 3,
                "paused_seconds": float(i % 2),
                "metadata": json.dumps({"user": ("alice", "bob")[i % 2]}),
            }
        )
    return rows


CRAFTED_RUNS = [
    {  # past every bound, and negative
        "local_id": "huge",
        "agent": "analyst",
        "status": "completed",
        "started_at": NOW - 60,
        "total_tokens": 1e30,
        "cost_usd": -5.0,
        "duration": 2.0,
        "ttft": -3.0,
        "tool_call_count": -7,
        "paused_seconds": -100.0,
        "metadata": json.dumps({"user": "mallory"}),
    },
    {  # text where numbers go
        "local_id": "words",
        "agent": "trader",
        "status": "completed",
        "started_at": NOW - 120,
        "total_tokens": "lots",
        "cost_usd": "NaN",
        "duration": "slow",
        "ttft": 0.5,
        "tool_call_count": 2,
        "paused_seconds": "long",
        "metadata": json.dumps({"user": "alice"}),
    },
    *(
        {  # two costs whose sum is infinite
            "local_id": f"inf-{i}",
            "agent": "analyst",
            "status": "completed",
            "started_at": NOW - 180 - i,
            "total_tokens": 10**12 + 1,
            "cost_usd": 1e308,
            "duration": 1.5,
            "ttft": 1e300,
            "tool_call_count": 10**9,
            "paused_seconds": 1e308,
            "metadata": json.dumps({"user": "bob"}),
        }
        for i in range(2)
    ),
]

SHIPPED_0_3 = Path(__file__).parent / "data" / "history-0.3.0.sqlite3"


def shipped_sql(path: Path, name: str) -> str:
    with closing(sqlite3.connect(path)) as db:
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
    return str(sql)


FORGED_ROLLUP = [
    # the rollup table as 0.3.0 made it (the step that made it is empty now), holding a row
    # no run made: a thousand runs and an absurd cost in this hour
    shipped_sql(SHIPPED_0_3, "runs_rollup"),
    "INSERT INTO runs_rollup (hour, agent, status, runs, tokens_sum, tokens_n, cost_sum, "
    f"cost_n) VALUES ({HOUR}, 'analyst', 'completed', 1000, -5, 1000, 1e300, 1000)",
]
FORGED_GHOST = [
    # a side row of a run that does not exist
    "INSERT INTO run_metadata (key, value, local_id) VALUES ('user', 'mallory', 'ghost')",
]
FORGED_SIDE_ROWS = [
    # as a file from before the summaries read the runs held them: a side row of a run that
    # does not exist, and a side copy of a run's figures forged
    "INSERT INTO run_metadata (key, value, local_id, status, started_at, agent, total_tokens, "
    f"cost_usd, duration) VALUES ('user', 'mallory', 'ghost', 'completed', {NOW - 30}, "
    "'analyst', 10, 1e300, 4.0)",
    "UPDATE run_metadata SET cost_usd = 1e300, total_tokens = -1 WHERE local_id = 'ok-0'",
]


SCORES = [
    # sane: a number, a bool, a label
    *(f"('ok-{i}', 'quality', 'number', {i / 10}, NULL)" for i in range(6)),
    *(f"('ok-{i}', 'correct', 'bool', {i % 2}, NULL)" for i in range(6)),
    "('ok-7', 'grade', 'label', NULL, 'good')",
    # crafted: text, sums past any float, a bool of 5
    "('ok-8', 'quality', 'number', 'high', NULL)",
    "('ok-9', 'quality', 'number', 1e308, NULL)",
    "('ok-10', 'quality', 'number', 1e308, NULL)",
    "('ok-11', 'correct', 'bool', 5, NULL)",
]
CRAFTED_SCORES = [
    "INSERT INTO scores (local_id, name, kind, number, label, source, created) "
    f"SELECT column1, column2, column3, column4, column5, 'code', {NOW} FROM (VALUES "
    + ", ".join(SCORES)
    + ")"
]


def insert(db: sqlite3.Connection, row: dict[str, Any]) -> None:
    names = ", ".join(row)
    db.execute(
        f"INSERT INTO runs ({names}) VALUES ({', '.join('?' * len(row))})", list(row.values())
    )


def crafted_file(path: Path, migrations: list[Any], forged: list[str]) -> Path:
    """A history file of ``migrations`` written by another tool: sane runs, crafted runs and
    the ``forged`` rows in the tables the triggers keep."""
    db = sqlite3.connect(path, isolation_level=None)
    apply_migrations(db, migrations)
    for row in [*legit_rows(), *CRAFTED_RUNS]:
        insert(db, row)
    for statement in forged:
        db.execute(statement)
    db.close()
    return path


@pytest.fixture(params=["written before the guards", "written by this agentnb's schema"])
def crafted(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    before = request.param.startswith("written before")
    migrations = BEFORE_GUARDS if before else list(MIGRATIONS)
    forged = [*FORGED_ROLLUP, *FORGED_SIDE_ROWS] if before else FORGED_GHOST
    forged = [*forged, *CRAFTED_SCORES]
    path = crafted_file(tmp_path / "history.sqlite3", migrations, forged)
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    yield path
    close_default_stores()


def sane_totals() -> dict[str, float]:
    rows = legit_rows()
    return {
        "runs": len(rows) + len(CRAFTED_RUNS),
        "cost": sum(row["cost_usd"] for row in rows),
        "tokens": sum(row["total_tokens"] for row in rows),
        "paused": sum(row["paused_seconds"] for row in rows if row["status"] == "completed"),
    }


def same(sql: pd.DataFrame, pandas: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(sql, pandas, check_exact=False, rtol=1e-9)


@pytest.mark.parametrize(
    "by", [None, "agent", "metadata.user", ["agent", "metadata.user"], ["agent", "status"]]
)
@pytest.mark.parametrize("every", [None, "day"])
def test_every_summary_gives_the_same_finite_figures(crafted: Path, by: Any, every: Any) -> None:
    sql = agentnb.summary(by, every=every, include="all")
    pandas = agentnb.runs().summary(by, every=every, include="all")
    same(sql, pandas)
    numbers = sql.select_dtypes("number").to_numpy(dtype="float64")
    assert not (numbers == math.inf).any() and not (numbers < 0).any()


def test_the_totals_count_only_the_sane_figures(crafted: Path) -> None:
    want = sane_totals()
    got = agentnb.summary(None, include="all")
    assert int(got["runs"].iloc[0]) == want["runs"]
    assert got["cost_total"].iloc[0] == pytest.approx(want["cost"])
    assert int(got["tokens_total"].iloc[0]) == want["tokens"]
    assert int(got["unpriced"].iloc[0] + got["no_usage"].iloc[0]) == len(CRAFTED_RUNS)
    by_user = agentnb.summary("metadata.user", include="all")
    assert int(by_user.loc["mallory", "runs"]) == 1  # the ghost's side row is no run
    assert by_user["cost_total"].sum() == pytest.approx(want["cost"])
    store = HistoryStore(crafted)
    try:
        pinned = store.summary(RunFilter(statuses=("completed",)), "agent")
        assert pinned["cost_total"].sum() < 1
    finally:
        store.close()


def test_scores_out_of_range_are_left_out_of_every_summary(crafted: Path) -> None:
    frame = agentnb.runs().to_pandas()
    assert frame["score.quality"].dropna().tolist() == pytest.approx([i / 10 for i in range(6)])
    sql = agentnb.summary(None)
    assert int(sql["score.quality_n"].iloc[0]) == 6
    assert sql["score.quality"].iloc[0] == pytest.approx(0.25)
    assert sql["score.correct"].iloc[0] == pytest.approx(0.5)
    assert int(sql["score.grade[good]"].iloc[0]) == 1
    with pytest.raises(agentnb.ConfigurationError, match="10\\^15"):
        agentnb.score("ok-1", "quality", 1e300)


def test_the_refused_figures_stay_readable_and_flagged(crafted: Path) -> None:
    frame = agentnb.runs().to_pandas()
    huge = frame[frame["local_id"] == "huge"].iloc[0]
    assert huge["cost_usd"] == -5.0  # the value as the file holds it
    assert "cost_usd=-5.0" in huge["refused_figures"]
    assert "tool_call_count=-7" in huge["refused_figures"]
    assert "1e+30" in huge["malformed"]  # past any whole number a float holds: left out, noted
    words = frame[frame["local_id"] == "words"].iloc[0]
    assert "'NaN'" in words["malformed"] and "'lots'" in words["malformed"]
    assert pd.isna(frame[frame["local_id"] == "ok-1"].iloc[0]["refused_figures"])
    db = sqlite3.connect(crafted)
    try:
        assert db.execute("SELECT total_tokens FROM runs WHERE local_id = 'huge'").fetchone() == (
            1e30,
        )
    finally:
        db.close()


# ---- a run's refused figures, kept ---------------------------------------------------------
def _recorded_with_a_refused_cost(path: Path) -> agentnb.Run:
    """A run recorded in ``path`` whose platform reported a cost of 1e308 (raw socket)."""
    import asyncio

    from agentnb._client.async_client import AsyncAgentClient

    chunks = [
        {"id": "c1", "model": "gpt-4o", "choices": [{"index": 0, "delta": {"content": "hi"}}]},
        {
            "id": "c1",
            "model": "gpt-4o",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "cost": 1e308},
        },
    ]
    body = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"

    async def answer(conn: Conn, request: Request) -> None:
        await conn.send(sse_head() + body.encode())

    async def go(url: str) -> agentnb.Run:
        async with AsyncAgentClient("openai", base_url=url) as client:
            return await client.run("gpt-4o", "hi")

    with HostileServer(answer) as server:
        run = asyncio.run(go(server.url))
    close_default_stores()  # the writer's queue done: only the file is left
    return run


@pytest.mark.kernel
def test_a_run_keeps_saying_what_it_refused_in_a_later_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    run = _recorded_with_a_refused_cost(path)
    assert run.refused_figures is not None and "cost=1e+308" in run.refused_figures
    cells = [
        "import agentnb\nrecord = agentnb.runs()[0]\nprint(record.refused_figures)",
        "cell = agentnb.show(record.local_id)\nprint(cell.runs[0].refused_figures)",
        "print(cell.runs[0].snapshot()['refused_figures'])",
        "print(agentnb.runs().to_pandas()['refused_figures'].iloc[0])",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    env = {**os.environ, "AGENTNB_HISTORY": str(path)}
    notebook_client(notebook).execute(env=env)
    printed = [
        "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout").strip()
        for cell in notebook.cells
    ]
    assert printed[0] == "cost=1e+308"
    assert printed[1] == printed[2] == run.refused_figures  # said as the live run said it
    assert printed[3] == "cost=1e+308"


def test_a_forged_side_row_is_gone_once_the_side_table_is_rebuilt(tmp_path: Path) -> None:
    path = crafted_file(tmp_path / "history.sqlite3", list(MIGRATIONS), FORGED_GHOST)
    with HistoryStore(path) as store:
        store.rebuild_side_tables()
        for by in ("metadata.user", None, "agent"):
            same(
                store.summary(RunFilter(), by, include="all"),
                store.runs().summary(by, include="all"),
            )
        assert int(store.summary(RunFilter(), "metadata.user").loc["mallory", "runs"]) == 1
        assert store.runs(RunFilter.build(metadata={"user": "mallory"})).local_ids == ["huge"]


def test_the_range_a_quantile_keeps_is_the_same_test_as_the_guard() -> None:
    """For a column of fractional figures, ``sane_range_sql`` keeps exactly the values
    ``sane_sql`` keeps, whatever a file holds there."""
    from agentnb._history._records import sane_range_sql, sane_sql

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (duration REAL)")
    values = [0, 0.0, 2.5, 10**9, 10**9 + 1, -1e-9, 1e300, math.inf, -math.inf, "slow", "3",
              b"\x00", None, "", 7]  # fmt: skip
    db.executemany("INSERT INTO t VALUES (?)", [(v,) for v in values])
    guarded = db.execute(
        f"SELECT rowid FROM t WHERE {sane_sql('duration')} IS NOT NULL ORDER BY rowid"
    ).fetchall()
    ranged = db.execute(
        f"SELECT rowid FROM t WHERE {sane_range_sql('duration')} ORDER BY rowid"
    ).fetchall()
    assert guarded == ranged and len(guarded) == 6  # 0, 0.0, 2.5, 10^9, '3' (a number), 7
    with pytest.raises(ValueError, match="whole numbers"):
        sane_range_sql("total_tokens")
