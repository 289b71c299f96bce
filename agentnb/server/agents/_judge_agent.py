"""The ``judge`` demo agent: grades an answer against the expected answer, offline and
deterministically, with a short rationale (what ``agentnb.judge()`` asks an LLM judge for).

It reads the lines ``Question:``, ``Expected answer:`` and ``Answer:`` of its message (a
value runs to the next label) and answers one JSON object, ``{"score", "verdict",
"rationale"}``: the score is the share of the expected answer's key terms (its numbers and
words of three letters or more, less common words) that the answer contains; with no
expected answer the score is null.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from .._steps import Finish, Reasoning, Step, Text
from ._agent_input import AgentInput

__all__ = ["JudgeAgent", "grade"]

_LABELS = ("Rubric", "Question", "Expected answer", "Answer")
_LABEL_LINE = re.compile(rf"^({'|'.join(_LABELS)}):[ \t]?", re.M)
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


def _fields(message: str) -> dict[str, str]:
    marks = list(_LABEL_LINE.finditer(message))
    ends = [mark.start() for mark in marks[1:]] + [len(message)] * bool(marks)
    return {
        mark.group(1): message[mark.end() : end].strip()
        for mark, end in zip(marks, ends, strict=True)
    }


def _terms(text: str) -> list[str]:
    found = (term.lower().replace(",", "") for term in _TERM.findall(text))
    return list(dict.fromkeys(term for term in found if term not in _COMMON))


def grade(expected: str, answer: str) -> dict[str, object]:
    """The judge's verdict on ``answer`` against ``expected``."""
    key = _terms(expected)
    if not key:
        return {
            "score": None,
            "verdict": "ungraded",
            "rationale": "There is no expected answer to grade against.",
        }
    given = set(_terms(answer))
    missing = [term for term in key if term not in given]
    score = round((len(key) - len(missing)) / len(key), 2)
    verdict = "correct" if score >= 0.8 else "partly correct" if score >= 0.4 else "incorrect"
    found = f"The answer states {len(key) - len(missing)} of the {len(key)} key terms"
    lacking = (
        f"; it lacks {', '.join(missing[:SHOWN_MISSING])}{'...' if len(missing) > 5 else ''}."
        if missing
        else "."
    )
    return {"score": score, "verdict": verdict, "rationale": found + lacking}


class JudgeAgent:
    name = "judge"
    model = "gpt-4o-mini"
    """The model it reports it ran (a real id, so a judge's runs are priced: judging costs)."""
    description = (
        "Grades an answer against the expected answer (the lines 'Expected answer:' and "
        "'Answer:' of its message): a JSON score from 0 to 1 with a short rationale."
    )
    tools: tuple[str, ...] = ()
    needs_approval = False
    asks_questions = False

    def check(self, request: AgentInput) -> None:
        return None

    def steps(self, request: AgentInput) -> Iterator[Step]:
        fields = _fields(request.message)
        yield Reasoning("I compare the answer's key terms with the expected answer's.")
        verdict = grade(fields.get("Expected answer", ""), fields.get("Answer", ""))
        answer = json.dumps(verdict)
        yield Text(answer)
        yield Finish(final_output=answer)
