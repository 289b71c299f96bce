"""Scores, labels and notes given to runs: the ``scores`` table (:func:`scores_schema`), a
score checked before it is stored (:func:`checked_score`), and :class:`ScoreRecord`.

A row is one score given, never changed: the current score of a run for a name is the
latest given (the highest ``id``), the earlier ones are its history. A value is kept by
kind, so a DataFrame gets floats for numbers, bools for bools and strings for labels:
``kind`` is ``number``, ``bool`` or ``label``; ``number`` holds a number or a bool (1/0),
``label`` a label.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import ItemsView, Mapping, Sequence
from dataclasses import asdict, astuple, dataclass
from datetime import UTC, datetime
from typing import Any, Final, Literal

from .._core.exceptions import ConfigurationError
from .._core.request import checked_number
from ._records import MAX_SCORE, storable_text, truncate

__all__ = [
    "SCORE_COLUMNS",
    "SCORE_PREFIX",
    "ScoreMatch",
    "ScoreRecord",
    "ScoreSource",
    "ScoreValue",
    "checked_score",
    "current_scores_sql",
    "filter_items",
    "score_column",
    "score_condition_sql",
    "score_filter",
    "score_record",
]

ScoreValue = float | int | bool | str
ScoreKind = Literal["number", "bool", "label"]
ScoreSource = Literal["person", "code", "agent"]
SCORE_SOURCES: Final[tuple[ScoreSource, ...]] = ("person", "code", "agent")
SCORE_PREFIX: Final = "score."
"""A score's column in a DataFrame is ``score.<name>``."""
REPR_COMMENT: Final = 40
"""A record's repr shows this many characters of its comment."""
LABEL_LIMIT: Final = 200
"""A label is a category, not a text: at most this many characters (a note goes in the
comment)."""
COMMENT_LIMIT: Final = 16 * 1024
"""A comment is stored up to this many UTF-8 bytes, then cut."""

SCORE_COLUMNS: Final = (
    "id",
    "local_id",
    "name",
    "kind",
    "number",
    "label",
    "comment",
    "source",
    "author",
    "created",
)
"""The ``scores`` table's columns, in the order the store selects them."""


def current_scores_sql(alias: str = "s") -> str:
    """A condition true for the current rows of ``scores`` (aliased ``alias``): no later
    score of the same run and name."""
    return (
        f"NOT EXISTS (SELECT 1 FROM scores later WHERE later.local_id = {alias}.local_id "
        f"AND later.name = {alias}.name AND later.id > {alias}.id)"
    )


def score_column(name: str) -> str:
    """The DataFrame column of the score ``name``."""
    return f"{SCORE_PREFIX}{name}"


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    """One score given to a run: a number, a bool or a label, with a comment, who gave it
    and when. A later score of the same name replaces it as the run's current one; this one
    stays in the score's history."""

    local_id: str
    """The run's ``local_id``."""
    name: str
    """What is scored (``correct``, ``verdict``, ...): the column ``score.<name>``."""
    value: float | bool | str
    """A number (as a float), a bool or a label."""
    comment: str | None
    """A note with the score."""
    source: ScoreSource
    """Who gave it: a ``person``, ``code`` (an evaluator function) or an ``agent`` (an LLM
    judge)."""
    author: str | None
    """Free text: the person's name, the evaluator's or the judge's."""
    created: datetime
    """When it was given (tz-aware UTC)."""
    id: int = 0
    """The row's id in the ``scores`` table: the order scores were given in."""

    @property
    def kind(self) -> ScoreKind:
        if isinstance(self.value, bool):
            return "bool"
        return "label" if isinstance(self.value, str) else "number"

    def __repr__(self) -> str:
        who = self.source if self.author is None else f"{self.source} {self.author!r}"
        comment = self.comment
        if comment is not None and len(comment) > REPR_COMMENT:
            comment = comment[: REPR_COMMENT - 1] + "…"
        note = "" if comment is None else f": {comment!r}"
        when = self.created.astimezone(UTC)
        return f"<ScoreRecord {self.name}={self.value!r} by {who}, {when:%Y-%m-%d %H:%M} UTC{note}>"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the time as an ISO 8601 string)."""
        return {**asdict(self), "created": self.created.isoformat()}


def score_record(row: Sequence[Any]) -> ScoreRecord:
    """A record from database values in :data:`SCORE_COLUMNS` order."""
    row_id, local_id, name, kind, number, label, comment, source, author, created = row
    value: float | bool | str = (
        label if kind == "label" else bool(number) if kind == "bool" else float(number)
    )
    return ScoreRecord(
        local_id, name, value, comment, source, author, datetime.fromtimestamp(created, UTC), row_id
    )


@dataclass(frozen=True, slots=True)
class CheckedScore:
    """A score ready to store: its values in :data:`SCORE_COLUMNS` order, less ``id``."""

    local_id: str
    name: str
    kind: ScoreKind
    number: float | None
    label: str | None
    comment: str | None
    source: ScoreSource
    author: str | None
    created: float

    def values(self) -> tuple[Any, ...]:
        return astuple(self)


def checked_score(
    local_id: str,
    name: str,
    value: object,
    *,
    comment: object = None,
    source: object = "person",
    author: object = None,
) -> CheckedScore:
    """The score as it will be stored; raises :class:`ConfigurationError` saying what is
    wrong with a name, value, comment, source or author (nothing is stored then)."""
    if not isinstance(local_id, str) or not local_id:
        raise ConfigurationError(f"a score needs a run id (a non-empty str), not {local_id!r}")
    kind, number, label = _checked_value(value)
    return CheckedScore(
        local_id=local_id,
        name=_checked_name(name),
        kind=kind,
        number=number,
        label=label,
        comment=truncate(storable_text(_optional_text("comment", comment)), COMMENT_LIMIT),
        source=_checked_source(source),
        author=storable_text(_optional_text("author", author)),
        created=time.time(),
    )


@dataclass(frozen=True, slots=True)
class ScoreMatch:
    """A ``runs(score=...)`` condition: the run's current score ``name`` is this kind and
    value, or (``kind`` None) the run has no score of that name."""

    name: str
    kind: ScoreKind | None
    value: float | str | None


def filter_items(given: object, name: str, pairs: str, example: str) -> ItemsView[Any, Any]:
    """The items of the ``runs()`` filter ``name``, a dict of ``pairs``; for anything else or
    an empty dict, the :class:`ConfigurationError` that says so, with an ``example``."""
    if not isinstance(given, Mapping) or not given:
        wanted = f"{name} must be a dict of {pairs} (e.g. {example})"
        raise ConfigurationError(f"{wanted}, not {given!r}")
    return given.items()


def score_filter(score: object) -> tuple[ScoreMatch, ...] | None:
    """``runs(score={"correct": True, "grade": "good", "verdict": None})`` checked: each
    name's current score must be that value (a bool, a number or a label); None keeps the
    runs not scored by that name."""
    if score is None:
        return None
    matches = []
    held = "name: value the runs' current scores must equal"
    for name, value in filter_items(score, "score", held, "{'correct': True}; None: not scored"):
        checked = _checked_name(name)
        if value is None:
            matches.append(ScoreMatch(checked, None, None))
            continue
        kind, number, label = _checked_value(value)
        matches.append(ScoreMatch(checked, kind, label if kind == "label" else number))
    return tuple(matches)


def score_condition_sql(match: ScoreMatch, table: str = "runs.") -> tuple[str, list[Any]]:
    """The condition on a run (``table``'s row) that ``match`` asks, and its parameters."""
    if match.kind is None:
        return (
            f"NOT EXISTS (SELECT 1 FROM scores s WHERE s.local_id = {table}local_id "
            "AND s.name = ?)",
            [match.name],
        )
    column = "label" if match.kind == "label" else "number"
    # IN, not EXISTS: the scored runs are listed first and looked up, never every run scanned
    return (
        f"{table}local_id IN (SELECT s.local_id FROM scores s WHERE s.name = ? "
        f"AND s.kind = ? AND s.{column} = ? AND {current_scores_sql('s')})",
        [match.name, match.kind, match.value],
    )


def _checked_name(name: object) -> str:
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigurationError(
            f"a score's name becomes the column score.<name>: give a name like 'correct' or "
            f"'helpfulness' (letters, digits and _, not starting with a digit), not {name!r}"
        )
    return name


def _checked_value(value: object) -> tuple[ScoreKind, float | None, str | None]:
    if isinstance(value, bool) or _is_numpy_bool(value):
        return "bool", 1.0 if value else 0.0, None
    if isinstance(value, numbers.Real):
        return "number", checked_number(value, "a score", least=-MAX_SCORE, most=MAX_SCORE), None
    if isinstance(value, str):
        label = storable_text(value.strip())
        if not label:
            raise ConfigurationError("a label score must be a non-empty string")
        if len(label) > LABEL_LIMIT:
            raise ConfigurationError(
                f"a label is at most {LABEL_LIMIT} characters ({len(label)} given); "
                "put a longer text in the comment"
            )
        return "label", None, label
    raise ConfigurationError(
        "a score is a number, a bool or a label string, "
        f"not {type(value).__name__} ({_shown(value)})"
    )


def _is_numpy_bool(value: object) -> bool:
    """A numpy bool (``df.x.iloc[0] > 1``), which is no ``bool`` and no number."""
    dtype = getattr(value, "dtype", None)
    return getattr(dtype, "kind", None) == "b" and getattr(value, "ndim", None) == 0


def _checked_source(source: object) -> ScoreSource:
    for known in SCORE_SOURCES:
        if source == known:
            return known
    raise ConfigurationError(
        f"a score's source is one of {', '.join(map(repr, SCORE_SOURCES))}, not {source!r}"
    )


def _optional_text(what: str, text: object) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise ConfigurationError(f"a score's {what} is a str or None, not {type(text).__name__}")
    return text if text.strip() else None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
