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
Headers, an agent's environment and a base URL's user, password or key-named query
parameter may carry a key, so a connection with any of them is refused before anything is
sent.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from agentnb import ConfigurationError, Run
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

_SECRET_QUERY: Final = re.compile(r"key|token|secret|passw|auth|sig|code|cred", re.IGNORECASE)
"""A base URL's query parameter whose name says it may be a key (``?api_key=``)."""

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

    def key_on_worker(self) -> str | None:
        """The key from this process's environment; an error naming the variable when the
        notebook's connection has a key and this process has none."""
        key = os.environ.get(self.key_variable) or None
        if self.keyed and key is None:
            raise ConfigurationError(
                f"connection {self.name!r} needs a key, and {self.key_variable} is not set on "
                f"worker {worker_name()}: set it in the worker's environment (a key never "
                "travels with a task)"
            )
        return key

    def connection(self, key: str | None, recorder: HistoryStore) -> Connection:
        """The connection on the worker, with ``key``, its runs recorded in ``recorder``."""
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
    url = urlsplit(conn.base_url or "")
    if (
        url.username
        or url.password
        or any(_SECRET_QUERY.search(k) for k, _ in parse_qsl(url.query))
    ):
        raise ConfigurationError(
            f"connection {conn.name!r}'s base_url carries a credential (a user and password, "
            "or a key in its query), and nothing secret travels to a worker: give the key as "
            "the worker's AGENTNB_<NAME>_API_KEY and connect to a base_url without it"
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
        recorded = _WORKER.history()
        made: list[str] = []

        def started(runs: Sequence[tuple[int, Run]]) -> None:
            made.extend(run.local_id for _, run in runs)  # a 429's run, then the one sent again

        try:
            send_batch(
                [self.request],
                via=_WORKER.connection(self.address),
                progress=False,
                approve=self.approve,
                on_start=started,
            )
            recorded.flush()
            return self._result(recorded, made)
        finally:
            _forget(recorded, made)

    def _result(self, recorded: HistoryStore, made: Sequence[str]) -> RemoteRun:
        worker = worker_name()
        records = list(recorded.runs_by_ids(list(made)))
        evaluations = self._evaluate(recorded, records[-1]) if records else ()
        runs = tuple(_marked(record, worker) for record in records)
        return RemoteRun(worker, runs, tuple(recorded.tool_calls(list(made))), evaluations)

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


class _Worker:
    """What a worker process keeps between tasks, as a kernel keeps it between runs: one
    history in memory that every task records in (each reads back its own runs, then
    forgets them), and each connection's client (an ACP agent's process, an HTTP pool),
    made at its first task and reused by the next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._history: HistoryStore | None = None
        self._connections: dict[str, Connection] = {}
        self._pid = 0

    def _fresh(self) -> None:
        """After a fork, nothing of the parent's is this process's."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._history = None
            self._connections = {}

    def history(self) -> HistoryStore:
        with self._lock:
            self._fresh()
            return self._history_now()

    def connection(self, address: ConnectionAddress) -> Connection:
        key = address.key_on_worker()
        found = json.dumps(
            [address.name, address.provider, address.base_url, key, address.options],
            default=repr, sort_keys=True,
        )  # fmt: skip
        with self._lock:
            self._fresh()
            conn = self._connections.get(found)
            if conn is None:
                conn = self._connections[found] = address.connection(key, self._history_now())
            return conn

    def close(self) -> None:
        """Close the connections kept (their agents' processes end) and the history."""
        with self._lock:
            conns, self._connections = list(self._connections.values()), {}
            history, self._history = self._history, None
        for conn in conns:
            conn.close()
        if history is not None:
            history.close()

    def _history_now(self) -> HistoryStore:
        if self._history is None or self._history.closed:
            self._history = HistoryStore(":memory:")
        return self._history


_WORKER = _Worker()


def _forget(recorded: HistoryStore, local_ids: Sequence[str]) -> None:
    """Drop a task's runs from the worker's history once they are on their way back (their
    calls, scores and side rows go with them), so a long-lived worker keeps none."""
    if not local_ids:
        return
    marks = ", ".join("?" * len(local_ids))

    def drop(db: sqlite3.Connection) -> None:
        db.execute(f"DELETE FROM evaluations WHERE local_id IN ({marks})", list(local_ids))
        db.execute(f"DELETE FROM runs WHERE local_id IN ({marks})", list(local_ids))

    recorded.transaction(drop)


def _marked(record: RunRecord, worker: str) -> RunRecord:
    """The record as the notebook keeps it: ``worker`` in its metadata, and no tie to the
    worker's history in memory (so it pickles)."""
    return replace(record, metadata={**(record.metadata or {}), WORKER_KEY: worker}, _calls=None)


def worker_name() -> str:
    """Where this process runs: its host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"
