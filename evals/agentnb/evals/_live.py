"""``live``: evaluators that score runs as they end, in the background: every run through a
connection (or every run of the session), sampled at a rate, within a bound on what the
evaluation may spend (a judge's runs), the scores kept in the history like any other."""

from __future__ import annotations

import concurrent.futures
import hashlib
import logging
import math
import threading
from collections.abc import Callable, Iterable
from typing import Any

import agentnb
from agentnb import ConfigurationError, Run
from agentnb.history import EVALUATES, add_recorder, remove_recorder
from agentnb.types import RunRequest

from ._evaluators import EVALUATOR_TIMEOUT, Evaluator, evaluate, evaluators_of, graded_now

__all__ = ["LiveEvaluation", "live"]

logger = logging.getLogger("agentnb.evals")

EVALUATED_TOGETHER = 4
"""Runs scored at once; more wait their turn (a judge waits for its agent)."""


def _sampled(local_id: str, rate: float) -> bool:
    """Whether a run is in the sample: decided by its id, so the same run is always in or out
    whichever process asks."""
    digest = hashlib.blake2b(local_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64 < rate


class LiveEvaluation:
    """Evaluators scoring runs as they end (made by :func:`live`): ``.wait()`` for the ones
    under way, ``.stop()`` to score no more; its repr counts the runs scored, those left out
    of the sample or over the cost bound, and what the evaluation spent."""

    def __init__(
        self,
        evaluators: list[Evaluator],
        via: str | None,
        sample: float,
        max_cost: float | None,
    ) -> None:
        self.evaluators = evaluators
        self.via = via
        self.sample = sample
        self.max_cost = max_cost
        self.scored = 0
        """Runs scored (an evaluator that failed on one is kept as failed, as in a batch)."""
        self.unsampled = 0
        """Runs left out of the sample."""
        self.over_budget = 0
        """Runs not scored because the evaluation had spent ``max_cost``."""
        self.spent = 0.0
        """USD the evaluators' own runs (a judge's, any its body starts) cost, where priced."""
        self._lock = threading.Lock()
        self._scoring: set[str] = set()
        self._graders: dict[str, str] = {}  # an evaluator's run → the run it grades
        self._futures: set[concurrent.futures.Future[None]] = set()
        self._pool = concurrent.futures.ThreadPoolExecutor(
            EVALUATED_TOGETHER, thread_name_prefix="agentnb-live-evaluation"
        )
        self._stopped = False

    def __repr__(self) -> str:
        where = "every connection" if self.via is None else f"connection {self.via!r}"
        bound = "" if self.max_cost is None else f" of ${self.max_cost:g}"
        state = "stopped; " if self._stopped else ""
        return (
            f"<live evaluation of {where} ({state}sample {self.sample:g}): {self.scored} "
            f"scored, {self.unsampled} not sampled, {self.over_budget} over the cost bound; "
            f"evaluation cost ${self.spent:.6f}{bound}>"
        )

    # the recorder protocol: called on agentnb's loop, so each only notes or hands off
    def record_start(self, run: Run, request: RunRequest, *, base_url: str) -> None:
        # an evaluator's run: a judge's says so; any other, started in an evaluator's body,
        # carries the run it grades in its context (scored again, it would feed itself)
        graded = request.metadata.get(EVALUATES) or graded_now()
        if graded is not None:
            with self._lock:
                self._graders[run.local_id] = graded

    def record_progress(self, run: Run) -> None:
        return None

    def record_end(self, run: Run) -> None:
        with self._lock:
            graded = self._graders.pop(run.local_id, None)
            if graded is not None:  # an evaluator's own run: counted, never scored
                if graded in self._scoring and run.cost is not None:
                    self.spent += run.cost
                return
            if self._stopped or run.status != "completed":
                return
            if self.via is not None and run.connection != self.via:
                return
            if not _sampled(run.local_id, self.sample):
                self.unsampled += 1
                return
            if self.max_cost is not None and self.spent >= self.max_cost:
                self.over_budget += 1
                return
            self._scoring.add(run.local_id)
            future = self._pool.submit(self._score, run)
            self._futures.add(future)
        future.add_done_callback(self._forget)

    def _score(self, run: Run) -> None:
        try:
            evaluate(
                run,
                *(evaluator.function for evaluator in self.evaluators),
                concurrency=len(self.evaluators),
                evaluator_timeout=self.evaluators[0].time_limit,
            )
        except Exception as exc:  # the run is kept; its scores are what is lost: said
            logger.warning("agentnb: live evaluation could not score run %s: %s", run.local_id, exc)
            return
        with self._lock:
            self.scored += 1

    def _forget(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
            done = self._stopped and not self._futures
        if done:
            remove_recorder(self)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the runs ended so far are scored (at most ``timeout`` seconds; then
        ``TimeoutError``)."""
        with self._lock:
            waiting = list(self._futures)
        _, undone = concurrent.futures.wait(waiting, timeout)
        if undone:
            raise TimeoutError(f"{len(undone)} runs still being scored after {timeout:g} s")

    def stop(self) -> None:
        """Score no more runs; the evaluations under way finish (``wait()`` for them),
        their judges' runs counted."""
        with self._lock:
            self._stopped = True
            done = not self._futures
        if done:
            remove_recorder(self)
        self._pool.shutdown(wait=False)

    def __enter__(self) -> LiveEvaluation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.wait()


def _fraction(sample: float) -> float:
    if isinstance(sample, bool) or not isinstance(sample, int | float) or not 0 < sample <= 1:
        raise ConfigurationError(f"sample is the share of runs scored, > 0 and ≤ 1, not {sample!r}")
    return float(sample)


def _bound(max_cost: float | None) -> float | None:
    if max_cost is None:
        return None
    if (
        isinstance(max_cost, bool)
        or not isinstance(max_cost, int | float)
        or not 0 <= max_cost < math.inf
    ):
        raise ConfigurationError(f"max_cost is USD, a finite number ≥ 0, not {max_cost!r}")
    return float(max_cost)


def _evaluators(given: Iterable[Callable[..., Any]], time_limit: float) -> list[Evaluator]:
    """The evaluators checked now (each a function with a usable name, none sharing one), so
    a bad one is refused here rather than failing on every run's end."""
    if callable(given) or isinstance(given, str):
        raise ConfigurationError("live() takes a list of evaluators: live([fn, ...])")
    checked = evaluators_of(list(given), time_limit)
    if not checked:
        raise ConfigurationError("live() takes one or more evaluators: live([fn, ...])")
    return checked


def live(
    evaluators: Iterable[Callable[..., Any]],
    *,
    via: str | None = None,
    sample: float = 1.0,
    max_cost: float | None = None,
) -> LiveEvaluation:
    """Score runs as they end, in the background: each completed run through connection
    ``via`` (None: every run this process records, whichever connection) is handed to
    ``evaluators`` (as an ``experiment``'s: ``fn(run, example)``, the ready ones, a
    ``judge``; each a function with a usable name, checked now), its scores kept in the
    history as ``score.<name>``. The run itself never waits: it ends, its handle answers,
    and the scoring follows in a worker thread.

    ``sample``: the share of runs scored (0.2: one in five), chosen by each run's id.
    ``max_cost``: USD the evaluation may spend (its evaluators' runs, where priced); once spent,
    no more runs are scored (those under way finish). An evaluator's own runs (a judge's,
    any run its body starts) are never scored; their cost is what ``max_cost`` bounds.
    Runs given a ``recorder=`` of their own are not seen. Returns a :class:`LiveEvaluation`
    (``.wait()``, ``.stop()``; a ``with`` block stops it at its end)."""
    checked = _evaluators(evaluators, EVALUATOR_TIMEOUT)
    if via is not None:
        agentnb.get_connection(via)  # an unknown connection fails now, not at a run's end
    watching = LiveEvaluation(checked, via, _fraction(sample), _bound(max_cost))
    add_recorder(watching)
    return watching
