"""The options of ``%%agent`` / ``%agent`` and how they become run options.

The options themselves are declared once, for the magics and ``agentnb run`` alike, in
:data:`~agentnb._app.front.run_flags.RUN_FLAGS`: the same option gives the same request on
every path.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection
from functools import partial
from typing import Any

from IPython.core import magic_arguments
from IPython.core.error import UsageError

from .._app.front.run_flags import flags_for, run_options_from
from .._core.client_tools import ClientTool
from .._core.request import RunOptions

__all__ = [
    "attach_options",
    "lookup",
    "request_options",
    "run_options",
    "split_line",
    "without_comment",
]

ATTACH_FLAGS = ("--via", "--thread", "--approve", "--out", "--wait", "--plain", "--no-record")
"""The run options ``%agent_attach`` takes too (a reattached run was already asked)."""

argument: Callable[..., Callable[[Any], Any]] = magic_arguments.argument
"""IPython's option decorator (unannotated there)."""


def run_options(func: Any, only: Collection[str] | None = None) -> Any:
    """Decorate a magic with the run options of the magics (see ``RUN_FLAGS``), or those of
    them ``only`` names."""
    for flag in reversed(flags_for("magic", only)):
        func = argument(flag.flag, **flag.kwargs())(func)
    return func


def attach_options(func: Any) -> Any:
    """Decorate ``%agent_attach`` with :data:`ATTACH_FLAGS`, declared as for ``%%agent``."""
    return run_options(func, ATTACH_FLAGS)


def request_options(args: argparse.Namespace, ns: dict[str, Any]) -> RunOptions:
    """The run options the parsed magic line asks for (variables looked up in ``ns``)."""
    return run_options_from(args, partial(lookup, ns))


def lookup(ns: dict[str, Any], name: str, option: str) -> Any:
    """The namespace variable an option names."""
    if name not in ns:
        raise UsageError(f"{option} {name}: no variable {name!r} in the notebook namespace")
    if option == "--tool" and not (callable(ns[name]) or isinstance(ns[name], ClientTool)):
        raise UsageError(f"--tool {name}: {name!r} is a {type(ns[name]).__name__}, not a function")
    return ns[name]


def without_comment(options: str) -> str:
    """A magic's line of options without its ``# comment``: a word starting with ``#``
    outside quotes starts one, as in Python (``%agent   # the default connection's agents``).
    Only for what holds no message: in ``%agent AGENT message``, a ``#`` is the message's."""
    quote = ""
    for i, char in enumerate(options):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or options[i - 1].isspace()):
            return options[:i]
    return options


def split_line(line: str) -> tuple[str, str]:
    """Split an ``%agent`` line into (options and agent, message), keeping the message verbatim.

    Options may come before or right after the agent name; the message is everything from the
    first word that is neither an option, an option's value nor the agent.
    """
    takes_value = {flag.flag for flag in flags_for("magic") if flag.action != "store_true"}
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
