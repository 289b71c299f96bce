"""Evaluators: functions ``fn(run, example)`` that score a run against its example (ready
ones and a judge are beside this module).

An evaluator returns a bool, a number, a label, ``(value, comment)``, a dict of those (one
score per key), or None (no score). Its scores are kept in the history as ``score.<fn
name>`` (a dict's: ``score.<key>``), given by ``code`` (a judge: by an ``agent``). One that
raises, or returns what is not a score, keeps the run: the history keeps that it failed
and why (``ExperimentBook.record_evaluation``), shown by the experiment's table, left
out of every mean.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import inspect
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from agentnb import ConfigurationError
from agentnb.history import HistoryStore, RunHistory, RunRecord
from agentnb.types import Example, RunLike, run_ids

from ._book import ExperimentBook
from ._datasets import kept_store

__all__ = [
    "Evaluator",
    "evaluate",
    "evaluate_runs",
    "evaluators_of",
    "graded_now",
    "run_evaluator",
]

EvaluatorFunction = Callable[[RunRecord, dict[str, Any]], object]
"""``fn(run, example)``: ``run`` is the run's history record, ``example`` a dict with
``id``, ``question``, ``expected`` and the dataset's other fields."""

_grading: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agentnb_evaluator_grades", default=None
)


def graded_now() -> str | None:
    """The run an evaluator running here grades (its ``local_id``), or None outside every
    evaluator. A run the evaluator starts (``agentnb.ask`` in its body, a client's run)
    carries it onto agentnb's loop, where a recorder's ``record_start`` reads it: such a run
    is the evaluation's own, never a run to score."""
    return _grading.get()


EVALUATOR_TIMEOUT: Final = 600.0
"""Seconds an evaluator may take on one run (a judge's included) before that evaluation is
kept as failed and the batch goes on (``evaluator_timeout=``)."""


@dataclass(frozen=True, slots=True)
class Evaluator:
    """An evaluator checked: its name (the score's column) and who its scores are from."""

    name: str
    function: EvaluatorFunction
    source: Literal["code", "agent"]
    time_limit: float = EVALUATOR_TIMEOUT


def evaluators_of(
    evaluators: Iterable[EvaluatorFunction] | None, time_limit: float = EVALUATOR_TIMEOUT
) -> list[Evaluator]:
    """The evaluators given to a batch or ``evaluate``, each named and bounded by
    ``time_limit`` seconds a run; a clear error for one that is no function, has no usable
    name, or shares its name."""
    if evaluators is None:
        return []
    if callable(evaluators):
        raise ConfigurationError("evaluators= takes a list of functions: evaluators=[fn]")
    if not _seconds(time_limit):
        raise ConfigurationError(
            f"evaluator_timeout must be a finite number > 0 seconds, not {time_limit!r}"
        )
    checked = [replace(_evaluator(fn), time_limit=float(time_limit)) for fn in evaluators]
    names = [evaluator.name for evaluator in checked]
    if len(set(names)) != len(names):
        raise ConfigurationError(f"two evaluators share a name: {names}; rename one")
    return checked


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < math.inf


def _evaluator(fn: Any) -> Evaluator:
    if not callable(fn):
        raise ConfigurationError(
            f"an evaluator is a function fn(run, example), not {type(fn).__name__}"
        )
    name = getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigurationError(
            f"an evaluator's name becomes its score's column score.<name>, and {fn!r} has "
            f"none usable ({name!r}): write it with def (def correct(run, example): ...)"
        )
    source = getattr(fn, "score_source", "code")
    return Evaluator(name, fn, "agent" if source == "agent" else "code")


def run_evaluator(
    evaluator: Evaluator,
    record: RunRecord,
    example: Example,
    store: HistoryStore,
    book: ExperimentBook,
) -> None:
    """Apply ``evaluator`` to one run, through the runner that bounds the user's code, and
    keep what came of it: its scores, or the error it raised or that it ran out of time (the
    run is kept either way). Never raises but for the history's own errors."""
    given: tuple[Any, ...] = (record, example.as_dict())
    if getattr(evaluator.function, "reads_tool_calls", False):
        given += (store.tool_calls([record.local_id]),)
    try:
        value = _bounded(evaluator, given, record.local_id)
        scores = _scores_of(evaluator, value)
        store.add_scores(  # every one checked before any is stored
            record.local_id,
            scores,
            source=evaluator.source,
            author=evaluator.name,
        )
    except Exception as exc:  # the evaluator's failure is kept with the run, not raised
        book.record_evaluation(record.local_id, evaluator.name, _error_text(exc))
        return
    book.record_evaluation(record.local_id, evaluator.name, None)


def _bounded(evaluator: Evaluator, given: tuple[Any, ...], grades: str) -> Any:
    """What ``evaluator`` returns on ``given``, run in a thread of its own so that one that
    never returns is given up after its time limit (its thread is left to end); inside it,
    :func:`graded_now` is ``grades``."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def call() -> None:
        _grading.set(grades)  # the thread's own context: it ends with the thread
        try:
            value = evaluator.function(*given)
            box["value"] = asyncio.run(value) if inspect.iscoroutine(value) else value
        except BaseException as exc:  # kept as the evaluation's failure
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=call, name=f"agentnb-evaluator:{evaluator.name}", daemon=True).start()
    if not done.wait(evaluator.time_limit):
        raise TimeoutError(f"no result within {evaluator.time_limit:g} s (evaluator_timeout)")
    if "error" in box:
        raise box["error"]
    return box["value"]


def _error_text(error: BaseException) -> str:
    kind = type(error).__name__
    try:
        return f"{kind}: {error}"
    except Exception as broken:  # its __str__ raised: the evaluation is kept all the same
        return f"{kind} (its message could not be read: {type(broken).__name__})"


def _scores_of(evaluator: Evaluator, returned: Any) -> list[tuple[str, Any, str | None]]:
    if returned is None:
        return []
    if isinstance(returned, Mapping):
        return [_score(str(key), value) for key, value in returned.items() if value is not None]
    return [_score(evaluator.name, returned)]


def _score(name: str, value: Any) -> tuple[str, Any, str | None]:
    if isinstance(value, tuple):
        if len(value) != 2 or not (value[1] is None or isinstance(value[1], str)):
            raise ConfigurationError(
                f"an evaluator's score {name!r} is a value or (value, comment), not {value!r}"
            )
        return name, value[0], value[1]
    return name, value, None


def evaluate_runs(
    evaluators: Sequence[Evaluator],
    work: Sequence[tuple[RunRecord, Example]],
    store: HistoryStore,
    concurrency: int = 8,
) -> None:
    """Apply every evaluator to every (run, example) of ``work``, ``concurrency`` at a time
    (a judge waits for its agent)."""
    book = ExperimentBook(store)
    tasks = [(evaluator, record, example) for record, example in work for evaluator in evaluators]
    if not tasks:
        return
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency))
    futures = [pool.submit(run_evaluator, *task, store, book) for task in tasks]
    try:
        for future in futures:
            future.result()
    except KeyboardInterrupt:  # a Stop: no new evaluation starts; those going keep theirs
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


def evaluate(
    runs: RunLike,
    *evaluators: EvaluatorFunction,
    concurrency: int = 8,
    evaluator_timeout: float = EVALUATOR_TIMEOUT,
    store: HistoryStore | None = None,
) -> RunHistory:
    """Score runs (``agentnb.runs(...)``, a batch's result, or anything naming runs) with
    ``evaluators``, as an experiment's are: each ``fn(run, example)`` is handed the run's
    record and an example whose ``question`` is the run's message (``expected``: None); its
    scores are kept in the history (``runs(...).to_pandas()``, ``summary()``), an evaluator
    that raises, or takes longer than ``evaluator_timeout`` seconds on a run, is kept as its
    failure. Returns the runs, read again with their scores."""
    checked = evaluators_of(evaluators, evaluator_timeout)
    if not checked:
        raise ConfigurationError("evaluate() takes runs and one or more evaluators: (runs, fn)")
    kept = kept_store("scores", store)
    ids = run_ids(runs)
    records = kept.runs_by_ids(ids)
    work = [
        (record, Example(position, record.local_id, record.message or ""))
        for position, record in enumerate(records)
    ]
    evaluate_runs(checked, work, kept, concurrency)
    return kept.runs_by_ids(ids, table=RunHistory)
