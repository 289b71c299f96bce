"""The options of ``%%agent`` / ``%agent`` and how they become run options.

Every option of :class:`~agentnb.RunOptions` that can be written on a magic line has one
here, under the name the CLI uses, so the same option gives the same request on every path.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from IPython.core import magic_arguments
from IPython.core.error import UsageError

from .._core.request import RunOptions

__all__ = ["request_options", "run_options", "split_line"]

argument: Callable[..., Callable[[Any], Any]] = magic_arguments.argument
"""IPython's option decorator (unannotated there)."""


def run_options(func: Any) -> Any:
    """Decorate a magic with the options shared by ``%%agent`` and ``%agent``."""
    options = [
        argument("--via", metavar="NAME", help="connection to use (default: 'default')"),
        argument("--thread", metavar="ID", help="continue this thread / session id"),
        argument("--new", action="store_true", help="start a new conversation"),
        argument("--temperature", type=float, metavar="T", help="sampling temperature, 0-2"),
        argument("--top-p", type=float, metavar="P", help="nucleus sampling mass, 0-1"),
        argument("--max-tokens", type=int, metavar="N", help="upper bound on generated tokens"),
        argument("--frequency-penalty", type=float, metavar="F", help="frequency penalty, -2 to 2"),
        argument("--presence-penalty", type=float, metavar="F", help="presence penalty, -2 to 2"),
        argument(
            "--schema",
            metavar="VAR",
            help="JSON schema dict or pydantic model class in the namespace; "
            "the answer is JSON and .result is validated",
        ),
        argument(
            "--meta",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="metadata stored with the run (repeatable)",
        ),
        argument("--followups", action="store_true", help="ask for follow-up questions"),
        argument("--media", metavar="VAR", help="list of agentnb.Media (or dicts) to attach"),
        argument("--team-id", metavar="ID", help="SeekrFlow team (x-team-id header)"),
        argument("--user-id", metavar="ID", help="Operativus userId"),
        argument("--org-id", metavar="ID", help="Operativus orgId"),
        argument("--extra", metavar="VAR", help="dict of dialect-specific body fields"),
        argument("--out", metavar="VAR", help="also bind the run handle to this variable"),
        argument(
            "--wait",
            action="store_true",
            default=None,
            help="block until the run ends (scripts, papermill, nbval)",
        ),
        argument(
            "--plain", action="store_true", default=None, help="text output instead of the widget"
        ),
        argument("--no-record", action="store_true", help="keep this run out of the history"),
        argument(
            "--no-interpolate", action="store_true", help="send {{name}} placeholders as they are"
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def request_options(args: argparse.Namespace, ns: dict[str, Any]) -> RunOptions:
    """The run options the parsed magic line asks for (variables looked up in ``ns``)."""
    options = RunOptions(
        thread_id=args.thread,
        temperature=args.temperature,
        top_p=args.top_p,
        max_tokens=args.max_tokens,
        frequency_penalty=args.frequency_penalty,
        presence_penalty=args.presence_penalty,
        metadata=_pairs(args.meta),
        followups=args.followups,
        team_id=args.team_id,
        user_id=args.user_id,
        org_id=args.org_id,
    )
    if args.media:
        options["media"] = lookup(ns, args.media, "--media")
    if args.extra:
        options["extra"] = lookup(ns, args.extra, "--extra")
    return options


def lookup(ns: dict[str, Any], name: str, option: str) -> Any:
    """The namespace variable an option names."""
    if name not in ns:
        raise UsageError(f"{option} {name}: no variable {name!r} in the notebook namespace")
    return ns[name]


def _pairs(items: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs


def split_line(parser: argparse.ArgumentParser, line: str) -> tuple[str, str]:
    """Split an ``%agent`` line into (options and agent, message), keeping the message verbatim.

    Options may come before or right after the agent name; the message is everything from the
    first word that is neither an option, an option's value nor the agent.
    """
    takes_value = {
        opt for action in parser._actions if action.nargs != 0 for opt in action.option_strings
    }
    pos, seen_agent, expect_value = 0, False, False
    while pos < len(line):
        while pos < len(line) and line[pos].isspace():
            pos += 1
        end = pos
        while end < len(line) and not line[end].isspace():
            end += 1
        word = line[pos:end]
        if not word:
            break
        if expect_value:
            expect_value = False
        elif word.startswith("--"):
            expect_value = word.split("=", 1)[0] in takes_value and "=" not in word
        elif not seen_agent:
            seen_agent = True
        else:
            break
        pos = end
    return line[:pos], line[pos:].strip()
