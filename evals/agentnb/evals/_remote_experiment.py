"""An experiment on an executor (``experiment(..., executor=ex)``): each pair (question, arm)
left to do goes to ``ex`` as one :class:`~._remote_task.PairTask`; as each task's run comes
back it is written into this process's history, linked to its pair, scored by the
evaluators that run here, and counted in the progress, in a thread of this module's, so the
kernel stays free while the tasks run.

A pair is linked only when its run is written: a task lost with its worker (its process
killed, its machine gone) leaves its pair undone, never half-written. Such a task is sent
once more (a cluster that already sent it again itself, as Dask and Ray do for a worker that
died, returns its run the first time); a task that failed twice, or failed saying why (a key
the worker lacks), leaves its pair for ``experiment(name, ...)`` again or ``resume()``.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Final

from agentnb import AgentNBError, ConfigurationError, HistoryError
from agentnb.display import in_notebook, make_progress, note, warn
from agentnb.history import HistoryStore, RunRecord
from agentnb.types import Example, Via, connections_of

from ._book import ExperimentBook, ExperimentRecord
from ._cluster_watch import watching
from ._command_check import COPY_KEY
from ._evaluators import Evaluator, run_evaluator
from ._experiment_runs import evaluate_left, nothing_left, pairs_left
from ._remote_task import PairTask, RemoteRun, WorkerEvaluation, address_of, on_worker

__all__ = ["RemoteWork", "start_remote"]

ATTEMPTS: Final = 2
"""Times a pair's task is sent: once, and once more when it was lost (not when it failed
saying why)."""
RUNS_PER_TASK: Final = 21
"""Runs a task may hand back: the pair's, and before it those the platform refused with 429
and the batch sent again (at most 20 times)."""
TICK_S: Final = 1.0
"""Seconds between two looks at the cluster while no run comes back (the clock moves)."""
MAX_COST_USD: Final = 1e6
"""The most one run handed back may say it cost: past it, a worker's figure is no cost."""


def start_remote(
    record: ExperimentRecord,
    via: Via,
    store: HistoryStore,
    evaluators: Sequence[Evaluator],
    executor: concurrent.futures.Executor,
    *,
    concurrency: int,
    progress: bool,
    approve: Any,
) -> RemoteWork:
    """Send the experiment's pairs left to do to ``executor`` and return the work under way
    (everything a task carries checked first, so a connection that cannot travel fails
    here, with nothing sent)."""
    if not isinstance(executor, concurrent.futures.Executor):
        raise ConfigurationError(
            "executor= takes a concurrent.futures.Executor (Dask's "
            "distributed.Client(...).get_executor(), agentnb.evals.ray_executor(), a "
            f"ProcessPoolExecutor), not {type(executor).__name__}"
        )
    todo, requests = pairs_left(record, store, retry_failed=False)
    addresses = {id(c): address_of(c) for c in connections_of(requests, via)}
    conns = [addresses[id(c)] for c in connections_of(requests, via)]
    remote = [e for e in evaluators if on_worker(e)]
    tasks = [
        PairTask(index, request, conn, example, approve, tuple(remote))
        for index, (request, conn, (example, _)) in enumerate(
            zip(requests, conns, todo, strict=True)
        )
    ]
    here = [e for e in evaluators if not on_worker(e)]
    work = RemoteWork(record, store, tasks, todo, executor, here, concurrency, progress)
    if not tasks:
        nothing_left(record.name)
    work.start()
    return work


class RemoteWork:
    """An experiment's tasks on an executor: ``wait()`` for them, ``cancel()`` them."""

    def __init__(
        self,
        record: ExperimentRecord,
        store: HistoryStore,
        tasks: Sequence[PairTask],
        todo: Sequence[tuple[Example, int]],
        executor: concurrent.futures.Executor,
        evaluators: Sequence[Evaluator],
        concurrency: int,
        progress: bool,
    ) -> None:
        self._record = record
        self._store = store
        self._book = ExperimentBook(store)
        self._tasks = tasks
        self._todo = todo
        self._executor = executor
        self._evaluators = list(evaluators)
        self._concurrency = concurrency
        self._progress = progress
        self._bar = make_progress(len(tasks), f"experiment {record.name}", enabled=progress)
        self._landed: queue.Queue[tuple[int, concurrent.futures.Future[RemoteRun]]] = queue.Queue()
        self._lock = threading.Lock()
        self._futures: dict[int, concurrent.futures.Future[RemoteRun]] = {}
        self._sent: dict[int, PairTask] = {}  # each pair's task as last sent
        self._cancelled = threading.Event()
        self._scoring = concurrent.futures.ThreadPoolExecutor(
            max(1, concurrency), thread_name_prefix="agentnb-remote-evaluation"
        )
        self._scored: list[concurrent.futures.Future[None]] = []
        self._collector = threading.Thread(
            target=self._collect, name=f"agentnb-experiment:{record.name}", daemon=True
        )
        self.done = 0
        """Pairs whose run came back and was written (completed or not)."""
        self.failed = 0
        """Of those, the runs that did not complete."""
        self.undone = 0
        """Pairs left to do: their task cancelled, lost twice, or failed saying why."""
        self.problems: list[tuple[str, str]] = []
        """Each pair left undone (its question and arm) and why (its task's error)."""
        self._cost: float | None = None
        self._watch = watching(executor if progress else None)
        self._doing = ""
        self._looked = time.monotonic()

    def __repr__(self) -> str:
        state = "running" if self.running else "cancelled" if self._cancelled.is_set() else "done"
        return (
            f"<experiment {self._record.name!r} on {type(self._executor).__name__} ({state}): "
            f"{self.done}/{len(self._tasks)} runs back, {self.failed} failed, "
            f"{self.undone} left undone>"
        )

    @property
    def running(self) -> bool:
        """Whether tasks are still out (or their runs still being written and scored)."""
        return self._collector.is_alive()

    def start(self) -> None:
        for task in self._tasks:
            self._send(task)
        self._collector.start()

    def _send(self, task: PairTask) -> None:
        try:
            future = self._executor.submit(task)
        except Exception as exc:  # a broken or shut-down executor: the pair stays undone
            failed: concurrent.futures.Future[RemoteRun] = concurrent.futures.Future()
            failed.set_exception(exc)
            future = failed
        with self._lock:
            self._futures[task.index] = future
            self._sent[task.index] = task
        future.add_done_callback(lambda done: self._landed.put((task.index, done)))

    def _collect(self) -> None:
        """Write each run as its task ends, until every task ended for good."""
        left = len(self._tasks)
        try:
            while left:
                self._look()
                try:
                    index, future = self._landed.get(timeout=TICK_S)
                except queue.Empty:
                    continue
                with self._lock:
                    if self._futures.get(index) is not future:
                        continue  # an earlier attempt's future
                    task = self._sent[index]
                left -= self._settle(task, future)
            for scoring in self._scored:
                scoring.result()
            if self._evaluators and not self._cancelled.is_set():
                evaluate_left(self._evaluators, self._store, self._record.name, self._concurrency)
        finally:
            self._watch.close()
            self._scoring.shutdown(wait=True)
            self._bar.close()

    def _settle(self, task: PairTask, future: concurrent.futures.Future[RemoteRun]) -> int:
        """Deal with one task that ended: 1 when its pair is settled, 0 when sent again."""
        if future.cancelled():
            self._leave_undone(task, "its task was cancelled")
            return 1
        error = future.exception()
        if error is None:
            self._write(task, future.result())
            return 1
        said = isinstance(error, AgentNBError)  # the task failed saying why: no retry
        if not said and task.attempt < ATTEMPTS and not self._cancelled.is_set():
            self._say(f"{task.example.example_id!r} on {self._arm(task)} lost its task "
                      f"({type(error).__name__}): sent again")  # fmt: skip
            self._send(replace(task, attempt=task.attempt + 1))
            return 0
        self._leave_undone(task, f"{type(error).__name__}: {error}")
        return 1

    def _leave_undone(self, task: PairTask, why: str) -> None:
        self.undone += 1
        self.problems.append((f"{task.example.example_id!r} on {self._arm(task)}", why))

    def _arm(self, task: PairTask) -> str:
        return self._record.arms[self._todo[task.index][1]].label

    def _write(self, task: PairTask, ran: RemoteRun) -> None:
        """The task's runs into the history, then linked to the pair (so a run is linked
        only once written), then its scores from the worker; the local evaluators next."""
        example, arm = self._todo[task.index]
        try:
            ran = held_to(task, ran)
            self._store.import_records(ran.runs, ran.calls)
            self._book.link(
                self._record.name, [(example.position, arm, run.local_id) for run in ran.runs]
            )
            pair_run = ran.runs[-1]
            for evaluation in ran.evaluations:
                if evaluation.scores:
                    self._store.add_scores(
                        pair_run.local_id,
                        list(evaluation.scores),
                        source=evaluation.source,  # type: ignore[arg-type]
                        author=evaluation.evaluator,
                    )
                self._book.record_evaluation(
                    pair_run.local_id, evaluation.evaluator, evaluation.error
                )
        except (HistoryError, ConfigurationError, IndexError) as exc:
            self._leave_undone(task, f"its run came back and could not be kept: {exc}")
            return
        self._count(pair_run.status, pair_run.cost_usd)
        if self._evaluators and pair_run.status == "completed" and not self._cancelled.is_set():
            self._scored.append(self._scoring.submit(self._score, pair_run.local_id, example))

    def _count(self, status: str, cost: float | None) -> None:
        self.done += 1
        self.failed += status != "completed"
        if cost is not None:
            self._cost = (self._cost or 0.0) + cost
        self._bar.update(self.done, self.failed, self._cost, self._doing)

    def _look(self) -> None:
        """Each :data:`TICK_S`: what the cluster says (how many run where, a worker lost)
        into the progress, its clock moved."""
        if time.monotonic() - self._looked < TICK_S:
            return
        self._looked = time.monotonic()
        for lost in self._watch.lost():
            self._say(lost)
        self._doing = self._watch.doing()
        self._bar.update(self.done, self.failed, self._cost, self._doing)

    def _say(self, what: str) -> None:
        if self._progress:
            above = "" if in_notebook() else "\n"  # below the progress line's last drawing
            note(f"{above}agentnb: experiment {self._record.name!r}: {what}")

    def _score(self, local_id: str, example: Example) -> None:
        record = self._store.get(local_id)
        if record is None:
            return
        try:
            for evaluator in self._evaluators:
                run_evaluator(evaluator, record, example, self._store, self._book)
        except HistoryError as exc:  # the experiment goes on; a resume scores the run later
            warn(
                f"agentnb: run {local_id}'s scores could not be kept ({exc}); "
                "the experiment's resume(evaluators=[...]) scores it later",
                stacklevel=1,
            )

    def cancel(self) -> None:
        """Cancel the tasks not started; ask the running ones to stop (an executor that can
        stop a running task does: Ray's, through :func:`ray_executor`; Dask lets a running
        task end, and its run is not kept). Their pairs stay undone: ``resume`` them."""
        self._cancelled.set()
        with self._lock:
            futures = list(self._futures.values())
        for future in futures:
            future.cancel()

    def wait(self, timeout: float | None = None) -> None:
        """Wait until every task ended and its run is written and scored (at most
        ``timeout`` seconds: then ``TimeoutError``, the tasks going on). An interrupt (Stop,
        Ctrl-C) cancels the tasks. Pairs left undone are said in a warning."""
        try:
            self._collector.join(timeout)
        except KeyboardInterrupt:
            self.cancel()
            raise
        if self._collector.is_alive():
            raise TimeoutError(
                f"experiment {self._record.name!r}: {self.done} of {len(self._tasks)} runs "
                f"back after {timeout:g} s; its tasks go on"
            )
        if self.problems:
            warn(
                f"agentnb: experiment {self._record.name!r} left {self.undone} pairs undone: "
                f"{_by_reason(self.problems)}. The experiment run again (experiment(name, "
                "agents, dataset, executor=...)) runs them",
                stacklevel=3,
            )
            self.problems = []


def held_to(task: PairTask, ran: object) -> RemoteRun:
    """What a worker handed back, held to the task it was sent (a worker is a peer, its
    result input): the task's agent and question, at most :data:`RUNS_PER_TASK` runs, costs
    that are figures, the evaluations of the evaluators the task carried under their own
    source. The runs' ids are minted here (a worker never names a run of this history) and
    no metadata key that steers a later action here (the copy a check runs in) is kept."""
    if not isinstance(ran, RemoteRun) or not 0 < len(ran.runs) <= RUNS_PER_TASK:
        raise ConfigurationError(
            f"a task hands back one run and at most {RUNS_PER_TASK - 1} refused ones, not "
            f"{len(ran.runs) if isinstance(ran, RemoteRun) else type(ran).__name__}"
        )
    ids = {record.local_id: uuid.uuid4().hex for record in ran.runs}
    runs = tuple(
        replace(
            _checked_run(task, record),
            local_id=ids[record.local_id],
            metadata={k: v for k, v in (record.metadata or {}).items() if k != COPY_KEY},
        )
        for record in ran.runs
    )
    if len(ids) != len(runs) or any(call.local_id not in ids for call in ran.calls):
        raise ConfigurationError("a task's runs share an id, or a tool call is of none of them")
    calls = tuple(replace(call, local_id=ids[call.local_id]) for call in ran.calls)
    sent = {evaluator.name: evaluator.source for evaluator in task.evaluators}
    evaluations = [e for e in ran.evaluations if isinstance(e, WorkerEvaluation)]
    if sorted(e.evaluator for e in evaluations) != sorted(sent) or len(evaluations) != len(
        ran.evaluations
    ):
        evaluations = []  # not the task's evaluators, each once: scored here by a resume
    checked = tuple(replace(e, source=sent[e.evaluator]) for e in evaluations)
    return RemoteRun(ran.worker, runs, calls, checked)


def _checked_run(task: PairTask, record: object) -> RunRecord:
    if not isinstance(record, RunRecord):
        raise ConfigurationError(f"a task hands back runs, not {type(record).__name__}")
    if (record.agent, record.message) != (task.request.agent, task.request.message):
        raise ConfigurationError(
            f"a run of agent {record.agent!r} came back for a task of {task.request.agent!r} "
            "(or for another question)"
        )
    cost = record.cost_usd
    if cost is not None and not (isinstance(cost, float | int) and 0 <= cost <= MAX_COST_USD):
        raise ConfigurationError(f"a run said to cost {cost!r} USD is no run this task made")
    return record


def _by_reason(problems: Sequence[tuple[str, str]]) -> str:
    """``reason (pair, pair, ...)`` for each reason, the pairs it left undone (a key the
    workers lack is said once, not once a pair)."""
    pairs: dict[str, list[str]] = {}
    for pair, why in problems:
        pairs.setdefault(why, []).append(pair)
    return "; ".join(
        f"{why} ({', '.join(named[:5])}{f' and {len(named) - 5} more' if len(named) > 5 else ''})"
        for why, named in pairs.items()
    )
