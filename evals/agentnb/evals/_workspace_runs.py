"""An experiment's runs each in a copy of its own (``experiment(..., workspace=...)``): per
pair (question, arm), ``concurrency`` at a time, a fresh copy (:mod:`._workspace`), its
agent run in it on a connection of its own (``Connection.in_folder``: an ACP agent's
process, its session's ``cwd`` and its files), then the change it made kept
(:mod:`._change`), then its evaluators (``command`` checks run in the copy), then the copy
removed unless kept."""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final

from agentnb import Run
from agentnb.display import Progress, make_progress
from agentnb.history import HistoryStore, RunHistory, RunRecord
from agentnb.types import (
    Example,
    RunAnnotation,
    RunRequest,
    Via,
    annotate_runs,
    connections_of,
    send_batch,
)

from ._book import ExperimentBook, keep_change, keep_copy_place
from ._change import Change, take_change
from ._command_check import COPY_KEY
from ._evaluators import Evaluator, run_evaluator
from ._workspace import Copy, SetupFailed, Workspace

__all__ = ["CHANGE_ANNOTATION", "send_in_copies"]

CHANGE_ANNOTATION: Final = "change"
"""The name of the annotation a run's change is sent as, where tracing sends scores."""

Link = Callable[[Sequence[tuple[int, Run]]], None]


def send_in_copies(
    space: Workspace,
    requests: Sequence[RunRequest],
    examples: Sequence[Example],
    *,
    via: Via,
    store: HistoryStore,
    evaluators: Sequence[Evaluator],
    concurrency: int,
    progress: bool,
    approve: Any,
    label: str,
    on_start: Link,
) -> RunHistory:
    """Run ``requests`` (request ``i`` asks ``examples[i]``) each in a copy of ``space``;
    their runs, in order. A copy whose setup failed fails its pair before its agent starts:
    the first such error is raised once every other pair ended."""
    bar = _Tally(make_progress(len(requests), label, enabled=progress))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, concurrency))
    futures = [
        pool.submit(
            _one_pair, space, index, request, examples[index], via, store, evaluators,
            approve, label, on_start,
        )
        for index, request in enumerate(requests)
    ]  # fmt: skip
    for future in futures:
        future.add_done_callback(bar.ended)
    try:
        concurrent.futures.wait(futures)
    except KeyboardInterrupt:  # a Stop: no new pair starts; those going end on their own
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.progress.close()
    pool.shutdown()
    records = [r for f in futures if f.exception() is None and (r := f.result()) is not None]
    failures = [f.exception() for f in futures if f.exception() is not None]
    if failures:
        raise failures[0]  # type: ignore[misc]
    return RunHistory.from_records(records)


class _Tally:
    """The pairs ended, failed and their cost, drawn on a progress bar as each ends."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self._lock = threading.Lock()
        self.done = self.failed = 0
        self.cost: float | None = None

    def ended(self, future: concurrent.futures.Future[RunRecord | None]) -> None:
        record = None if future.cancelled() or future.exception() else future.result()
        with self._lock:
            self.done += 1
            self.failed += record is None or record.status != "completed"
            if record is not None and record.cost_usd is not None:
                self.cost = (self.cost or 0.0) + record.cost_usd
            counts = self.done, self.failed, self.cost
        self.progress.update(*counts)


def _one_pair(
    space: Workspace,
    index: int,
    request: RunRequest,
    example: Example,
    via: Via,
    store: HistoryStore,
    evaluators: Sequence[Evaluator],
    approve: Any,
    label: str,
    on_start: Link,
) -> RunRecord | None:
    chosen = space.for_question(example.extra)
    try:
        copy = chosen.copy()  # its setup failing raises here, before any agent starts
    except SetupFailed as failed:
        raise SetupFailed(f"question {example.example_id!r} on {request.agent}: {failed}") from None
    kept = False
    try:
        record = _run_in(copy, request, via, approve, label, lambda runs: on_start(
            [(index, run) for _, run in runs]
        ))  # fmt: skip
        if record is None:
            return None
        change = take_change(copy)  # before any check writes in the copy
        keep_change(store, record.local_id, _file_rows(change), change.diff)
        _send_change(record.local_id, change)
        passed = _evaluated(evaluators, record, example, store)
        kept = chosen.keep is True or (
            chosen.keep == "failed" and (record.status != "completed" or not passed)
        )
        if kept:
            keep_copy_place(store, record.local_id, str(copy.folder))
        return record
    finally:
        if not kept:
            copy.remove()


def _run_in(
    copy: Copy, request: RunRequest, via: Via, approve: Any, label: str, on_start: Link
) -> RunRecord | None:
    """The run of ``request`` by an agent working in ``copy``."""
    [base] = connections_of([request], via)
    own = base.in_folder(copy.folder)
    placed = request.model_copy(
        update={"metadata": {**request.metadata, COPY_KEY: str(copy.folder)}}
    )
    try:
        ran = send_batch(
            [placed],
            via=own or base,
            concurrency=1,
            progress=False,
            approve=approve,
            label=label,
            on_start=on_start,
        )
    finally:
        if own is not None:
            own.close()
    return ran[0] if len(ran) else None


def _evaluated(
    evaluators: Sequence[Evaluator], record: RunRecord, example: Example, store: HistoryStore
) -> bool:
    """Apply the evaluators to a completed run; whether every score they gave passed (a
    False, a 0) and none failed."""
    if record.status != "completed" or not evaluators:
        return True
    book = ExperimentBook(store)
    kept = store.get(record.local_id) or record
    for evaluator in evaluators:
        run_evaluator(evaluator, kept, example, store, book)
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
