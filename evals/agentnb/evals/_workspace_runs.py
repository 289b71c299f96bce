"""An experiment's runs each in a copy of its own (``experiment(..., workspace=...)``), sent
through the one batch engine (``agentnb.types.send_batch``, ``concurrency`` at a time):
each pair's (question, arm) place is a fresh copy (:mod:`._workspace`), its agent run in it
on a connection of its own (``Connection.in_folder``: an ACP agent's process, its session's
``cwd`` and its files); once its run ended, the change it made is kept (:mod:`._change`)
and its evaluators run (``command`` checks run in the copy); then the copy is removed
unless kept."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from agentnb import Run
from agentnb.history import HistoryStore, RunRecord
from agentnb.types import Connection, Example, RunAnnotation, RunRequest, Via, annotate_runs

from ._book import ExperimentBook, keep_change, keep_copy_place
from ._change import Change, take_change
from ._command_check import COPY_KEY
from ._evaluators import Evaluator, run_evaluator
from ._workspace import Copy, SetupFailed, Workspace

__all__ = ["CHANGE_ANNOTATION", "InCopies"]

CHANGE_ANNOTATION: Final = "change"
"""The name of the annotation a run's change is sent as, where tracing sends scores."""


@dataclass
class _Pair:
    """A pair's copy, and whether it is kept once its run was evaluated."""

    chosen: Workspace
    copy: Copy
    kept: bool = False


class InCopies:
    """Where an experiment with a workspace runs its pairs (request ``i`` asks
    ``examples[i]``): :meth:`place` is each request's place (``send_batch(place=...)``),
    :meth:`ended` what follows its run (``send_batch(on_end=...)``). A copy whose setup
    failed fails its pair before its agent starts: the batch raises the first such error
    once every other pair ended."""

    def __init__(
        self,
        space: Workspace,
        examples: Sequence[Example],
        store: HistoryStore,
        evaluators: Sequence[Evaluator],
    ) -> None:
        self.space, self.examples, self.store = space, examples, store
        for example in examples:  # a question the workspace refuses fails before any copy
            space.for_question(example.extra)
        self.evaluators = evaluators
        self._pairs: dict[int, _Pair] = {}

    @contextlib.contextmanager
    def place(
        self, index: int, request: RunRequest, conn: Connection
    ) -> Iterator[tuple[Via, RunRequest]]:
        """A fresh copy for pair ``index``, its agent working there; removed at the end
        unless :meth:`ended` kept it."""
        example = self.examples[index]
        chosen = self.space.for_question(example.extra)
        try:
            copy = chosen.copy()  # its setup failing raises here, before any agent starts
        except SetupFailed as failed:
            asked = f"question {example.example_id!r} on {request.agent}"
            raise SetupFailed(f"{asked}: {failed}") from None
        pair = self._pairs[index] = _Pair(chosen, copy)
        own = conn.in_folder(copy.folder)
        placed = request.model_copy(
            update={"metadata": {**request.metadata, COPY_KEY: str(copy.folder)}}
        )
        try:
            yield own or conn, placed
        finally:
            del self._pairs[index]
            if own is not None:
                own.close()
            if not pair.kept:
                copy.remove()

    def ended(self, index: int, run: Run) -> None:
        """Pair ``index``'s run ended: the change it made kept, its evaluators run in its
        copy, the copy kept where the workspace says."""
        pair = self._pairs[index]
        record = self.store.get(run.local_id)
        if record is None:
            return
        change = take_change(pair.copy)  # before any check writes in the copy
        keep_change(self.store, record.local_id, _file_rows(change), change.diff)
        _send_change(record.local_id, change)
        passed = _evaluated(self.evaluators, record, self.examples[index], self.store)
        pair.kept = pair.chosen.keep is True or (
            pair.chosen.keep == "failed" and (record.status != "completed" or not passed)
        )
        if pair.kept:
            keep_copy_place(self.store, record.local_id, str(pair.copy.folder))


def _evaluated(
    evaluators: Sequence[Evaluator], record: RunRecord, example: Example, store: HistoryStore
) -> bool:
    """Apply the evaluators to a completed run; whether every score they gave passed (a
    False, a 0) and none failed."""
    if record.status != "completed" or not evaluators:
        return True
    book = ExperimentBook(store)
    for evaluator in evaluators:
        run_evaluator(evaluator, record, example, store, book)
    scores = store.scores([record.local_id])
    names = {evaluator.name for evaluator in evaluators}
    failed = book.evaluation_errors([record.local_id])
    return not failed and all(bool(score.value) for score in scores if score.author in names)


def _send_change(local_id: str, change: Change) -> None:
    """The change as an annotation on the run's span, where tracing sends scores (its diff
    as the explanation, with content capture on only); nothing when scores go nowhere."""
    annotate_runs(
        [
            RunAnnotation(
                local_id,
                CHANGE_ANNOTATION,
                change.summary(),
                metadata={
                    "files": [[f.path, f.added, f.removed] for f in change.files],
                    "added": change.added,
                    "removed": change.removed,
                },
                comment=change.diff or None,
            )
        ]
    )


def _file_rows(change: Change) -> list[tuple[str, int | None, int | None]]:
    return [(f.path, f.added, f.removed) for f in change.files]
