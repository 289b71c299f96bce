"""Failure modes: a person's ✗ grouped into named modes (the label score ``mode``:
``agentnb.score(run, "mode", "wrong ticker", "quoted AAPL for Apple's supplier")``), counted
per agent and period by ``summary()`` (``score.mode[wrong ticker]``) and per arm under an
experiment's grid, and turned into a judge of that mode: :func:`mode_judge` builds
``judge(rubric=...)`` from the mode's name and the runs a person labelled with it (their
question, answer and note, handed to the judge as fenced data, never as its instruction),
whose agreement with the person's labels ``agreement(runs, judge_name, "mode",
positive="wrong ticker")`` measures."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

import agentnb
from agentnb import AgentClient, AsyncAgentClient, ConfigurationError
from agentnb.display import excerpt
from agentnb.history import RunRecord

from ._judge import Judge

__all__ = ["mode_judge", "mode_rubric"]

ANSWER_CHARS: Final = 600
"""Characters of a labelled answer a mode's judge is shown."""


def mode_judge(
    mode: str,
    *,
    score: str = "mode",
    examples: int = 3,
    agent: str = "judge",
    name: str | None = None,
    via: str | None = None,
    client: AgentClient | AsyncAgentClient | None = None,
    **options: Any,
) -> Callable[[RunRecord, Mapping[str, Any]], tuple[float, str] | None]:
    """A judge (see :func:`judge`) of one failure mode: it scores 1 when an answer shows
    ``mode`` and 0 when it does not. Its rubric names the mode; up to ``examples`` runs a
    person labelled with it (their current score ``score`` is ``mode``: the latest first)
    are handed to it beside each answer as data: their question, answer and the person's
    note. Its score is ``score.mode_<mode>`` (``mode_wrong_ticker``; ``name=`` another), so
    ``agreement(runs, "mode_wrong_ticker", "mode", positive="wrong ticker")`` says how far
    it agrees with the person. ``examples=0`` builds it from the name alone."""
    if not isinstance(mode, str) or not mode.strip():
        raise ConfigurationError(f"a failure mode is a label (a non-empty string), not {mode!r}")
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise ConfigurationError(f"examples is how many labelled runs: >= 0, not {examples!r}")
    label = name if name is not None else mode_name(mode)
    if not label.isidentifier():
        raise ConfigurationError(
            f"a judge's name becomes the column score.<name>: give name= (letters, digits, "
            f"_), since {label!r} cannot be one"
        )
    shown = _labelled(mode, score, examples) if examples else []
    data = {"examples": shown} if shown else None
    return Judge(agent, mode_rubric(mode, bool(shown)), label, via, client, options, data)


def mode_name(mode: str) -> str:
    """The score a mode's judge gives: ``mode_`` and the mode in letters, digits and ``_``
    (``wrong ticker`` → ``mode_wrong_ticker``)."""
    words = re.sub(r"\W+", "_", mode.strip().lower(), flags=re.ASCII).strip("_")
    return f"mode_{words}" if words else "mode"


def mode_rubric(mode: str, examples: bool) -> str:
    """The instruction of a judge of ``mode`` (with ``examples``: the data holds runs a
    person labelled with it)."""
    rubric = (
        f"Decide whether the answer shows the failure mode {mode!r}: score 1 when it does, 0 "
        "when it does not."
    )
    if examples:
        rubric += (
            " The field examples holds answers a person labelled with this failure mode, each "
            "with its question and the person's note: what this failure looks like."
        )
    return rubric


def _labelled(mode: str, score: str, count: int) -> list[dict[str, str]]:
    """Up to ``count`` runs whose current ``score`` is ``mode``, the latest first, as
    the judge reads them; an error saying how to label one when there is none."""
    found = agentnb.runs(score={score: mode}, limit=count)
    if not len(found):
        raise ConfigurationError(
            f"no run has score.{score} {mode!r}: label some first (agentnb.score(run, "
            f"{score!r}, {mode!r}, 'why')), or give examples=0 to judge from the name alone"
        )
    notes = {
        given.local_id: given.comment or "" for given in agentnb.scores(found, score, history=False)
    }
    return [
        {
            "question": record.message or "",
            "answer": excerpt(record.answer or "", ANSWER_CHARS),
            "note": notes.get(record.local_id, ""),
        }
        for record in found
    ]
