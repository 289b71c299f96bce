"""How far an evaluator (a judge) agrees with a person: ``agreement(runs, evaluator,
human="verdict")`` pairs the two scores run by run and says how often they agree, Cohen's
κ (agreement beyond chance), the evaluator's true positive and true negative rates with the
person as the truth, the confusion matrix (the person in rows) and the runs where they
disagree, to open one by one. An agreement can be kept in the history (``.keep()``) to set a
judge's later versions beside it (:func:`agreements`); kept while tracing sends scores to
Phoenix, it goes there too, on each run's span (``agreement.<evaluator>.<human>``).

Each side's values are read as classes: a bool as itself, a number as pass when it is at
least ``threshold``, a label as itself (two label scores: multi-class agreement and κ; no
rates), or, with ``positive=``, a label as pass when it is that label (a failure mode's
name against a judge of that mode). The figures are those of scikit-learn's
``cohen_kappa_score`` and ``confusion_matrix`` on the same pairs (tests/evals).
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from agentnb import ConfigurationError
from agentnb.display import (
    NO_MATH,
    Column,
    Table,
    clean,
    percent,
    require_pandas,
    table_html,
    table_text,
    text_width,
)
from agentnb.history import HistoryStore, RunHistory
from agentnb.types import RunAnnotation, RunLike, annotate_runs, run_ids

from ._datasets import kept_store
from ._printed import PrintedAsText

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Agreement",
    "Agreements",
    "ScoredRun",
    "ScoredRuns",
    "agreement",
    "agreement_of",
    "agreements",
]

Class = bool | str
"""A value as the agreement reads it: pass / fail, or a label."""

LISTED_NAMES: Final = 20
"""Score names an error lists."""


@dataclass(frozen=True, slots=True)
class ScoredRun:
    """One run as an agreement reads it: its id, the group it is in (its arm or agent) and
    its current value of each score (None: not given)."""

    local_id: str
    group: str | None
    scores: Mapping[str, object]


@runtime_checkable
class ScoredRuns(Protocol):
    """What gives an agreement its runs itself (an experiment: its current runs)."""

    def scored_runs(self, by: str | None) -> tuple[list[ScoredRun], str, HistoryStore]:
        """Each run with its group (``by``) and scores, what they are (``experiment NAME``),
        and the history they are in."""
        ...


@dataclass(frozen=True, slots=True)
class Reading:
    """How both sides' values become classes."""

    threshold: float
    positive: str | None
    binary: bool
    """pass / fail (bools, numbers, a label read with ``positive``); else labels."""

    def of(self, value: object) -> Class:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return float(value) >= self.threshold
        text = str(value)
        return text == self.positive if self.positive is not None else text


def agreement(
    runs: RunLike | Any,
    evaluator: str,
    human: str = "verdict",
    *,
    threshold: float = 0.5,
    positive: str | None = None,
    by: str | None = None,
    store: HistoryStore | None = None,
) -> Agreement | Agreements:
    """How far score ``evaluator`` (a judge's, a function's) agrees with score ``human`` (a
    person's: the chat cell's ✓ / ✗ is ``verdict``) on ``runs``: ``agentnb.runs(...)``, a
    batch's result, anything naming runs, or an experiment (``exp.agreement(...)``).

    Numbers read as pass at ``threshold`` (at least it), bools as themselves, labels as
    themselves (two label scores: multi-class) or, with ``positive=``, as pass when they
    are that label. ``by="agent"`` (an experiment: ``"arm"``) gives one agreement per
    group, in :class:`Agreements`. A score no run has, or no run scored by both, is an
    error naming what there is. ``store``: the history to read (default: the default
    one)."""
    if isinstance(runs, ScoredRuns):  # an experiment: its current runs, by arm or agent
        scored, scope, kept = runs.scored_runs(by)
        return agreement_of(scored, evaluator, human, threshold, positive, scope, kept, by=by)
    if by not in (None, "agent"):
        raise ConfigurationError(
            f"by= groups runs by 'agent' (an experiment's also by 'arm'), not {by!r}"
        )
    kept = kept_store("agreements", store)
    ids = run_ids(runs)
    records = kept.runs_by_ids(ids)
    current: dict[str, dict[str, object]] = {}
    for given in kept.scores(ids):
        current.setdefault(given.local_id, {})[given.name] = given.value
    scored = [
        ScoredRun(record.local_id, record.agent if by else None, current.get(record.local_id, {}))
        for record in records
    ]
    return agreement_of(
        scored, evaluator, human, threshold, positive, f"{len(scored)} runs", kept, by=by
    )


def agreement_of(
    scored: Sequence[ScoredRun],
    evaluator: str,
    human: str,
    threshold: float,
    positive: str | None,
    scope: str,
    store: HistoryStore,
    *,
    by: str | None = None,
) -> Agreement | Agreements:
    """The agreement of ``evaluator`` with ``human`` on ``scored`` (per group with
    ``by``). A run named more than once counts once, and the agreement says so."""
    scored, repeated = _each_once(scored)
    _check_names(scored, evaluator, human)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float):
        raise ConfigurationError(f"threshold is a number (pass at or above it), not {threshold!r}")
    reading = _reading(scored, evaluator, human, float(threshold), positive)
    if by is None:
        return _measured(scored, evaluator, human, reading, scope, None, store, repeated=repeated)
    groups = list(dict.fromkeys(run.group for run in scored))
    found = Agreements(
        (str(group), _measured([r for r in scored if r.group == group], evaluator, human,
                               reading, scope, str(group), store, strict=False))
        for group in groups
    )  # fmt: skip
    if not any(one.n for one in found.values()):
        _measured(scored, evaluator, human, reading, scope, None, store)  # says why
    return found


def _each_once(scored: Sequence[ScoredRun]) -> tuple[list[ScoredRun], int]:
    """``scored`` with each run once (its first naming), and how many namings were dropped."""
    first: dict[str, ScoredRun] = {}
    for run in scored:
        first.setdefault(run.local_id, run)
    return list(first.values()), len(scored) - len(first)


def _check_names(scored: Sequence[ScoredRun], evaluator: str, human: str) -> None:
    names = sorted({name for run in scored for name in run.scores})
    for name in (evaluator, human):
        if not isinstance(name, str):
            raise ConfigurationError(f"a score is named by its name (a string), not {name!r}")
        if name not in names:
            listed = ", ".join(names[:LISTED_NAMES]) if names else "none"
            more = f" and {len(names) - LISTED_NAMES} more" if len(names) > LISTED_NAMES else ""
            raise ConfigurationError(
                f"no run here has a score.{name}; the scores these {len(scored)} runs have: "
                f"{listed}{more}"
            )


def _kinds(scored: Sequence[ScoredRun], name: str) -> set[str]:
    return {_kind(run.scores[name]) for run in scored if run.scores.get(name) is not None}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    return "number" if isinstance(value, int | float) else "label"


def _reading(
    scored: Sequence[ScoredRun],
    evaluator: str,
    human: str,
    threshold: float,
    positive: str | None,
) -> Reading:
    """Binary (pass / fail) or labels, from what each side holds; a clear error when they
    cannot be set against each other."""
    kinds = {name: _kinds(scored, name) for name in (evaluator, human)}
    for name, held in kinds.items():
        if "label" in held and len(held) > 1:
            raise ConfigurationError(
                f"score.{name} holds labels and {' and '.join(sorted(held - {'label'}))}s on "
                "these runs: an agreement reads one kind of value a side"
            )
    labels = [name for name, held in kinds.items() if held == {"label"}]
    if positive is not None or not labels:
        return Reading(threshold, positive, binary=True)
    if len(labels) == 2:
        return Reading(threshold, None, binary=False)
    other = human if labels[0] == evaluator else evaluator
    raise ConfigurationError(
        f"score.{labels[0]} holds labels and score.{other} pass / fail: give positive='<a "
        f"label of score.{labels[0]}>' to read that label as pass (a failure mode's name)"
    )


def _measured(
    scored: Sequence[ScoredRun],
    evaluator: str,
    human: str,
    reading: Reading,
    scope: str,
    group: str | None,
    store: HistoryStore,
    *,
    strict: bool = True,
    repeated: int = 0,
) -> Agreement:
    pairs: list[tuple[str, Class, Class]] = []
    missing = {evaluator: 0, human: 0}
    for run in scored:
        person, judged = run.scores.get(human), run.scores.get(evaluator)
        if person is None and judged is None:
            continue
        if person is None or judged is None:
            missing[human if person is None else evaluator] += 1
            continue
        pairs.append((run.local_id, reading.of(person), reading.of(judged)))
    if not pairs and strict:
        raise ConfigurationError(
            f"no run here has both score.{evaluator} and score.{human}: "
            f"{missing[human]} have score.{evaluator} only, {missing[evaluator]} score.{human} "
            "only; score the same runs with both"
        )
    classes = [False, True] if reading.binary else sorted({c for _, h, e in pairs for c in (h, e)})
    at = {c: i for i, c in enumerate(classes)}
    counts = [[0] * len(classes) for _ in classes]
    for _, person, judged in pairs:
        counts[at[person]][at[judged]] += 1
    return Agreement(
        evaluator=evaluator,
        human=human,
        threshold=reading.threshold,
        positive=reading.positive,
        binary=reading.binary,
        scope=scope,
        group=group,
        classes=tuple(classes),
        counts=tuple(tuple(row) for row in counts),
        missing=missing,
        pairs=tuple(pairs),
        store=store,
        repeated=repeated,
    )


@dataclass(frozen=True, repr=False)
class Agreement(PrintedAsText):
    """An evaluator's agreement with a person on the runs both scored."""

    evaluator: str
    """The evaluator's score name (a judge's)."""
    human: str
    """The person's score name (``verdict``: the chat cell's ✓ / ✗)."""
    threshold: float
    """A number at least this reads as pass."""
    positive: str | None
    """The label read as pass (None: labels read as themselves)."""
    binary: bool
    """pass / fail (with rates); else labels (agreement and κ only)."""
    scope: str
    """What runs it read: ``experiment NAME`` or ``N runs``."""
    group: str | None
    """The arm or agent it is of (``by=``); None: all the runs."""
    classes: tuple[Class, ...]
    """The classes, in the confusion matrix's order: ``(False, True)``, or the labels
    sorted."""
    counts: tuple[tuple[int, ...], ...]
    """The confusion matrix: ``counts[person][evaluator]`` in :attr:`classes`' order."""
    missing: Mapping[str, int]
    """Score name → runs without it that have the other side's score (scored by one side
    only)."""
    pairs: tuple[tuple[str, Class, Class], ...] = field(repr=False)
    """Each run both scored: its ``local_id``, the person's class, the evaluator's."""
    store: HistoryStore = field(repr=False, compare=False)
    repeated: int = 0
    """How many namings of a run already named were left out (each run counts once)."""

    @property
    def disagreeing(self) -> tuple[str, ...]:
        """The ``local_id`` of each run where they disagree."""
        return tuple(local_id for local_id, person, judged in self.pairs if person != judged)

    @property
    def n(self) -> int:
        """The runs both scored."""
        return sum(map(sum, self.counts))

    @property
    def agreement(self) -> float | None:
        """The share of those runs on which they agree (None: no run)."""
        agreed = sum(self.counts[i][i] for i in range(len(self.classes)))
        return agreed / self.n if self.n else None

    @property
    def kappa(self) -> float | None:
        """Cohen's κ: agreement beyond what chance gives from each side's own shares (1:
        perfect; 0: chance; below 0: worse). None where it is undefined: both sides always
        give the same one class."""
        if not self.n:
            return None
        size = len(self.classes)
        rows = [sum(self.counts[i]) / self.n for i in range(size)]
        columns = [sum(self.counts[i][j] for i in range(size)) / self.n for j in range(size)]
        chance = sum(r * c for r, c in zip(rows, columns, strict=True))
        observed = self.agreement or 0.0
        return None if chance >= 1 else (observed - chance) / (1 - chance)

    @property
    def tpr(self) -> float | None:
        """Of the runs the person passed (with ``positive=``: labelled so), the share the
        evaluator passed (its sensitivity); None for labels, or when the person passed none."""
        return self._rate(True)

    @property
    def tnr(self) -> float | None:
        """Of the runs the person failed, the share the evaluator failed (its specificity);
        None for labels, or when the person failed none."""
        return self._rate(False)

    def _rate(self, truth: bool) -> float | None:
        if not self.binary:
            return None
        row = self.counts[self.classes.index(truth)]
        total = sum(row)
        return row[self.classes.index(truth)] / total if total else None

    @property
    def confusion(self) -> pd.DataFrame:
        """The confusion matrix: the person's classes in rows, the evaluator's in columns."""
        require_pandas()  # says which extra to install when it is missing
        import pandas as pd  # optional: the matrix as a frame

        frame = pd.DataFrame(
            [list(row) for row in self.counts],
            index=pd.Index(list(self.classes), name=f"{self.human} (person)"),
            columns=pd.Index(list(self.classes), name=self.evaluator),
        )
        return frame

    @property
    def disagreements(self) -> RunHistory:
        """The runs where they disagree, as a run table (Open shows each as its chat cell)."""
        return self.store.runs_by_ids(list(self.disagreeing), table=RunHistory)

    # ---- kept ------------------------------------------------------------------------
    def keep(self, note: str | None = None) -> Agreement:
        """Keep this agreement in the history (with ``note``: which judge version, which
        rubric), to set later ones beside it: :func:`agreements`. Where tracing sends scores
        (``configure_tracing(scores="phoenix")``) it also goes there: on each run both
        scored, whether they agree (see :meth:`annotations`). Returns it."""
        row = (
            time.time(),
            self.evaluator,
            self.human,
            self.threshold,
            self.positive,
            self.scope,
            self.group,
            self.n,
            self.agreement,
            self.kappa,
            self.tpr,
            self.tnr,
            json.dumps(
                {
                    "classes": list(self.classes),
                    "confusion": [list(row) for row in self.counts],
                    "missing": dict(self.missing),
                },
                ensure_ascii=False,
            ),
            note,
        )

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO agreements (created, evaluator, human, threshold, positive, scope, "
                "subset, n, agreement, kappa, tpr, tnr, details, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

        self.store.transaction(work)
        annotate_runs(self.annotations(note))
        return self

    def annotations(self, note: str | None = None) -> list[RunAnnotation]:
        """What :meth:`keep` sends where scores go: on each run both scored, an annotation
        ``agreement.<evaluator>.<human>``, True where they agree, its metadata each side's
        reading of the run and this agreement's figures (``n``, ``agreement``, ``kappa``,
        ``tpr``, ``tnr``), what it read (``scope``, ``group``) and ``note``."""
        figures = {
            "evaluator_score": self.evaluator,
            "human_score": self.human,
            "threshold": self.threshold,
            "positive": self.positive,
            "scope": self.scope,
            "group": self.group,
            "note": note,
            **{name: self.row()[name] for name in ("n", "agreement", "kappa", "tpr", "tnr")},
        }
        return [
            RunAnnotation(
                local_id,
                f"agreement.{self.evaluator}.{self.human}",
                person == judged,
                {**figures, "person": person, "evaluator": judged},
                author="agentnb.evals.agreement",
            )
            for local_id, person, judged in self.pairs
        ]

    # ---- shown -------------------------------------------------------------------------
    def title(self) -> str:
        reading = (
            f"pass at {self.threshold:g}"
            if self.positive is None
            else f"positive: labelled {self.positive!r}"
        )
        how = f", {reading}" if self.binary else ", labels"
        group = f" on {self.group}" if self.group is not None else ""
        return f"score.{self.evaluator} against score.{self.human} (the person){group}{how}"

    def _figures(self) -> list[tuple[str, str]]:
        figures = [
            ("runs both scored", str(self.n)),
            ("agreement", _share(self.agreement, self._agreed(), self.n)),
            (
                "κ (Cohen)",
                "undefined: one class only" if self.kappa is None else f"{self.kappa:.3f}",
            ),
        ]
        if self.binary:
            figures += [("TPR", self._rate_text(True)), ("TNR", self._rate_text(False))]
        figures.append(("missing", self._missing_text()))
        figures.append(("confusion", self._confusion_text()))
        if self.disagreeing:
            figures.append(("disagreements", f"{len(self.disagreeing)} runs: .disagreements"))
        if self.repeated:
            said = f"{self.repeated} runs were named more than once: each counted once"
            figures.append(("note", said))
        return figures

    def _agreed(self) -> int:
        return sum(self.counts[i][i] for i in range(len(self.classes)))

    def _rate_text(self, truth: bool) -> str:
        row = self.counts[self.classes.index(truth)]
        word = self._verb(truth)
        if not sum(row):
            return f"— (the person {word} none)"
        rate = self._rate(truth)
        hit = row[self.classes.index(truth)]
        return f"{_share(rate, hit, sum(row))} of those the person {word}"

    def _verb(self, truth: bool) -> str:
        """What the person did to a run of that class: ``passed`` / ``failed``; with
        ``positive=`` a label (a failure mode, often), ``labelled 'parrots'`` / ``did not
        label 'parrots'``: not a pass, whatever the label says."""
        if self.positive is None:
            return "passed" if truth else "failed"
        return f"labelled {self.positive!r}" if truth else f"did not label {self.positive!r}"

    def _missing_text(self) -> str:
        lacking = [(name, count) for name, count in self.missing.items() if count]
        if not lacking:
            return "none: every run scored by one side is scored by both"
        other = {self.evaluator: self.human, self.human: self.evaluator}
        return "; ".join(
            f"{count} with score.{other[name]} but no score.{name}" for name, count in lacking
        )

    def _confusion_text(self) -> str:
        """``person ✓: judge ✓ 18, ✗ 2; person ✗: ...`` in one line a row (with ``positive=``
        the label and ``not`` it, never ✓ / ✗)."""
        return "; ".join(
            f"person {self._class(c)}: "
            + ", ".join(f"{self._class(d)} {self.counts[i][j]}" for j, d in enumerate(self.classes))
            for i, c in enumerate(self.classes)
        )

    def _class(self, value: Class) -> str:
        if isinstance(value, bool) and self.positive is not None:
            return repr(self.positive) if value else f"not {self.positive!r}"
        return _class(value)

    def _table(self) -> Table:
        columns = [Column("", head=True), Column("", wrap=True)]
        rows = [(name, clean(text)) for name, text in self._figures()]
        return Table(columns, rows, title=clean(self.title()), name=NO_MATH)

    def to_text(self, width: int | None = None) -> str:
        return table_text(self._table(), width or text_width())

    def _repr_html_(self) -> str:
        return table_html(self._table())

    def row(self) -> dict[str, Any]:
        """Its figures as one row (:meth:`Agreements.to_pandas`)."""
        return {
            "n": self.n,
            "agreement": self.agreement,
            "kappa": self.kappa,
            "tpr": self.tpr,
            "tnr": self.tnr,
            **{f"missing.{name}": count for name, count in self.missing.items()},
        }


def _share(value: float | None, part: int, whole: int) -> str:
    return "—" if value is None else f"{percent(value)} ({part} of {whole})"


def _class(value: Class) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return repr(value)


class Agreements(PrintedAsText, dict[str, Agreement]):
    """One agreement per arm (or agent), each shown as its block; ``to_pandas()``: one row
    per group."""

    def to_pandas(self) -> pd.DataFrame:
        require_pandas()  # says which extra to install when it is missing
        import pandas as pd  # optional: the figures as a frame

        return pd.DataFrame.from_dict(
            {group: found.row() for group, found in self.items()}, orient="index"
        )

    def keep(self, note: str | None = None) -> Agreements:
        """Keep each group's agreement (see :meth:`Agreement.keep`). Returns them."""
        for found in self.values():
            if found.n:
                found.keep(note)
        return self

    def to_text(self, width: int | None = None) -> str:
        return "\n\n".join(found.to_text(width) for found in self.values())

    def _repr_html_(self) -> str:
        return "".join(found._repr_html_() for found in self.values())


def agreements(*, store: HistoryStore | None = None) -> pd.DataFrame:
    """The agreements kept (``agreement(...).keep()``), newest first: the evaluator and
    person's scores, κ, agreement, n, TPR, TNR and the note first (what a terminal's width
    shows), then how values were read, the runs it read (``scope``, ``subset``: the arm or
    agent) and when; set a judge's versions side by side."""
    require_pandas()  # says which extra to install when it is missing
    import pandas as pd  # optional: the listing is a frame

    kept = kept_store("agreements", store)
    # the figures first, beside what they are of: a terminal's 80 columns show the first
    # and last columns and hide the middle behind "..." (κ was there)
    columns = [
        "evaluator", "human", "kappa", "agreement", "n", "tpr", "tnr", "note",
        "threshold", "positive", "scope", "subset", "created",
    ]  # fmt: skip
    rows = kept.read_rows(
        f"SELECT {', '.join(columns)} FROM agreements ORDER BY created DESC, id DESC", ()
    )
    frame = pd.DataFrame([list(row) for row in rows], columns=columns)
    frame["created"] = pd.to_datetime(frame["created"], unit="s", utc=True)
    return frame
