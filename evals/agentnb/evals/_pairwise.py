"""A pairwise judge: ``pairwise(exp, a="arm1", b="arm2", judge=...)`` shows a judge both
arms' answers to each question (and their diffs, for coding arms), in both orders; a verdict
stands only when both orders agree, else the question is a tie (position bias cancelled,
and counted). A judge is any ``fn(example, first, second)`` answering ``"A"``, ``"B"`` or
``"tie"``, or :func:`pairwise_judge`, an agent asked with a fenced prompt. An answer that is
none of those (neither, both, garbage, an error) is a tie counted as "no verdict".

Each question's verdict (``"a"``, ``"b"`` or ``"tie"``) is kept as a label score on arm
``a``'s run (``score.<name>``), so ``agreement()`` sets it against a person's preference
(``agentnb.score(run, "prefer", "a")`` on the same run)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import agentnb
from agentnb import ConfigurationError
from agentnb.display import excerpt
from agentnb.history import EVALUATES

from ._change import kept_change
from ._frontier import wilson_interval
from ._judge import JUDGE_TIMEOUT, fenced_prompt
from ._printed import PrintedAsText

if TYPE_CHECKING:
    from ._agreement import Agreement, Agreements
    from ._experiment import Experiment

__all__ = ["Pairwise", "PairwiseVerdict", "pairwise", "pairwise_judge"]

Side = Literal["A", "B", "tie"]
Outcome = Literal["a", "b", "tie"]
PairJudge = Callable[[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any]], object]

UNREAD_CHARS: Final = 200
"""Characters of an answer that gave no verdict shown with it."""
JUDGED_DIFF_CHARS: Final = 20_000
"""Characters of a run's diff a pairwise judge is shown (the rest said to be left out)."""

PAIRWISE_RUBRIC: Final = (
    "Which response answers the question better (for a change to code: which change does "
    "what was asked, correctly, with nothing else)?"
)


@dataclass(frozen=True, slots=True)
class PairwiseVerdict:
    """One question: what the judge said in each order, and the verdict that stands."""

    question: str
    a_first: Side | None
    """The judge's answer with arm ``a`` shown as A (None: no verdict)."""
    b_first: Side | None
    """The judge's answer with arm ``b`` shown as A."""
    verdict: Outcome
    no_verdict: bool
    """The judge gave no readable answer in one order at least (a tie, counted apart)."""
    unread: str | None = None
    """What the judge answered where it gave no verdict (an excerpt), or how it failed."""


@dataclass(frozen=True, slots=True, repr=False)
class Pairwise(PrintedAsText):
    """Arm ``a`` against arm ``b``, question by question, by a pairwise judge."""

    experiment: Experiment
    a: str
    b: str
    name: str
    verdicts: tuple[PairwiseVerdict, ...]
    confidence: float = 0.95

    @property
    def wins(self) -> int:
        return sum(v.verdict == "a" for v in self.verdicts)

    @property
    def losses(self) -> int:
        return sum(v.verdict == "b" for v in self.verdicts)

    @property
    def ties(self) -> int:
        """Ties, those of no verdict included."""
        return sum(v.verdict == "tie" for v in self.verdicts)

    @property
    def no_verdict(self) -> int:
        return sum(v.no_verdict for v in self.verdicts)

    @property
    def win_rate(self) -> float | None:
        """``a``'s wins over the decided questions (ties left out); None: none decided."""
        decided = self.wins + self.losses
        return self.wins / decided if decided else None

    @property
    def interval(self) -> tuple[float, float] | None:
        """The win rate's Wilson interval (None: no question decided)."""
        decided = self.wins + self.losses
        return wilson_interval(self.wins, decided, self.confidence) if decided else None

    def agreement(self, human: str = "prefer") -> Agreement | Agreements:
        """How far these verdicts agree with a person's (``agentnb.score(run, human, "a")``
        on arm ``a``'s run: ``"a"``, ``"b"`` or ``"tie"``)."""
        return self.experiment.agreement(self.name, human)

    def to_text(self) -> str:
        rate = self.win_rate
        interval = self.interval
        shown = (
            "no question decided"
            if rate is None or interval is None
            else f"win rate {rate:.0%} ({self.confidence:.0%} interval "
            f"{interval[0]:.0%}–{interval[1]:.0%})"
        )
        head = (
            f"{self.a} vs {self.b} on {len(self.verdicts)} questions (both orders asked): "
            f"{self.wins} wins, {self.losses} losses, {self.ties} ties "
            f"({self.no_verdict} of no verdict); {shown}"
        )
        lines = [
            f"  {v.question}: {v.verdict}" + ("" if v.verdict != "tie" else f" ({self._why(v)})")
            for v in self.verdicts
        ]
        return "\n".join([head, *lines])

    @staticmethod
    def _why(verdict: PairwiseVerdict) -> str:
        if verdict.no_verdict:
            return f"no verdict: the judge answered {verdict.unread}"
        if verdict.a_first == verdict.b_first == "tie":
            return "the judge said tie"
        return f"the orders disagree: {verdict.a_first} then {verdict.b_first}"

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.to_text())}</pre>"


def pairwise(
    experiment: Experiment,
    a: str | int,
    b: str | int,
    judge: PairJudge,
    *,
    name: str = "pairwise",
    confidence: float = 0.95,
) -> Pairwise:
    """Arm ``a`` against arm ``b`` of ``experiment``, question by question: ``judge`` (a
    :func:`pairwise_judge`, or ``fn(example, first, second)`` answering ``"A"``, ``"B"``
    or ``"tie"``; ``first`` and ``second`` are dicts of ``answer``, ``status`` and ``diff``)
    is asked twice, once in each order; a verdict stands when both orders name the same
    arm, else the question is a tie. Each verdict (``"a"``, ``"b"``, ``"tie"``) is kept as
    ``score.<name>`` on arm ``a``'s run (another ``name=`` for another pair of arms with the
    same ``a``: a later call replaces the score). Returns the wins, losses and ties and the
    win rate with its Wilson interval."""
    if not callable(judge):
        raise ConfigurationError(
            "judge= is a pairwise judge: agentnb.evals.pairwise_judge(agent) or a function "
            "fn(example, first, second) answering 'A', 'B' or 'tie'"
        )
    if not name.isidentifier():
        raise ConfigurationError(f"name becomes score.<name>: {name!r} cannot be one")
    first_arm, second_arm = experiment.arms[experiment._arm(a)], experiment.arms[experiment._arm(b)]
    if first_arm == second_arm:
        raise ConfigurationError(f"pairwise compares two different arms, not {first_arm!r} twice")
    store = experiment._store
    verdicts = []
    for example in experiment.examples():
        pair = experiment.pair(example["id"], first_arm, second_arm)
        if len(pair) < 2:
            continue
        run_a, run_b = pair[0], pair[1]
        sides = _side(store, run_a), _side(store, run_b)
        a_first = _asked(judge, example, sides[0], sides[1], run_a.local_id)
        b_first = _asked(judge, example, sides[1], sides[0], run_a.local_id)
        verdict = _verdict(example["id"], a_first, b_first)
        verdicts.append(verdict)
        store.add_scores(
            run_a.local_id,
            [(name, verdict.verdict, Pairwise._why(verdict) if verdict.verdict == "tie" else None)],
            source="agent" if isinstance(judge, PairwiseJudge) else "code",
            author=name,
        )
    if not verdicts:
        raise ConfigurationError(
            f"no question of {experiment.name!r} has a run on both {first_arm!r} and {second_arm!r}"
        )
    return Pairwise(experiment, first_arm, second_arm, name, tuple(verdicts), confidence)


def _side(store: Any, record: Any) -> dict[str, Any]:
    change = kept_change(store, record.local_id)
    return {
        "answer": record.answer or "",
        "status": record.status,
        **({"diff": excerpt(change.diff, JUDGED_DIFF_CHARS, lines=True)} if change else {}),
    }


def _asked(
    judge: PairJudge,
    example: Mapping[str, Any],
    first: Mapping[str, Any],
    second: Mapping[str, Any],
    judged: str,
) -> tuple[Side | None, str]:
    """The judge's side, and its answer as it gave it (an excerpt), or how it failed."""
    said: object
    try:
        if isinstance(judge, PairwiseJudge):
            text = judge.answer(example, first, second, judged)
            return read_preference(text), repr(excerpt(text or "", UNREAD_CHARS))
        said = judge(example, first, second)
    except Exception as exc:  # a judge that fails gives no verdict, counted
        return None, f"nothing: it raised {excerpt(repr(exc), UNREAD_CHARS)}"
    return _side_named(said), excerpt(repr(said), UNREAD_CHARS)


def _side_named(said: object) -> Side | None:
    if not isinstance(said, str):
        return None
    word = said.strip().strip(".").strip('"').lower()
    return {"a": "A", "b": "B", "tie": "tie"}.get(word)  # type: ignore[return-value]


def _verdict(
    question: str, asked_a_first: tuple[Side | None, str], asked_b_first: tuple[Side | None, str]
) -> PairwiseVerdict:
    """Both orders read as arms: ``a_first``'s A is arm a, ``b_first``'s A is arm b."""
    (a_first, said_a_first), (b_first, said_b_first) = asked_a_first, asked_b_first
    if a_first is None or b_first is None:
        unread = said_a_first if a_first is None else said_b_first
        return PairwiseVerdict(question, a_first, b_first, "tie", True, unread)
    as_arms = (
        {"A": "a", "B": "b", "tie": "tie"}[a_first],
        {"A": "b", "B": "a", "tie": "tie"}[b_first],
    )
    outcome: Outcome = as_arms[0] if as_arms[0] == as_arms[1] else "tie"  # type: ignore[assignment]
    return PairwiseVerdict(question, a_first, b_first, outcome, False)


class PairwiseJudge:
    """An agent asked which of two responses is better (see :func:`pairwise_judge`)."""

    score_source: Final = "agent"

    def __init__(self, agent: str, rubric: str, via: str | None, options: Mapping[str, Any]):
        agentnb.get_connection(via)  # an unknown connection fails now, not per question
        self.agent, self.rubric, self._via, self._options = agent, rubric, via, dict(options)

    def __repr__(self) -> str:
        return f"pairwise_judge(agent={self.agent!r})"

    def __call__(
        self, example: Mapping[str, Any], first: Mapping[str, Any], second: Mapping[str, Any]
    ) -> Side | None:
        return read_preference(self.answer(example, first, second, None))

    def answer(
        self,
        example: Mapping[str, Any],
        first: Mapping[str, Any],
        second: Mapping[str, Any],
        judged: str | None,
    ) -> str | None:
        """The judge agent's answer to the pair, as it gave it."""
        message = pairwise_prompt(self.rubric, example, first, second)
        marks = {**self._options.get("metadata", {}), **({EVALUATES: judged} if judged else {})}
        handle = agentnb.ask(
            self.agent, message, via=self._via, display=False,
            **{**self._options, "metadata": marks},
        )  # fmt: skip
        try:
            answered = handle.wait(JUDGE_TIMEOUT)
        except (TimeoutError, RuntimeError):
            handle.cancel()
            raise
        return answered.text


def pairwise_judge(
    agent: str = "judge", rubric: str = PAIRWISE_RUBRIC, *, via: str | None = None, **options: Any
) -> PairwiseJudge:
    """A pairwise judge: ``agent`` (on connection ``via``) is sent ``rubric`` and the
    question with both responses (answers, and diffs for coding arms) as one fenced JSON
    object (read as data only, as :func:`agentnb.evals.judge` sends it), and asked for
    ``{"winner": "A" | "B" | "tie", "rationale": "..."}``. ``options``: its runs'
    options."""
    return PairwiseJudge(agent, rubric, via, options)


def pairwise_prompt(
    rubric: str, example: Mapping[str, Any], first: Mapping[str, Any], second: Mapping[str, Any]
) -> str:
    """What a pairwise judge is sent (see :func:`pairwise_judge`)."""
    fields = {
        "question": example.get("question", ""),
        "expected": example.get("expected"),
        "response_A": dict(first),
        "response_B": dict(second),
    }
    return fenced_prompt(
        f"You compare two responses to one question.\n{rubric}",
        "What you compare",
        fields,
        'Reply with one JSON object only: {"winner": "A" or "B" or "tie", '
        '"rationale": "<one sentence>"}',
    )


_OBJECT = re.compile(r"\{.*\}", re.S)


def read_preference(text: str | None) -> Side | None:
    """The judge's winner from its answer; None for anything but A, B or tie."""
    found = _OBJECT.search(text or "")
    try:
        said = json.loads(found.group(0)) if found else None
    except ValueError:
        return None
    return _side_named(said.get("winner")) if isinstance(said, dict) else None
