"""A run to a platform that needs a key, with no key or a wrong one, from a terminal and from
Python: before anything is sent a person is told that no key is set and how to set one; the
401 says whether a key was sent at all or was refused, in the same words; a key read from
``--api-key-file`` is the one sent. Against the built-in server, by the CLI's ``main`` in this
process (what the process sees is only its environment, set for the call)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import cli_in_process
from cli_process import on

import agentnb
from agentnb import AuthenticationError
from agentnb._app.front.connections import disconnect

WAYS = ("AGENTNB_API_KEY", "agentnb run --api-key-file PATH", "agentnb.connect(..., api_key=...)")


def agentnb_run(server: Any, *args: str, key: str | None = None) -> Any:
    env = {"NO_COLOR": "1"} | ({} if key is None else {"AGENTNB_API_KEY": key})
    return cli_in_process("run", "echo", "hi", *on(server), *args, env=env)


def test_no_key_is_said_before_the_run_and_the_401_says_none_was_sent(server: Any) -> None:
    done = agentnb_run(server)
    assert done.returncode == 1
    before = done.stderr.split("\n")[0]
    assert "connection 'default'" in before and "has no API key" in before, done.stderr
    assert all(way in before for way in WAYS), before
    error = done.stdout + done.stderr
    assert "No API key was sent (connection 'default' has none)" in error, error
    assert all(way in error.split("No API key was sent")[1] for way in WAYS), error


def test_a_wrong_key_is_said_to_be_refused_not_missing(server: Any) -> None:
    done = agentnb_run(server, key="not-the-servers-key")
    assert done.returncode == 1
    error = done.stdout + done.stderr
    assert "has no API key" not in error
    assert "The API key of connection 'default' was refused" in error, error
    assert "not-the-servers-key" not in error


def test_a_key_file_is_the_key_sent(server: Any, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text(server.api_key + "\n")
    key_file.chmod(0o600)
    done = agentnb_run(server, "--api-key-file", str(key_file))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "has no API key" not in done.stderr and done.stdout.startswith("hi")
    key_file.write_text("")
    empty = agentnb_run(server, "--api-key-file", str(key_file))
    assert empty.returncode == 1 and "is empty: it must hold the key alone" in empty.stderr


def test_a_key_file_for_the_built_in_server_is_refused(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("k" * 20)
    done = cli_in_process("run", "echo", "hi", "--api-key-file", str(key_file))
    assert done.returncode == 1
    assert "the built-in local server needs no key" in done.stderr
    assert "using the built-in local agent server" not in done.stderr, "not started for it"


def test_in_python_the_same_words(
    server: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTNB_HISTORY", "off")
    agentnb.connect("operativus", base_url=server.base_url, name="keyless")
    try:
        with pytest.raises(
            AuthenticationError, match=r"No API key was sent \(connection 'keyless'"
        ):
            agentnb.ask("echo", "hi", via="keyless", wait=True, display=False)
        note = capsys.readouterr().err
        assert "connection 'keyless'" in note and "AGENTNB_KEYLESS_API_KEY" in note, note
    finally:
        disconnect("keyless")
