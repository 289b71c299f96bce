"""An experiment shown: the question × agent grid (:class:`ExperimentGrid`: each cell the
answer, its status and scores, or that an evaluator failed) and a paired comparison of two
arms (:class:`ExperimentComparison`). Both are handed plain values, draw HTML without
script (the same live and saved) and text; answers and questions are untrusted and reach
the HTML only through :func:`~agentnb._display.static_copy.clean` and ``html.escape``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._core.text import excerpt
from .static_copy import clean

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ExperimentComparison", "ExperimentGrid", "GridCell", "GridRow", "PairedQuestion"]

PairedQuestion = tuple[str, str, float, float]
"""One question both arms answered and were scored on: its id, the question, ``a``'s score
and ``b``'s."""

ANSWER_CHARS = 160
"""Characters of an answer a grid cell shows."""
SHOWN_ROWS = 200
"""Questions a grid shows (the table has them all)."""
_CELL = ' style="text-align:left;vertical-align:top;padding:2px 8px"'


def _esc(text: object) -> str:
    return html.escape(clean(str(text)))


def _value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


@dataclass(frozen=True, slots=True)
class GridCell:
    """One question's run on one arm (None: no run yet)."""

    status: str | None
    answer: str | None = None
    scores: Mapping[str, object] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    """Evaluator → what it raised on this run."""

    def text(self) -> str:
        if self.status is None:
            return "(not run)"
        parts = [excerpt(clean(self.answer or ""), ANSWER_CHARS) or f"({self.status})"]
        if self.status != "completed":
            parts[0] = f"[{self.status}] {parts[0]}"
        parts += [f"{name}={_value(value)}" for name, value in self.scores.items()]
        parts += [f"{name} failed: {error}" for name, error in self.errors.items()]
        return " · ".join(parts)

    def html(self) -> str:
        if self.status is None:
            return "<em>not run</em>"
        answer = excerpt(clean(self.answer or ""), ANSWER_CHARS)
        status = "" if self.status == "completed" else f"<b>[{_esc(self.status)}]</b> "
        scores = "".join(
            f"<br><code>{_esc(name)}</code> = {_esc(_value(value))}"
            for name, value in self.scores.items()
        )
        errors = "".join(
            f'<br><span style="color:#b00">{_esc(name)} failed: {_esc(error)}</span>'
            for name, error in self.errors.items()
        )
        return f"{status}{html.escape(answer)}{scores}{errors}"


@dataclass(frozen=True, slots=True)
class GridRow:
    question: str
    expected: object
    cells: Sequence[GridCell]


@dataclass(frozen=True, slots=True)
class ExperimentGrid:
    """An experiment as a question × arm grid."""

    title: str
    arms: Sequence[str]
    rows: Sequence[GridRow]

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_html(self) -> str:
        head = "".join(f"<th{_CELL}>{_esc(arm)}</th>" for arm in self.arms)
        body = "".join(
            f"<tr><td{_CELL}>{_esc(excerpt(row.question, ANSWER_CHARS))}</td>"
            f"<td{_CELL}>{'' if row.expected is None else _esc(row.expected)}</td>"
            + "".join(f"<td{_CELL}>{cell.html()}</td>" for cell in row.cells)
            + "</tr>"
            for row in self.rows[:SHOWN_ROWS]
        )
        more = (
            f"<p>… {len(self.rows) - SHOWN_ROWS} more questions (see .to_pandas())</p>"
            if len(self.rows) > SHOWN_ROWS
            else ""
        )
        return (
            f"<div><b>{_esc(self.title)}</b><table><thead><tr><th{_CELL}>question</th>"
            f"<th{_CELL}>expected</th>{head}</tr></thead><tbody>{body}</tbody></table>{more}</div>"
        )

    def to_text(self) -> str:
        lines = [self.title]
        for row in self.rows[:SHOWN_ROWS]:
            expected = "" if row.expected is None else f"  (expected: {clean(str(row.expected))})"
            lines.append(f"- {clean(excerpt(row.question, ANSWER_CHARS))}{expected}")
            lines += [
                f"    {arm}: {cell.text()}" for arm, cell in zip(self.arms, row.cells, strict=True)
            ]
        if len(self.rows) > SHOWN_ROWS:
            lines.append(f"… {len(self.rows) - SHOWN_ROWS} more questions (see .to_pandas())")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()


@dataclass(frozen=True, slots=True)
class ExperimentComparison:
    """Two arms of an experiment on the questions both answered and were scored on:
    per-question differences (``a - b``), how often ``a`` won, the mean difference with a
    bootstrap interval, and the cost and latency ratios."""

    experiment: str
    a: str
    b: str
    score: str
    questions: Sequence[PairedQuestion]
    """Each question: its id, the question, ``a``'s score and ``b``'s."""
    wins: int
    """Questions where ``a`` scored higher."""
    ties: int
    losses: int
    mean_difference: float
    interval: tuple[float, float]
    """The mean difference's bootstrap interval (``confidence``, seeded)."""
    confidence: float
    cost_ratio: float | None
    """``a``'s total cost over ``b``'s on these questions (None: a cost is unknown)."""
    latency_ratio: float | None
    """``a``'s median agent time over ``b``'s on these questions."""

    @property
    def win_rate(self) -> float:
        """Wins over questions, a tie counting half."""
        return (self.wins + self.ties / 2) / len(self.questions) if self.questions else 0.0

    def to_pandas(self) -> pd.DataFrame:
        """One row per question: its id, the question, both scores and the difference."""
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

    def _figures(self) -> list[tuple[str, str]]:
        low, high = self.interval
        ratio = "unknown" if self.cost_ratio is None else f"{self.cost_ratio:.3g}×"
        latency = "unknown" if self.latency_ratio is None else f"{self.latency_ratio:.3g}×"
        return [
            ("questions", str(len(self.questions))),
            ("wins / ties / losses", f"{self.wins} / {self.ties} / {self.losses}"),
            ("win rate", f"{self.win_rate:.0%}"),
            (
                f"mean difference ({self.score})",
                f"{self.mean_difference:+.3g} ({self.confidence:.0%} interval "
                f"{low:+.3g} to {high:+.3g})",
            ),
            ("cost ratio (total)", ratio),
            ("latency ratio (median agent time)", latency),
        ]

    def to_text(self) -> str:
        title = f"{self.experiment}: {self.a} against {self.b} on score.{self.score}"
        return "\n".join([title, *(f"  {name}: {value}" for name, value in self._figures())])

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.to_text())

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th{_CELL}>{_esc(name)}</th><td{_CELL}>{_esc(value)}</td></tr>"
            for name, value in self._figures()
        )
        title = f"{self.experiment}: {self.a} against {self.b} on score.{self.score}"
        return f"<div><b>{_esc(title)}</b><table>{rows}</table></div>"
