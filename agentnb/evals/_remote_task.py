"""One pair (question, arm) of an experiment as a task for another process or machine (an
executor's worker): :class:`PairTask` carries what the run needs and nothing secret, runs
the arm's agent there, records the run in memory exactly as the kernel would (a history in
memory, written by the same writer), applies the evaluators that must run where the run ran,
and returns a :class:`RemoteRun` of plain data for the notebook's history.

What travels is the request, the connection's address and plain options (its dialect, its URL
or an ACP agent's command, its timeouts and limits), the approval policy, the example and the
worker's evaluators. A key never does: the worker reads it from its own environment, under
the name the notebook's own process would read it from (``AGENTNB_<NAME>_API_KEY``,
``AGENTNB_API_KEY`` for the default connection), or the task fails naming the variable.
Headers and an agent's environment may carry a key, so a connection with either is refused
before anything is sent.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from agentnb import ConfigurationError
from agentnb.history import HistoryStore, RunRecord, ToolCallRecord
from agentnb.types import ClientOptions, Connection, Example, RunRequest, env_prefix, send_batch

from ._book import ExperimentBook
from ._evaluators import Evaluator, run_evaluator

__all__ = [
    "WORKER_KEY",
    "ConnectionAddress",
    "PairTask",
    "RemoteRun",
    "WorkerEvaluation",
    "address_of",
    "on_worker",
]

WORKER_KEY: Final = "worker"
"""The metadata key a run made on a worker carries: where it ran (``host:pid``)."""

_TRAVELLING: Final = (
    "timeout",
    "idle_timeout",
    "run_timeout",
    "max_run_mib",
    "max_retries",
    "backoff",
    "max_resumes",
    "trusted_origins",
    "command",
    "cwd",
    "terminal",
    "provider_options",
    "verify",
)
"""The connection's options a task carries: plain values that say how to reach the agent and
bound its run (its own limits bound a task that hangs)."""

_MAY_HOLD_A_KEY: Final = ("headers", "env")
"""Options a task never carries: their values may be keys."""

_OWN_TO_THIS_PROCESS: Final = ("http_client", "recorder")
"""Options that are objects of this process: the worker makes its own."""


def on_worker(evaluator: Any) -> bool:
    """Whether an evaluator must run where the run ran (``fn.on_worker = True``: a check
    that reads the run's working copy, a command run in it), not in the notebook's process."""
    function = evaluator.function if isinstance(evaluator, Evaluator) else evaluator
    return getattr(function, "on_worker", False) is True


@dataclass(frozen=True, slots=True)
class ConnectionAddress:
    """Where a connection's agent is, without its key: what a task carries."""

    name: str
    provider: str
    base_url: str | None
    options: Mapping[str, Any]
    keyed: bool
    """The notebook's connection has a key, so the worker must find one."""

    @property
    def key_variable(self) -> str:
        """The environment variable the worker reads the key from."""
        return f"{env_prefix(self.name)}API_KEY"

    def connection(self, recorder: HistoryStore) -> Connection:
        """The connection on the worker, its key from the worker's environment, its runs
        recorded in ``recorder``."""
        key = os.environ.get(self.key_variable) or None
        if self.keyed and key is None:
            raise ConfigurationError(
                f"connection {self.name!r} needs a key, and {self.key_variable} is not set on "
                f"worker {worker_name()}: set it in the worker's environment (a key never "
                "travels with a task)"
            )
        options = ClientOptions(**self.options)  # type: ignore[typeddict-item]
        options["recorder"] = recorder
        return Connection(
            name=self.name,
            provider=self.provider,
            base_url=self.base_url,
            api_key=key,
            options=options,
        )


def address_of(conn: Connection) -> ConnectionAddress:
    """What a task carries of ``conn``; a clear error for an option that may hold a key or
    that only this process has."""
    options: Mapping[str, Any] = conn.options
    secret = [name for name in _MAY_HOLD_A_KEY if options.get(name)]
    if secret:
        raise ConfigurationError(
            f"connection {conn.name!r} has {' and '.join(f'{n}=' for n in secret)}, which may "
            "carry a key, and nothing secret travels to a worker: give the worker's agent its "
            "key in the worker's own environment (AGENTNB_<NAME>_API_KEY; an ACP agent reads "
            "the worker's environment) and connect without them"
        )
    own = [name for name in _OWN_TO_THIS_PROCESS if options.get(name) is not None]
    if own:
        raise ConfigurationError(
            f"connection {conn.name!r} has {' and '.join(f'{n}=' for n in own)}, an object of "
            "this process that a worker cannot have: connect without it to run on an executor"
        )
    carried = {name: options[name] for name in _TRAVELLING if options.get(name) is not None}
    if "trusted_origins" in carried:
        carried["trusted_origins"] = list(carried["trusted_origins"])
    base_url = conn.base_url if "command" not in carried else None
    return ConnectionAddress(conn.name, conn.provider, base_url, carried, bool(conn.api_key))


@dataclass(frozen=True, slots=True)
class WorkerEvaluation:
    """One evaluator applied on the worker to a run: its scores, or its error."""

    evaluator: str
    source: str
    scores: tuple[tuple[str, Any, str | None], ...]
    error: str | None


@dataclass(frozen=True, slots=True)
class RemoteRun:
    """What a task returns: where it ran, the runs it made (the last is the pair's; before
    it, any the platform refused with 429 and the batch sent again), their tool calls, and
    the worker's evaluations of the pair's run. Plain data: it pickles."""

    worker: str
    runs: tuple[RunRecord, ...]
    calls: tuple[ToolCallRecord, ...]
    evaluations: tuple[WorkerEvaluation, ...] = ()


@dataclass(frozen=True, slots=True)
class PairTask:
    """One pair of an experiment, run where an executor puts it: call it there."""

    index: int
    """The pair's place in the experiment's work (what the notebook matches the result by)."""
    request: RunRequest
    address: ConnectionAddress
    example: Example
    approve: Any = None
    evaluators: Sequence[Evaluator] = field(default_factory=tuple)
    """Those that must run where the run ran (:func:`on_worker`)."""
    attempt: int = 1
    """Which sending of the pair this is: a task sent again is another task (a cluster that
    names a task by its content, as Dask does, would give back the lost one's failure)."""

    def __call__(self) -> RemoteRun:
        recorded = HistoryStore(":memory:")
        try:
            return self._run(recorded)
        finally:
            recorded.close()

    def _run(self, recorded: HistoryStore) -> RemoteRun:
        conn = self.address.connection(recorded)
        try:
            ran = send_batch(
                [self.request], via=conn, progress=False, approve=self.approve, on_start=None
            )
        finally:
            conn.close()
        recorded.flush()
        worker = worker_name()
        ids = [record.local_id for record in ran]
        made = _made_runs(recorded, ids)
        evaluations = self._evaluate(recorded, made[-1]) if made else ()
        runs = tuple(_marked(record, worker) for record in made)
        return RemoteRun(worker, runs, tuple(recorded.tool_calls(ids)), evaluations)

    def _evaluate(self, recorded: HistoryStore, record: RunRecord) -> tuple[WorkerEvaluation, ...]:
        if record.status != "completed" or not self.evaluators:
            return ()
        book = ExperimentBook(recorded)
        for evaluator in self.evaluators:
            run_evaluator(evaluator, record, self.example, recorded, book)
        scores = recorded.scores([record.local_id])
        errors = book.evaluation_errors([record.local_id])
        return tuple(
            WorkerEvaluation(
                evaluator.name,
                evaluator.source,
                tuple((s.name, s.value, s.comment) for s in scores if s.author == evaluator.name),
                errors.get((record.local_id, evaluator.name)),
            )
            for evaluator in self.evaluators
        )


def _made_runs(recorded: HistoryStore, result_ids: Sequence[str]) -> list[RunRecord]:
    """Every run the task recorded, oldest first (a run refused with 429, then the one sent
    again), the pair's own last."""
    every = [recorded.get(local_id) for local_id in _recorded_ids(recorded)]
    made = [record for record in every if record is not None]
    last = set(result_ids)
    return [r for r in made if r.local_id not in last] + [r for r in made if r.local_id in last]


def _recorded_ids(recorded: HistoryStore) -> list[str]:
    rows = recorded.read_rows("SELECT local_id FROM runs ORDER BY started_at", ())
    return [row[0] for row in rows]


def _marked(record: RunRecord, worker: str) -> RunRecord:
    """The record as the notebook keeps it: ``worker`` in its metadata, and no tie to the
    worker's history in memory (so it pickles)."""
    return replace(record, metadata={**(record.metadata or {}), WORKER_KEY: worker}, _calls=None)


def worker_name() -> str:
    """Where this process runs: its host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"
