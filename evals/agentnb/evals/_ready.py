"""Ready evaluators (``agentnb.evals``): the checks every evaluation writes by hand, as
pydantic-evals and inspect-ai ship them. Each is an evaluator ``fn(run, example)`` whose
score is kept as ``score.<its name>``; the ones made with an argument take ``name=``."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from agentnb import AnswerSchemaError, ConfigurationError
from agentnb.history import RunRecord
from agentnb.types import answer_validator

__all__ = [
    "contains",
    "equals",
    "json_schema",
    "max_cost",
    "max_duration",
    "regex",
]

Grade = bool | tuple[bool, str] | None


def _expected(example: Mapping[str, Any]) -> str | None:
    expected = example.get("expected")
    if expected is None:
        return None
    return expected if isinstance(expected, str) else json.dumps(expected, ensure_ascii=False)


def _folded(text: str) -> str:
    return " ".join(text.casefold().split())


def contains(run: RunRecord, example: Mapping[str, Any]) -> bool | None:
    """Whether the answer contains the example's expected answer (case and spacing
    ignored); no score for an example without one."""
    expected = _expected(example)
    return None if expected is None else _folded(expected) in _folded(run.text)


def equals(run: RunRecord, example: Mapping[str, Any]) -> bool | None:
    """Whether the answer is the example's expected answer (outer spaces ignored); no score
    for an example without one."""
    expected = _expected(example)
    return None if expected is None else run.text.strip() == expected.strip()


class _Check:
    """An evaluator made with arguments: named (its score's column) and shown as made."""

    def __init__(self, name: str, shown: str, check: Callable[[RunRecord], Grade]) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ConfigurationError(
                f"an evaluator's name becomes the column score.<name>: give name= (letters, "
                f"digits, _), not {name!r}"
            )
        self.__name__ = name
        self._shown = shown
        self._check = check

    def __repr__(self) -> str:
        return self._shown

    def __call__(self, run: RunRecord, example: Mapping[str, Any]) -> Grade:
        return self._check(run)


def regex(pattern: str, *, name: str = "regex") -> Callable[..., Grade]:
    """Whether the answer matches ``pattern`` somewhere (``re.search``)."""
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as exc:
        raise ConfigurationError(f"regex({pattern!r}): not a regular expression ({exc})") from None
    return _Check(name, f"regex({pattern!r})", lambda run: compiled.search(run.text) is not None)


def json_schema(schema: Any, *, name: str = "json_schema") -> Callable[..., Grade]:
    """Whether the answer is JSON matching ``schema`` (a JSON schema dict or a pydantic
    model), with why not as the score's comment."""
    validate = answer_validator(schema)

    def check(run: RunRecord) -> Grade:
        try:
            validate(json.loads(run.text))
        except ValueError:
            return False, "the answer is not JSON"
        except AnswerSchemaError as exc:
            return False, exc.rule  # the answer itself may not leave the process: never quoted
        return True

    return _Check(name, f"json_schema({name!r})", check)


def _limit(value: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise ConfigurationError(f"{what} must be a finite number ≥ 0, not {value!r}")
    return float(value)


def max_cost(usd: float, *, name: str = "max_cost") -> Callable[..., Grade]:
    """Whether the run cost at most ``usd``; no score when its cost is unknown."""
    limit = _limit(usd, "max_cost")
    return _Check(
        name,
        f"max_cost({usd!r})",
        lambda run: None if run.cost_usd is None else run.cost_usd <= limit,
    )


def max_duration(seconds: float, *, name: str = "max_duration") -> Callable[..., Grade]:
    """Whether the agent took at most ``seconds`` (its time, pauses for a person left
    out); no score when unknown."""
    limit = _limit(seconds, "max_duration")
    return _Check(
        name,
        f"max_duration({seconds!r})",
        lambda run: None if run.duration is None else run.duration <= limit,
    )
