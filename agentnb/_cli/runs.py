"""``agentnb runs``: the recent runs from the history, as a table or JSON."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .._app.past.history_tables import HistoryStore, RunHistory
from .._core.exceptions import ConfigurationError
from .._core.text import terminal_safe
from .._display.terminal import print_fitted
from .._history._file import HistoryLocation, default_location, expand_path
from .._history._run_filter import RunFilter

__all__ = ["HELP", "configure", "history_location", "main", "since"]

HELP = "print the recent runs from the run history"
DEFAULT_LIMIT = 20
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_C1 = re.compile(r"[\x7f-\x9f]")
"""DEL and the C1 controls, which ``json.dumps(ensure_ascii=False)`` writes as they are: a
terminal takes U+009B for CSI and U+009D for OSC. Escaped, the JSON means the same."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", action="append", help="only this agent (repeatable)")
    parser.add_argument(
        "--status",
        action="append",
        help="only this status: running, completed, failed, cancelled, interrupted (repeatable)",
    )
    parser.add_argument(
        "--since", help="only runs started since: an ISO date/time, or a span like 90m, 24h, 7d"
    )
    parser.add_argument("--thread", help="only runs of this thread / session id")
    parser.add_argument(
        "--search",
        metavar="TEXT",
        help="only runs whose question, answer, reasoning or tool calls hold these words, "
        "best match first (word* for words that start so)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help=f"how many of the most recent runs (default {DEFAULT_LIMIT}; --all for every run)",
    )
    parser.add_argument("--all", action="store_true", help="every run, however many")
    parser.add_argument("--json", action="store_true", help="print a JSON array, one run a line")
    parser.add_argument(
        "--wide",
        action="store_true",
        help="every column at full width, however wide the terminal (the table fits a "
        "terminal's width otherwise)",
    )
    parser.add_argument(
        "--db", help="history database path (default: $AGENTNB_HISTORY or the per-user one)"
    )


def main(args: argparse.Namespace) -> int:
    history, where = _read(args)
    if where is None:
        print_fitted("agentnb runs: the run history is off (AGENTNB_HISTORY=off)")
        return 0
    if args.json:
        _print_json(history.to_dicts())
        return 0
    if len(history):
        text = history.to_text(width=None if args.wide else _terminal_width())
        print(terminal_safe(text))  # rows hold what servers sent
    noun = "run" if len(history) == 1 else "runs"
    order = "best match first" if args.search is not None else "most recent first"
    print_fitted(f"{len(history)} {noun}, {order}, from {where}")
    return 0


def _terminal_width() -> int | None:
    """The terminal's columns when stdout is one (or ``$COLUMNS`` says), else None: a
    table written to a file or a pipe keeps every column."""
    if sys.stdout.isatty() or os.environ.get("COLUMNS"):
        return shutil.get_terminal_size().columns
    return None


def _read(args: argparse.Namespace) -> tuple[Any, str | None]:
    limit = None if args.all else (DEFAULT_LIMIT if args.limit is None else args.limit)
    where = RunFilter.build(
        agent=args.agent,
        status=args.status,
        since=since(args.since),
        thread=args.thread,
        limit=limit,
        search=args.search,
    )
    location = history_location(args.db)
    if location is None:
        return RunHistory(), None
    if isinstance(location, Path) and not location.exists():
        return RunHistory(), f"{location} (no runs recorded yet)"
    with HistoryStore(location) as store:
        history = store.runs(where)
        history.read_rows()  # its errors reported while the store is open
        return history, str(location)


def history_location(db: str | None) -> HistoryLocation:
    """The history ``--db`` names, else the default one (None: history is off)."""
    return expand_path(db, "--db") if db else default_location()


def since(text: str | None) -> str | timedelta | None:
    """``--since``: a span (``90m``, ``7d``) or an ISO date or time."""
    if text is None:
        return None
    parts = _DURATION.findall(text)
    if parts and _DURATION.sub("", text).strip() == "":
        try:
            return sum(
                (timedelta(**{_UNITS[unit.lower()]: float(n)}) for n, unit in parts), timedelta()
            )
        except OverflowError:
            raise ConfigurationError(f"--since {text!r} reaches too far back") from None
    try:
        datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigurationError(
            f"--since {text!r} is neither a span nor a date: give a span such as 90m, 24h, "
            f"7d or 2w, or an ISO date or time such as 2025-01-31 or 2025-01-31T09:00"
        ) from None
    return text


def _print_json(records: list[dict[str, Any]]) -> None:
    if not records:
        print("[]")
        return
    lines = [_C1.sub(_escaped, json.dumps(record, ensure_ascii=False)) for record in records]
    print("[\n" + ",\n".join(lines) + "\n]")


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"
