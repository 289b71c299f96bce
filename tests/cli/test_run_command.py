"""``agentnb run`` against the built-in server: as a user runs it, a subprocess per dialect;
its failures by the CLI's ``main`` in this process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, cli_in_process


def agentnb_here(
    *args: str, server: Any, key: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {"AGENTNB_API_KEY": key if key is not None else server.api_key}
    return cli_in_process("run", *args, env=env)


def agentnb_cli(
    *args: str, server: Any, key: str | None = None, history: str = "off"
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env["AGENTNB_HISTORY"] = history
    env["AGENTNB_API_KEY"] = key if key is not None else server.api_key
    return subprocess.run(
        [sys.executable, "-m", "agentnb", "run", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=PATIENCE_S,
        check=False,
    )


@pytest.mark.parametrize("provider", ["operativus", "runagent", "seekrflow", "runtools"])
def test_streams_a_finance_run_to_the_terminal(server: Any, provider: str) -> None:
    done = agentnb_cli(
        "finance_agent",
        "How",
        "is",
        "NVDA?",
        "--provider",
        provider,
        "--base-url",
        server.base_url,
        "--no-color",
        server=server,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "NVDA" in done.stdout and "| Ticker |" in done.stdout
    assert lines[-1].startswith("completed · ")
    if provider != "runagent":  # run-agent's stream has no tool frames
        assert any(line.startswith("→ get_stock_price(") for line in lines)
        assert "\x1b[" not in done.stdout


def test_agentnbs_own_warnings_are_lines_not_python_warnings(server: Any, tmp_path: Path) -> None:
    # A history file agentnb cannot use: the run goes on unrecorded, and the terminal says
    # so in agentnb's words, not as a Python warning headed by a source file and line.
    garbage = tmp_path / "history.sqlite3"
    garbage.write_text("not a database")
    done = agentnb_cli(
        "echo",
        "hi",
        "--provider",
        "operativus",
        "--base-url",
        server.base_url,
        server=server,
        history=str(garbage),
    )
    assert done.returncode == 0, done.stderr
    assert "agentnb: runs are not being recorded" in done.stderr
    assert "UserWarning" not in done.stderr and ".py:" not in done.stderr
    assert garbage.read_text() == "not a database"  # nothing lost


def test_a_failed_run_exits_non_zero(server: Any) -> None:
    done = agentnb_here(
        "nope_agent", "hi", "--provider", "operativus", "--base-url", server.base_url, server=server
    )
    assert done.returncode == 1
    output = done.stdout + done.stderr
    # the status once (the port in the URL may hold "404" too), after what the server said
    assert output.count("404 Not Found from POST") == 1 and "NotFoundError" in output
    assert output.index("unknown agent 'nope_agent'") < output.index("404 Not Found")


def test_a_wrong_key_is_reported_without_the_key(server: Any) -> None:
    key = "sk-wrong-key-0123456789"
    done = agentnb_here(
        "echo",
        "hi",
        "--provider",
        "operativus",
        "--base-url",
        server.base_url,
        server=server,
        key=key,
    )
    assert done.returncode == 1
    assert "AuthenticationError" in done.stdout + done.stderr
    assert key not in done.stderr + done.stdout


def test_bad_options_are_clear(server: Any) -> None:
    done = agentnb_here(
        "echo",
        "hi",
        "--temperature",
        "9",
        "--provider",
        "operativus",
        "--base-url",
        server.base_url,
        server=server,
    )
    assert done.returncode == 1
    assert "temperature" in done.stderr
