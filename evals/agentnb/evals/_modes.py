"""Failure modes: a person's ✗ grouped into named modes (the label score ``mode``:
``agentnb.score(run, "mode", "wrong ticker", "quoted AAPL for Apple's supplier")``), counted
per agent and period by ``summary()`` (``score.mode[wrong ticker]``) and per arm under an
experiment's grid, and turned into a judge of that mode: :func:`mode_judge` builds
``judge(rubric=...)`` from the mode's name and the runs a person labelled with it (their
question, answer and note, handed to the judge as fenced data, never as its instruction),
whose agreement with the person's labels ``agreement(runs, judge_name, "mode",
positive="wrong ticker")`` measures.

Open coding: :func:`propose_modes` asks an agent to group the runs a person failed, by their
notes, into named modes; the proposal is shown for the person to read, and labels nothing
until they accept it (``proposal.accept()``, or some of its modes, renamed as they like)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import agentnb
from agentnb import AgentClient, AsyncAgentClient, ConfigurationError
from agentnb.display import (
    NO_MATH,
    Column,
    Table,
    clean,
    excerpt,
    table_html,
    table_text,
    text_width,
)
from agentnb.history import EVALUATES, RunHistory, RunRecord
from agentnb.types import RunLike, run_ids

from ._datasets import kept_store
from ._judge import JUDGE_TIMEOUT, Judge, fenced_prompt

__all__ = ["ModeProposal", "ProposedMode", "mode_judge", "mode_rubric", "propose_modes"]

PROPOSED_RUNS: Final = 200
"""Runs a proposal reads at most (the latest first)."""
NAME_CHARS: Final = 80
"""Characters of a proposed mode's name kept."""

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


@dataclass(frozen=True, slots=True)
class ProposedMode:
    """A failure mode an agent proposes: its name, what it is, the runs it groups."""

    name: str
    description: str
    local_ids: tuple[str, ...]


@dataclass(frozen=True)
class ModeProposal:
    """Failure modes an agent proposed for runs a person failed, shown for the person to
    read; nothing is labelled until :meth:`accept`."""

    modes: tuple[ProposedMode, ...]
    notes: Mapping[str, str]
    """Each run's note (the person's comment on its ✗), by ``local_id``."""
    unplaced: tuple[str, ...]
    """Runs the agent put in no mode."""
    score: str
    """The label score an accepted mode is kept as (``mode``)."""
    agent: str

    def accept(self, *names: str, rename: Mapping[str, str] | None = None) -> int:
        """Label each run of the modes ``names`` (default: every one) with its mode, as the
        score ``score`` given by a ``person`` (``rename``: a proposed name → the name to keep).
        Returns how many runs were labelled."""
        known = {mode.name: mode for mode in self.modes}
        chosen = list(names) or list(known)
        unknown = [name for name in [*chosen, *(rename or {})] if name not in known]
        if unknown:
            raise ConfigurationError(
                f"the proposal has no mode {unknown[0]!r}; its modes: {list(known)}"
            )
        labelled = 0
        for name in chosen:
            kept = (rename or {}).get(name, name)
            for local_id in known[name].local_ids:
                agentnb.score(
                    local_id,
                    self.score,
                    kept,
                    self.notes.get(local_id) or None,
                    source="person",
                    author=f"accepted from {self.agent}'s proposal",
                )
                labelled += 1  # fmt: skip
        return labelled

    def _table(self) -> Table:
        columns = [
            Column("mode", head=True, wrap=True),
            Column("runs", right=True),
            Column("what it is", wrap=True),
            Column("the person's notes", wrap=True),
        ]
        rows = [
            [
                clean(mode.name),
                str(len(mode.local_ids)),
                clean(mode.description),
                clean("; ".join(n for i in mode.local_ids[:3] if (n := self.notes.get(i)))),
            ]
            for mode in self.modes
        ]
        unplaced = f"{len(self.unplaced)} runs in no mode; " if self.unplaced else ""
        notes = [f"{unplaced}nothing is labelled until .accept() (or .accept('a mode', ...))"]
        title = f"failure modes proposed by {clean(self.agent)}: {len(self.modes)}"
        return Table(columns, rows, title=title, notes=notes, name=NO_MATH)

    def to_text(self, width: int | None = None) -> str:
        return table_text(self._table(), width or text_width())

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return table_html(self._table())


def propose_modes(
    runs: RunLike | None = None,
    *,
    agent: str,
    via: str | None = None,
    client: AgentClient | AsyncAgentClient | None = None,
    human: str = "verdict",
    score: str = "mode",
    **options: Any,
) -> ModeProposal:
    """Ask ``agent`` (on connection ``via``, or ``client``) to group ``runs`` (default: the
    latest runs a person failed, their ``human`` score False) into named failure modes, from
    each run's question, answer and the person's note (its ``human`` score's comment), all
    handed to it as fenced data. Returns the proposal, shown as a table of modes, runs and
    notes; it labels nothing until ``proposal.accept()``."""
    found = (
        agentnb.runs(score={human: False}, limit=PROPOSED_RUNS)
        if runs is None
        else kept_store("failure modes").runs_by_ids(run_ids(runs), table=RunHistory)
    )
    if not len(found):
        raise ConfigurationError(
            f"no run to group: none has score.{human} False (a ✗); fail some first, or pass runs"
        )
    notes = {g.local_id: g.comment or "" for g in agentnb.scores(found, human, history=False)}
    fields = {
        "runs": [
            {
                "id": record.local_id,
                "question": record.message or "",
                "answer": excerpt(record.answer or "", ANSWER_CHARS),
                "note": notes.get(record.local_id, ""),
            }
            for record in found
        ]
    }
    prompt = fenced_prompt(
        "You group failed answers of an AI agent into failure modes: a few named kinds of "
        "failure, each a short name, what it is, and the runs (their id) that show it; a run "
        "may be in no mode.",
        "What you group",
        fields,
        'Reply with one JSON object only: {"modes": [{"name": "<a few words>", '
        '"description": "<one sentence>", "runs": ["<id>", ...]}]}',
    )
    metadata = {**options.pop("metadata", {}), EVALUATES: found[0].local_id}
    handle = agentnb.ask(agent, prompt, via=via, client=client, display=False,
                         metadata=metadata, **options)  # fmt: skip
    answer = handle.wait(JUDGE_TIMEOUT).text
    modes = read_modes(answer, [record.local_id for record in found])
    placed = {local_id for mode in modes for local_id in mode.local_ids}
    unplaced = tuple(r.local_id for r in found if r.local_id not in placed)
    return ModeProposal(tuple(modes), notes, unplaced, score, agent)


def read_modes(text: str, ids: Sequence[str]) -> list[ProposedMode]:
    """The modes in an agent's reply (``{"modes": [...]}``), each run id one of ``ids``
    (others dropped), each run in the first mode naming it; ValueError when the reply is not
    that JSON."""
    start, end = (text or "").find("{"), (text or "").rfind("}")
    try:
        reply = json.loads(text[start : end + 1]) if 0 <= start < end else None
    except ValueError:
        reply = None
    listed = reply.get("modes") if isinstance(reply, dict) else None
    if not isinstance(listed, list):
        raise ValueError(f"the agent did not answer with the modes asked for: {text[:200]!r}")
    known, placed, modes = set(ids), set[str](), []
    for item in listed:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            continue
        name = " ".join(item["name"].split())[:NAME_CHARS]
        runs = [i for i in item.get("runs") or [] if isinstance(i, str) and i in known - placed]
        if name and runs:
            placed.update(runs)
            modes.append(ProposedMode(name, str(item.get("description") or ""), tuple(runs)))
    return modes
