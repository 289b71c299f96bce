"""``agentnb summary`` and ``agentnb experiments``: the analysis a notebook gets, printed as
the same objects' text (``agentnb.summary()``, ``agentnb.experiments()``,
``agentnb.experiment(name)`` and its ``compare``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._app.compare_runs import compare
from .._app.experiments import Experiment, experiment, experiments
from .._app.history_tables import HistoryStore
from .._app.past_runs import past_run
from .._core.exceptions import AgentNBError, ConfigurationError
from .._core.extras import MissingExtraError
from .._core.text import terminal_safe
from .._display.static_copy import static_text
from .._display.terminal import fit_lines, print_fitted, terminal_width
from .._history._run_filter import RunFilter
from .runs import history_location, since

__all__ = [
    "EXPERIMENTS_HELP",
    "SUMMARY_HELP",
    "configure_experiments",
    "configure_summary",
    "experiments_command",
    "summary_command",
]

SUMMARY_HELP = "print the runs' figures by agent, model or day, as agentnb.summary() does"
EXPERIMENTS_HELP = "print the experiments, one experiment's grid, or two of its arms compared"


def configure_summary(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "by",
        nargs="*",
        default=["agent"],
        help="the columns to group by: agent (the default), model, status, "
        "metadata.KEY, ... (several: one group per combination)",
    )
    parser.add_argument("--every", choices=["hour", "day", "week"], help="a group per period too")
    parser.add_argument("--agent", action="append", help="only this agent (repeatable)")
    parser.add_argument(
        "--since", help="only runs started since: an ISO date/time, or a span like 90m, 24h, 7d"
    )
    parser.add_argument(
        "--include",
        default="completed",
        help="the runs whose times count: completed (the default), all, or a status",
    )
    parser.add_argument("--all-columns", action="store_true", help="every figure, not the first")
    parser.add_argument("--db", help="history database path (default: as `agentnb runs`)")


def summary_command(args: argparse.Namespace) -> int:
    def text(store: HistoryStore) -> str:
        where = RunFilter.build(agent=args.agent, since=since(args.since))
        frame = store.summary(
            where,
            args.by if len(args.by) > 1 else args.by[0],
            every=args.every,
            include=args.include,
            columns="all" if args.all_columns else None,
        )
        return str(frame)

    return _print_from(args, "summary", text)


def configure_experiments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", nargs="?", help="one experiment: its question × arm grid")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A", "B"),
        help="arm A against arm B question by question (an agent, an arm's label or index)",
    )
    parser.add_argument("--score", help="the score --compare pairs (default: the only one)")
    parser.add_argument(
        "--question",
        metavar="ID",
        help="one question's runs side by side (its id, shown in [ ] in the grid)",
    )
    parser.add_argument("--arm", help="with --question: that arm's run alone (an agent or index)")
    parser.add_argument("--db", help="history database path (default: as `agentnb runs`)")


def experiments_command(args: argparse.Namespace) -> int:
    for option, given in (("--compare", args.compare), ("--question", args.question)):
        if given and not args.name:
            print_fitted(f"agentnb experiments: error: {option} needs the experiment's name")
            return 2
    if args.arm is not None and args.question is None:
        print_fitted("agentnb experiments: error: --arm needs --question")
        return 2

    def text(store: HistoryStore) -> str:
        if args.name is None:
            listed = experiments(store=store)
            return str(listed) if len(listed) else "no experiments yet: batch(..., experiment=)"
        found = experiment(args.name, store=store)
        if args.compare:
            a, b = map(_arm, args.compare)
            return found.compare(a, b, score=args.score).to_text()
        if args.question is not None:
            return _question_text(store, found, args.question, args.arm)
        return f"{found!r}\n{OPEN_HINT}"

    return _print_from(args, "experiments", text)


OPEN_HINT = "Open: --question ID (its runs side by side), --question ID --arm ARM (one)"


def _arm(arm: str) -> str | int:
    return int(arm) if arm.isdigit() else arm


def _question_text(store: HistoryStore, found: Experiment, question: str, arm: str | None) -> str:
    """One question's runs compared, or its run on ``arm`` as ``agentnb.show`` prints it."""
    if arm is not None:
        record = found.run(question, _arm(arm))
        run = past_run(record, store.tool_calls([record.local_id]))
        return static_text([run], answer_chars=None)
    runs = found.pair(question)
    if len(runs) < 2:
        raise ConfigurationError(f"question {question!r} has {len(runs)} run; give --arm")
    return compare(runs).to_text()


def _print_from(args: argparse.Namespace, command: str, text: Callable[[Any], str]) -> int:
    try:
        location = history_location(args.db)
        if location is None:
            print_fitted(f"agentnb {command}: the run history is off (AGENTNB_HISTORY=off)")
            return 0
        if isinstance(location, Path) and not location.exists():
            print_fitted(f"agentnb {command}: no runs recorded yet in {location}")
            return 0
        with HistoryStore(location) as store:
            shown = text(store)
    except (AgentNBError, MissingExtraError) as exc:  # a bad name or option; pandas missing
        print_fitted(f"agentnb {command}: error: {terminal_safe(str(exc))}")
        return 2
    # questions and answers hold what servers sent; a note longer than the terminal wraps
    print(fit_lines(terminal_safe(shown), terminal_width(sys.stdout)))
    return 0
