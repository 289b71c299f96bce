"""What a user writes instead of ``agentnb.summary("agent")``: pandas' ``read_sql`` of the
columns the summary needs, then ``groupby`` (runs per status, token and cost sums and means,
tool calls per run; the completed runs' pauses and their durations' and TTFTs' p50 / p95).
It imports pandas and sqlite3 alone, so ``bench_history.py --only outside`` runs it as a
process of its own beside ``agentnb.summary`` in another:

    python benchmarks/summary_by_pandas.py HISTORY.sqlite3

prints the p95 durations per agent as JSON (what the benchmark checks the two agree on)."""

from __future__ import annotations

import json
import os
import sqlite3
import sys

import pandas as pd


def read_sql_summary_by_agent(path: str | os.PathLike[str]) -> pd.DataFrame:
    """``summary(by='agent')`` the usual pandas way: read the columns it needs, group; the
    quantiles of the completed runs' durations and TTFTs."""
    db = sqlite3.connect(path)
    try:
        columns = "agent, status, total_tokens, cost_usd, tool_call_count, paused_seconds"
        frame = pd.read_sql(f"SELECT {columns}, duration, ttft FROM runs", db)
    finally:
        db.close()
    by = frame.groupby("agent")
    out = by.agg(
        runs=("status", "size"),
        tokens_total=("total_tokens", "sum"),
        tokens_mean=("total_tokens", "mean"),
        cost_total=("cost_usd", "sum"),
        cost_mean=("cost_usd", "mean"),
        tool_calls_per_run=("tool_call_count", "mean"),
    )
    out = out.join(pd.crosstab(frame["agent"], frame["status"]))
    completed = frame[frame["status"] == "completed"].groupby("agent")
    out["paused_total"] = completed["paused_seconds"].sum()
    quantiles = completed[["duration", "ttft"]].quantile([0.5, 0.95]).unstack()
    quantiles.columns = [f"{metric}_p{round(q * 100)}" for metric, q in quantiles.columns]
    return out.join(quantiles)


if __name__ == "__main__":
    summary = read_sql_summary_by_agent(sys.argv[1])
    print(json.dumps(summary["duration_p95"].astype(float).to_dict()))
