"""Quality against cost: :class:`Frontier` (``exp.frontier(score="tests", cost="cost")``),
per arm the share of questions passing a score with its Wilson interval, the mean cost and
duration, and whether another arm dominates it; a table and ``.plot()``."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from statistics import NormalDist
from typing import Any, Final

from agentnb import ConfigurationError
from agentnb.display import (
    Column,
    Table,
    cell_text,
    percent,
    require_pandas,
    require_pyplot,
    table_html,
    table_text,
)

from ._paired import score_number
from ._printed import PrintedAsText

__all__ = ["ArmPoint", "Frontier", "frontier_of", "wilson_interval"]

COSTS: Final = {"cost": "cost_usd", "duration": "duration", "tokens": "total_tokens"}
"""What ``cost=`` names → the experiment table's column."""
PASS_AT: Final = 0.5
"""A number score passes at this or more (a bool: True)."""


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a share ``successes / n`` (``(0, 1)`` for ``n == 0``)."""
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = successes / n
    middle = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, middle - half), min(1.0, middle + half)


@dataclass(frozen=True, slots=True)
class ArmPoint:
    """One arm on the frontier."""

    arm: str
    questions: int
    passed: int
    pass_rate: float
    low: float
    high: float
    mean_cost: float | None
    mean_duration: float | None
    dominated_by: tuple[str, ...]
    """The arms that dominate it: at least as good a pass rate at no more cost, better on
    one (empty: it is on the frontier, or its cost was not measured)."""

    @property
    def dominated(self) -> bool:
        return bool(self.dominated_by)


@dataclass(frozen=True, slots=True, repr=False)
class Frontier(PrintedAsText):
    """Each arm's pass rate against its cost; the arms no other dominates make the
    frontier."""

    experiment: str
    score: str
    cost: str
    confidence: float
    points: tuple[ArmPoint, ...]

    def _table(self) -> Table:
        columns = [
            Column("arm", head=True),
            Column("questions", right=True),
            Column(f"pass rate ({self.score})", right=True),
            Column(f"{self.confidence:.0%} interval", right=True),
            Column(f"mean {self.cost}", right=True),
            Column("mean duration", right=True),
            Column("dominated"),
        ]
        rows = [
            [
                point.arm,
                str(point.questions),
                percent(point.pass_rate),
                f"{percent(point.low)}–{percent(point.high)}",
                _shown(self.cost, point.mean_cost),
                _shown("duration", point.mean_duration),
                _dominance(point),
            ]
            for point in self.points
        ]
        title = f"experiment {self.experiment}: score.{self.score} against {self.cost}"
        notes = [note] if (note := self._unmeasured()) else []
        return Table(columns, rows, title=title, notes=notes, name="agentnb-frontier")

    def _unmeasured(self) -> str | None:
        """What has no cost to place it by, said with what can be drawn instead."""
        unmeasured = [p.arm for p in self.points if p.mean_cost is None]
        if not unmeasured:
            return None
        others = " or ".join(f"frontier(cost={c!r})" for c in COSTS if c != self.cost)
        if len(unmeasured) == len(self.points):
            return f"no arm has a {self.cost}: {others} draws what was measured"
        return f"no {self.cost} for {', '.join(unmeasured)}: not placed, not compared"

    def to_text(self) -> str:
        return table_text(self._table())

    def _repr_html_(self) -> str:
        return table_html(self._table())

    def to_pandas(self) -> Any:
        """One row per arm: the table's figures, plain."""
        pd = require_pandas()
        return pd.DataFrame(
            [
                {
                    "arm": p.arm,
                    "questions": p.questions,
                    "passed": p.passed,
                    "pass_rate": p.pass_rate,
                    "low": p.low,
                    "high": p.high,
                    f"mean_{self.cost}": p.mean_cost,
                    "mean_duration": p.mean_duration,
                    "dominated": p.dominated if p.mean_cost is not None else None,
                }
                for p in self.points
            ]
        ).set_index("arm")

    def plot(self, *, ax: Any = None) -> Any:
        """Cost on x, pass rate on y (its interval as a bar), each arm labelled, the
        frontier (the arms no other dominates) drawn as a line; the Axes drawn on."""
        pyplot = require_pyplot()
        if ax is None:
            _, ax = pyplot.subplots(figsize=(6, 4), layout="constrained")
        placed = [p for p in self.points if p.mean_cost is not None]
        for point in placed:
            ax.errorbar(
                point.mean_cost,
                point.pass_rate,
                yerr=[[point.pass_rate - point.low], [point.high - point.pass_rate]],
                fmt="o" if not point.dominated else "x",
                capsize=4,
                color="tab:gray" if point.dominated else "tab:blue",
            )
            label = f"{point.arm} (dominated)" if point.dominated else point.arm
            ax.annotate(label, (point.mean_cost, point.pass_rate), xytext=(6, 6),
                        textcoords="offset points")  # fmt: skip
        if not placed:
            ax.text(0.5, 0.5, self._unmeasured(), ha="center", va="center", wrap=True,
                    transform=ax.transAxes)  # fmt: skip
        line = sorted((p for p in placed if not p.dominated), key=lambda p: p.mean_cost or 0.0)
        if line:
            ax.plot([p.mean_cost for p in line], [p.pass_rate for p in line], "-",
                    color="tab:blue", label="frontier")  # fmt: skip
            ax.legend(loc="best")
        ax.margins(x=0.25)  # room for the labels of the arms at either end
        ax.set_xlabel(f"mean {self.cost}" + (" (USD)" if self.cost == "cost" else ""))
        ax.set_ylabel(f"pass rate (score.{self.score})")
        ax.set_ylim(-0.05, 1.05)
        ax.set_title(f"{self.experiment}: quality against {self.cost}")
        return ax


def _dominance(point: ArmPoint) -> str:
    if point.mean_cost is None:
        return "—"
    return f"yes, by {', '.join(point.dominated_by)}" if point.dominated else "no"


def _shown(cost: str, value: float | None) -> str:
    return cell_text({"cost": "cost_mean", "duration": "duration_p50"}.get(cost, cost), value)


def frontier_of(
    name: str,
    arms: Sequence[str],
    rows: Sequence[dict[str, Any]],
    score: str,
    cost: str,
    confidence: float,
) -> Frontier:
    """The frontier of an experiment's table ``rows`` (question × arm, arms in order)."""
    if cost not in COSTS:
        raise ConfigurationError(f"cost is one of {sorted(COSTS)}, not {cost!r}")
    if not 0 < confidence < 1:
        raise ConfigurationError(f"confidence is between 0 and 1, not {confidence!r}")
    if not any(f"score.{score}" in row for row in rows):
        known = sorted({k[6:] for row in rows for k in row if k.startswith("score.")})
        raise ConfigurationError(
            f"experiment {name!r} has no score {score!r} (its scores: {known or 'none yet'})"
        )
    measured = [_measure(arm, rows[i :: len(arms)], score, cost, confidence)
                for i, arm in enumerate(arms)]  # fmt: skip
    points = tuple(_with_dominance(point, measured) for point in measured)
    return Frontier(name, score, cost, confidence, points)


def _measure(
    arm: str, rows: Sequence[dict[str, Any]], score: str, cost: str, confidence: float
) -> ArmPoint:
    """An arm's figures: every question counts (a run that did not complete, or has no
    score, failed it)."""
    passed = sum(1 for row in rows if _passes(row, score))
    low, high = wilson_interval(passed, len(rows), confidence)
    costs = [float(row[COSTS[cost]]) for row in rows if row.get(COSTS[cost]) is not None]
    durations = [float(row["duration"]) for row in rows if row.get("duration") is not None]
    return ArmPoint(
        arm,
        len(rows),
        passed,
        passed / len(rows) if rows else 0.0,
        low,
        high,
        statistics.fmean(costs) if costs else None,
        statistics.fmean(durations) if durations else None,
        (),
    )


def _passes(row: dict[str, Any], score: str) -> bool:
    value = score_number(row.get(f"score.{score}"))
    return row.get("status") == "completed" and value is not None and value >= PASS_AT


def _with_dominance(point: ArmPoint, others: Sequence[ArmPoint]) -> ArmPoint:
    return replace(point, dominated_by=tuple(o.arm for o in others if _dominates(o, point)))


def _dominates(one: ArmPoint, other: ArmPoint) -> bool:
    """``one`` passes at least as often at no more cost, and is better on one of them
    (claimed only where both costs were measured)."""
    if one is other or one.mean_cost is None or other.mean_cost is None:
        return False
    no_worse = one.pass_rate >= other.pass_rate and one.mean_cost <= other.mean_cost
    better = one.pass_rate > other.pass_rate or one.mean_cost < other.mean_cost
    return no_worse and better
