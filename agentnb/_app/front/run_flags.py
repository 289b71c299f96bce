"""The options of a run, written once for ``%%agent`` / ``%agent`` and ``agentnb run``.

Each :class:`RunFlag` gives an option's name, type, help and default, where it applies (the
magics, the CLI or both) and the :class:`~agentnb.types.RunOptions` key it sets, so the same option
gives the same request on every path. The magics build their ``magic_arguments`` from this
table (:mod:`agentnb._notebook.magic_args`), the CLI its ``argparse`` parser
(:mod:`agentnb._cli.run_command`). ``--approve`` becomes the run's approval policy here too
(:func:`approval_policy`).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypedDict, cast

from ..._core.approvals import ApprovalDecision, ApprovalPolicy, Approver
from ..._core.exceptions import ConfigurationError
from ..._core.handle import RunListener
from ..._core.request import RunOptions
from ..._core.run import ToolCall
from ..._core.text import did_you_mean
from ..._display.approval_prompt import TerminalApprover, printed_with
from ..._display.environment import in_notebook
from ..._display.terminal import TerminalPrinter
from ...providers import available_providers
from .connections import BUILTIN_AGENTS, Connection

__all__ = [
    "AGENT_HELP",
    "BY_POLICY",
    "RUN_FLAGS",
    "RunFlag",
    "add_run_flags",
    "approval_policy",
    "dialect_names",
    "flags_for",
    "parser_options",
    "run_options_from",
    "terminal_start",
    "unknown_options",
]

AGENT_HELP = f"the agent to run (on the built-in server: {', '.join(BUILTIN_AGENTS)})"
APPROVE_CHOICES = ("ask", "all", "none")

Where = Literal["both", "magic", "cli"]


def dialect_names() -> str:
    """The dialects agentnb speaks, from the registry: "openai, operativus, ..."."""
    return ", ".join(sorted(available_providers()))


RETIRED_FLAGS = {
    "--new": "each cell now starts a new conversation (--continue or --thread ID go on with "
    "one), so --new is not needed: remove it",
}
"""Flags that are gone → the sentence an old notebook's cell gets when it still uses one."""


def unknown_options(words: Iterable[str], known: Iterable[str]) -> str:
    """ "unrecognized arguments: ..." for ``words``, each option with its did-you-mean among
    ``known`` (the parser's option strings) when one is close, or why a retired flag is gone."""
    known = [option for option in known if option.startswith("--")]
    words = list(words)
    hints = []
    for word in words:
        name = word.split("=", 1)[0]
        if name in RETIRED_FLAGS:
            hints.append(f"{name}: {RETIRED_FLAGS[name]}")
        elif name.startswith("-") and (close := did_you_mean(name, known)) is not None:
            hints.append(f"{name}: did you mean {close}?")
    return f"unrecognized arguments: {' '.join(words)}" + "".join(f"\n  {h}" for h in hints)


def parser_options(parser: argparse.ArgumentParser) -> list[str]:
    """Every option string ``parser`` takes."""
    return [option for action in parser._actions for option in action.option_strings]


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    """``["k=v", ...]`` (a repeated ``flag``: ``--meta``, ``--config``) as a dict; a malformed
    pair is refused."""
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigurationError(f"{flag} {item!r}: expected KEY=VALUE")
        pairs[key] = value
    return pairs


@dataclass(frozen=True)
class RunFlag:
    """One option of a run, as both parsers declare it."""

    flag: str
    help: str
    where: Where = "both"
    option: str | None = None
    """The :class:`~agentnb.types.RunOptions` key this option sets, if any."""
    convert: Callable[[Any], Any] | None = None
    """Turns the parsed value into the run option's value (``--meta`` pairs → dict)."""
    from_namespace: bool = False
    """The value names a variable of the notebook namespace (magics only)."""
    type: Callable[[str], Any] | None = None
    action: str | None = None
    metavar: str | None = None
    default: Any = None
    choices: tuple[str, ...] | None = None
    unset_is_none: bool = False
    """A switch whose absence parses as None: "the magics' configured default"."""

    @property
    def dest(self) -> str:
        """The attribute the parsed value lands in (``--top-p`` → ``top_p``)."""
        return self.flag.removeprefix("--").replace("-", "_")

    def kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``add_argument`` (and IPython's ``argument``); a help
        naming ``{dialects}`` gets the registry's dialects (plugins included)."""
        named = "{dialects}" in self.help
        given = {
            "help": self.help.replace("{dialects}", dialect_names()) if named else self.help,
            "type": self.type,
            "action": self.action,
            "metavar": self.metavar,
            "choices": self.choices,
        }
        kwargs = {key: value for key, value in given.items() if value is not None}
        if self.default is not None or self.unset_is_none:
            kwargs["default"] = self.default
        return kwargs


def _notebook_variable(flag: str, help: str, option: str) -> RunFlag:
    """A magics-only option whose value names a variable of the notebook's namespace."""
    return RunFlag(flag, help, where="magic", option=option, from_namespace=True, metavar="VAR")


def _pairs_flag(flag: str, help: str, option: str, key: str) -> RunFlag:
    """A repeatable ``flag KEY=VALUE``: the run option ``option`` is a dict of the pairs."""
    convert = partial(_pairs, flag=flag)
    pair = f"{key}=VALUE"
    return RunFlag(
        flag, help, option=option, convert=convert, action="append", default=[], metavar=pair
    )


APPROVE_HELP = (
    "tool calls that need a human's approval: ask (the default: a [y/N] prompt in a "
    "terminal, the Approve/Deny buttons in a notebook; a notebook cell with --wait keeps "
    "the kernel busy, so there they are denied), all (approve every call), none (deny every "
    "call)"
)

BUSY_KERNEL = (
    "nobody could approve it: this cell waits for its run (--wait), so the kernel is busy and "
    "the Approve button cannot reach it; run the cell without --wait to decide in the chat "
    "cell, or pass --approve all"
)
"""Why a notebook cell with ``--wait`` denies a call awaiting approval."""
BY_POLICY = "the --approve none policy"


class TerminalStart(TypedDict):
    """How a command starts the run it streams to the terminal (``start_run``'s keywords)."""

    listeners: tuple[RunListener, ...]
    record: bool
    approve: ApprovalPolicy


def terminal_start(
    args: argparse.Namespace, conn: Connection, printer: TerminalPrinter, held: RunListener
) -> TerminalStart:
    """The run a command streams to ``printer`` (``held``: a listener passing it on),
    recorded unless ``--no-record``, its calls decided by ``--approve`` (at a prompt: the
    command waits for the run)."""
    approve = approval_policy(args.approve, conn, waiting=True)
    printed_with(printer, approve)
    return {"listeners": (held,), "record": not args.no_record, "approve": approve}


def approval_policy(
    choice: str | None, conn: Connection, *, waiting: bool, local_tools: bool = False
) -> ApprovalPolicy:
    """The ``approve=`` of a run on ``conn`` for ``--approve CHOICE`` (None: ``ask``).

    ``all`` and ``none`` decide every call (a dialect that cannot carry decisions refuses
    them). ``ask`` asks a person, where the dialect can pause a run at all or the run
    carries the notebook's own tools (``local_tools``: their calls are decided here,
    whatever the dialect carries): at a ``[y/N]``
    prompt when the run blocks a terminal; with the chat cell's buttons in a notebook cell
    that returns at once (None: nothing decides for them); and denies with
    :data:`BUSY_KERNEL` in a notebook cell that waits, whose kernel cannot take a click
    before the cell ends."""
    if choice == "all":
        return True
    if choice == "none":
        return _deny_with(BY_POLICY)
    if not waiting or not (local_tools or conn.client().provider.supports_approvals):
        return None
    if in_notebook():
        return _deny_with(BUSY_KERNEL)
    return TerminalApprover()


def _deny_with(reason: str) -> Approver:
    def deny(call: ToolCall) -> ApprovalDecision:
        return ApprovalDecision(call.call_id, False, reason)

    return deny


RUN_FLAGS: tuple[RunFlag, ...] = (
    RunFlag(
        "--provider",
        "dialect: {dialects} (default: AGENTNB_PROVIDER, else the built-in server)",
        where="cli",
    ),
    RunFlag("--base-url", "the platform's base URL (default: AGENTNB_BASE_URL)", where="cli"),
    RunFlag(
        "--api-key-file",
        "read the platform's API key from this file, its one line (default: AGENTNB_API_KEY, "
        "or AGENTNB_<NAME>_API_KEY for --via NAME)",
        where="cli",
        metavar="PATH",
    ),
    RunFlag(
        "--via",
        "the named connection to use (agentnb.connect(..., name=NAME) or AGENTNB_<NAME>_* "
        "variables; default: 'default')",
        metavar="NAME",
    ),
    RunFlag("--thread", "continue this thread / session id", option="thread_id", metavar="ID"),
    RunFlag(
        "--continue",
        "continue the last conversation with this agent on this connection (the cell's head "
        "says which thread and turn); without it, or --thread, each run (a re-run too) starts "
        "a new conversation",
        where="magic",
        action="store_true",
    ),
    RunFlag(
        "--temperature", "sampling temperature, 0-2", option="temperature", type=float, metavar="T"
    ),
    RunFlag("--top-p", "nucleus sampling mass, 0-1", option="top_p", type=float, metavar="P"),
    RunFlag(
        "--max-tokens",
        "upper bound on generated tokens",
        option="max_tokens",
        type=int,
        metavar="N",
    ),
    RunFlag(
        "--frequency-penalty",
        "frequency penalty, -2 to 2",
        option="frequency_penalty",
        type=float,
        metavar="F",
    ),
    RunFlag(
        "--presence-penalty",
        "presence penalty, -2 to 2",
        option="presence_penalty",
        type=float,
        metavar="F",
    ),
    RunFlag(
        "--schema",
        "JSON schema dict or pydantic model class in the namespace; the answer is JSON and "
        ".result is validated",
        where="magic",
        metavar="VAR",
    ),
    _pairs_flag("--meta", "metadata stored with the run (repeatable)", "metadata", "KEY"),
    _pairs_flag(
        "--config",
        "an ACP session's setting for this run (repeatable): model=..., mode=..., effort=... "
        "or a setting's id (see connection.acp.config_options)",
        "config",
        "NAME",
    ),
    RunFlag("--followups", "ask for follow-up questions", option="followups", action="store_true"),
    _notebook_variable("--media", "list of agentnb.Media (or dicts) to attach", "media"),
    RunFlag("--team-id", "SeekrFlow team (x-team-id header)", option="team_id", metavar="ID"),
    RunFlag("--user-id", "Operativus userId", option="user_id", metavar="ID"),
    RunFlag("--org-id", "Operativus orgId", option="org_id", metavar="ID"),
    _notebook_variable("--extra", "dict of dialect-specific body fields", "extra"),
    RunFlag(
        "--tool",
        "a function of the notebook the agent may call (repeatable)",
        where="magic",
        option="tools",
        from_namespace=True,
        action="append",
        metavar="NAME",
    ),
    RunFlag(
        "--context",
        "offer the agent read-only tools over the notebook's variables, cells, last error and "
        "files (see docs/context.md)",
        where="magic",
        action="store_true",
    ),
    RunFlag(
        "--notebook",
        "let the agent add, edit and run cells, each asking first (agentnb.notebook_tools(); "
        "see docs/notebook-tools.md)",
        where="magic",
        action="store_true",
    ),
    RunFlag("--approve", APPROVE_HELP, choices=APPROVE_CHOICES, metavar="{ask,all,none}"),
    RunFlag("--out", "also bind the run handle to this variable", where="magic", metavar="VAR"),
    RunFlag(
        "--wait",
        "block until the run ends (scripts, papermill, nbval; terminal IPython always waits)",
        where="magic",
        action="store_true",
        unset_is_none=True,
    ),
    RunFlag(
        "--plain",
        "text output instead of the widget (agentnb run: the answer's markdown as written, "
        "no colour, as when stdout is not a terminal or NO_COLOR is set)",
        action="store_true",
        unset_is_none=True,
    ),
    RunFlag("--no-record", "keep this run out of the history", action="store_true"),
    RunFlag(
        "--no-interpolate",
        "send {{name}} placeholders as they are",
        where="magic",
        action="store_true",
    ),
    RunFlag("--no-color", "plain text output", where="cli", action="store_true"),
)
"""Every run option, in the order the help lists them."""


def flags_for(where: Literal["magic", "cli"], only: Collection[str] | None = None) -> list[RunFlag]:
    """The options one parser offers (those of them ``only`` names)."""
    offered = [flag for flag in RUN_FLAGS if flag.where in ("both", where)]
    return offered if only is None else [flag for flag in offered if flag.flag in only]


def add_run_flags(
    parser: argparse.ArgumentParser,
    where: Literal["magic", "cli"],
    only: Collection[str] | None = None,
) -> None:
    """Declare the run options of ``where`` (those of them ``only`` names) on ``parser``."""
    for flag in flags_for(where, only):
        parser.add_argument(flag.flag, **flag.kwargs())


def run_options_from(
    args: argparse.Namespace, resolve: Callable[[str, str], Any] | None = None
) -> RunOptions:
    """The run options the parsed ``args`` ask for; ``resolve(name, flag)`` looks up the
    namespace variable an option such as ``--media`` names (magics only)."""
    given: dict[str, Any] = {}
    for flag in RUN_FLAGS:
        value = getattr(args, flag.dest, None)
        if flag.option is None or value is None:
            continue
        if flag.from_namespace:
            if not value:
                continue
            if resolve is None:
                raise ConfigurationError(f"{flag.flag} names a variable: only the magics take it")
            names = value if isinstance(value, list) else None
            value = [resolve(n, flag.flag) for n in names] if names else resolve(value, flag.flag)
        given[flag.option] = flag.convert(value) if flag.convert is not None else value
    return cast("RunOptions", given)
