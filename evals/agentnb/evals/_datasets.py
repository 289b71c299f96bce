"""``dataset``: a dataset kept in the history by name, in versions (the ``datasets`` table
of evaluation's step m019, :mod:`._evaluation_tables`): its rows as the JSON list an
experiment's examples are made of; the same rows under a name are the same version."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentnb import ConfigurationError, HistoryError
from agentnb.display import require_pandas
from agentnb.history import HistoryStore, RunHistory, default_store
from agentnb.types import DatasetRows, examples_of

from . import _evaluation_tables  # noqa: F401  (its tables join the history's steps on import)
from ._columns import read_json, read_time

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Dataset",
    "dataset",
    "dataset_names",
    "keep_dataset",
    "kept_dataset",
    "kept_store",
]

_UNSET: Any = object()


@dataclass(frozen=True, slots=True)
class Dataset:
    """A dataset kept in the history (``agentnb.evals.dataset``): its name, its version
    (from 1) and its rows, each a dict with ``question`` and maybe ``expected``, ``id`` and
    other fields. Hand it to ``experiment`` or ``agentnb.batch`` as the questions; iterating
    gives its rows."""

    name: str
    version: int
    rows: tuple[Mapping[str, Any], ...]
    created: datetime

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (dict(row) for row in self.rows)

    def __repr__(self) -> str:
        return f"<Dataset {self.name!r} version {self.version}: {len(self.rows)} rows>"

    def to_pandas(self) -> pd.DataFrame:
        """One row per row of the dataset."""
        require_pandas()  # says which extra to install when it is missing
        import pandas as pd  # optional: the frame is the only thing that needs it

        return pd.DataFrame(list(self))


def kept_store(what: str, store: HistoryStore | None = None) -> HistoryStore:
    """``store``, else the default history, where ``what`` is kept; a
    :class:`~agentnb.ConfigurationError` saying so when history is off."""
    found = store if store is not None else default_store()
    if found is None:
        raise ConfigurationError(
            f"{what} are kept in the run history, and history is off (AGENTNB_HISTORY=off)"
        )
    return found


def dataset(
    name: str,
    rows: DatasetRows = _UNSET,
    *,
    version: int | None = None,
    store: HistoryStore | None = None,
) -> Dataset:
    """``dataset(name, rows)`` keeps ``rows`` (what ``batch`` takes: questions, dicts, a
    DataFrame) in the history as the dataset ``name``: a new version when they differ from
    every version kept, else the version that has them. ``rows`` may be runs
    (``agentnb.runs(...)``): one row per run, ``question`` its message, ``expected`` its
    answer and ``id`` its ``local_id`` (reviewed runs made into a test set).
    ``dataset(name)`` reopens its latest version (``version=``: that one). Hand it to
    ``experiment(name, agents, dataset)`` and the experiment records which dataset and
    version it ran on (``experiment(x).dataset``)."""
    kept = kept_store("datasets", store)
    if rows is not _UNSET:
        if version is not None:
            raise ConfigurationError("dataset(name, rows) makes its version: give no version=")
        given = _rows_of_runs(rows) if isinstance(rows, RunHistory) else rows
        return keep_dataset(kept, name, [example.as_dict() for example in examples_of(given)])
    found = kept_dataset(kept, name, version)
    if found is None:
        known = ", ".join(repr(n) for n in dataset_names(kept)[:20]) or "none yet"
        at = "" if version is None else f" version {version}"
        raise ConfigurationError(f"no dataset {name!r}{at} in the history; it has: {known}")
    return found


def _rows_of_runs(runs: RunHistory) -> list[dict[str, Any]]:
    unasked = [record.local_id for record in runs if not record.message]
    if unasked:
        raise ConfigurationError(
            f"{len(unasked)} of these runs have no message to be a question (e.g. "
            f"{unasked[0]}): leave them out"
        )
    return [
        {"id": record.local_id, "question": record.message, "expected": record.answer}
        for record in runs
    ]


def checked_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ConfigurationError(f"an experiment's name is a non-empty string, not {name!r}")
    return name


def keep_dataset(store: HistoryStore, name: str, rows: Sequence[Mapping[str, Any]]) -> Dataset:
    """The dataset ``name`` with these rows: the version that has them, else a new one."""
    checked_name(name)
    text = _json(list(rows))
    digest = hashlib.sha256(text.encode()).hexdigest()

    def work(db: sqlite3.Connection) -> tuple[int, object]:
        found = db.execute(
            "SELECT version, created FROM datasets WHERE name = ? AND digest = ?", (name, digest)
        ).fetchone()
        if found is not None:
            return found[0], found[1]
        (last,) = db.execute(
            "SELECT MAX(version) FROM datasets WHERE name = ? AND typeof(version) = 'integer'",
            (name,),
        ).fetchone()
        version, created = (last or 0) + 1, time.time()
        db.execute(
            "INSERT INTO datasets (name, version, digest, rows, created) VALUES (?, ?, ?, ?, ?)",
            (name, version, digest, text, created),
        )
        return version, created

    version, created = store.transaction(work)
    return _dataset(name, version, text, created)


def kept_dataset(store: HistoryStore, name: str, version: int | None = None) -> Dataset | None:
    """The dataset ``name`` at ``version`` (default: its latest), or None."""
    rows = store.read_rows(
        "SELECT version, rows, created FROM datasets WHERE name = ? "
        + ("AND version = ?" if version is not None else "ORDER BY version DESC LIMIT 1"),
        (name,) if version is None else (name, version),
    )
    if not rows:
        return None
    found, text, created = rows[0]
    return _dataset(name, found, text, created)


def _dataset(name: str, version: int, text: object, created: object) -> Dataset:
    """The dataset from its row; a HistoryError when the row is not what agentnb wrote."""
    what = f"the dataset {name!r} (version {version!r:.20})"
    if type(version) is not int:
        raise HistoryError(f"{what} in the run history has a version that is not a number")
    rows = read_json(text, what)
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise HistoryError(f"{what} in the run history is not a list of rows (JSON objects)")
    return Dataset(name, version, tuple(rows), read_time(created, what))


def dataset_names(store: HistoryStore) -> list[str]:
    return [name for (name,) in store.read_rows("SELECT DISTINCT name FROM datasets", ())]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, allow_nan=False)
