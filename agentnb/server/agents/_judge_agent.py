"""The ``judge`` demo agent: an offline, deterministic word-overlap judge that answers what
``agentnb.evals.judge()`` and ``agentnb.evals.pairwise_judge()`` ask an LLM judge for, so
judging can be tried without a model.

It reads only the fenced JSON object of ``agentnb.evals.judge()``'s prompt (the first
``DATA-<fence>`` line to its ``END-<fence>``), never labelled lines an answer could forge; it
does not apply the rubric and its rationale says so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from .._steps import Finish, Reasoning, Step, Text
from ._agent_input import AgentInput, DemoAgent

__all__ = ["JudgeAgent", "grade"]

_FENCED = re.compile(r"^DATA-(\w+)\n(.*?)\nEND-\1$", re.M | re.S)
_TERM = re.compile(r"[0-9]+(?:[.,][0-9]+)*|[^\W\d_]{3,}", re.UNICODE)
_COMMON = frozenset(
    re.findall(
        r"\w+",
        "the and for are was were with that this from its has have had not but what which "
        "who how why when where than then there their they them you your our per into about",
    )
)
SHOWN_MISSING = 5
"""Missing terms a rationale names, at most."""


def _fenced(message: str) -> dict[str, object]:
    """The fenced object ({} when there is none)."""
    found = _FENCED.search(message)
    try:
        data = json.loads(found.group(2)) if found else {}
    except ValueError:
        data = {}
    return data if isinstance(data, dict) else {}


def _fields(data: dict[str, object]) -> dict[str, str]:
    """The fenced object's ``question``, ``expected`` and ``answer`` as text."""
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key in ("question", "expected", "answer")
        if (value := data.get(key)) is not None
    }


def _terms(text: str) -> list[str]:
    found = (term.lower().replace(",", "") for term in _TERM.findall(text))
    return list(dict.fromkeys(term for term in found if term not in _COMMON))


def grade(expected: str, answer: str, question: str = "") -> dict[str, object]:
    """The judge's verdict on ``answer`` against ``expected``; an answer that says back the
    ``question``'s words and nothing else scores 0 (it would hold the expected answer's
    terms that the question names, a ticker, and overlap for nothing)."""
    key = _terms(expected)
    if not key:
        return {
            "score": None,
            "verdict": "ungraded",
            "rationale": "There is no expected answer to grade against.",
        }
    asked = set(_terms(question))
    said = _terms(answer)
    if asked and not set(said) - asked:
        return {
            "score": 0.0,
            "verdict": "incorrect",
            "rationale": "Offline word-overlap judge (the rubric is not applied): the answer "
            "only says back words of the question.",
        }
    given = set(said)
    missing = [term for term in key if term not in given]
    score = round((len(key) - len(missing)) / len(key), 2)
    verdict = "correct" if score >= 0.8 else "partly correct" if score >= 0.4 else "incorrect"
    found = (
        "Offline word-overlap judge (the rubric is not applied): the answer states "
        f"{len(key) - len(missing)} of the {len(key)} key terms"
    )
    lacking = (
        f"; it lacks {', '.join(missing[:SHOWN_MISSING])}{'...' if len(missing) > 5 else ''}."
        if missing
        else "."
    )
    return {"score": score, "verdict": verdict, "rationale": found + lacking}


def prefer(question: str, expected: str, first: object, second: object) -> dict[str, object]:
    """Which of two responses (``{"answer", "status", "diff"}``) is better, the same whichever
    is shown first: one that completed over one that did not; then, against an expected
    answer, the better :func:`grade`; without one, the one saying more than the question
    asks (its answer's and its change's terms the question does not name)."""
    weights = [_weight(question, expected, side) for side in (first, second)]
    winner = "A" if weights[0] > weights[1] else "B" if weights[1] > weights[0] else "tie"
    measure = "its grade against the expected answer" if _terms(expected) else "new terms"
    return {
        "winner": winner,
        "rationale": "Offline word-overlap judge (the rubric is not applied), by completion "
        f"then {measure}: A {weights[0][1]:g}, B {weights[1][1]:g}.",
    }


def _weight(question: str, expected: str, side: object) -> tuple[bool, float]:
    response = side if isinstance(side, dict) else {}
    said = f"{response.get('answer') or ''}\n{response.get('diff') or ''}"
    if _terms(expected):
        score = grade(expected, said, question)["score"]
        measure = float(score) if isinstance(score, int | float) else 0.0
    else:
        measure = float(len(set(_terms(said)) - set(_terms(question))))
    return response.get("status") == "completed", measure


class JudgeAgent(DemoAgent):
    name = "judge"
    model = "gpt-4o-mini"
    """The model it reports it ran (a real id, so a judge's runs are priced: judging costs)."""
    description = (
        "Grades an answer against the expected answer by word overlap, offline (the fenced "
        "data of agentnb.evals.judge()'s prompt): a JSON score from 0 to 1 with a short "
        "rationale; of two responses (pairwise_judge()'s prompt), names the better."
    )

    def steps(self, request: AgentInput) -> Iterator[Step]:
        data = _fenced(request.message)
        fields = _fields(data)
        question, expected = fields.get("question", ""), fields.get("expected", "")
        if "response_A" in data:
            yield Reasoning("I compare the two responses' key terms.")
            verdict = prefer(question, expected, data["response_A"], data.get("response_B"))
        else:
            yield Reasoning("I compare the answer's key terms with the expected answer's.")
            verdict = grade(expected, fields.get("answer", ""), question)
        answer = json.dumps(verdict)
        yield Text(answer)
        yield Finish(final_output=answer)
