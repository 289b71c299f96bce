"""An experiment in process against the same experiment on worker processes
(``experiment(..., executor=ex)``), and what the executor path costs a task.

    python benchmarks/bench_executor.py [--pairs 40] [--seconds 2] [--workers 2] [--smoke]

The agent is the tests' scripted ACP agent (``tests/interop/acp_agents/scripted_agent.py``,
run by ``.tools/acp``'s Python, which ``scripts/test.sh`` makes), asked ``spin SECONDS``:
it spends that much CPU, then answers with usage.

1. **Throughput**: ``--pairs`` questions of ``--seconds`` CPU each, in process
   (``concurrency=--workers``) and on a ``ProcessPoolExecutor`` of ``--workers`` processes
   (spawned, each started and its agentnb imported before the clock starts, as a cluster's
   workers are up before an experiment). Wall time of each, to every run in the history.
2. **Overhead a task**: the same number of questions of no CPU (``spin 0``), one at a time,
   in process and on one worker process (its agent started by a first question, as the
   notebook's is by then): the difference in wall time over the pairs is what the executor
   path adds to a run (the task's pickling both ways, the worker's run recorded
   in memory and read back, the run written into the notebook's history and linked).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "tests" / "interop" / "acp_agents" / "scripted_agent.py"
ACP_PYTHON = Path(os.environ.get("AGENTNB_SDK_ENVS") or ROOT / ".tools") / "acp" / "bin" / "python"
if not ACP_PYTHON.exists():
    ACP_PYTHON = ROOT / ".tools" / "acp" / "bin" / "python"


def rows(pairs: int, seconds: float, tag: str) -> list[dict[str, str]]:
    return [{"id": f"q{n}", "question": f"spin {seconds:g} {tag}{n}"} for n in range(pairs)]


def warmed_pool(workers: int) -> concurrent.futures.ProcessPoolExecutor:
    """Worker processes started and agentnb imported in each, before any clock starts."""
    pool = concurrent.futures.ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn")
    )
    ready = [pool.submit(_import_agentnb, 0.5) for _ in range(workers)]
    pids = {future.result() for future in ready}
    if len(pids) != workers:
        pool.submit(_import_agentnb, 0.0).result()
    return pool


def _import_agentnb(hold: float) -> int:
    import agentnb.evals  # noqa: F401  (what a task imports: loaded before the clock)

    time.sleep(hold)  # each worker takes one: every process is started
    return os.getpid()


def timed(name: str, pairs: int, seconds: float, executor: object, concurrency: int) -> float:
    from agentnb import evals

    started = time.perf_counter()
    exp = evals.experiment(
        name,
        "spinner",
        rows(pairs, seconds, name),
        via="spinner",
        progress=False,
        concurrency=concurrency,
        executor=executor,  # type: ignore[arg-type]
    ).wait()
    wall = time.perf_counter() - started
    statuses = set(exp.to_pandas()["status"])
    assert statuses == {"completed"}, f"{name}: {statuses}"
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the overhead part")
    parser.add_argument(
        "--smoke", action="store_true", help="2 pairs of 0.05 s on one worker: runs, fast"
    )
    args = parser.parse_args()
    if args.smoke:
        args.pairs, args.seconds, args.workers = 2, 0.05, 1
    if not ACP_PYTHON.exists():
        print(f"skipped: {ACP_PYTHON} is missing (bash scripts/test.sh makes .tools/acp)")
        return
    home = Path(tempfile.mkdtemp(prefix="agentnb-bench-executor-"))
    os.environ["AGENTNB_HISTORY"] = str(home / "history.sqlite3")
    os.environ["AGENTNB_SPINNER_PROVIDER"] = "acp"
    os.environ["AGENTNB_SPINNER_COMMAND"] = f"{ACP_PYTHON} {AGENT}"
    try:
        report(args)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def report(args: argparse.Namespace) -> None:
    print(f"{args.pairs} pairs of the scripted ACP agent, {sys.platform}, {os.cpu_count()} CPUs")
    local = timed("local", args.pairs, args.seconds, None, args.workers)
    with warmed_pool(args.workers) as pool:
        remote = timed("pool", args.pairs, args.seconds, pool, args.workers)
    print(f"\n{args.seconds:g} s of CPU a pair, {args.workers} at a time:")
    print(f"  in process              {local:8.1f} s")
    print(f"  {args.workers} worker processes      {remote:8.1f} s")

    overheads = []
    with warmed_pool(1) as one:
        timed("warm-there", 1, 0, one, 1)  # the worker's agent process started, as here
        for round_ in range(args.repeat):
            here = timed(f"here{round_}", args.pairs, 0, None, 1)
            there = timed(f"there{round_}", args.pairs, 0, one, 1)
            overheads.append((there - here) / args.pairs)
            print(
                f"\nno CPU, one at a time: in process {here:.2f} s, on one worker "
                f"{there:.2f} s: {1000 * overheads[-1]:.1f} ms a task"
            )
    print(f"\nexecutor overhead a task (median of {len(overheads)}): "
          f"{1000 * statistics.median(overheads):.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
