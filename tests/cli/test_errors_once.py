"""Each CLI error is printed once: ``agentnb run`` and ``agentnb runs`` by the CLI's ``main`` in
this process, and an interrupted run as a user runs it, a process sent SIGINT."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, cli_in_process
from cli_process import cli_env

RUN_PY_FIX = (
    "agentnb/_cli/run_command.py prints the error of a run the printer's summary line already "
    "reported (see the report of the magics/CLI error fix)"
)


def agentnb(*args: str, server: Any) -> subprocess.CompletedProcess[str]:
    return cli_in_process(*args, env={"NO_COLOR": "1", "AGENTNB_API_KEY": server.api_key})


def test_a_refused_run_is_reported_once(server: Any) -> None:
    done = agentnb(
        "run",
        "nope_agent",
        "hi",
        "--provider",
        "operativus",
        "--base-url",
        server.base_url,
        server=server,
    )
    assert done.returncode == 1
    printed = done.stdout + done.stderr
    assert printed.count("unknown agent 'nope_agent'") == 1, printed


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_an_interrupted_run_is_reported_once() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, agentnb._cli as c; sys.exit(c.main())",
            "run",
            "writer",
            "go",
            "--meta",
            "paragraphs=200",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env(),
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # the run is streaming
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=PATIENCE_S)
    assert first, f"the run did not stream: {err}"
    assert process.returncode == 130, first + out + err
    assert (out + err).count("cancelled") == 1, out + err


@pytest.mark.parametrize(
    "args",
    [
        ("runs", "--status", "bogus"),
        ("runs", "--since", "not-a-date"),
        ("runs", "--limit", "-3"),
        ("run", "echo", "hi", "--temperature", "9"),
    ],
)
def test_bad_arguments_are_reported_once(server: Any, args: tuple[str, ...]) -> None:
    done = agentnb(*args, server=server)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(errors) == 1, done.stderr
    assert done.stdout == ""
