"""An experiment shown: the question × arm grid (:class:`ExperimentGrid`, as a table in HTML
and text, and as plain values for its view's Open and Compare) and two arms compared
(:class:`ExperimentComparison`). Questions and answers are untrusted and reach the output
only through :func:`agentnb.display.clean` and the table's escaping.
"""

from __future__ import annotations

import html
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agentnb.display import (
    NO_MATH,
    Cell,
    Column,
    Row,
    Table,
    cell_text,
    clean,
    excerpt,
    in_blocks,
    percent,
    require_pandas,
    seen_text,
    table_html,
    table_text,
    text_width,
    visible,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ExperimentComparison",
    "ExperimentGrid",
    "GridCell",
    "GridRow",
    "LeftOut",
    "PairedQuestion",
    "Verdict",
]

PairedQuestion = tuple[str, str, float, float]
"""One question paired: its id, the question, ``a``'s score and ``b``'s (a run that did not
complete: the comparison's ``floor``)."""

LISTED_LEFT_OUT = 5
"""Questions left out that a comparison names (the rest are counted)."""


@dataclass(frozen=True, slots=True)
class LeftOut:
    """A question a comparison could not pair: arm ``arm``'s run of it completed without a
    score of the name compared (or that arm has no such question), and ``why``."""

    id: str
    question: str
    arm: str
    why: str
    """``not scored``, ``<evaluator> failed: <its error>``, ``a label ('x'), not a number``
    or ``no such question``."""


ANSWER_CHARS = 160
"""Characters of an answer a grid cell shows."""
QUESTION_CHARS = 24
MIN_ARM_CHARS = 26
"""The text grid's question column, and the narrowest an arm's column gets (with its gap)."""
SHOWN_ROWS = 200
"""Questions a grid shows (the table has them all)."""
_MUTED = "opacity:0.75;font-size:0.9em"
_FAILED = "color:var(--jp-error-color1, #c62828)"


def score_text(name: str, value: object) -> str:
    """A score as read: ✓ / ✗ for a bool, a number as a summary shows it (``0.8125``,
    ``1,204``), a label as itself; ``—`` when missing."""
    if isinstance(value, bool):
        return "✓" if value else "✗"
    return cell_text(f"score.{name}", value)


def _answer(answer: str | None) -> str:
    """An answer's first words as a reader sees them (rendered, not its markdown)."""
    return excerpt(seen_text(clean(answer or "")), ANSWER_CHARS)


@dataclass(frozen=True, slots=True)
class GridCell:
    """One question's run on one arm (None: no run yet)."""

    status: str | None
    answer: str | None = None
    scores: Mapping[str, object] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    """Evaluator → what it raised on this run."""
    local_id: str | None = None
    """The run's id (``agentnb.show`` opens it)."""

    @property
    def opens(self) -> bool:
        return self.status is not None and self.local_id is not None

    def parts(self) -> tuple[str, list[str], list[str]]:
        """The answer's first words (and its status), its scores, each evaluator failed, every
        character visible."""
        if self.status is None:
            return "(not run)", [], []
        answer = _answer(self.answer) or f"({self.status})"
        first = answer if self.status == "completed" else f"[{self.status}] {answer}"
        scores = [visible(f"{name} {score_text(name, v)}") for name, v in self.scores.items()]
        errors = [visible(f"{name} failed: {clean(e)}") for name, e in self.errors.items()]
        return visible(first), scores, errors

    def text(self) -> str:
        answer, scores, errors = self.parts()
        return " · ".join([answer, *scores, *errors])

    def hover(self) -> str:
        return f"run {self.local_id}: agentnb.show({self.local_id!r})" if self.opens else ""

    def html(self) -> str:
        if self.status is None:
            return "<em>not run</em>"
        answer, scores, errors = self.parts()
        shown = " · ".join(html.escape(score) for score in scores)
        muted = f'<div style="{_MUTED}">{shown}</div>' if scores else ""
        failed = "".join(f'<div style="{_FAILED}">{html.escape(e)}</div>' for e in errors)
        return f"{html.escape(answer)}{muted}{failed}"

    def wire(self) -> dict[str, Any]:
        """The cell as the grid's view draws it (plain text)."""
        answer, scores, errors = self.parts()
        run = self.local_id if self.opens else None
        return {"id": run, "answer": answer, "scores": " · ".join(scores), "errors": errors}


@dataclass(frozen=True, slots=True)
class GridRow:
    question: str
    expected: object
    cells: Sequence[GridCell]
    id: str = ""
    """The question's id in the dataset (``exp.run(id, arm)``, ``exp.pair(id)``)."""

    def label(self) -> str:
        question = clean(excerpt(self.question, ANSWER_CHARS))
        return f"[{clean(self.id)}] {question}" if self.id else question


@dataclass(frozen=True, slots=True)
class ExperimentGrid:
    """An experiment as a question × arm grid."""

    title: str
    arms: Sequence[str]
    rows: Sequence[GridRow]

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        """The grid as a table that fits the notebook's cell: columns share its width (the
        question a fifth, the expected answer an eighth), words wrap, the answers are the
        words a reader sees, and MathJax leaves their ``$`` alone."""
        expected = any(row.expected is not None for row in self.rows)
        columns = [Column("question", wrap=True, width="20%")]
        columns += [Column("expected", wrap=True, width="12%")] if expected else []
        columns += [Column(clean(arm), wrap=True) for arm in self.arms]
        rows: list[Row] = [
            [
                row.label(),
                *([_expected(row.expected)] if expected else []),
                *(Cell(html=cell.html(), title=cell.hover()) for cell in row.cells),
            ]
            for row in self.rows[:SHOWN_ROWS]
        ]
        name = f"agentnb-experiment {NO_MATH}"
        return table_html(
            Table(columns, rows, title=self.title, notes=self._notes(), name=name, fixed=True)
        )

    def to_text(self, width: int | None = None) -> str:
        """The grid as text that fits ``width`` (default: the terminal's, else 80): the
        question (and its expected answer) beside each arm's answer, scores and failures,
        wrapped at words, as many arms a block as fit."""
        fit = width or text_width()
        arms = max(1, min(len(self.arms), (fit - QUESTION_CHARS - 2) // MIN_ARM_CHARS))
        chars = (fit - QUESTION_CHARS - 2) // arms - 2
        columns = [Column("question", wrap=True, chars=QUESTION_CHARS, head=True)]
        columns += [Column(clean(arm), wrap=True, chars=chars) for arm in self.arms]
        rows: list[Row] = [
            [_question(row), *(cell.text() for cell in row.cells)] for row in self.rows[:SHOWN_ROWS]
        ]
        table = Table(columns, rows, title=self.title, notes=self._notes())
        return "\n\n".join(table_text(block, fit) for block in in_blocks(table, fit))

    def wire(self) -> dict[str, Any]:
        """The grid as its view (js/src/runs_table_grid.js) draws it: plain text, every
        character visible, each cell's run id for its Open button."""
        rows = self.rows[:SHOWN_ROWS]
        return {
            "title": visible(self.title),
            "arms": [visible(clean(arm)) for arm in self.arms],
            "expected": any(row.expected is not None for row in rows),
            "rows": [
                {
                    "question": visible(row.label()),
                    "expected": visible(_expected(row.expected)),
                    "cells": [cell.wire() for cell in row.cells],
                }
                for row in rows
            ],
            "notes": self._notes(),
        }

    def _notes(self) -> list[str]:
        more = len(self.rows) - SHOWN_ROWS
        shown = [f"… {more} more questions (see .to_pandas())"] if more > 0 else []
        return [*self._label_counts(), *shown]

    def _label_counts(self) -> list[str]:
        """Each label score's labels counted per arm over every question (a failure mode's:
        ``score.mode per arm: echo: parrots 3, stale 1; finance_agent: none 4``)."""
        names = sorted(
            {
                name
                for row in self.rows
                for cell in row.cells
                for name, value in cell.scores.items()
                if isinstance(value, str)
            }
        )
        lines = []
        for name in names:
            arms = []
            for place, arm in enumerate(self.arms):
                counted = Counter(
                    value
                    for row in self.rows
                    if isinstance(value := row.cells[place].scores.get(name), str)
                )
                listed = ", ".join(f"{label} {count}" for label, count in counted.most_common())
                arms += [f"{arm}: {listed}"] if counted else []
            lines.append(visible(clean(f"score.{name} per arm: {'; '.join(arms)}")))
        return lines

    def __repr__(self) -> str:
        return self.to_text()


def _question(row: GridRow) -> str:
    expected = "" if row.expected is None else f" (expected: {_expected(row.expected)})"
    return row.label() + expected


def _expected(value: object) -> str:
    return "" if value is None else clean(excerpt(str(value), ANSWER_CHARS))


@dataclass(frozen=True, slots=True)
class ExperimentComparison:
    """Two arms of an experiment paired question by question on one score: per-question
    differences (``a - b``), how often ``a`` won, the mean difference with a bootstrap
    interval, the sign test, the cost and latency ratios, and every question accounted
    for: those counted as failed (a run that did not complete scores the ``floor``) and
    those left out (a completed run with no score)."""

    experiment: str
    a: str
    b: str
    score: str
    questions: Sequence[PairedQuestion]
    """Each question paired: its id, the question, ``a``'s score and ``b``'s."""
    wins: int
    """Questions where ``a`` scored higher."""
    ties: int
    losses: int
    mean_difference: float
    interval: tuple[float, float]
    """The mean difference's bootstrap interval (``confidence``, seeded)."""
    confidence: float
    cost_ratio: float | None
    """``a``'s total cost over ``b``'s on the questions both completed (None: a cost is
    unknown)."""
    latency_ratio: float | None
    """``a``'s median agent time over ``b``'s on the questions both completed."""
    share: bool = False
    """The score is a bool's: a mean is the share of True, so the difference is shown in
    percent as a summary shows the mean (``+33.3%``)."""
    failed: tuple[int, int] = (0, 0)
    """Questions whose run on ``a`` (on ``b``) did not complete (failed, cancelled,
    interrupted, never run): each paired as a failed question, scoring :attr:`floor`."""
    left_out: Sequence[LeftOut] = ()
    """Questions not paired: a completed run with no score of this name (or no such
    question on one side), per arm, with why."""
    floor: float = 0.0
    """What a failed question scores: ✗ (0) for a bool, else 0 or the lowest score given,
    whichever is lower."""
    min_questions: int = 1
    """The fewest paired questions the comparison decides on."""

    @property
    def decided(self) -> bool:
        """Whether there are questions enough to call a difference (``min_questions``)."""
        return len(self.questions) >= self.min_questions

    @property
    def sign_test(self) -> float:
        """The exact two-sided sign test's p-value on the questions decided (wins against
        losses; ties left out): 1.0 when none is decided."""
        decided = self.wins + self.losses
        fewer = min(self.wins, self.losses)
        tail = sum(math.comb(decided, k) for k in range(fewer + 1)) / 2**decided
        return min(1.0, 2 * float(tail))

    @property
    def significant(self) -> bool:
        """Whether ``a`` and ``b`` differ at ``confidence``: on questions enough, the
        interval of the mean difference leaves out 0 and the sign test agrees."""
        low, high = self.interval
        outside = low > 0 or high < 0
        return self.decided and outside and self.sign_test < 1 - self.confidence

    @property
    def left_out_questions(self) -> list[str]:
        """The ids of the questions left out (each once, whichever arm lacks its score)."""
        return list(dict.fromkeys(found.id for found in self.left_out))

    def finding(self) -> str:
        """In words: ``a`` significantly better or worse than ``b``, no significant
        difference, or too few questions to tell, at the comparison's confidence."""
        if not self.decided:
            return f"{_questions(len(self.questions))}: too few to call a difference"
        if not self.significant:
            return f"no significant difference ({self._why_not()})"
        better = "better" if self.interval[0] > 0 else "worse"
        return f"{self.a} significantly {better} than {self.b} (at {self.confidence:.0%})"

    def _why_not(self) -> str:
        low, high = self.interval
        if low <= 0 <= high:
            return f"{self.confidence:.0%} interval includes 0"
        return (
            f"{self.wins} wins and {self.losses} losses could be chance: sign test p = "
            f"{self.sign_test:.2g}"
        )

    @property
    def win_rate(self) -> float | None:
        """Wins over the questions decided (ties left out); None when every one is a tie."""
        decided = self.wins + self.losses
        return self.wins / decided if decided else None

    def to_pandas(self) -> pd.DataFrame:
        """One row per question paired: its id, the question, both scores and the
        difference."""
        require_pandas()  # says which extra to install when it is missing
        import pandas as pd  # optional: the frame is the only thing that needs it

        return pd.DataFrame(
            {
                "id": [q[0] for q in self.questions],
                "question": [q[1] for q in self.questions],
                f"{self.score} ({self.a})": [q[2] for q in self.questions],
                f"{self.score} ({self.b})": [q[3] for q in self.questions],
                "difference": [q[2] - q[3] for q in self.questions],
            }
        )

    def _figures(self, costs: bool = True) -> list[tuple[str, str]]:
        """The figures in their lines; ``costs``: with the cost and latency ratios."""
        low, high = self.interval
        mean = self._difference(self.mean_difference)
        spread = (
            "no spread: the same difference on every question"
            if low == high
            else f"{self.confidence:.0%} interval {self._difference(low)} to "
            f"{self._difference(high)}"
        )
        figures = [
            ("questions", self._questions_text()),
            *self._accounting(),
            ("wins / ties / losses", f"{self.wins} / {self.ties} / {self.losses}"),
            ("win rate", self._win_rate_text()),
            ("mean difference (A − B)", f"{mean} ({spread})"),
            ("significant", self._significance_text()),
        ]
        if costs:
            figures += [
                ("cost ratio (A ÷ B, total)", _times(self.cost_ratio)),
                ("latency ratio (A ÷ B, median agent time)", _times(self.latency_ratio)),
            ]
        return figures

    def _questions_text(self) -> str:
        paired = len(self.questions)
        out = len(self.left_out_questions)
        shown = f"{paired} paired, {out} left out" if out else str(paired)
        if self.decided:
            return shown
        return (
            f"{shown}: too few to call a difference (at least {self.min_questions} at "
            f"{self.confidence:.0%})"
        )

    def _accounting(self) -> list[tuple[str, str]]:
        """The lines saying which questions failed and which were left out, where any."""
        lines = []
        failed = [(arm, n) for arm, n in zip((self.a, self.b), self.failed, strict=True) if n]
        if failed:
            counted = "✗" if self.share else self._difference(self.floor).lstrip("+")
            each = ", ".join(f"{arm} {n}" for arm, n in failed)
            lines.append(("failed runs", f"{each} (each a failed question, counted {counted})"))
        if self.left_out:
            named = [
                f"{clean(found.id)} ({clean(found.arm)}: {clean(found.why)})"
                for found in self.left_out[:LISTED_LEFT_OUT]
            ]
            more = len(self.left_out) - LISTED_LEFT_OUT
            named += [f"… {more} more"] if more > 0 else []
            lines.append((f"left out (no score.{self.score})", "; ".join(named)))
        return lines

    def _win_rate_text(self) -> str:
        rate = self.win_rate
        if rate is None:
            return f"— (no question decided: {_ties(self.ties)})"
        ties = f", {_ties(self.ties)} left out" if self.ties else ""
        return f"{rate:.0%} of {self.wins + self.losses} decided{ties}"

    def _significance_text(self) -> str:
        if not self.decided:
            return (
                f"not decided: {_questions(len(self.questions))} are too few (at least "
                f"{self.min_questions} at {self.confidence:.0%})"
            )
        low, high = self.interval
        if low <= 0 <= high:
            return f"no: the {self.confidence:.0%} interval includes 0"
        if not self.significant:
            return f"no: {self._why_not()}"
        side = "better" if self.interval[0] > 0 else "worse"
        return (
            f"yes: {self.a} is {side} (the {self.confidence:.0%} interval leaves out 0; sign "
            f"test p = {self.sign_test:.2g})"
        )

    def _difference(self, value: float) -> str:
        return percent(value, signed=True) if self.share else f"{value:+.3f}"

    def _table(self, costs: bool = True) -> Table:
        title = f"{self.experiment}: {self.a} (A) against {self.b} (B) on score.{self.score}"
        columns = [Column("", head=True), Column("", wrap=True)]
        return Table(columns, self._figures(costs), title=title, name=NO_MATH)

    def to_text(self, width: int | None = None, *, costs: bool = True) -> str:
        """The comparison as text fitted to ``width``; ``costs``: with its cost and latency
        ratios (a list of comparisons shows them once)."""
        return table_text(self._table(costs), width or text_width())

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self, *, costs: bool = True) -> str:
        return table_html(self._table(costs))

    def same_costs(self, other: ExperimentComparison) -> bool:
        """Whether ``other``'s cost and latency lines are this one's (the same arms and
        ratios: they do not depend on the score)."""
        return (self.a, self.b, self.cost_ratio, self.latency_ratio) == (
            other.a,
            other.b,
            other.cost_ratio,
            other.latency_ratio,
        )


def _questions(count: int) -> str:
    return f"{count} question" if count == 1 else f"{count} questions"


def _ties(count: int) -> str:
    return f"{count} tie" if count == 1 else f"{count} ties"


def _times(ratio: float | None) -> str:
    return "unknown" if ratio is None else f"{ratio:.3g}×"


@dataclass(frozen=True, slots=True)
class Verdict:
    """What ``Experiment.check`` says of a candidate against its baseline: its
    :attr:`outcome` (``pass``, ``fail`` or ``undecided``), ``passed`` (also its truth:
    ``assert exp.check(...)``), why, and the comparison it read (``comparison.a`` the
    candidate, ``.b`` the baseline).

    Every question counts: a candidate's run that did not complete is a failed question;
    a question with no score on either side fails the gate unless ``allow_missing`` allows
    that many; on fewer questions than the comparison decides on, the outcome is
    ``undecided``, which passes only with ``undecided="pass"``."""

    comparison: ExperimentComparison
    fail_if: str
    """``"worse"``: it fails when significantly worse; ``"not better"``: unless significantly
    better."""
    allow_missing: int = 0
    """How many questions may be left out for a missing score before the gate fails."""
    undecided: str = "fail"
    """What an undecided gate does: ``"fail"`` (the default) or ``"pass"``."""

    @property
    def worse(self) -> bool:
        """The candidate is significantly worse than the baseline."""
        return self.comparison.significant and self.comparison.interval[1] < 0

    @property
    def better(self) -> bool:
        """The candidate is significantly better than the baseline."""
        return self.comparison.significant and self.comparison.interval[0] > 0

    @property
    def missing(self) -> int:
        """The questions left out for a missing score (on either arm)."""
        return len(self.comparison.left_out_questions)

    @property
    def decided(self) -> bool:
        """Whether the comparison had questions enough to call a difference."""
        return self.comparison.decided

    @property
    def outcome(self) -> str:
        """``fail`` when more questions have no score than allowed, ``undecided`` on too
        few questions, else ``pass`` or ``fail`` as ``fail_if`` reads the comparison."""
        if self.missing > self.allow_missing:
            return "fail"
        if not self.decided:
            return "undecided"
        passed = not self.worse if self.fail_if == "worse" else self.better
        return "pass" if passed else "fail"

    @property
    def passed(self) -> bool:
        outcome = self.outcome
        return outcome == "pass" or (outcome == "undecided" and self.undecided == "pass")

    def __bool__(self) -> bool:
        return self.passed

    def headline(self) -> str:
        """The verdict in one line: PASS, FAIL or UNDECIDED, and why."""
        shown = self.comparison
        outcome = self.outcome
        if self.missing > self.allow_missing:
            total = len(shown.questions) + self.missing
            return (
                f"FAIL: {self.missing} of {total} questions have no score.{shown.score}, more "
                f"than the {self.allow_missing} allowed (allow_missing= / --allow-missing)"
            )
        if outcome == "undecided":
            treated = "passes it" if self.undecided == "pass" else "fails it"
            return (
                f"UNDECIDED: {shown.finding()} on score.{shown.score}; the gate treats it as "
                f"not decided and {treated} (min_questions= / --min-questions: "
                f"{shown.min_questions})"
            )
        gate = "fails if significantly worse" if self.fail_if == "worse" else (
            "fails unless significantly better"
        )  # fmt: skip
        return f"{outcome.upper()}: {shown.finding()} on score.{shown.score} ({gate})"

    def to_text(self, width: int | None = None) -> str:
        return f"{self.headline()}\n{self.comparison.to_text(width)}"

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        head = html.escape(clean(self.headline()))
        return f"<p><strong>{head}</strong></p>{self.comparison._repr_html_()}"
