"""One definition of the run options: ``%%agent`` / ``%agent`` and ``agentnb run`` build their
parsers from ``RUN_FLAGS``, so an option shared by both is the same option (name, type, help,
default) and gives the same request."""

from __future__ import annotations

import argparse
import shlex
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from agentnb._app.front.connections import BUILTIN_AGENTS
from agentnb._app.front.run_flags import (
    AGENT_HELP,
    RUN_FLAGS,
    flags_for,
    run_options_from,
)
from agentnb._cli.main import build_parser
from agentnb._core.request import RUN_OPTIONS, build_request
from agentnb.server.agents import AGENTS


@pytest.fixture(scope="module")
def magic_parser() -> argparse.ArgumentParser:
    shell = InteractiveShell.instance()
    shell.extension_manager.load_extension("agentnb")
    parser: argparse.ArgumentParser = shell.magics_manager.magics["line"]["agent"].parser
    return parser


@pytest.fixture(scope="module")
def cli_parser() -> argparse.ArgumentParser:
    subparsers = next(
        action
        for action in build_parser()._actions
        if isinstance(action, argparse._SubParsersAction)
    )
    parser: argparse.ArgumentParser = subparsers.choices["run"]
    return parser


def option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action:
    return next(action for action in parser._actions if flag in action.option_strings)


def described(action: argparse.Action) -> tuple[Any, ...]:
    return (action.dest, action.type, action.help, action.default, action.nargs, action.choices)


def test_each_shared_option_is_declared_the_same_on_both(
    magic_parser: argparse.ArgumentParser, cli_parser: argparse.ArgumentParser
) -> None:
    shared = [flag.flag for flag in RUN_FLAGS if flag.where == "both"]
    assert {"--thread", "--temperature", "--meta", "--approve", "--no-record"} <= set(shared)
    for flag in shared:
        assert described(option(magic_parser, flag)) == described(option(cli_parser, flag)), flag


def test_each_parser_has_exactly_its_options(
    magic_parser: argparse.ArgumentParser, cli_parser: argparse.ArgumentParser
) -> None:
    for parser, where in ((magic_parser, "magic"), (cli_parser, "cli")):
        declared = {s for a in parser._actions for s in a.option_strings if s.startswith("--")}
        assert declared - {"--help"} == {flag.flag for flag in flags_for(where)}


def test_the_same_line_gives_the_same_request(
    magic_parser: argparse.ArgumentParser, cli_parser: argparse.ArgumentParser
) -> None:
    line = (
        "--thread t1 --temperature 0.1 --top-p 0.9 --max-tokens 5 --frequency-penalty 0.5 "
        "--presence-penalty -0.5 --meta a=b --meta c=d=e --followups --team-id T "
        "--user-id U --org-id O"
    )
    from_magic = run_options_from(magic_parser.parse_args(["echo", *shlex.split(line)]))
    from_cli = run_options_from(cli_parser.parse_args(["echo", "hi", *shlex.split(line)]))
    assert from_magic == from_cli
    assert set(from_cli) == RUN_OPTIONS - {"response_format", "media", "extra", "tools"}
    assert build_request("echo", "hi", **from_cli).metadata == {"a": "b", "c": "d=e"}


def test_unset_switches_keep_their_meaning(
    magic_parser: argparse.ArgumentParser, cli_parser: argparse.ArgumentParser
) -> None:
    magic = magic_parser.parse_args(["echo"])
    assert (magic.wait, magic.plain) == (None, None)  # "the configured default"
    assert (magic.followups, magic.no_record, magic.approve) == (False, False, None)
    cli = cli_parser.parse_args(["echo", "hi"])
    assert (cli.no_color, cli.no_record, cli.meta) == (False, False, [])


def test_every_built_in_agent_is_listed() -> None:
    assert set(BUILTIN_AGENTS) == set(AGENTS)
    assert all(name in AGENT_HELP for name in AGENTS)
