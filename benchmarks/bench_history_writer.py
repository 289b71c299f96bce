"""The history writer thread's CPU per run, as the load benchmark's runs cost it.

    python benchmarks/bench_history_writer.py [--runs 200] [--rounds 7] [--profile]

Each round makes ``--runs`` runs of 32 events (the built-in ``echo`` agent's: run started
naming its model, 30 text deltas, completed with usage) and records them as a client does a
run going on past its first write: ``record_start`` and a checkpoint of what it holds, queued
together; a checkpoint at its first answer text; ``record_end``. Then it waits for the writer
thread and prints its CPU time per run (the median of the rounds too). ``--profile`` does
the same writes as batches on the calling thread under cProfile instead.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agentnb._core.request import ModelSettings, RunRequest
from agentnb._core.run import Run
from agentnb._history import HistoryStore
from agentnb._history._writer import PendingWrite
from agentnb.events import RunCompleted, RunStarted, TextDelta, Usage

WORDS = 90
DELTAS = 30
MODEL = "agentnb-echo"
"""The model the built-in echo agent reports (one genai-prices has no price for)."""


def recorded_runs(store: HistoryStore, tag: str, count: int, settle: Callable[[], None]) -> None:
    """``count`` runs through the store's recorder API, as the client calls it when they all
    stream at once: every first write (start and checkpoint), ``settle()``, every checkpoint
    at the first answer text, ``settle()``, every end (so each kind of write is done in
    batches of its own, as under load)."""
    filler = " ".join(f"w{j}" for j in range(WORDS - 1))
    runs = [
        Run(
            agent="echo",
            message=f"{tag}-{i:03d} {filler}",
            provider="operativus",
            connection="bench",
        )
        for i in range(count)
    ]
    now = time.time()
    for run in runs:
        request = RunRequest(agent="echo", message=run.message, model_settings=ModelSettings())
        run.start(now)
        run.apply(
            RunStarted(
                run_id=f"run_{run.local_id[:12]}", thread_id="t", model=MODEL, received_at=now
            )
        )
        store.record_start(run, request, base_url="http://127.0.0.1:8000")
        store.record_progress(run)
    settle()
    for run in runs:
        run.apply(TextDelta(delta=run.message[:12], received_at=now + 0.01))
        store.record_progress(run)
    settle()
    usage = Usage(prompt_tokens=WORDS, completion_tokens=WORDS, total_tokens=2 * WORDS)
    for run in runs:
        for start in range(12, len(run.message), len(run.message) // DELTAS + 1):
            run.apply(TextDelta(delta=run.message[start : start + len(run.message) // DELTAS + 1]))
        run.apply(RunCompleted(usage=usage, received_at=now + 0.1))
        store.record_end(run)
    settle()


def writer_cpu(store: HistoryStore) -> float:
    thread = store._recording._writer._thread
    if thread is None or thread.ident is None:
        raise RuntimeError("the writer thread has not started")
    return time.clock_gettime(time.pthread_getcpuclockid(thread.ident))


def one_round(store: HistoryStore, tag: str, count: int) -> float:
    """Microseconds of writer-thread CPU per run."""
    before = writer_cpu(store)
    recorded_runs(store, tag, count, store.flush)
    return (writer_cpu(store) - before) / count * 1e6


def profiled(store: HistoryStore, count: int) -> None:
    writes: list[PendingWrite] = []
    profile = cProfile.Profile()

    def do_batch() -> None:
        profile.runcall(store._recording._do_batch, writes[:])
        writes.clear()

    writer = store._recording._writer
    writer.submit = lambda write: bool(writes.append(write)) or True  # type: ignore[method-assign]
    recorded_runs(store, "prof", count, do_batch)
    pstats.Stats(profile).sort_stats("cumulative").print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--smoke", action="store_true", help="a small load, once: benchmarks/smoke.py's check"
    )
    args = parser.parse_args()
    if args.smoke:
        args.runs, args.rounds = 10, 1
    with tempfile.TemporaryDirectory() as folder:
        store = HistoryStore(Path(folder) / "h.db")
        recorded_runs(store, "warm", 20, store.flush)
        if args.profile:
            profiled(store, args.runs)
            return
        per_run = [one_round(store, f"r{r}", args.runs) for r in range(args.rounds)]
        for value in per_run:
            print(f"writer CPU per run: {value:.0f} µs ({value / 32:.1f} µs per event)")
        median = statistics.median(per_run)
        print(f"median: {median:.0f} µs per run, {median / 32:.1f} µs per event")
        store.close()


if __name__ == "__main__":
    main()
