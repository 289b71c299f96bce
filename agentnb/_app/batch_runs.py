"""`batch()`: one agent over many messages, a bounded number at a time, every run recorded;
or an experiment: several agents, or several variants of the options (model settings), over
the same messages, each message's runs side by side in the result.

A failing run is recorded as failed and the batch goes on; cancelling (a kernel interrupt)
cancels the runs in flight, which end ``cancelled``, and starts no more.

Nobody can click Approve in a batch: a tool call awaiting approval is decided by the batch's
``approve=`` policy, and one it leaves undecided (every one, without a policy) is denied with
the reason "no one could approve it: batch runs are unattended", so no run waits forever.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, field, replace
from typing import Any, Final, Unpack

from .._client.async_client import AsyncAgentClient
from .._client.stream import AsyncRunStream
from .._core.approvals import ApprovalPolicy
from .._core.exceptions import ConfigurationError, HistoryError, RateLimitError
from .._core.loop import in_loop_thread, result_of, submit
from .._core.request import RunOptions, RunRequest, build_request, checked_number
from .._core.run import Run
from .._core.schema import resolve_schema
from .._core.warning import warn
from .._display.progress import NoProgress, Progress, make_progress
from .._history import (
    Arm,
    Dataset,
    Example,
    ExperimentBook,
    ExperimentRecord,
    HistoryStore,
    PairRun,
    RunRecord,
    default_store,
)
from .._tracing import batch_span
from .connections import AnyClient, Connection, resolve_target
from .datasets import DatasetRows, examples_of, in_split
from .evaluators import (
    EVALUATOR_TIMEOUT,
    Evaluator,
    EvaluatorFunction,
    evaluate_runs,
    evaluators_of,
    run_evaluator,
)
from .history_tables import RunHistory

__all__ = [
    "UNDONE",
    "batch",
    "build_requests",
    "completed_work",
    "experiment_arms",
    "experiment_requests",
    "run_batch",
    "run_experiment",
    "run_requests",
]

UNATTENDED_BATCH = "batch runs are unattended"
"""Why a batch denies the calls its ``approve=`` policy leaves undecided."""

CANCEL_GRACE = 10.0
"""Seconds ``batch()`` waits, after an interrupt, for the runs in flight to end cancelled."""

RATE_LIMITED_AGAIN: Final = 20
"""Times a batch sends a question again whose run the platform refused with 429 after the
client's own retries (the client's shared back-off paces them): a rate limit slows a batch,
it does not lose its questions."""

UNDONE: Final = frozenset({None, "cancelled", "interrupted"})
"""An experiment's pair is left to do when its current run is one of these (None: it never
reached the history), or failed refused by a rate limit."""


def build_requests(
    agent: str, messages: Sequence[str], options: Mapping[str, Any]
) -> list[RunRequest]:
    """One request per message (each on a new thread), options checked once, up front:
    the options of ``client.stream`` plus ``schema``."""
    options = dict(options)
    response_format, _ = resolve_schema(options.pop("schema", None))
    if response_format is not None:
        options["response_format"] = response_format
    first = build_request(agent, messages[0] if messages else "", **options)
    return [first.model_copy(update={"message": message}) for message in messages]


def experiment_requests(
    agents: str | Sequence[str],
    messages: Sequence[str],
    options: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]] | None,
) -> list[RunRequest]:
    """The requests of a batch: for each message, one per agent and variant (the variant's
    options over ``options``), agents outer; all checked up front."""
    names = _check_agents(agents)
    if variants is not None and (isinstance(variants, Mapping | str) or not list(variants)):
        raise ConfigurationError("variants must be a non-empty list of option dicts")
    arms = [
        build_requests(name, messages, {**options, **dict(variant)})
        for name in names
        for variant in (variants if variants is not None else [{}])
    ]
    return [arm[i] for i in range(len(messages)) for arm in arms]


def _check_agents(agents: str | Sequence[str]) -> list[str]:
    names = [agents] if isinstance(agents, str) else list(agents)
    if not names or not all(isinstance(name, str) and name for name in names):
        raise ConfigurationError(
            f"agent must be a name or a non-empty list of names, not {agents!r}"
        )
    if len(set(names)) != len(names):
        raise ConfigurationError(f"an agent is named twice in {names}")
    return names


def _check_messages(messages: Iterable[str]) -> list[str]:
    if isinstance(messages, str):
        raise ConfigurationError("messages must be a list of strings, not one string")
    listed = list(messages)
    bad = [i for i, message in enumerate(listed) if not isinstance(message, str)]
    if bad:
        first = listed[bad[0]]
        raise ConfigurationError(
            f"every message must be a string; item {bad[0]} is {type(first).__name__} "
            f"({len(bad)} such item(s))"
        )
    return listed


def _check_concurrency(concurrency: int) -> int:
    return checked_number(concurrency, "concurrency", whole=True, least=1)


async def run_batch(
    client: AsyncAgentClient,
    agent: str,
    messages: Iterable[str],
    concurrency: int = 8,
    *,
    store: HistoryStore | None = None,
    progress: Progress | None = None,
    approve: ApprovalPolicy = None,
    **options: Unpack[BatchOptions],
) -> RunHistory:
    """Run ``agent`` on every message, at most ``concurrency`` at once, and return the runs
    in input order. Each run is built, recorded and streamed by the client's run engine
    (:meth:`AsyncAgentClient.stream`), as every other run is; ``store`` (default: the
    client's history) is where the table is read back from (runs it lacks are shown from
    memory).
    ``approve`` decides on tool calls awaiting approval; those it leaves undecided are denied.
    """
    requests = build_requests(agent, _check_messages(messages), options)
    return await run_requests(
        client, requests, concurrency, store=store, progress=progress, approve=approve
    )


Link = Callable[[Sequence[tuple[int, Run]]], None]
"""Called with ``(request index, run)`` for runs about to start (in a worker thread)."""
AfterRun = Callable[[int, Run], None]
"""Called with ``(request index, run)`` once the run ended for good (in a worker thread)."""


@dataclass
class _Tally:
    """What a batch's progress shows: runs done, failed, and the cost so far."""

    progress: Progress
    done: int = 0
    failed: int = 0
    cost: float = 0.0
    priced: bool = field(default=False)

    def ended(self, run: Run) -> None:
        self.done += 1
        self.failed += run.status != "completed"
        if run.cost is not None:
            self.cost += run.cost
            self.priced = True
        self.progress.update(self.done, self.failed, self.cost if self.priced else None)


async def run_requests(
    client: AsyncAgentClient,
    requests: Sequence[RunRequest],
    concurrency: int = 8,
    *,
    store: HistoryStore | None = None,
    progress: Progress | None = None,
    approve: ApprovalPolicy = None,
    link: Link | None = None,
    after: AfterRun | None = None,
) -> RunHistory:
    """Run ``requests`` as :func:`run_batch` does (at most ``concurrency`` at once), and
    return their runs in the requests' order.

    A run the platform refused with 429 after the client's retries is sent again (up to
    ``RATE_LIMITED_AGAIN`` times, after the client's shared back-off): the refused run
    stays in the history, failed, and the new one takes its place. ``link`` is told of each
    run before it starts, ``after`` of each run once it ended for good."""
    for request in _one_per_agent_and_settings(requests):
        client.provider.check_request(request)  # an option the dialect lacks fails the batch
    limit = asyncio.Semaphore(_check_concurrency(concurrency))
    store = store if store is not None else _store_of(client)
    tally = _Tally(progress or NoProgress())
    streams = [client.stream(request, approve=approve) for request in requests]
    runs = [stream.run for stream in streams]
    if link is not None:
        await asyncio.to_thread(link, list(enumerate(runs)))

    async def attempt(stream: AsyncRunStream) -> BaseException | None:
        async with limit:
            stream.approvals.deny_undecided(UNATTENDED_BATCH)
            return await stream.run_to_end()  # a failed run is recorded failed; the batch goes on

    async def one(index: int) -> None:
        stream = streams[index]
        try:
            error = await attempt(stream)
            for _ in range(RATE_LIMITED_AGAIN):
                if not isinstance(error, RateLimitError):
                    break
                stream = streams[index] = client.stream(requests[index], approve=approve)
                runs[index] = stream.run
                if link is not None:
                    await asyncio.to_thread(link, [(index, stream.run)])
                error = await attempt(stream)
        finally:
            tally.ended(stream.run)
        if after is not None:
            await asyncio.to_thread(after, index, stream.run)

    agents = ", ".join(dict.fromkeys(request.agent for request in requests))
    with batch_span(agents, runs):  # tracing on: the runs' tasks copy it, each links to it
        tasks = [asyncio.ensure_future(one(index)) for index in range(len(streams))]
        try:
            await asyncio.gather(*tasks)
        except asyncio.CancelledError:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for stream in streams:
                await stream.aclose()  # the runs not started yet end cancelled too
            raise
    return _result([run.local_id for run in runs], runs, store)


def _one_per_agent_and_settings(requests: Sequence[RunRequest]) -> list[RunRequest]:
    """A request of each kind the batch sends (they differ only by message within a kind)."""
    kinds: dict[str, RunRequest] = {}
    for request in requests:
        kinds.setdefault(request.model_copy(update={"message": ""}).model_dump_json(), request)
    return list(kinds.values())


def _store_of(client: AsyncAgentClient) -> HistoryStore | None:
    recorder = client.recorder
    if isinstance(recorder, HistoryStore):
        return recorder
    return default_store() if client.record else None


def _result(
    local_ids: Sequence[str], runs: Sequence[Run], store: HistoryStore | None
) -> RunHistory:
    """The runs ``local_ids`` from the history, in that order; those it lacks (they could
    not be written) from memory (``runs``) rather than lost."""
    by_run = {run.local_id: run for run in runs}
    if store is None or store.closed:
        return RunHistory.from_runs([by_run[i] for i in local_ids if i in by_run])
    stored = store.runs_by_ids(local_ids, table=RunHistory)
    if len(stored) == len(local_ids):
        return stored
    by_id = {record.local_id: record for record in stored}
    fallback = RunHistory.from_runs(
        [by_run[i] for i in local_ids if i not in by_id and i in by_run]
    )
    missing = {record.local_id: record for record in fallback}
    records = [by_id.get(i) or missing[i] for i in local_ids if i in by_id or i in missing]
    tool_calls = [*stored.tool_calls(), *fallback.tool_calls()]
    return RunHistory.from_records(records, tool_calls=tool_calls)


class BatchOptions(RunOptions, total=False):
    """The options a batch takes: every run's, and ``schema`` (as :func:`agentnb.ask`'s)."""

    schema: Any


def batch(
    agent: str | Sequence[str],
    messages: DatasetRows,
    concurrency: int = 8,
    via: str | None = None,
    *,
    client: AnyClient | None = None,
    progress: bool = True,
    approve: ApprovalPolicy = None,
    variants: Sequence[Mapping[str, Any]] | None = None,
    experiment: str | None = None,
    evaluators: Sequence[EvaluatorFunction] | None = None,
    evaluator_timeout: float = EVALUATOR_TIMEOUT,
    split: str | None = None,
    **options: Unpack[BatchOptions],
) -> RunHistory:
    """Run ``agent`` over ``messages`` (e.g. an evaluation set), ``concurrency`` at a time,
    with a progress bar (done, failed, left, the cost so far), and return their
    :class:`RunHistory` in input order.

    ``messages`` is a list of questions, a list of dicts, or a DataFrame with a
    ``question`` column and optionally ``expected`` (the reference answer), ``id`` and other
    columns (see ``experiment``).

    Failures are recorded and the batch goes on; a question the platform refuses with 429
    is sent again once the rate limit allows (all the batch's runs wait together, for as
    long as the platform's Retry-After says). Interrupting the kernel cancels the runs in
    flight (recorded ``cancelled``) and starts no more. ``via`` names a connection
    (default: the default one); ``client`` gives an ``AgentClient`` or ``AsyncAgentClient``
    instead. Options: those of ``client.stream`` (:class:`~agentnb.types.RunOptions`) and
    ``schema``. Each message runs on a new thread.

    ``approve`` decides on tool calls the platform runs only once approved (True, False, or a
    callable taking the :class:`~agentnb.ToolCall`, as in :func:`~agentnb.ask`). Nobody can
    click Approve in a batch, so a call it leaves undecided — every one, without it — is
    denied with the reason "no one could approve it: batch runs are unattended".

    **Several agents or variants.** ``agent`` may be a list of agents, and ``variants`` a
    list of option dicts (``[{"temperature": 0}, {"temperature": 1}]``, each over
    ``options``): every message then runs once per agent and variant, and the result holds,
    for each message in turn, its runs in that order (agents outer).

    **Experiments.** With ``experiment="name"`` the batch is kept in the history: its
    questions (with their expected answers and other fields), its agents and variants, and
    which run answered which question; ``agentnb.experiment("name")`` reopens it in any
    later kernel (its table, a question × agent grid, ``.evaluate``, ``.resume``,
    ``.compare``). A name already used goes on with that experiment when the agents, the
    variants and the options are the same and the dataset begins with its questions: the
    questions it has not answered yet (stopped, crashed, new at the dataset's end) run, and
    the result holds every question's run. Otherwise it is an error saying what differs.

    **Evaluators.** ``evaluators=[fn, ...]``: each ``fn(run, example)`` is given each
    completed run's history record and its example (a dict: ``id``, ``question``,
    ``expected`` and the other fields) and returns a bool, a number, a label,
    ``(value, comment)``, a dict of those, or None; kept as ``score.<fn name>`` (a dict:
    ``score.<key>``). One that raises keeps the run, and the history keeps that it failed
    and why; so does one that takes longer than ``evaluator_timeout`` seconds on a run.
    ``agentnb.evals`` has ready ones, and ``judge``, which makes an evaluator of an agent.
    The result's table shows the scores.

    **Splits.** A row's ``split`` field names the split it is in (``"train"``, ``"test"``);
    ``split="test"`` runs only that split's rows (their ids stay the whole dataset's), and
    an experiment keeps each question's split (``exp.compare(a, b, split="test")``).
    """
    if in_loop_thread():
        raise RuntimeError("batch() blocks; on agentnb's loop use `await run_batch(...)`")
    examples = [  # a split's questions are numbered in it; their ids stay the dataset's
        replace(example, position=place)
        for place, example in enumerate(in_split(examples_of(messages), split))
    ]
    checked = evaluators_of(evaluators, evaluator_timeout)
    _check_concurrency(concurrency)
    questions = [example.question for example in examples]
    requests = experiment_requests(agent, questions, options, variants)  # bad options first
    conn = resolve_target(via, client)
    probes = _one_per_agent_and_settings(requests)
    for request in probes or experiment_requests(agent, [""], options, variants):
        conn.check(request, approve)
    target = conn.client()
    if experiment is not None:
        store = _experiment_store(target)
        arms = experiment_arms(agent, options, variants)
        dataset = messages if isinstance(messages, Dataset) else None
        record = ExperimentBook(store).begin(experiment, arms, examples, conn.name, dataset)
        return run_experiment(
            record,
            conn,
            store,
            checked,
            concurrency=concurrency,
            progress=progress,
            approve=approve,
        )
    arms_count = len(requests) // max(1, len(examples))
    label = agent if isinstance(agent, str) else " vs ".join(agent)
    kept = _store_of(target)
    after = _evaluating(checked, kept, [examples[i // arms_count] for i in range(len(requests))])
    return _run_blocking(
        target, requests, f"batch {label}", concurrency, progress, approve, after=after
    )


def experiment_arms(
    agent: str | Sequence[str],
    options: Mapping[str, Any],
    variants: Sequence[Mapping[str, Any]] | None,
) -> list[Arm]:
    """An experiment's arms, agents outer, each with the request its questions are sent
    with (the order :func:`experiment_requests` gives a question's runs in)."""
    templates = experiment_requests(agent, [""], options, variants)
    names = _check_agents(agent)
    kinds = list(variants) if variants is not None else [None]
    return [
        Arm(name, None if variant is None else dict(variant), template.model_dump_json())
        for (name, variant), template in zip(
            [(name, variant) for name in names for variant in kinds], templates, strict=True
        )
    ]


def _experiment_marks(name: str, dataset: Dataset | None) -> dict[str, str]:
    """The metadata every run of experiment ``name`` carries (beside its arm and question):
    the experiment and, for a kept dataset, its name and version; so its runs are found by
    ``runs(metadata=...)`` and their traces carry them."""
    marks = {"experiment": name}
    if dataset is not None:
        marks |= {"dataset": dataset.name, "dataset_version": str(dataset.version)}
    return marks


def run_experiment(
    record: ExperimentRecord,
    conn: Connection,
    store: HistoryStore,
    evaluators: Sequence[Evaluator],
    *,
    concurrency: int = 8,
    progress: bool = True,
    approve: ApprovalPolicy = None,
    retry_failed: bool = False,
) -> RunHistory:
    """Run the experiment's pairs (question, arm) left to do on ``conn`` (see
    :data:`UNDONE`; ``retry_failed``: failed ones too), each linked to its pair before it
    starts; then apply ``evaluators`` to every completed run they have not evaluated yet.
    Return every pair's current run, in the experiment's order."""
    book = ExperimentBook(store)
    examples = book.examples(record.name)
    current = book.current_runs(record.name)
    arms = record.arms
    todo = [
        (example, arm)
        for example in examples
        for arm in range(len(arms))
        if _left_to_do(store, current.get((example.position, arm)), retry_failed)
    ]
    templates = [RunRequest.model_validate_json(arm.request) for arm in arms]
    marks = _experiment_marks(record.name, book.dataset(record.name))
    requests = [
        templates[arm].model_copy(
            update={
                "message": example.question,
                "metadata": {
                    **templates[arm].metadata,
                    **marks,
                    "arm": arms[arm].label,
                    "question_id": example.example_id,
                },
            }
        )
        for example, arm in todo
    ]
    target = conn.client()

    def link(runs: Sequence[tuple[int, Run]]) -> None:
        book.link(
            record.name,
            [(todo[index][0].position, todo[index][1], run.local_id) for index, run in runs],
        )

    after = _evaluating(evaluators, store, [example for example, _ in todo])
    if not todo:  # said, and nothing started
        warn(
            f"agentnb: experiment {record.name!r} has nothing left to run: every question has "
            "its run on every arm (retry_failed=True runs the failed ones again)",
            stacklevel=3,
        )
    ran = (
        _run_blocking(
            target,
            requests,
            f"experiment {record.name}",
            concurrency,
            progress,
            approve,
            after=after,
            link=link,
            store=store,
        )
        if todo
        else RunHistory()
    )
    current = book.current_runs(record.name)
    order = [
        current[(example.position, arm)].local_id
        for example in examples
        for arm in range(len(arms))
        if (example.position, arm) in current
    ]
    if evaluators:
        _evaluate_left(evaluators, store, book, examples, current, concurrency)
    return _every_pair(order, store, ran)


def _every_pair(local_ids: Sequence[str], store: HistoryStore, ran: RunHistory) -> RunHistory:
    """The runs ``local_ids`` from the history; those of this call it could not keep, from
    this call's result."""
    stored = store.runs_by_ids(local_ids, table=RunHistory)
    if len(stored) == len(local_ids):
        return stored
    by_id = {record.local_id: record for record in [*ran, *stored]}
    return RunHistory.from_records([by_id[i] for i in local_ids if i in by_id])


def _left_to_do(store: HistoryStore, pair: Any, retry_failed: bool) -> bool:
    if pair is None or pair.status in UNDONE:
        return True
    if pair.status != "failed":
        return False
    if retry_failed:
        return True
    record = store.get(pair.local_id)
    return record is not None and record.error_code == RateLimitError.__name__


def _evaluate_left(
    evaluators: Sequence[Evaluator],
    store: HistoryStore,
    book: ExperimentBook,
    examples: Sequence[Example],
    current: Mapping[tuple[int, int], PairRun],
    concurrency: int,
) -> None:
    """Evaluate the experiment's completed runs an evaluator has not seen (a kernel that
    stopped before evaluating them, an evaluator new to the experiment)."""
    ids = [pair.local_id for pair in current.values() if pair.status == "completed"]
    for evaluator in evaluators:
        seen = book.evaluated(ids, evaluator.name)
        work = completed_work(store, examples, current, leaving_out=seen)
        evaluate_runs([evaluator], work, store, concurrency)


def completed_work(
    store: HistoryStore,
    examples: Sequence[Example],
    current: Mapping[tuple[int, int], PairRun],
    *,
    leaving_out: Set[str] = frozenset(),
) -> list[tuple[RunRecord, Example]]:
    """Each completed current run of an experiment (but those ``leaving_out`` names) as
    the history keeps it, with its example: what its evaluators are given."""
    by_position = {example.position: example for example in examples}
    completed = {
        pair.local_id: by_position[pair.position]
        for pair in current.values()
        if pair.status == "completed" and pair.local_id not in leaving_out
    }
    records = store.runs_by_ids(list(completed))
    return [(record, completed[record.local_id]) for record in records]


def _evaluating(
    evaluators: Sequence[Evaluator], store: HistoryStore | None, examples: Sequence[Example]
) -> AfterRun | None:
    """What runs a batch's evaluators on each completed run (request ``i``'s example is
    ``examples[i]``), or None when there are none."""
    if not evaluators:
        return None
    if store is None:
        raise ConfigurationError(
            "evaluators keep their scores in the run history, and this client records no "
            "runs (record=False or AGENTNB_HISTORY=off)"
        )
    book = ExperimentBook(store)

    def after(index: int, run: Run) -> None:
        if run.status != "completed":
            return
        try:
            record = store.get(run.local_id)
            if record is not None:
                for evaluator in evaluators:
                    run_evaluator(evaluator, record, examples[index], store, book)
        except HistoryError as exc:  # the batch goes on; a resume scores the run later
            warn(
                f"agentnb: run {run.local_id}'s scores could not be kept ({exc}); "
                "an experiment's resume(evaluators=[...]) scores it later",
                stacklevel=1,
            )

    return after


def _experiment_store(client: AsyncAgentClient) -> HistoryStore:
    store = _store_of(client)
    if store is None:
        raise ConfigurationError(
            "an experiment is kept in the run history, and this client records no runs "
            "(record=False or AGENTNB_HISTORY=off)"
        )
    return store


def _run_blocking(
    target: AsyncAgentClient,
    requests: Sequence[RunRequest],
    label: str,
    concurrency: int,
    progress: bool,
    approve: ApprovalPolicy,
    *,
    after: AfterRun | None = None,
    link: Link | None = None,
    store: HistoryStore | None = None,
) -> RunHistory:
    """Run ``requests`` on agentnb's loop with a progress bar, blocking until they end;
    an interrupt cancels them."""
    bar = make_progress(len(requests), label, enabled=progress)
    ended = threading.Event()

    async def main() -> RunHistory:
        try:
            return await run_requests(
                target,
                requests,
                concurrency,
                progress=bar,
                approve=approve,
                link=link,
                after=after,
                store=store,
            )
        finally:
            ended.set()

    future = submit(main())
    try:
        return result_of(future)
    except KeyboardInterrupt:
        future.cancel()
        ended.wait(CANCEL_GRACE)
        raise
    finally:
        bar.close()
