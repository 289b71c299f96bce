"""The experiments the cluster tests run three ways (in process, on Dask, on Ray): imported by
the tests, by the driver that runs them on a cluster, and, for the evaluator that runs where
the run ran, by the cluster's workers (this folder is on their ``PYTHONPATH``).

Both reach their agents through connections the environment names, so the notebook's side
and every worker resolve them alike, each reading the key from its own environment:
``cluster`` (the built-in server, ``AGENTNB_CLUSTER_*``) and ``spinner`` (the scripted ACP
agent, ``AGENTNB_SPINNER_*``).
"""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path
from typing import Any

from agentnb import evals
from agentnb.history import RunRecord

QUESTIONS = [
    {"id": "nvda", "question": "What is NVDA trading at?", "expected": "NVDA"},
    {"id": "aapl", "question": "How did AAPL close?", "expected": "AAPL"},
    {"id": "msft", "question": "How is MSFT doing?", "expected": "MSFT"},
]


def names_ticker(run: RunRecord, example: dict[str, Any]) -> bool:
    """Run on the worker, where the run ran."""
    return example["expected"] in (run.answer or "")


names_ticker.on_worker = True  # type: ignore[attr-defined]


def tickers(executor: concurrent.futures.Executor | None = None) -> evals.Experiment:
    """Two agents of the built-in server over three questions; one evaluator here, one on
    the worker."""
    return evals.experiment(
        "tickers",
        ["finance_agent", "echo"],
        QUESTIONS,
        via="cluster",
        evaluators=[evals.contains, names_ticker],
        progress=False,
        executor=executor,
    ).wait()


def spin_rows(pairs: int) -> list[dict[str, str]]:
    return [{"id": f"q{n}", "question": f"hold q{n}"} for n in range(pairs)]


def spin(
    executor: concurrent.futures.Executor | None = None,
    *,
    pairs: int = 4,
    name: str = "spin",
) -> evals.Experiment:
    """The scripted ACP agent holding each of ``pairs`` questions until the test releases
    them (``SCRIPTED_SPIN_RELEASE``; on a cluster, with the progress the driver's log
    shows)."""
    return evals.experiment(
        name,
        "spinner",
        spin_rows(pairs),
        via="spinner",
        progress=executor is not None,
        executor=executor,
    ).wait()


def spin_cancelled(executor: concurrent.futures.Executor) -> evals.Experiment:
    """Four pairs held, never released, on two workers: once two have started, cancelled
    (the two not started are dropped, the two running asked to stop)."""
    exp = evals.experiment(
        "spin-cancelled",
        "spinner",
        spin_rows(4),
        via="spinner",
        progress=False,
        executor=executor,
    )
    log = Path(os.environ["SCRIPTED_SPIN_LOG"])
    while len(started(log)) < 2:
        try:
            exp.wait(timeout=0.2)  # a poll's tick: a timeout polls again  # checked: cannot race
        except TimeoutError:
            continue  # the tasks go on: two spins not started yet
        # every task ended and the spins never started (an agent that cannot start): say
        # so, rather than wait for them for ever
        raise RuntimeError(f"the tasks ended before two spins started: {exp.runs()!r}")
    exp.cancel()
    return exp.wait()


def started(log: Path) -> list[str]:
    """The questions whose spin an agent started, in order (a start's line is
    ``NAME pid ppid``; a stop's, ``NAME stopped pid ppid``)."""
    lines = log.read_text().splitlines() if log.exists() else []
    return [line.split()[0] for line in lines if len(line.split()) == 3]
