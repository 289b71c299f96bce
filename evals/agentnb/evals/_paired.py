"""Two arms paired question by question on one score (what ``Experiment.compare`` and the
gate ``Experiment.check`` read), every question accounted for: a run that did not complete
is a failed question for its arm (it counts as the score's lowest), a completed run with no
score is left out and said (which arm, and why), and the figures say when there are too few
questions for the test to call a difference.

Significance is two tests that must agree: the percentile bootstrap interval of the mean
difference leaves out 0, and the exact sign test on the questions decided (wins against
losses, ties left out) is below ``1 - confidence``. The sign test is what keeps a difference
with no spread (every question the same difference, so the bootstrap's interval is a point)
from being significant by fiat: two losses of two are as likely as two tosses of a coin.
The fewest questions a comparison needs is the fewest on which the sign test could reject
at all (:func:`fewest_questions`: 6 at 95%); on fewer it says it cannot decide.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any, Final

from agentnb import ConfigurationError
from agentnb.display import excerpt, is_share

from ._views import ExperimentComparison, LeftOut, PairedQuestion

__all__ = [
    "RESAMPLES",
    "NothingPaired",
    "bootstrap_interval",
    "checked_statistics",
    "fewest_questions",
    "paired_comparison",
    "score_number",
]

RESAMPLES: Final = 2000
"""Bootstrap resamples of a comparison's mean difference."""

REASON_CHARS: Final = 120
"""Characters of an evaluator's error a left-out question quotes."""

Side = tuple[str, Sequence[dict[str, Any]]]
"""An arm: its label and its rows (``Experiment._table``'s), question by question."""


class NothingPaired(ConfigurationError):
    """No question pairs the two arms on the score: :attr:`reason` says why (which arm
    lacks it, and why)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def checked_statistics(confidence: float, min_questions: int | None) -> None:
    """A clear error for a confidence outside (0, 1) or a ``min_questions`` that is not a
    whole number >= 1."""
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, int | float)
        or not (0 < confidence < 1)
    ):
        raise ConfigurationError(f"confidence is between 0 and 1, not {confidence!r}")
    if min_questions is not None and (
        isinstance(min_questions, bool) or not isinstance(min_questions, int) or min_questions < 1
    ):
        raise ConfigurationError(
            f"min_questions is the fewest questions a comparison decides on: a whole number "
            f">= 1 (or None: {fewest_questions(confidence)} at {confidence:.0%}), not "
            f"{min_questions!r}"
        )


def fewest_questions(confidence: float) -> int:
    """The fewest questions on which a difference can be called at ``confidence``: the
    smallest ``n`` whose one-sided result (``n`` wins, no loss) the two-sided sign test
    rejects, ``2 * 0.5**n < 1 - confidence`` (6 at 95%, 8 at 99%)."""
    count = 1
    while 2 * 0.5**count >= 1 - confidence:
        count += 1
    return count


def paired_comparison(
    experiment: str,
    a: Side,
    b: Side,
    name: str,
    confidence: float,
    seed: int,
    min_questions: int | None = None,
) -> ExperimentComparison:
    """Arm ``a`` against arm ``b`` on score ``name``, paired by the question's id. Each
    question either pairs (both runs scored, or a run that did not complete counted as a
    failed question), or is left out for a score missing on a completed run (or the
    question missing from one side), and kept as such. ``min_questions``: the fewest paired
    questions the comparison decides on (default: :func:`fewest_questions`)."""
    key = f"score.{name}"
    rights = {row["id"]: row for row in b[1]}
    lefts = {row["id"]: row for row in a[1]}
    ids = list(dict.fromkeys([*lefts, *rights]))
    given = [row.get(key) for row in [*a[1], *b[1]] if row.get("status") == "completed"]
    numbers = [n for n in map(score_number, given) if n is not None]
    if not numbers:
        reason = "no completed run of either arm has one"
        raise NothingPaired(
            f"no question has a score.{name} for both {a[0]!r} and {b[0]!r}: {reason}; score "
            "the runs first (.evaluate(fn))",
            reason,
        )
    share = is_share(given)
    floor = 0.0 if share else min(0.0, *numbers)
    paired: list[tuple[dict[str, Any], dict[str, Any], PairedQuestion]] = []
    left_out: list[LeftOut] = []
    failed = [0, 0]
    for question_id in ids:
        left, right = lefts.get(question_id), rights.get(question_id)
        sides = [(a[0], left), (b[0], right)]
        missing = [_left_out(label, row, other, name) for (label, row), (_, other) in
                   zip(sides, [sides[1], sides[0]], strict=True)]  # fmt: skip
        if left is None or right is None or any(missing):
            left_out += [found for found in missing if found is not None]
            continue
        x, y = _paired_value(left, key, floor), _paired_value(right, key, floor)
        failed[0] += left["status"] != "completed"
        failed[1] += right["status"] != "completed"
        paired.append((left, right, (question_id, left["message"], x, y)))
    if not paired:
        reason = _missing_words(left_out)
        raise NothingPaired(
            f"no question has a score.{name} for both {a[0]!r} and {b[0]!r}: {reason}; score "
            "the runs first (.evaluate(fn))",
            reason,
        )
    questions = [question for _, _, question in paired]
    completed = [  # the ratios: of the questions both arms' runs completed, a quick failure
        (left, right)  # flattering no one
        for left, right, _ in paired
        if left["status"] == right["status"] == "completed"
    ]
    differences = [a_score - b_score for _, _, a_score, b_score in questions]
    return ExperimentComparison(
        experiment=experiment,
        a=a[0],
        b=b[0],
        score=name,
        questions=questions,
        wins=sum(d > 0 for d in differences),
        ties=sum(d == 0 for d in differences),
        losses=sum(d < 0 for d in differences),
        mean_difference=statistics.fmean(differences),
        interval=bootstrap_interval(differences, confidence, seed),
        confidence=confidence,
        cost_ratio=_ratio(
            [left["cost_usd"] for left, _ in completed],
            [right["cost_usd"] for _, right in completed],
            sum,
        ),
        latency_ratio=_ratio(
            [left["duration"] for left, _ in completed],
            [right["duration"] for _, right in completed],
            statistics.median,
        ),
        share=share,
        failed=(failed[0], failed[1]),
        left_out=tuple(left_out),
        floor=floor,
        min_questions=fewest_questions(confidence) if min_questions is None else min_questions,
    )


def _paired_value(row: dict[str, Any], key: str, floor: float) -> float:
    """A paired question's score on one arm: its score, or ``floor`` for a run that did
    not complete (a failed question)."""
    if row["status"] != "completed":
        return floor
    number = score_number(row.get(key))
    assert number is not None  # a completed run without one is left out before
    return number


def _left_out(
    label: str, row: dict[str, Any] | None, other: dict[str, Any] | None, name: str
) -> LeftOut | None:
    """Why arm ``label``'s side of a question has no score ``name`` to pair (None: it
    has one, or its run did not complete and counts as failed)."""
    if row is None:
        assert other is not None  # a question's id comes from one side at least
        return LeftOut(str(other["id"]), other["message"], label, "no such question")
    if row["status"] != "completed":
        return None
    value = row.get(f"score.{name}")
    if score_number(value) is not None:
        return None
    error = row.get(f"evaluator_error.{name}")
    if error is not None:
        why = f"{name} failed: {excerpt(str(error), REASON_CHARS)}"
    elif value is not None:
        why = f"a label ({excerpt(str(value), 40)!r}), not a number"
    else:
        why = "not scored"
    return LeftOut(str(row["id"]), row["message"], label, why)


def _missing_words(left_out: Sequence[LeftOut]) -> str:
    """Each arm's questions left out, counted by why (``echo: 2 not scored``)."""
    by_arm: dict[str, dict[str, int]] = {}
    for found in left_out:
        reasons = by_arm.setdefault(found.arm, {})
        reasons[found.why] = reasons.get(found.why, 0) + 1
    return "; ".join(
        f"{arm}: " + ", ".join(f"{count} {why}" for why, count in reasons.items())
        for arm, reasons in by_arm.items()
    )


def score_number(value: object) -> float | None:
    """A score as a number (a bool as 1 or 0); None for none, a label or a non-finite one."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def bootstrap_interval(
    differences: Sequence[float], confidence: float, seed: int
) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of ``differences`` (``RESAMPLES``
    resamples drawn by a generator seeded with ``seed``)."""
    import numpy as np  # optional (pandas brings it): only a comparison needs it

    values = np.asarray(differences, dtype=float)
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(RESAMPLES, len(values)))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def _ratio(a: Sequence[Any], b: Sequence[Any], total: Any) -> float | None:
    if any(value is None for value in [*a, *b]) or not a:
        return None
    below = total(b)
    return None if not below else float(total(a) / below)
