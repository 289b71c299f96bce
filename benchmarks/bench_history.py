"""Run-history speed at a million runs: recording, loading into pandas, summaries, search.

    python benchmarks/bench_history.py [--rows 1000000] [--runs 2000] [--queries 100]
        [--repeat 2] [--scans 3] [--cache DIR] [--only frames|summary|outside]
        [--no-bytecode] [--smoke] [--search-only]

1. Generates a ``--rows`` history file once (realistic questions, answers and tool calls,
   bulk-inserted in the store's own schema: ``executemany``, one transaction per chunk; the
   search index filled by the store's triggers) and keeps it in
   ``--cache`` (``/tmp/agentnb-bench-history``, named by the generation of its rows and the
   list of migrations, so a file made by another schema is made again); a later run reuses
   it, and a file made before the latest migrations were added is upgraded rather than made
   again: opening it applies the migrations it lacks (timed: a user's upgrade).
2. Records ``--runs`` runs (start and end with two tool calls, the writer thread's SQL) into
   a file of 1,000 runs and into the large one: µs per run at each size.
3. Reads the large file into pandas with ``runs().to_pandas()`` and with pandas' own
   ``read_sql`` converted to the very dtypes and score columns ``to_pandas`` gives (checked
   equal), and raw: the loads take turns, warm, best of ``--repeat``, in wall and CPU seconds
   (``--only frames``: only these). Then the summary per agent in SQLite (with the means of
   50,000 scores) beside ``read_sql`` of the columns it needs + ``groupby``, taking turns as
   the loads do (``--only summary``: only these); the same two from outside, each a fresh
   Python process timed whole, taking turns (``--only outside``; ``--no-bytecode``: every
   module compiled at each start); by pandas (a ``runs()`` result's); by a
   metadata key (50 users, five teams on every run), per user and day, per agent and team;
   the runs scored ``correct``; a user's last 1,000 runs; the cost per day (overall, and per
   model) in SQLite beside ``read_sql`` + ``groupby``; an agent's last 1,000 runs of the past week;
   the file's size per run.
3b. ``runs()`` as a cell shows it: the count and the first 20 rows, read at once; and
   ``len()`` of it (counted, no row read).
4. Searches it, p50 / p95 of the wall clock and of CPU time: ``runs(search=...)`` as a cell
   shows it (the call, the table's first page and its static copy), the table's next page,
   ``limit=20``, and every match read; beside a LIKE scan of the same text. ``--search-only``
   does this step alone, over the file already in ``--cache``.

``--smoke`` runs every step on a few hundred rows (a second or two): benchmarks/smoke.py runs
it (CI too), so a change to the history that breaks the benchmark fails a check.
"""

from __future__ import annotations

import argparse
import functools
import gc
import hashlib
import json
import math
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from summary_by_pandas import read_sql_summary_by_agent

from agentnb._app.past.runs_browser import HistorySource
from agentnb._core.request import ModelSettings, RunRequest
from agentnb._core.run import Run
from agentnb._history import HistoryStore
from agentnb._history._migrations import MIGRATIONS
from agentnb._history._records import RUN_COLUMNS, TOOL_CALL_COLUMNS
from agentnb._history._run_filter import RunFilter
from agentnb._history._tables import RunHistory
from agentnb.events import (
    RunCompleted,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)

AGENTS = ("finance_agent", "echo", "writer", "structured")
MODELS = ("gpt-4.1", "gpt-4o-mini", "claude-sonnet-4-5")
STATUSES = ("completed",) * 8 + ("failed", "cancelled")
CHUNK = 20_000
RUN_NAMES = tuple(name for name, _ in RUN_COLUMNS)
"""Runs written per transaction while building a large file."""


def finished_run(i: int, now: float) -> tuple[Run, RunRequest]:
    agent = AGENTS[i % len(AGENTS)]
    message = f"question number {i}: what is NVDA trading at?"
    run = Run(agent=agent, message=message, provider="operativus", connection="default")
    request = RunRequest(
        agent=agent, message=message, model_settings=ModelSettings(temperature=0.2)
    )
    run.start(now)
    return run, request


def fold(run: Run, now: float) -> None:
    run.apply(RunStarted(run_id=f"run_{run.local_id[:12]}", thread_id="t", received_at=now))
    for call in ("a", "b"):
        run.apply(
            ToolCallStarted(
                call_id=call, name="calculator", arguments={"x": 1}, received_at=now + 0.01
            )
        )
        run.apply(ToolCallFinished(call_id=call, output={"result": 2}, received_at=now + 0.02))
    run.apply(TextDelta(delta="NVDA trades at **$875.40**. " * 20, received_at=now + 0.05))
    run.apply(
        RunCompleted(usage=Usage(prompt_tokens=100, completion_tokens=200), received_at=now + 0.5)
    )


def bench_recording(path: Path, count: int) -> dict[str, float]:
    """µs per run to record ``count`` finished runs into the file at ``path`` (its start and
    its end with two tool calls: ``HistoryStore.record``, the SQL the writer thread runs,
    search index and triggers included), then the file as it was (those runs deleted)."""
    timings: list[float] = []
    now = time.time()
    recorded: list[str] = []
    with HistoryStore(path) as store:
        for i in range(count):
            run, request = finished_run(i, now)
            fold(run, now)
            start = time.perf_counter()
            store.record(run, request, base_url="http://127.0.0.1:8765")
            timings.append(time.perf_counter() - start)
            recorded.append(run.local_id)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA foreign_keys = ON")  # their tool calls go too
        db.execute("BEGIN")
        db.executemany("DELETE FROM runs WHERE local_id = ?", [(i,) for i in recorded])
        db.execute("COMMIT")
    finally:
        db.close()
    us = sorted(t * 1e6 for t in timings)
    return {
        "mean_us": statistics.mean(us),
        "p50_us": statistics.median(us),
        "p95_us": us[int(0.95 * (len(us) - 1))],
    }


TICKERS = ("NVDA", "AAPL", "MSFT", "TSLA", "AMZN", "GOOG", "META", "AMD", "INTC", "ORCL")
TOPICS = (
    "earnings",
    "guidance",
    "dividend",
    "buyback",
    "valuation",
    "options flow",
    "supply chain",
    "analyst ratings",
)
TOOLS = ("get_quote", "search_news", "calculator", "get_filings", "run_sql")
USERS = tuple(f"user{n:02d}" for n in range(50))
TEAMS = ("red", "blue", "green", "amber", "violet")
SCORED_EVERY = 20
"""Every 20th run has a score ``correct`` (a bool) and every 40th a label ``grade``."""


def synthetic_history(
    count: int, *, seed: int = 7
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """``count`` finished runs with realistic questions, answers and tool calls, in chunks
    of rows in ``RUN_COLUMNS`` / ``TOOL_CALL_COLUMNS`` order (a column the history added
    since is None, as in a row recorded before it): a name below that is no column fails
    here, not halfway through a million rows."""
    rng = random.Random(seed)
    base = time.time() - 30 * 86400
    step = 30 * 86400 / max(count, 1)
    for first in range(0, count, CHUNK):
        runs: list[tuple[Any, ...]] = []
        calls: list[tuple[Any, ...]] = []
        for i in range(first, min(count, first + CHUNK)):
            values, tool_calls = synthetic_run(rng, i, base + i * step)
            runs.append(in_order(values, RUN_COLUMNS))
            calls += [in_order(call, TOOL_CALL_COLUMNS) for call in tool_calls]
        yield runs, calls


@functools.cache
def _names(spec: tuple[tuple[str, Any], ...]) -> tuple[tuple[str, ...], frozenset[str]]:
    names = tuple(name for name, _ in spec)
    return names, frozenset(names)


def in_order(values: dict[str, Any], spec: tuple[tuple[str, Any], ...]) -> tuple[Any, ...]:
    names, known = _names(spec)
    if not known.issuperset(values):
        unknown = sorted(set(values) - known)
        raise KeyError(f"the history has no column(s) {unknown}: update this benchmark")
    return tuple(map(values.get, names))


def synthetic_run(
    rng: random.Random, i: int, started: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    duration = rng.uniform(0.5, 30)
    ttft = rng.uniform(0.05, min(2.0, duration))
    status = STATUSES[i % len(STATUSES)]
    prompt, completion = rng.randint(50, 3000), rng.randint(10, 2000)
    ticker, other = rng.sample(TICKERS, 2)
    topic = rng.choice(TOPICS)
    price, change = rng.uniform(20, 1200), rng.uniform(-9, 9)
    local_id = f"{i:032x}"
    run = {
        "local_id": local_id,
        "run_id": f"run_{i:024x}",
        "connection": "default",
        "provider": "operativus",
        "host": "127.0.0.1:8765",
        "agent": AGENTS[i % len(AGENTS)],
        "thread_id": f"sess_{i // 5:020x}",
        "message": f"What did {ticker}'s {topic} say, and how does it compare with {other}?",
        "answer": (
            f"{ticker} trades at **${price:,.2f}**, {change:+.2f}% on the week. On {topic}, "
            f"the company beat estimates by {rng.randint(1, 40)} cents; {other} lagged. "
            f"Question {i}: the market read it as {rng.choice(('bullish', 'bearish', 'mixed'))}."
        ),
        "reasoning": f"Look up {ticker} and {other}, read the {topic} news, compare the moves.",
        "status": status,
        "error_code": "CAPACITY_ERROR" if status == "failed" else None,
        "error_message": "Model overloaded" if status == "failed" else None,
        "prompt_tokens": prompt if status == "completed" else None,
        "completion_tokens": completion if status == "completed" else None,
        "total_tokens": prompt + completion if status == "completed" else None,
        "started_at": started,
        "first_token_at": started + ttft,
        "finished_at": started + duration,
        "duration": duration,
        "ttft": ttft,
        "tokens_per_second": completion / max(duration - ttft, 1e-3),
        "execution_time": duration * 0.95,
        "event_count": rng.randint(5, 400),
        "retries": 0,
        "resumes": 0,
        "tool_call_count": i % 4,
        "model_settings": '{"temperature": 0.2}',
        "metadata": json.dumps({"user": USERS[i % len(USERS)], "team": TEAMS[i % len(TEAMS)]}),
        "model": MODELS[i % len(MODELS)],
        "cost_usd": (prompt * 2 + completion * 8) / 1e6 if status == "completed" else None,
        "cost_source": "genai-prices" if status == "completed" else None,
    }
    tool_calls = [
        {
            "local_id": local_id,
            "call_id": f"call_{position}",
            "position": position,
            "agent": run["agent"],
            "name": (name := TOOLS[(i + position) % len(TOOLS)]),
            "status": "completed",
            "arguments": json.dumps({"symbol": ticker, "query": f"{ticker} {topic}"}),
            "output": json.dumps({"result": round(price, 2), "tool": name}),
            "started_at": started + 0.1 * position,
            "finished_at": started + 0.1 * position + 0.05,
            "duration": 0.05,
            "depth": 0,
        }
        for position in range(i % 4)
    ]
    return run, tool_calls


def build_history(path: Path, rows: int) -> float:
    """The history file of ``rows`` synthetic runs; seconds it took. The store makes the
    schema (every migration, its indexes and search triggers); the rows go in with
    ``executemany``, one transaction per chunk, each run's tool calls before it so the
    search index reads them when the run's row is inserted, as ``import_records`` does."""
    start = time.perf_counter()
    with HistoryStore(path):
        pass
    run_sql = f"INSERT INTO runs ({', '.join(_names(RUN_COLUMNS)[0])}) "
    run_sql += f"VALUES ({', '.join('?' * len(RUN_COLUMNS))})"
    call_sql = f"INSERT INTO tool_calls ({', '.join(_names(TOOL_CALL_COLUMNS)[0])}) "
    call_sql += f"VALUES ({', '.join('?' * len(TOOL_CALL_COLUMNS))})"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous = OFF")  # a file we can make again
        for runs, calls in synthetic_history(rows):
            db.execute("BEGIN")
            db.executemany(call_sql, calls)
            db.executemany(run_sql, runs)
            db.executemany(SCORE_SQL, synthetic_scores(runs))
            db.execute("COMMIT")
        added = db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    finally:
        db.close()
    assert added == rows, (added, rows)
    return time.perf_counter() - start


SCORE_SQL = (
    "INSERT INTO scores (local_id, name, kind, number, label, source, author, created) "
    "VALUES (?, ?, ?, ?, ?, 'code', 'bench', ?)"
)


def synthetic_scores(runs: Sequence[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Scores of some of ``runs`` (rows in ``RUN_COLUMNS`` order): ``correct`` on every
    ``SCORED_EVERY``-th, a ``grade`` label on every other of those."""
    local_id, started = RUN_NAMES.index("local_id"), RUN_NAMES.index("started_at")
    scores = []
    for row in runs:
        i = int(row[local_id], 16)
        if i % SCORED_EVERY:
            continue
        when = row[started] + 60
        scores.append((row[local_id], "correct", "bool", float(i % 3 != 0), None, when))
        if i % (2 * SCORED_EVERY) == 0:
            grade = ("good", "fair", "poor")[i % 3]
            scores.append((row[local_id], "grade", "label", None, grade, when))
    return scores


GENERATION = 3
"""Bump when the synthetic rows change: a cached file of another generation is not reused."""


def schema_key() -> str:
    """The migrations the file is built with, in a word: a file made by another list (one
    renamed or reordered while it was being written) is made again, not opened."""
    names = "\n".join(migration.__name__ for migration in MIGRATIONS)
    return hashlib.sha256(names.encode()).hexdigest()[:8]


def cached_history(folder: Path, rows: int) -> tuple[Path, list[tuple[str, float]]]:
    """A ``rows``-run file in ``folder``, generated once and reused (opening it applies the
    migrations it lacks, as a user's upgrade would); the steps timed on the way."""
    path = folder / f"history-{rows}-g{GENERATION}-{schema_key()}.sqlite3"
    steps: list[tuple[str, float]] = []
    earlier = None if path.exists() else earlier_history(folder, rows)
    if earlier is not None:  # made before migrations were added: upgraded, not made again
        earlier.rename(path)
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        for stale in folder.glob(part.name + "*"):
            stale.unlink()
        steps.append((f"generate the {rows:,}-run file", build_history(part, rows)))
        part.rename(path)
    start = time.perf_counter()
    with HistoryStore(path) as store:
        opened = time.perf_counter() - start
        assert store.count() == rows
    steps.append(("open it (migrations it lacks applied)", opened))
    return path, steps


def earlier_history(folder: Path, rows: int) -> Path | None:
    """A cached file of these rows whose migrations are the first of today's list (made
    before the latest were added), closed cleanly (no write-ahead log left): opening it
    applies the rest, as a user's upgrade does, instead of 25 minutes of generating."""
    names = [migration.__name__ for migration in MIGRATIONS]
    for candidate in sorted(folder.glob(f"history-{rows}-g{GENERATION}-*.sqlite3")):
        if candidate.with_name(candidate.name + "-wal").exists():
            continue
        db = sqlite3.connect(f"file:{candidate}?mode=ro", uri=True)
        try:
            applied = [
                name for (name,) in db.execute("SELECT name FROM _migrations ORDER BY rowid")
            ]
        except sqlite3.Error:
            continue
        finally:
            db.close()
        if applied and applied == names[: len(applied)]:
            return candidate
    return None


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    print(f"  … {getattr(fn, '__qualname__', fn)}", file=sys.stderr, flush=True)
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def median_time(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def read_sql_raw(path: Path) -> pd.DataFrame:
    db = sqlite3.connect(path)
    try:
        columns = ", ".join(_names(RUN_COLUMNS)[0])  # the columns runs() reads
        return pd.read_sql(f"SELECT {columns} FROM runs ORDER BY started_at DESC, rowid DESC", db)
    finally:
        db.close()


def read_sql_recent(path: Path, agent: str, since: float, limit: int) -> pd.DataFrame:
    db = sqlite3.connect(path)
    try:
        sql = "SELECT * FROM runs WHERE agent = ? AND started_at >= ? "
        sql += "ORDER BY started_at DESC LIMIT ?"
        return pd.read_sql(sql, db, params=(agent, since, limit))
    finally:
        db.close()


def read_sql_cost_per_day(path: Path) -> pd.Series:
    """The cost per day and model the usual pandas way: read the columns, group."""
    db = sqlite3.connect(path)
    try:
        frame = pd.read_sql("SELECT started_at, model, cost_usd FROM runs", db)
    finally:
        db.close()
    day = pd.to_datetime(frame["started_at"] // 86400 * 86400, unit="s", utc=True)
    return frame.groupby([day, "model"])["cost_usd"].sum(min_count=1)


def read_sql_typed(path: Path) -> pd.DataFrame:
    """read_sql, then the dtypes RunHistory.to_pandas() gives and its ``score.<name>``
    columns, done the usual pandas way (the benchmark checks the frames are the same)."""
    frame = read_sql_raw(path)
    for column, kind in RUN_COLUMNS:
        values = frame[column]
        if kind == "time":
            frame[column] = pd.to_datetime((values * 1e6).round(), unit="us", utc=True)
        elif kind == "int":
            frame[column] = values.astype("Int64")
        elif kind == "float":
            frame[column] = values.astype("float64")
        elif kind == "category":
            frame[column] = values.astype("category")
        elif kind == "json":
            frame[column] = values.map(json.loads, na_action="ignore").astype(object)
        else:
            frame[column] = values.astype("string")
    db = sqlite3.connect(path)
    try:
        scores = pd.read_sql(
            "SELECT local_id, name, kind, number, label FROM scores ORDER BY id", db
        )
    finally:
        db.close()
    current = scores.drop_duplicates(["local_id", "name"], keep="last")  # each run's latest
    runs = frame["local_id"].to_numpy()
    for name, given in current.groupby("name", sort=True):
        kind = given["kind"].iloc[0]  # one kind per name in this file
        if kind == "label":
            values = given["label"].astype("string")
        elif kind == "bool":
            values = (given["number"] != 0).astype("boolean")
        else:
            values = given["number"].astype("float64")
        by_run = pd.Series(values.array, index=given["local_id"].to_numpy())
        frame[f"score.{name}"] = by_run.reindex(runs).array
    return frame


def best_of(
    loads: dict[str, Callable[[], Any]],
    repeat: int,
    check: Callable[[str, Any], None] = lambda name, loaded: None,
) -> dict[str, tuple[float, float]]:
    """Each load's best wall-clock and best CPU seconds (``time.process_time``: the load of
    other jobs on the machine does not count) over ``repeat`` rounds, after one warm-up
    round (the file in the page cache, imports done). The loads take turns within a round,
    in another order each round, so each sees the same machine; ``check`` sees each result
    (outside the timing) before it is freed."""
    for name, load in loads.items():
        print(f"  … warm-up: {name}", file=sys.stderr, flush=True)
        check(name, load())
    best = {name: (math.inf, math.inf) for name in loads}
    names = list(loads)
    for round_ in range(repeat):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            gc.collect()  # the previous load's garbage is not this one's
            wall, cpu = time.perf_counter(), time.process_time()
            loaded = loads[name]()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            print(f"  … {name}: {wall:.2f} s, {cpu:.2f} s CPU", file=sys.stderr, flush=True)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
            check(name, loaded)
            del loaded
    return best


def bench_frames(path: Path, repeat: int) -> list[tuple[str, tuple[float, float]]]:
    """The whole file into pandas: ``runs().to_pandas()`` beside ``read_sql`` converted to
    the same dtypes with the same score columns (checked equal), and raw ``read_sql`` of the
    run columns; wall and CPU seconds, best of ``repeat``, interleaved and warm."""
    shape: dict[str, Any] = {}

    def check(name: str, frame: pd.DataFrame) -> None:
        if name == "agentnb":
            shape.update(rows=len(frame), dtypes=frame.dtypes, head=frame.head(2000))
        elif name == "typed":
            assert len(frame) == shape["rows"]
            assert shape["dtypes"].equals(frame.dtypes), (shape["dtypes"], frame.dtypes)
            pd.testing.assert_frame_equal(shape["head"], frame.head(2000))

    with HistoryStore(path) as store:
        best = best_of(
            {
                "agentnb": lambda: store.runs().to_pandas(),
                "typed": lambda: read_sql_typed(path),
                "raw": lambda: read_sql_raw(path),
            },
            repeat,
            check,
        )
    return [
        ("agentnb: runs().to_pandas(), scores included", best["agentnb"]),
        ("pandas.read_sql + the same dtypes and score columns", best["typed"]),
        ("pandas.read_sql, raw dtypes, run columns only", best["raw"]),
    ]


def bench_summary(path: Path, repeat: int) -> list[tuple[str, tuple[float, float]]]:
    """``summary(by='agent')`` beside what a user writes instead (``read_sql`` of the columns
    it needs + ``groupby``; their quantiles checked equal), taking turns as the whole-file
    loads do (:func:`best_of`): timed apart, minutes from each other on a shared machine, the
    two read anywhere from 0.7x to 1.4x each other."""
    with HistoryStore(path) as store:
        ours = store.summary(RunFilter(), "agent")

        def check(name: str, frame: pd.DataFrame) -> None:
            gap = (frame["duration_p95"] - ours["duration_p95"]).abs().max()
            assert gap < 1e-9, f"{name}'s summary by agent differs by {gap}"

        best = best_of(
            {
                "agentnb": lambda: store.summary(RunFilter(), "agent"),
                "pandas": lambda: read_sql_summary_by_agent(path),
            },
            repeat,
            check,
        )
    return [
        ("agentnb: summary(by='agent') (in SQLite, with score means)", best["agentnb"]),
        ("pandas.read_sql of the columns it needs + groupby", best["pandas"]),
    ]


AGENTNB_SUMMARY = """
import json, agentnb
summary = agentnb.summary("agent")
print(json.dumps(summary["duration_p95"].astype(float).to_dict()))
"""
"""What a user writes: ``agentnb.summary("agent")`` (the history: ``AGENTNB_HISTORY``)."""


def bench_outside(
    path: Path, repeat: int, bytecode: bool = True
) -> dict[str, list[tuple[float, float]]]:
    """``agentnb.summary("agent")`` and ``summary_by_pandas.py`` (``read_sql`` + ``groupby``)
    timed from outside, as a user's script is: each a fresh Python process (its start, its
    imports, the file opened, the summary, its exit), cold but for the OS's page cache;
    taking turns, in another order each round, after one warm-up round (their results
    checked equal). Each round's wall and CPU seconds (the child's user + system time).
    ``bytecode``: cached, as an installed package has it (the warm-up writes it); else every
    module compiled from source at every start (``PYTHONDONTWRITEBYTECODE``, no cache)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PYTHONPYCACHE")},
        "AGENTNB_HISTORY": str(path),
        "PYTHONDONTWRITEBYTECODE": "" if bytecode else "1",
    }
    if bytecode:
        env["PYTHONPYCACHEPREFIX"] = str(path.parent / "pycache")
    commands = {
        "agentnb": [sys.executable, "-c", AGENTNB_SUMMARY],
        "pandas": [
            sys.executable,
            str(Path(__file__).with_name("summary_by_pandas.py")),
            str(path),
        ],
    }
    said = {name: process_output(command, env, path.parent) for name, command in commands.items()}
    ours, theirs = json.loads(said["agentnb"]), json.loads(said["pandas"])
    assert ours.keys() == theirs.keys(), (ours, theirs)
    assert all(abs(ours[k] - theirs[k]) < 1e-9 for k in ours), (ours, theirs)
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    names = list(commands)
    for round_ in range(repeat):
        for name in names[round_ % 2 :] + names[: round_ % 2]:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            process_output(commands[name], env, path.parent)
            wall = time.perf_counter() - start
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            print(f"  … {name}: {wall:.2f} s, {cpu:.2f} s CPU", file=sys.stderr, flush=True)
            times[name].append((wall, cpu))
    return times


def process_output(command: Sequence[str], env: dict[str, str], folder: Path) -> str:
    """What ``command`` printed, run in ``folder`` (not a checkout: ``-c`` imports the
    agentnb ``PYTHONPATH`` or the environment names, not the one in the current folder)."""
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def print_outside(
    rows: int, times: dict[str, list[tuple[float, float]]], bytecode: bool = True
) -> None:
    """Each contender's median, lowest and highest wall and CPU seconds, and the ratios of
    the medians and of each round's pair."""
    repeat = len(times["agentnb"])
    print(
        f"\nSummarising {rows:,} runs by agent from outside (a fresh process each, taking "
        f"turns, {repeat} rounds, bytecode {'cached' if bytecode else 'compiled at each start'};"
        f" load average {load_average()})"
    )
    print(f"  {'process':<52} {'wall s: median (min-max)':>26} {'CPU s: median (min-max)':>26}")
    labels = {
        "agentnb": 'agentnb.summary("agent")',
        "pandas": "read_sql of the columns it needs + groupby",
    }
    for name, label in labels.items():
        walls, cpus = ([t[i] for t in times[name]] for i in (0, 1))
        shown = [f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" for v in (walls, cpus)]
        print(f"  {label:<52} {shown[0]:>26} {shown[1]:>26}")
    ratios = [
        (ours[0] / theirs[0], ours[1] / theirs[1])
        for ours, theirs in zip(times["agentnb"], times["pandas"], strict=True)
    ]
    medians = [
        statistics.median(t[i] for t in times["agentnb"])
        / statistics.median(t[i] for t in times["pandas"])
        for i in (0, 1)
    ]
    each = ", ".join(f"{wall:.2f}x/{cpu:.2f}x" for wall, cpu in ratios)
    print(
        f"  {'agentnb / pandas, medians (wall, CPU)':<52} {medians[0]:>25.2f}x {medians[1]:>25.2f}x"
    )
    print(f"  each round's pair (wall/CPU): {each}")


def bench_loading(path: Path) -> list[tuple[str, float]]:
    """The runs shown at once and the rest at first use, once each; the summaries, best of
    3; an agent's last 1,000 runs, the median of 7 (the whole-file loads: :func:`bench_frames`)."""
    with HistoryStore(path) as store:
        rows = store.count()
        shown_s, history = timed(store.runs, repeat=1)
        read_s, _ = timed(lambda: len(history), repeat=1)
        summary_s, _ = timed(history.summary, repeat=1)
        history = RunHistory()  # the million runs' columns freed
        sql_summary_s, by_agent = timed(lambda: store.summary(RunFilter(), "agent"))
        assert by_agent["score.correct_n"].sum() == rows // SCORED_EVERY + (rows % SCORED_EVERY > 0)
        by_user_s, by_user = timed(lambda: store.summary(RunFilter(), "metadata.user"))
        assert len(by_user) == min(len(USERS), rows)
        assert by_user["runs"].sum() == rows
        user_day_s, _ = timed(
            lambda: store.summary(RunFilter(), "metadata.user", every="day"), repeat=1
        )
        team_agent_s, _ = timed(
            lambda: store.summary(RunFilter(), ["agent", "metadata.team"]), repeat=1
        )
        scored_s, _ = timed(lambda: store.summary(RunFilter.build(score={"correct": True}), None))
        alice = RunFilter.build(metadata={"user": "user07"}, limit=1000)
        alice_s, alice_runs = median_time(lambda: store.runs(alice).to_pandas())
        assert len(alice_runs) == min(1000, rows // len(USERS))
        per_day_s, _ = timed(lambda: store.summary(RunFilter(), None, every="day"))
        per_model_s, per_day = timed(lambda: store.summary(RunFilter(), "model", every="day"))
        since = time.time() - 7 * 86400
        recent = RunFilter.build(agent="echo", since=since, limit=1000)
        recent_s, recent_runs = median_time(lambda: store.runs(recent).to_pandas())
    recent_sql_s, recent_sql = median_time(lambda: read_sql_recent(path, "echo", since, 1000))
    per_day_sql_s, per_day_sql = timed(lambda: read_sql_cost_per_day(path))
    assert math.isclose(per_day["cost_total"].sum(), per_day_sql.sum(), rel_tol=1e-9)
    assert len(recent_runs) == len(recent_sql)
    return [
        ("agentnb: runs() shown: the count and first 20 rows", shown_s),
        ("agentnb: len(runs()) (counted, no row read)", read_s),
        ("agentnb: runs().summary(by='agent') (its runs, in their file)", summary_s),
        ("agentnb: summary(by='agent') (in SQLite, with score means)", sql_summary_s),
        ("agentnb: summary(by='metadata.user') (in SQLite)", by_user_s),
        ("agentnb: cost per user per day (in SQLite)", user_day_s),
        ("agentnb: summary(by=['agent', 'metadata.team']) (in SQLite)", team_agent_s),
        ("agentnb: summary of the runs scored correct (in SQLite)", scored_s),
        (f"agentnb: runs(metadata=user, limit=1000) frame ({len(alice_runs)}), median", alice_s),
        ("agentnb: summary(every='day') (in SQLite)", per_day_s),
        ("agentnb: cost per day and model (in SQLite)", per_model_s),
        ("pandas.read_sql + groupby: same cost per day", per_day_sql_s),
        (f"agentnb: runs(agent, since, limit=1000) frame ({len(recent_runs)}), median", recent_s),
        ("pandas.read_sql of the same 1,000 runs, median", recent_sql_s),
    ]


def percentiles(seconds: Sequence[float]) -> tuple[float, float]:
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def search_queries(count: int) -> list[str]:
    """What a user looks for: a ticker and a topic, a tool and a symbol, a word's start."""
    rng = random.Random(11)
    kinds = (
        lambda: f"{rng.choice(TICKERS)} {rng.choice(TOPICS)}",
        lambda: f"{rng.choice(TOOLS)} {rng.choice(TICKERS)}",
        lambda: f"{rng.choice(TICKERS)} {rng.choice(('bullish', 'bearish', 'mixed'))} lagged",
        lambda: f"{rng.choice(TOPICS).split()[0][:5]}* {rng.choice(TICKERS)}",
    )
    return [kinds[i % len(kinds)]() for i in range(count)]


def like_scan(path: Path, query: str) -> int:
    """The obvious alternative: every word LIKE-matched against the text columns (no rank)."""
    words = [word.rstrip("*") for word in query.split()]
    text = "coalesce(message, '') || ' ' || coalesce(answer, '') || ' ' || coalesce(reasoning, '')"
    tools = "(SELECT group_concat(name || ' ' || arguments, ' ') FROM tool_calls t "
    tools += "WHERE t.local_id = runs.local_id)"
    where = " AND ".join(f"({text} || ' ' || coalesce({tools}, '')) LIKE ?" for _ in words)
    db = sqlite3.connect(path)
    try:
        sql = f"SELECT local_id FROM runs WHERE {where} ORDER BY started_at DESC"
        return len(db.execute(sql, [f"%{word}%" for word in words]).fetchall())
    finally:
        db.close()


def bench_search(path: Path, queries: int, *, scans: int) -> list[tuple[str, str]]:
    """runs(search=...) over the file bench_loading built: p50 / p95 of each way.

    "shown" is what a notebook cell does with ``agentnb.runs(search=...)`` as its last
    line: the call (the match count and the first 20 rows, best first), the table's first
    page and its static copy (``HistorySource``: the RunsTable's rows without a browser)."""
    texts = search_queries(queries)
    rows: list[tuple[str, str]] = []
    with HistoryStore(path) as store:
        shown, shown_cpu, next_page, next_cpu, matches = [], [], [], [], []
        capped = False  # a total counted up to the store's cap: "10,000+"
        for text in texts:
            start, cpu = time.perf_counter(), time.process_time()
            source = HistorySource(store.runs(RunFilter.build(search=text)))
            first = source.page({})
            source.static()
            shown.append(time.perf_counter() - start)
            shown_cpu.append(time.process_time() - cpu)
            matches.append(first["total"])
            capped = capped or not first["exact"]
            start, cpu = time.perf_counter(), time.process_time()
            source.page({"offset": 20})
            next_page.append(time.perf_counter() - start)
            next_cpu.append(time.process_time() - cpu)
        label = f"agentnb: runs(search=...) shown ({len(texts)})"
        rows.append(figures(label, shown, matches, capped))
        rows.append(figures(f"{label}, CPU", shown_cpu, matches, capped))
        rows.append(figures("agentnb: the table's next page of 20", next_page, matches, capped))
        label = "agentnb: the table's next page of 20, CPU"
        rows.append(figures(label, next_cpu, matches, capped))
        for label, limit, asked in (("best 20", 20, texts), ("every match read", None, texts[:20])):
            times, found = [], []
            for text in asked:
                start = time.perf_counter()
                history = store.runs(RunFilter.build(search=text, limit=limit))
                found.append(len(history))  # every row read
                times.append(time.perf_counter() - start)
            rows.append(figures(f"agentnb: runs(search=...), {label} ({len(asked)})", times, found))
    times = []
    for text in texts[:scans]:
        start = time.perf_counter()
        like_scan(path, text)
        times.append(time.perf_counter() - start)
    if times:
        p50, p95 = percentiles(times)
        label = f"sqlite LIKE scan of the same text ({scans} queries)"
        rows.append((label, f"{p50:.1f} / {p95:.1f}"))
    return rows


def figures(
    label: str, seconds: Sequence[float], found: Sequence[int], capped: bool = False
) -> tuple[str, str]:
    p50, p95 = percentiles(seconds)
    more = "+" if capped else ""
    return label, f"{p50:.1f} / {p95:.1f}  ({statistics.mean(found):,.0f}{more} runs)"


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2_000, help="runs recorded, timed")
    parser.add_argument("--rows", type=int, default=1_000_000, help="runs in the large file")
    parser.add_argument(
        "--smoke", action="store_true", help="a few hundred rows, once: benchmarks/smoke.py's check"
    )
    parser.add_argument("--queries", type=int, default=100, help="searches to time")
    parser.add_argument(
        "--repeat", type=int, default=2, help="rounds of the whole-file loads (after a warm-up)"
    )
    parser.add_argument("--scans", type=int, default=3, help="LIKE scans to time")
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "agentnb-bench-history",
        help="folder keeping the generated file between runs",
    )
    parser.add_argument(
        "--search-only",
        action="store_true",
        help="only the searches, over the file already in --cache (never generated)",
    )
    parser.add_argument(
        "--only",
        choices=["frames", "summary", "outside"],
        help="frames: only the whole-file loads into pandas; summary: only the summary by "
        "agent beside read_sql + groupby (the cached file made if missing); outside: the "
        "same two, each a fresh process timed whole (--repeat rounds)",
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="--only outside: every module compiled from source at each start "
        "(PYTHONDONTWRITEBYTECODE=1, no cached bytecode) instead of an installed package's",
    )
    args = parser.parse_args()
    scans = args.scans
    if args.search_only:
        search_only(args)
        return
    if args.smoke:
        args.runs, args.rows, args.queries, scans = 50, 300, 8, 2
    repeat = 1 if args.smoke else args.repeat
    with tempfile.TemporaryDirectory() as folder:
        cache = Path(folder) if args.smoke else args.cache
        if args.only is not None:
            loaded, _ = cached_history(cache, args.rows)
            if args.only == "frames":
                print_frames(args.rows, repeat, bench_frames(loaded, repeat))
            elif args.only == "outside":
                bytecode = not args.no_bytecode
                print_outside(args.rows, bench_outside(loaded, repeat, bytecode), bytecode)
            else:
                print_summaries(args.rows, repeat, bench_summary(loaded, repeat))
            return
        small = Path(folder) / "small.sqlite3"
        build_history(small, min(1_000, args.rows))
        small_recording = bench_recording(small, args.runs)
        loaded, steps = cached_history(cache, args.rows)
        large_recording = bench_recording(loaded, args.runs)
        frames = bench_frames(loaded, repeat)
        summaries = bench_summary(loaded, repeat)
        outside = bench_outside(loaded, repeat)
        loading = steps + bench_loading(loaded)
        size = file_size(loaded)
        searching = bench_search(loaded, args.queries, scans=scans)
    print_tables(args, small_recording, large_recording, loading, size, searching)
    print_frames(args.rows, repeat, frames)
    print_summaries(args.rows, repeat, summaries)
    print_outside(args.rows, outside)


def search_only(args: argparse.Namespace) -> None:
    """The search rows alone, over the cached file (a file of another schema is refused
    rather than made: a million runs take an hour)."""
    path = args.cache / f"history-{args.rows}-g{GENERATION}-{schema_key()}.sqlite3"
    if not path.exists():
        raise SystemExit(f"no {args.rows:,}-run file in {args.cache}: run without --search-only")
    print(f"\nSearching {args.rows:,} runs ({args.queries} queries; ms p50 / p95)")
    for name, figures in bench_search(path, args.queries, scans=args.scans):
        print(f"  {name:<60} {figures}")


def print_tables(
    args: argparse.Namespace,
    small: dict[str, float],
    large: dict[str, float],
    loading: list[tuple[str, float]],
    size: int,
    searching: list[tuple[str, str]],
) -> None:
    print(f"\nRecording {args.runs:,} runs (start + end, 2 tool calls each; µs per run)")
    print(f"  {'into a file of':<24} {'mean':>9} {'p50':>9} {'p95':>9}")
    for label, figures in (
        (f"{min(1_000, args.rows):,} runs", small),
        (f"{args.rows:,} runs", large),
    ):
        print(
            f"  {label:<24} {figures['mean_us']:>9.0f} {figures['p50_us']:>9.0f}"
            f" {figures['p95_us']:>9.0f}"
        )

    print(f"\nThe {args.rows:,}-run file")
    print(f"  {'step':<60} {'seconds':>9}")
    for name, seconds in loading:
        print(f"  {name:<60} {seconds:>9.3f}")
    print(f"  {'file size per run (with the search index)':<60} {size / args.rows:>8.0f} B")

    print(f"\nSearching {args.rows:,} runs ({args.queries} queries; ms p50 / p95)")
    for name, figures in searching:
        print(f"  {name:<60} {figures}")


def load_average() -> str:
    """The machine's load over 1, 5 and 15 minutes (other jobs share its cores)."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def print_frames(rows: int, repeat: int, frames: list[tuple[str, tuple[float, float]]]) -> None:
    title = f"Loading {rows:,} runs into pandas"
    print_turns(title, repeat, frames, "agentnb / read_sql + the same dtypes and score columns")


def print_summaries(rows: int, repeat: int, pair: list[tuple[str, tuple[float, float]]]) -> None:
    title = f"Summarising {rows:,} runs by agent"
    print_turns(title, repeat, pair, "agentnb / read_sql + groupby")


def print_turns(
    title: str, repeat: int, timed: list[tuple[str, tuple[float, float]]], ratio: str
) -> None:
    """Loads that took turns (:func:`best_of`), and the first's time over the second's."""
    print(f"\n{title} (interleaved, warm, best of {repeat}; load average {load_average()})")
    print(f"  {'load':<60} {'wall s':>9} {'CPU s':>9}")
    for name, (wall, cpu) in timed:
        print(f"  {name:<60} {wall:>9.3f} {cpu:>9.3f}")
    (_, (wall, cpu)), (_, (anchor_wall, anchor_cpu)) = timed[0], timed[1]
    print(f"  {ratio:<60} {wall / anchor_wall:>8.2f}x {cpu / anchor_cpu:>8.2f}x")


if __name__ == "__main__":
    main()
