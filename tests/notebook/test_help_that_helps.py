"""Help and errors that help (issue 27), typed as a user types them: ``%%agent --help`` and
``%agent --help`` print the usage, a misspelled option or agent gets a did-you-mean, and an
option the connection cannot send names the user's connection and agent and says which
connections can send it. Through a real IPython shell's ``run_cell`` and ``python -m
agentnb``, against the built-in server."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

import agentnb
from agentnb._app.front import connections as conns
from agentnb._cli.main import main as cli_main


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("agentnb")
    return ip


@pytest.fixture(autouse=True)
def connections(server: Any) -> Iterator[None]:
    conns.close_all()
    agentnb.connect("operativus", base_url=server.base_url, api_key=server.api_key, name="work")
    yield
    conns.close_all()


def typed(shell: InteractiveShell, source: str) -> tuple[str, str]:
    """What the cell printed, and its error's text ("" when it succeeded) with the lines it
    is cut into joined again."""
    with capture_output() as out:
        result = shell.run_cell(source)
    error = result.error_before_exec or result.error_in_exec
    return out.stdout, "" if error is None else " ".join(str(error).split())


@pytest.mark.parametrize("source", ["%%agent --help\n", "%%agent --help\n\n  \n", "%%agent -h"])
def test_the_cell_magic_prints_its_help_with_no_body(shell: InteractiveShell, source: str) -> None:
    printed, error = typed(shell, source)
    assert error == ""
    assert printed.lstrip().startswith("%%agent [--via NAME]")
    assert "--temperature T" in printed and "::" not in printed.split("\n")[0]


def test_the_line_magic_prints_its_help(shell: InteractiveShell) -> None:
    printed, error = typed(shell, "%agent --help")
    assert error == ""
    assert printed.lstrip().startswith("%agent [--via NAME]")


@pytest.mark.parametrize(
    ("option", "meant"),
    [("--top_p", "--top-p"), ("--temprature", "--temperature"), ("--max_tokens", "--max-tokens")],
)
def test_a_misspelled_option_gets_a_did_you_mean(
    shell: InteractiveShell, option: str, meant: str
) -> None:
    _, error = typed(shell, f"%%agent echo --via work {option} 0.3\nhi\n")
    assert f"unrecognized arguments: {option} 0.3" in error
    assert f"{option}: did you mean {meant}?" in error
    _, error = typed(shell, f"%agent echo --via work {option} 0.3 hi")
    assert f"did you mean {meant}?" in error


def test_an_option_far_from_any_gets_no_guess(shell: InteractiveShell) -> None:
    _, error = typed(shell, "%%agent echo --via work --zzzzzz 1\nhi\n")
    assert "unrecognized arguments: --zzzzzz 1" in error
    assert "did you mean" not in error


def test_a_misspelled_agent_gets_a_did_you_mean(shell: InteractiveShell) -> None:
    _, error = typed(shell, "%%agent ecoh --via work\nhi\n")
    assert "unknown agent 'ecoh'; did you mean 'echo'?" in error


def test_an_option_the_connection_cannot_send_names_it_and_who_can(
    shell: InteractiveShell,
) -> None:
    _, error = typed(shell, "%%agent echo --via work --top-p 0.3\nhi\n")
    assert "connection 'work'" in error and "agent 'echo'" in error
    assert "cannot send top_p" in error
    assert "openai" in error.split("dialects that send top_p:")[1]
    assert "operativus" not in error.split("dialects that send top_p:")[1]


def test_it_points_to_a_connection_of_the_user_that_can(
    shell: InteractiveShell, server: Any
) -> None:
    agentnb.connect("openai", base_url=server.url_for("openai"), api_key=server.api_key, name="oa")
    _, error = typed(shell, "%%agent echo --via work --top-p 0.3\nhi\n")
    assert "Your connections that can: oa" in error
    _, error = typed(shell, "%%agent echo --via oa --top-p 0.3 --wait --plain\nhi\n")
    assert error == "", error


def test_the_built_in_server_offers_its_own_way(shell: InteractiveShell) -> None:
    agentnb.connect(name="here")  # nothing configured: the built-in server, Operativus
    _, error = typed(shell, "%%agent echo --via here --top-p 0.3\nhi\n")
    assert "connection 'here' (the built-in local server" in error
    assert "agentnb.connect('openai', local=True, name='local_openai')" in error
    agentnb.connect("openai", local=True, name="local_openai")  # the way it offers works
    printed, error = typed(
        shell, "%%agent echo --via local_openai --top-p 0.3 --wait --plain\nhi\n"
    )
    assert error == "", error
    assert "hi" in printed


# ---- the CLI -----------------------------------------------------------------------------
def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    return subprocess.run(
        [sys.executable, "-m", "agentnb", *args],
        capture_output=True,
        text=True,
        env={**env, "AGENTNB_HISTORY": "off"},
        timeout=PATIENCE_S,
        check=False,
    )


def test_the_cli_suggests_the_option_meant(capsys: pytest.CaptureFixture[str]) -> None:
    done = cli("run", "echo", "hi", "--temprature", "0.3")
    assert done.returncode == 2
    assert "--temprature: did you mean --temperature?" in done.stderr
    with pytest.raises(SystemExit) as exited:  # the same parser error, in this process
        cli_main(["runs", "--limt", "3"])
    assert exited.value.code == 2
    assert "--limt: did you mean --limit?" in capsys.readouterr().err


def test_the_cli_names_the_connection_that_cannot_send_an_option(server: Any) -> None:
    done = cli("run", "echo", "hi", "--top-p", "0.3", "--no-color")
    assert done.returncode == 1
    assert "connection 'default' (the built-in local server" in done.stderr
    assert "cannot send top_p for agent 'echo'" in done.stderr
