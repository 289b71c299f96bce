"""Experiments kept in the history: their tables' rows as records (:class:`ExperimentRecord`,
:class:`Arm`, :class:`PairRun`), and :class:`ExperimentBook`, which reads and writes them
through a :class:`~agentnb.history.HistoryStore` (its ``read_rows`` and ``transaction``).

An experiment is a name, its arms (an agent, or an agent with a variant of the options: each
with the request every question is sent with), its examples (the dataset's questions, in
order, with their expected answers and other fields) and its links: which run answered which
example on which arm. A pair (example, arm) may have several runs linked (one stopped, then
resumed); its *current* run is the latest linked one the history holds. Links are written
before the runs start, so a run's link survives a crash that its row may not: a link whose
run never reached the history is a pair left to do.

An evaluation is one evaluator applied to one run: it either gave scores (the scores
table's) or raised, and then its error is kept here, so a table can say the evaluator
failed while a summary's means, reading only scores, leave it out.

The tables are made by the history's frozen migrations (m016, m019, m028); their SQL lives
here, evaluation's own.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from agentnb import ConfigurationError, HistoryError
from agentnb.history import HistoryStore
from agentnb.types import Example

from ._columns import chunks, read_json, read_time
from ._datasets import Dataset, checked_name, kept_dataset

__all__ = [
    "Arm",
    "ExperimentBook",
    "ExperimentRecord",
    "PairRun",
]

ERROR_LIMIT: Final = 4000
"""Characters of an evaluator's error kept (its type and message, then cut)."""


@dataclass(frozen=True, slots=True)
class Arm:
    """One agent, or one agent with one variant of the options: what each question is run
    on."""

    agent: str
    variant: Mapping[str, Any] | None
    """The variant's options (None: the batch had no variants)."""
    request: str
    """The request every question is sent with (JSON of a ``RunRequest``, its message
    empty), so a later kernel can resume it."""

    @property
    def label(self) -> str:
        """``agent``, or ``agent [k=v, ...]`` for a variant."""
        if self.variant is None:
            return self.agent
        shown = ", ".join(f"{key}={value!r}" for key, value in self.variant.items())
        return f"{self.agent} [{shown}]"

    def to_json(self) -> dict[str, Any]:
        return {"agent": self.agent, "variant": self.variant, "request": self.request}


@dataclass(frozen=True, slots=True)
class ExperimentRecord:
    """An experiment as the history keeps it."""

    name: str
    created: float
    arms: tuple[Arm, ...]
    connection: str | None
    """The name of the connection it ran on (resumed on it by default)."""


@dataclass(frozen=True, slots=True)
class PairRun:
    """A run linked to a pair (example, arm); ``status`` None when the run never reached the
    history."""

    position: int
    arm: int
    local_id: str
    status: str | None


class ExperimentBook:
    """The experiments of one :class:`~agentnb.HistoryStore`."""

    def __init__(self, store: HistoryStore) -> None:
        self.store = store

    # ---- writing ---------------------------------------------------------------------
    def begin(
        self,
        name: str,
        arms: Sequence[Arm],
        examples: Sequence[Example],
        connection: str | None,
        dataset: Dataset | None = None,
        split: str | None = None,
    ) -> ExperimentRecord:
        """The experiment ``name``: a new one, or the one kept under that name when it has
        the same arms and its examples begin the given ones (those past its end are added).
        Raises :class:`ConfigurationError` saying what differs otherwise."""
        checked_name(name)

        def work(db: sqlite3.Connection) -> ExperimentRecord:
            kept = _load(db, name)
            if kept is None:
                kept = ExperimentRecord(name, time.time(), tuple(arms), connection)
                db.execute(
                    "INSERT INTO experiments (name, created, arms, connection, split) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (name, kept.created, _json([arm.to_json() for arm in arms]), connection, split),
                )
                known = 0
            else:
                _check_same_arms(kept, arms)
                known = _check_same_start(db, name, examples)
            if dataset is not None:  # the dataset (version) it ran on last
                db.execute(
                    "UPDATE experiments SET dataset = ?, dataset_version = ? WHERE name = ?",
                    (dataset.name, dataset.version, name),
                )
            db.executemany(
                "INSERT INTO experiment_examples "
                "(experiment, position, example_id, question, expected, extra) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [_example_row(name, example) for example in examples[known:]],
            )
            return kept

        return self.store.transaction(work)

    def link(self, name: str, links: Iterable[tuple[int, int, str]]) -> None:
        """Link runs (by ``local_id``) to their pairs ``(position, arm)``."""
        rows = [(name, position, arm, local_id) for position, arm, local_id in links]

        def work(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO experiment_runs (experiment, position, arm, local_id) "
                "VALUES (?, ?, ?, ?)",
                rows,
            )

        if rows:
            self.store.transaction(work)

    def delete(self, name: str) -> bool:
        """Forget the experiment (its examples and links; the runs stay in the history)."""
        return self.store.transaction(
            lambda db: db.execute("DELETE FROM experiments WHERE name = ?", (name,)).rowcount > 0
        )

    def record_evaluation(self, local_id: str, evaluator: str, error: str | None) -> None:
        """Keep that ``evaluator`` ran on the run: gave its scores (``error`` None) or raised
        ``error``."""
        text = None if error is None else error[:ERROR_LIMIT]

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO evaluations (local_id, evaluator, error, created) VALUES (?, ?, ?, ?)",
                (local_id, evaluator, text, time.time()),
            )

        self.store.transaction(work)

    # ---- reading ---------------------------------------------------------------------
    def get(self, name: str) -> ExperimentRecord | None:
        rows = self.store.read_rows(
            "SELECT name, created, arms, connection FROM experiments WHERE name = ?", (name,)
        )
        return _record(rows[0]) if rows else None

    def all(self) -> list[ExperimentRecord]:
        """Every experiment, the newest first."""
        rows = self.store.read_rows(
            "SELECT name, created, arms, connection FROM experiments ORDER BY created DESC", ()
        )
        return [_record(row) for row in rows]

    def dataset(self, name: str) -> Dataset | None:
        """The kept dataset (at its version) the experiment ``name`` last ran on, if any."""
        rows = self.store.read_rows(
            "SELECT dataset, dataset_version FROM experiments WHERE name = ?", (name,)
        )
        if not rows or rows[0][0] is None:
            return None
        return kept_dataset(self.store, rows[0][0], rows[0][1])

    def split(self, name: str) -> str | None:
        """The split the experiment ``name`` ran on (None: the whole dataset)."""
        rows = self.store.read_rows("SELECT split FROM experiments WHERE name = ?", (name,))
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def examples(self, name: str) -> list[Example]:
        rows = self.store.read_rows(
            "SELECT position, example_id, question, expected, extra FROM experiment_examples "
            "WHERE experiment = ? ORDER BY position",
            (name,),
        )
        return [_example(row) for row in rows]

    def current_runs(self, name: str) -> dict[tuple[int, int], PairRun]:
        """Each pair's current run: its latest linked run the history holds, else its latest
        link (``status`` None: the run never reached the history)."""
        rows = self.store.read_rows(
            "SELECT l.position, l.arm, l.local_id, r.status FROM experiment_runs l "
            "LEFT JOIN runs r ON r.local_id = l.local_id "
            "WHERE l.experiment = ? ORDER BY l.position, l.arm, l.id",
            (name,),
        )
        current: dict[tuple[int, int], PairRun] = {}
        for position, arm, local_id, status in rows:
            kept = current.get((position, arm))
            if status is not None or kept is None or kept.status is None:
                current[(position, arm)] = PairRun(position, arm, local_id, status)
        return current

    def evaluation_errors(self, local_ids: Sequence[str]) -> dict[tuple[str, str], str]:
        """``(local_id, evaluator)`` → the error of the evaluator's latest evaluation of the
        run, where that evaluation raised."""
        latest: dict[tuple[str, str], str | None] = {}
        for chunk in chunks(list(local_ids)):
            marks = ", ".join("?" * len(chunk))
            for local_id, evaluator, error in self.store.read_rows(
                f"SELECT local_id, evaluator, error FROM evaluations WHERE local_id IN ({marks}) "
                "ORDER BY id",
                chunk,
            ):
                latest[(local_id, evaluator)] = error
        return {key: error for key, error in latest.items() if error is not None}

    def evaluated(self, local_ids: Sequence[str], evaluator: str) -> set[str]:
        """The runs ``evaluator`` has been applied to (whether it gave scores or raised)."""
        found: set[str] = set()
        for chunk in chunks(list(local_ids)):
            marks = ", ".join("?" * len(chunk))
            found.update(
                local_id
                for (local_id,) in self.store.read_rows(
                    f"SELECT DISTINCT local_id FROM evaluations WHERE evaluator = ? "
                    f"AND local_id IN ({marks})",
                    [evaluator, *chunk],
                )
            )
        return found


def _check_same_arms(kept: ExperimentRecord, arms: Sequence[Arm]) -> None:
    if [arm.to_json() for arm in kept.arms] == [arm.to_json() for arm in arms]:
        return
    was = ", ".join(arm.label for arm in kept.arms)
    now = ", ".join(arm.label for arm in arms)
    detail = (
        f"it ran {was}; this run has {now}"
        if was != now
        else f"the agents are the same ({now}) but the run options differ"
    )
    raise ConfigurationError(
        f"experiment {kept.name!r} already exists and {detail}. {_fresh(kept.name)}"
    )


def _check_same_start(db: sqlite3.Connection, name: str, examples: Sequence[Example]) -> int:
    """How many of ``examples`` the experiment holds already (they must be its examples,
    in order: a dataset may only grow at its end)."""
    kept = [
        _example(row)
        for row in db.execute(
            "SELECT position, example_id, question, expected, extra FROM experiment_examples "
            "WHERE experiment = ? ORDER BY position",
            (name,),
        )
    ]
    for old, new in zip(kept, examples, strict=False):
        if not _same(old, new):
            raise ConfigurationError(
                f"experiment {name!r} already exists with another dataset: its question "
                f"{old.position} is {_short(old.question)} (expected {_short(old.expected)}), "
                f"this dataset's is {_short(new.question)} (expected {_short(new.expected)}). "
                f"A dataset may only grow at its end. {_fresh(name)}"
            )
    if len(examples) < len(kept):
        raise ConfigurationError(
            f"experiment {name!r} already exists with {len(kept)} questions; this dataset has "
            f"{len(examples)}. To resume it, pass its whole dataset (or call "
            f"agentnb.evals.experiment({name!r}).resume()). {_fresh(name)}"
        )
    return len(kept)


def _fresh(name: str) -> str:
    return (
        f"Give the experiment another name, or start {name!r} afresh with "
        f"agentnb.evals.experiment({name!r}).delete() (its runs stay in the history)."
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}...'"


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)


def _example_row(name: str, example: Example) -> tuple[Any, ...]:
    return (
        name,
        example.position,
        example.example_id,
        example.question,
        None if example.expected is None else _json(example.expected),
        _json(dict(example.extra)) if example.extra else None,
    )


def _example(row: Sequence[Any]) -> Example:
    position, example_id, question, expected, extra = row
    what = f"the example at {position!r:.20} of an experiment"
    extras = {} if extra is None else read_json(extra, what)
    if not isinstance(extras, dict):
        raise HistoryError(f"{what} in the run history has extra fields that are not an object")
    expected_value = None if expected is None else read_json(expected, what)
    return Example(position, example_id, question, expected_value, extras)


def _load(db: sqlite3.Connection, name: str) -> ExperimentRecord | None:
    row = db.execute(
        "SELECT name, created, arms, connection FROM experiments WHERE name = ?", (name,)
    ).fetchone()
    return None if row is None else _record(row)


def _record(row: Sequence[Any]) -> ExperimentRecord:
    name, created, arms, connection = row
    what = f"the experiment {name!r:.60}"
    found = read_json(arms, what)
    if not isinstance(found, list) or not all(map(_is_arm, found)):
        raise HistoryError(f"{what} in the run history has arms that are not agentnb's")
    started = read_time(created, what).timestamp()
    kept = tuple(Arm(arm["agent"], arm["variant"], arm["request"]) for arm in found)
    return ExperimentRecord(name, started, kept, connection)


def _is_arm(value: Any) -> bool:
    """Whether ``value`` is an arm as :meth:`Arm.to_json` writes it."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("agent"), str)
        and "variant" in value
        and isinstance(value["variant"], dict | None)
        and isinstance(value.get("request"), str)
    )


def _same(old: Example, new: Example) -> bool:
    return (old.example_id, old.question, _json(old.expected), _json(old.extra)) == (
        new.example_id,
        new.question,
        _json(new.expected),
        _json(new.extra),
    )
