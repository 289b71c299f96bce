"""An experiment run: its pairs (question, arm) left to do sent through the connection's
batch (``agentnb.types.send_batch``), each linked to its pair before it starts, each completed run
handed to the evaluators as it ends; then the completed runs an evaluator has not seen yet
scored."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence, Set
from typing import Any, Final

from agentnb import ConfigurationError, HistoryError, RateLimitError, Run
from agentnb.display import note, warn
from agentnb.history import HistoryStore, RunHistory, RunRecord, history_of
from agentnb.types import Example, RunOptions, RunRequest, Via, batch_requests, send_batch

from ._book import Arm, ExperimentBook, ExperimentRecord, PairRun
from ._datasets import Dataset
from ._evaluators import Evaluator, evaluate_runs, run_evaluator
from ._workspace import Workspace
from ._workspace_runs import InCopies

__all__ = [
    "UNDONE",
    "completed_work",
    "evaluate_left",
    "experiment_arms",
    "nothing_left",
    "pairs_left",
    "run_experiment",
]

UNDONE: Final = frozenset({None, "cancelled", "interrupted"})
"""An experiment's pair is left to do when its current run is one of these (None: it never
reached the history), or failed refused by a rate limit."""


def experiment_arms(
    agent: str | Sequence[str],
    options: Mapping[str, Any],
    variants: Sequence[RunOptions] | None,
) -> list[Arm]:
    """An experiment's arms, agents outer, each with the request its questions are sent
    with (the order ``batch_requests`` gives a question's runs in)."""
    templates = batch_requests(agent, [""], variants=variants, **options)
    names = [agent] if isinstance(agent, str) else list(agent)
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
    via: Via,
    store: HistoryStore,
    evaluators: Sequence[Evaluator],
    *,
    concurrency: int = 8,
    progress: bool = True,
    approve: Any = None,
    retry_failed: bool = False,
    workspace: Workspace | None = None,
) -> RunHistory:
    """Run the experiment's pairs (question, arm) left to do on ``via`` (see
    :data:`UNDONE`; ``retry_failed``: failed ones too), each linked to its pair before it
    starts; then apply ``evaluators`` to every completed run they have not evaluated yet.
    Return every pair's current run, in the experiment's order."""
    book = ExperimentBook(store)
    examples = book.examples(record.name)
    arms = record.arms
    todo, requests = pairs_left(record, store, retry_failed)

    def link(runs: Sequence[tuple[int, Run]]) -> None:
        book.link(
            record.name,
            [(todo[index][0].position, todo[index][1], run.local_id) for index, run in runs],
        )

    ran = RunHistory()
    if todo:
        send = _sender(workspace, [example for example, _ in todo], store, evaluators)
        ran = send(
            requests,
            via=via,
            concurrency=concurrency,
            progress=progress,
            approve=approve,
            label=f"experiment {record.name}",
            on_start=link,
        )
    else:  # said, and nothing started
        nothing_left(record.name)
    current = book.current_runs(record.name)
    order = [
        current[(example.position, arm)].local_id
        for example in examples
        for arm in range(len(arms))
        if (example.position, arm) in current
    ]
    if evaluators:
        evaluate_left(evaluators, store, record.name, concurrency)
    return _every_pair(order, store, ran)


def pairs_left(
    record: ExperimentRecord, store: HistoryStore, retry_failed: bool
) -> tuple[list[tuple[Example, int]], list[RunRequest]]:
    """The experiment's pairs (example, arm) left to do (see :data:`UNDONE`;
    ``retry_failed``: failed ones too), and the request each is sent with."""
    book = ExperimentBook(store)
    current = book.current_runs(record.name)
    arms = record.arms
    todo = [
        (example, arm)
        for example in book.examples(record.name)
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
    return todo, requests


def nothing_left(name: str) -> None:
    """Say that experiment ``name`` has no pair left to run (and start nothing)."""
    note(  # information, not a warning: nothing is wrong, and no file and line to show
        f"agentnb: experiment {name!r} has nothing left to run: every question has "
        "its run on every arm (retry_failed=True runs the failed ones again)"
    )


def _every_pair(local_ids: Sequence[str], store: HistoryStore, ran: RunHistory) -> RunHistory:
    """The runs ``local_ids`` from the history; those of this call it could not keep, from
    this call's result."""
    stored = store.runs_by_ids(local_ids, table=RunHistory)
    if len(stored) == len(local_ids):
        return stored
    by_id = {record.local_id: record for record in [*ran, *stored]}
    return RunHistory.from_records([by_id[i] for i in local_ids if i in by_id])


def _left_to_do(store: HistoryStore, pair: PairRun | None, retry_failed: bool) -> bool:
    if pair is None or pair.status in UNDONE:
        return True
    if pair.status != "failed":
        return False
    if retry_failed:
        return True
    record = store.get(pair.local_id)
    return record is not None and record.error_code == RateLimitError.__name__


def evaluate_left(
    evaluators: Sequence[Evaluator], store: HistoryStore, name: str, concurrency: int
) -> None:
    """Evaluate the completed runs of experiment ``name`` an evaluator has not seen (a
    kernel that stopped before evaluating them, an evaluator new to the experiment)."""
    book = ExperimentBook(store)
    examples = book.examples(name)
    current = book.current_runs(name)
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
        if pair.status == "completed"
        and pair.position in by_position  # a question of the examples given (one split's)
        and pair.local_id not in leaving_out
    }
    records = store.runs_by_ids(list(completed))
    return [(record, completed[record.local_id]) for record in records]


def _sender(
    workspace: Workspace | None,
    examples: Sequence[Example],
    store: HistoryStore,
    evaluators: Sequence[Evaluator],
) -> Callable[..., RunHistory]:
    """How the pairs left are sent, as :func:`agentnb.types.send_batch` is called (request
    ``i`` asks ``examples[i]``): each in a copy of its own (``workspace``), evaluated there;
    else as one batch, each run evaluated as it ends."""
    if workspace is None:
        return functools.partial(send_batch, on_end=_evaluating(evaluators, store, examples))
    copies = InCopies(workspace, examples, store, evaluators)
    return functools.partial(send_batch, place=copies.place, on_end=copies.ended)


def _evaluating(
    evaluators: Sequence[Evaluator], store: HistoryStore, examples: Sequence[Example]
) -> Any:
    """What runs the evaluators on each completed run as it ends (request ``i``'s example
    is ``examples[i]``), or None when there are none."""
    if not evaluators:
        return None
    book = ExperimentBook(store)

    def after(index: int, run: Run) -> None:
        if run.status != "completed":
            return
        try:
            record = store.get(run.local_id)
            if record is not None:
                for evaluator in evaluators:
                    run_evaluator(evaluator, record, examples[index], store, book)
        except HistoryError as exc:  # the experiment goes on; a resume scores the run later
            warn(
                f"agentnb: run {run.local_id}'s scores could not be kept ({exc}); "
                "the experiment's resume(evaluators=[...]) scores it later",
                stacklevel=1,
            )

    return after


def check_store(via: Via) -> HistoryStore:
    """The history ``via`` records in, where an experiment is kept."""
    store = history_of(via)
    if store is None:
        raise ConfigurationError(
            "an experiment is kept in the run history, and this connection records no runs "
            "(record=False or AGENTNB_HISTORY=off)"
        )
    return store
