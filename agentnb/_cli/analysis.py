"""``agentnb summary``: the analysis a notebook gets, printed as ``agentnb.summary()``'s text;
and :func:`print_from`, which prints what a command reads from the history (the summary, a
plugin's command such as ``agentnb experiments``) fitted to the terminal, its mistakes one
line and status 2; a command may give its own status with its text (a failed gate: 1)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .._app.past.history_tables import HistoryStore
from .._core.exceptions import AgentNBError
from .._core.extras import MissingExtraError
from .._core.text import terminal_safe
from .._display.terminal import fit_lines, print_fitted, terminal_width
from .._history._run_filter import RunFilter
from .runs import history_location, since

__all__ = ["SUMMARY_HELP", "configure_summary", "print_from", "summary_command"]

SUMMARY_HELP = "print the runs' figures by agent, model or day, as agentnb.summary() does"


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
        frame = store.summary(
            RunFilter.build(agent=args.agent, since=since(args.since)),
            args.by if len(args.by) > 1 else args.by[0],
            every=args.every,
            include=args.include,
            columns="all" if args.all_columns else None,
        )
        frame.attrs["more_columns"] = "--all-columns"  # the footer speaks the command's options
        return str(frame)

    return print_from(args, "summary", text)


def print_from(
    args: argparse.Namespace, command: str, text: Callable[[Any], str | tuple[str, int]]
) -> int:
    try:
        location = history_location(args.db)
        if location is None:
            print_fitted(f"agentnb {command}: the run history is off (AGENTNB_HISTORY=off)")
            return 0
        if isinstance(location, Path) and not location.exists():
            print_fitted(f"agentnb {command}: no runs recorded yet in {location}")
            return 0
        with HistoryStore(location) as store:
            given = text(store)
    except MissingExtraError as exc:  # the command apart, whole: to copy at any width
        print_fitted(f"agentnb {command}: error: {exc.needs}, which is not installed:")
        print_fitted(f"  {exc.command}")
        return 2
    except AgentNBError as exc:  # a bad name or option
        print_fitted(f"agentnb {command}: error: {terminal_safe(str(exc))}")
        return 2
    shown, status = given if isinstance(given, tuple) else (given, 0)
    # questions and answers hold what servers sent; a note longer than the terminal wraps
    print(fit_lines(terminal_safe(shown), terminal_width(sys.stdout)))
    return status
