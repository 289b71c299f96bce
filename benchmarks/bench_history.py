"""Run-history speed: recording runs, and loading a large history into pandas.

    python benchmarks/bench_history.py [--runs 10000] [--rows 100000] [--smoke]

1. Records ``--runs`` runs through the store's recorder API (``record_start`` then
   ``record_end`` with two tool calls each, one write transaction apiece, as a client does).
2. Bulk-loads a ``--rows`` history file, then reads it into pandas with
   ``agentnb.runs``' path (``HistoryStore.runs().to_pandas()``) and with pandas' own
   ``read_sql`` on the same file (raw, and with the dtypes ``to_pandas`` gives); the summary
   per agent by pandas and in SQLite; the cost per day and model
   (``summary("model", every="day")``) beside ``read_sql`` + ``groupby``; the last 1,000 runs of an agent in the past week; and
   the file's size per run.
3. Searches that file (``runs(search=...)``: every match ranked, and the best 20) beside a
   LIKE scan of the same text, p50 / p95 over ``--queries`` searches.

``--smoke`` runs every step on a few hundred rows (a second or two): the test suite runs it,
so a change to the history that breaks the benchmark fails a test.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from agentnb._core.request import ModelSettings, RunRequest
from agentnb._core.run import Run
from agentnb._history import HistoryStore, RunRecord, ToolCallRecord
from agentnb._history._records import RUN_COLUMNS, TOOL_CALL_COLUMNS
from agentnb._history._tables import RunFilter
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
    timings: list[float] = []
    now = time.time()
    with HistoryStore(path) as store:
        start = time.perf_counter()
        for i in range(count):
            run, request = finished_run(i, now)
            t0 = time.perf_counter()
            store.record_start(run, request, base_url="http://127.0.0.1:8765")
            t1 = time.perf_counter()
            fold(run, now)
            t2 = time.perf_counter()
            store.record_end(run)
            t3 = time.perf_counter()
            timings.append((t1 - t0) + (t3 - t2))
        total = time.perf_counter() - start
        assert store.count() == count
    ms = sorted(t * 1000 for t in timings)
    return {
        "total_s": total,
        "runs_per_s": count / sum(timings),
        "p50_ms": statistics.median(ms),
        "p95_ms": ms[int(0.95 * (len(ms) - 1))],
        "max_ms": ms[-1],
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


def synthetic_history(
    count: int, *, seed: int = 7
) -> Iterator[tuple[list[RunRecord], list[ToolCallRecord]]]:
    """``count`` finished runs with realistic questions, answers and tool calls, in chunks.

    Rows are made from ``RUN_COLUMNS`` / ``TOOL_CALL_COLUMNS`` (a column the history added
    since is None, as in a row recorded before it) and written with the store's own
    ``import_records``, so the file has the store's schema and indexes; a name below that is
    no column fails here, not halfway through a million rows."""
    rng = random.Random(seed)
    base = time.time() - 30 * 86400
    step = 30 * 86400 / max(count, 1)
    for first in range(0, count, CHUNK):
        runs: list[RunRecord] = []
        calls: list[ToolCallRecord] = []
        for i in range(first, min(count, first + CHUNK)):
            values, tool_calls = synthetic_run(rng, i, base + i * step)
            runs.append(RunRecord.from_row(in_order(values, RUN_COLUMNS)))
            calls += [ToolCallRecord.from_row(in_order(c, TOOL_CALL_COLUMNS)) for c in tool_calls]
        yield runs, calls


def in_order(values: dict[str, Any], spec: Sequence[tuple[str, Any]]) -> tuple[Any, ...]:
    names = [name for name, _ in spec]
    unknown = set(values) - set(names)
    if unknown:
        raise KeyError(f"the history has no column(s) {sorted(unknown)}: update this benchmark")
    return tuple(values.get(name) for name in names)


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
        "metadata": None,
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
    """The history file of ``rows`` synthetic runs; seconds it took."""
    start = time.perf_counter()
    added = 0
    with HistoryStore(path) as store:
        for runs, calls in synthetic_history(rows):
            added += store.import_records(runs, calls)
    assert added == rows, (added, rows)
    return time.perf_counter() - start


def timed(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def read_sql_raw(path: Path) -> pd.DataFrame:
    db = sqlite3.connect(path)
    try:
        return pd.read_sql("SELECT * FROM runs ORDER BY started_at DESC", db)
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
    """read_sql, then the dtypes RunHistory.to_pandas() gives, done the usual pandas way."""
    frame = read_sql_raw(path)
    for column in ("started_at", "first_token_at", "finished_at"):
        frame[column] = pd.to_datetime(frame[column], unit="s", utc=True)
    for column in (
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "event_count",
        "retries",
        "resumes",
        "tool_call_count",
    ):
        frame[column] = frame[column].astype("Int64")
    for column in ("connection", "provider", "host", "agent", "status", "error_code"):
        frame[column] = frame[column].astype("category")
    return frame


def bench_loading(path: Path, rows: int) -> list[tuple[str, float]]:
    build = build_history(path, rows)

    with HistoryStore(path) as store:
        read_s, history = timed(store.runs)
        frame_s, frame = timed(history.to_pandas)
        both_s, _ = timed(lambda: store.runs().to_pandas())
        summary_s, _ = timed(lambda: history.summary(), repeat=1)
        sql_summary_s, _ = timed(lambda: store.summary(RunFilter(), "agent"))
        per_day_s, per_day = timed(lambda: store.summary(RunFilter(), "model", every="day"))
        since = time.time() - 7 * 86400
        recent = RunFilter.build(agent="echo", since=since, limit=1000)
        recent_s, recent_runs = timed(lambda: store.runs(recent).to_pandas())
    assert len(frame) == rows
    raw_s, raw = timed(lambda: read_sql_raw(path))
    typed_s, typed = timed(lambda: read_sql_typed(path))
    assert len(raw) == len(typed) == rows
    recent_sql_s, recent_sql = timed(lambda: read_sql_recent(path, "echo", since, 1000))
    per_day_sql_s, per_day_sql = timed(lambda: read_sql_cost_per_day(path))
    assert math.isclose(per_day["cost_total"].sum(), per_day_sql.sum(), rel_tol=1e-9)
    assert len(recent_runs) == len(recent_sql)
    return [
        (f"build the {rows:,}-row file (import_records)", build),
        ("agentnb: store.runs() (read columns)", read_s),
        ("agentnb: RunHistory.to_pandas()", frame_s),
        ("agentnb: runs().to_pandas() total", both_s),
        ("pandas.read_sql (raw dtypes)", raw_s),
        ("pandas.read_sql + same dtypes", typed_s),
        ("agentnb: runs().summary(by='agent') (pandas)", summary_s),
        ("agentnb: summary(by='agent') (in SQLite)", sql_summary_s),
        ("agentnb: cost per day and model (in SQLite)", per_day_s),
        ("pandas.read_sql + groupby: same cost per day", per_day_sql_s),
        (f"agentnb: runs(agent, since, limit=1000) frame ({len(recent_runs)})", recent_s),
        ("pandas.read_sql of the same 1,000 runs", recent_sql_s),
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
    """runs(search=...) over the file bench_loading built: p50 / p95 of each way."""
    texts = search_queries(queries)
    rows: list[tuple[str, str]] = []
    with HistoryStore(path) as store:
        for label, limit in (("all matches", None), ("best 20", 20)):
            times, matches = [], []
            for text in texts:
                start = time.perf_counter()
                found = store.runs(RunFilter.build(search=text, limit=limit))
                times.append(time.perf_counter() - start)
                matches.append(len(found))
            p50, p95 = percentiles(times)
            mean = statistics.mean(matches)
            rows.append(
                (
                    f"agentnb: runs(search=...), {label}",
                    f"{p50:.1f} / {p95:.1f}  ({mean:,.0f} runs)",
                )
            )
    times = []
    for text in texts[:scans]:
        start = time.perf_counter()
        like_scan(path, text)
        times.append(time.perf_counter() - start)
    p50, p95 = percentiles(times)
    rows.append((f"sqlite LIKE scan of the same text ({scans} queries)", f"{p50:.1f} / {p95:.1f}"))
    return rows


def file_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--smoke", action="store_true", help="a few hundred rows, once: the test suite's check"
    )
    parser.add_argument("--queries", type=int, default=100, help="searches to time")
    args = parser.parse_args()
    scans = 10
    if args.smoke:
        args.runs, args.rows, args.queries, scans = 100, 300, 8, 2
    with tempfile.TemporaryDirectory() as folder:
        recording = bench_recording(Path(folder) / "record.sqlite3", args.runs)
        loaded = Path(folder) / "load.sqlite3"
        loading = bench_loading(loaded, args.rows)
        size = file_size(loaded)
        searching = bench_search(loaded, args.queries, scans=scans)

    print(f"\nRecording {args.runs:,} runs (record_start + record_end, 2 tool calls each)")
    print(f"  {'total wall time':<40} {recording['total_s']:>9.2f} s")
    print(f"  {'recorder throughput':<40} {recording['runs_per_s']:>9.0f} runs/s")
    for key in ("p50_ms", "p95_ms", "max_ms"):
        label = f"recorder time per run, {key[:-3]}"
        print(f"  {label:<40} {recording[key]:>9.3f} ms")

    print(f"\nLoading {args.rows:,} runs into pandas (best of 3)")
    typed = dict(loading)["pandas.read_sql + same dtypes"]
    raw = dict(loading)["pandas.read_sql (raw dtypes)"]
    total = dict(loading)["agentnb: runs().to_pandas() total"]
    print(f"  {'step':<48} {'seconds':>9}")
    for name, seconds in loading:
        print(f"  {name:<48} {seconds:>9.3f}")
    print(f"  {'agentnb total / read_sql raw':<48} {total / raw:>8.2f}x")
    print(f"  {'agentnb total / read_sql + same dtypes':<48} {total / typed:>8.2f}x")
    print(f"  {'file size per run (with the search index)':<48} {size / args.rows:>8.0f} B")

    print(f"\nSearching {args.rows:,} runs ({args.queries} queries; ms p50 / p95)")
    for name, figures in searching:
        print(f"  {name:<52} {figures}")


if __name__ == "__main__":
    main()
