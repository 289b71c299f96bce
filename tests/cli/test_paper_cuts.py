"""The CLI's paper cuts: follow-ups printed, nothing silently ignored, one meaning of limit,
errors that say what is accepted. Each runs the CLI's ``main`` in this process; a misspelled
command also as ``python -m agentnb``, for the exit code a shell sees."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from agentnb_testing import PATIENCE_S
from agentnb_testing import cli_in_process as cli

import agentnb
import agentnb.history


def cli_process(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    return subprocess.run(
        [sys.executable, "-m", "agentnb", *args],
        capture_output=True,
        text=True,
        env={**base, "AGENTNB_HISTORY": "off", **(env or {})},
        timeout=PATIENCE_S,
        check=False,
    )


def test_followups_are_printed(server: Any) -> None:
    done = cli(
        "run", "finance_agent", "How is NVDA?", "--provider", "runagent",
        "--base-url", server.url_for("runagent"), "--followups", "--no-color",
        env={"AGENTNB_API_KEY": server.api_key},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "follow-ups:" in done.stdout
    assert done.stdout.split("follow-ups:")[1].count("•") >= 1


def test_a_base_url_without_a_provider_is_refused() -> None:
    done = cli("run", "echo", "hi", "--base-url", "http://127.0.0.1:9/v1")
    assert done.returncode == 1
    assert "--base-url needs --provider" in done.stderr
    from_env = cli("run", "echo", "hi", env={"AGENTNB_BASE_URL": "http://127.0.0.1:9/v1"})
    assert from_env.returncode == 1
    assert "AGENTNB_BASE_URL is set but AGENTNB_PROVIDER is not" in from_env.stderr
    assert "built-in" in from_env.stderr  # says it will not fall back


def test_a_thread_on_the_per_call_built_in_server_is_refused() -> None:
    done = cli("run", "echo", "hi", "--thread", "th_1")
    assert done.returncode == 1
    assert "--thread cannot continue a conversation on the built-in server" in done.stderr


def test_limit_zero_means_no_rows_and_all_means_every_row(tmp_path: Path) -> None:
    db = tmp_path / "h.sqlite3"
    with agentnb.history.HistoryStore(db) as store:
        for i in range(25):
            store.record(agentnb.Run(agent="a", message=f"m{i}", status="completed"))
    assert "0 runs" in cli("runs", "--db", str(db), "--limit", "0").stderr
    assert "20 runs" in cli("runs", "--db", str(db)).stderr
    assert "25 runs" in cli("runs", "--db", str(db), "--all").stderr
    from agentnb._history._run_filter import RunFilter

    with agentnb.history.HistoryStore(db) as store:
        assert len(store.runs(RunFilter.build(limit=0))) == 0


def test_since_errors_say_what_is_accepted(tmp_path: Path) -> None:
    done = cli("runs", "--db", str(tmp_path / "h.sqlite3"), "--since", "yesterday")
    assert done.returncode == 2
    assert "7d" in done.stderr and "2025-01-31" in done.stderr
    far = cli("runs", "--db", str(tmp_path / "h.sqlite3"), "--since", "99999999999d")
    assert far.returncode == 2 and "too far back" in far.stderr
    assert "Traceback" not in far.stderr


def test_a_misspelled_command_gets_its_did_you_mean() -> None:
    for typed, meant in (("rnu", "run"), ("rusn", "runs"), ("atach", "attach"), ("serv", "serve")):
        done = cli(typed, "echo", "hi")
        assert done.returncode == 2, done.stderr
        assert f"unknown command {typed!r}: did you mean {meant!r}?" in done.stderr, done.stderr
    in_a_process = cli_process("rnu", "echo", "hi")
    assert in_a_process.returncode == 2
    assert "unknown command 'rnu': did you mean 'run'?" in in_a_process.stderr
    unknown = cli("xyz")
    assert unknown.returncode == 2 and "did you mean" not in unknown.stderr
    assert "commands: serve, run, runs, attach" in unknown.stderr
