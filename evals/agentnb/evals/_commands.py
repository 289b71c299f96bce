"""``agentnb experiments``: the experiments the history keeps, one experiment's grid, two of
its arms compared, one question's runs. agentnb's command line finds it through the
``agentnb.plugins`` entry point (``register_commands``), as simonw/llm finds its plugins'
commands: the command line never imports evaluation."""

from __future__ import annotations

import argparse
import contextlib
import io
from collections.abc import Callable

import agentnb
from agentnb import ConfigurationError
from agentnb.display import fitting_columns, shown_summary
from agentnb.history import HistoryStore, RunRecord

from ._experiment import Experiment, experiment, experiments

__all__ = ["register_commands"]

HELP = "print the experiments, one experiment's grid, or two of its arms compared"
OPEN_HINT = "Open: --question ID (its runs side by side), --question ID --arm ARM (one)"
LISTED_FIRST = ("agents", "questions", "score.", "cost", "runs", "created")
"""The listing's columns a terminal shows first, as many as fit one row an experiment
(``score.``: each score's mean); ``--all-columns`` shows every one."""

Add = Callable[..., None]
"""What registers a command: ``add(name, help, configure, text)``, where ``text(args,
store)`` returns what the command prints, read from the history store ``--db`` names (or
that and the status to exit with)."""

FAILED_GATE = 1
"""The status ``--check`` exits with when the candidate fails."""
UNDECIDED_GATE = 2
"""The status ``--check`` exits with, by default, when too few questions pair to call a
difference (``--undecided-exit`` sets another: 0 lets it pass)."""


def register_commands(add: Add) -> None:
    add("experiments", HELP, configure, experiments_text)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="one experiment: its question × arm grid")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="arm A against arm B question by question (an agent, an arm's label or index)",
    )
    parser.add_argument("--score", help="the score --compare pairs (default: the only one)")
    parser.add_argument(
        "--all-columns",
        action="store_true",
        help="the listing's every figure, not those that fit one row an experiment",
    )
    parser.add_argument(
        "--question",
        metavar="ID",
        help="one question's runs side by side (its id, shown in [ ] in the grid)",
    )
    parser.add_argument("--arm", help="with --question: that arm's run alone (an agent or index)")
    parser.add_argument(
        "--check",
        nargs="+",
        metavar="ARM",
        help="a gate for CI: [BASELINE] CANDIDATE; exits 0 on a pass, 1 when the candidate is "
        "significantly worse on --score or a question has no score, 2 when too few questions "
        "decide (BASELINE: an arm or another experiment; none: the last experiment on the same "
        "dataset version)",
    )
    parser.add_argument(
        "--fail-if",
        choices=["worse", "not-better"],
        default="worse",
        help="with --check: fail when significantly worse (the default) or not significantly "
        "better",
    )
    parser.add_argument(
        "--allow-missing",
        type=_count(0),
        default=0,
        metavar="N",
        help="with --check: how many questions may have no score (an evaluator that failed, a "
        "run not scored) before the gate fails (default 0)",
    )
    parser.add_argument(
        "--min-questions",
        type=_count(1),
        metavar="N",
        help="with --check or --compare: the fewest paired questions a difference is called on "
        "(default: the fewest the sign test can decide on, 6 at 95%%); on fewer the gate is "
        "undecided",
    )
    parser.add_argument(
        "--undecided-exit",
        type=_count(0),
        default=UNDECIDED_GATE,
        metavar="CODE",
        help=f"with --check: the status to exit with when the gate is undecided (default "
        f"{UNDECIDED_GATE}; 0 lets it pass)",
    )


def experiments_text(args: argparse.Namespace, store: HistoryStore) -> str | tuple[str, int]:
    for option, given in (
        ("--compare", args.compare),
        ("--question", args.question),
        ("--check", args.check),
    ):
        if given and not args.name:
            raise ConfigurationError(f"{option} needs the experiment's name")
    if args.arm is not None and args.question is None:
        raise ConfigurationError("--arm needs --question")
    if args.name is None:
        return _listing(store, args.all_columns)
    found = experiment(args.name, store=store)
    if args.check:
        return _checked(found, args, store)
    if args.compare:
        a, b = map(_arm, args.compare)
        return found.compare(a, b, score=args.score, min_questions=args.min_questions).to_text()
    if args.question is not None:
        return _question_text(found, args.question, args.arm)
    return f"{found!r}\n{OPEN_HINT}"


def _listing(store: HistoryStore, all_columns: bool) -> str:
    """The experiments, one row each with the figures that fit the terminal (all of them,
    in blocks, with ``all_columns``), the footer naming the option for the rest."""
    listed = experiments(store=store)
    if not len(listed):
        return "no experiments yet: agentnb.evals.experiment(...)"
    names = [str(name) for name in listed.columns]
    wanted = [
        name
        for first in LISTED_FIRST
        for name in names
        if name == first or (first == "score." and _a_score_s_figure(name))
    ]
    shown = shown_summary(listed, "all" if all_columns else fitting_columns(listed, wanted))
    shown.attrs["more_columns"] = "--all-columns"  # the footer speaks the command's options
    return str(shown)


def _a_score_s_figure(column: str) -> bool:
    """A score's mean (``score.accuracy``) or a label's count, not how many it scored."""
    return column.startswith("score.") and not column.endswith("_n")


def _checked(found: Experiment, args: argparse.Namespace, store: HistoryStore) -> tuple[str, int]:
    if len(args.check) > 2:
        raise ConfigurationError("--check takes [BASELINE] CANDIDATE: one or two arms")
    if args.score is None:
        raise ConfigurationError("--check needs --score: the score the gate reads")
    *given, candidate = args.check
    baseline: str | int | Experiment | None = None
    if given:
        named = given[0]
        is_arm = named in found.arms or named in found.agents or named.isdigit()
        baseline = _arm(named) if is_arm else experiment(named, store=store)
    verdict = found.check(
        baseline,
        _arm(candidate),
        score=args.score,
        fail_if="worse" if args.fail_if == "worse" else "not better",
        allow_missing=args.allow_missing,
        min_questions=args.min_questions,
    )
    status = {"pass": 0, "fail": FAILED_GATE, "undecided": args.undecided_exit}[verdict.outcome]
    return verdict.to_text(), status


def _count(least: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``least``."""

    def read(text: str) -> int:
        if not text.isdigit() or int(text) < least:
            raise argparse.ArgumentTypeError(f"a whole number >= {least}, not {text!r}")
        return int(text)

    return read


def _arm(arm: str) -> str | int:
    return int(arm) if arm.isdigit() else arm


def _question_text(found: Experiment, question: str, arm: str | None) -> str:
    """One question's runs compared, or its run on ``arm`` as ``agentnb.show`` prints it."""
    if arm is not None:
        return _shown(found.run(question, _arm(arm)))
    runs = found.pair(question)
    if len(runs) < 2:
        raise ConfigurationError(f"question {question!r} has {len(runs)} run; give --arm")
    return agentnb.compare(runs).to_text()


def _shown(record: RunRecord) -> str:
    """The run as ``agentnb.show`` prints it outside a notebook."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        agentnb.show(record)
    return printed.getvalue().rstrip("\n")
