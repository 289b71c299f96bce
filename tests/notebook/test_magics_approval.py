"""``--approve ask|all|none`` on the magics, through a real IPython InteractiveShell (neither
a notebook nor a terminal: stdin is pytest's, not a tty) against the built-in ``trader``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb._app.front import connections as conns
from agentnb._app.front.run_flags import BY_POLICY
from agentnb._display.approval_prompt import NO_TERMINAL


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("agentnb")
    return ip


@pytest.fixture(autouse=True)
def connections(server: Any) -> Iterator[None]:
    conns.close_all()
    agentnb.connect("operativus", base_url=server.base_url, api_key=server.api_key, name="test")
    agentnb.connect(
        "runagent", base_url=server.url_for("runagent"), api_key=server.api_key, name="plain"
    )
    yield
    conns.close_all()


def trade(shell: InteractiveShell, line: str) -> Any:
    shell.run_cell_magic("agent", f"trader --via test {line}", "buy 3 NVDA")
    return shell.user_ns["_agent"]


def place_trade(handle: Any) -> Any:
    return handle.run.tool_calls[-1]


def test_a_waiting_run_without_a_terminal_is_denied_saying_why(shell: InteractiveShell) -> None:
    call = place_trade(trade(shell, "--wait"))
    assert (call.status, call.error) == ("denied", NO_TERMINAL)


def test_approve_all_and_none(shell: InteractiveShell) -> None:
    assert place_trade(trade(shell, "--wait --approve all")).status == "succeeded"
    call = place_trade(trade(shell, "--wait --approve none"))
    assert (call.status, call.error) == ("denied", BY_POLICY)


def test_a_run_that_returns_at_once_waits_for_a_human(shell: InteractiveShell) -> None:
    handle = trade(shell, "")
    deadline = time.monotonic() + PATIENCE_S
    while handle.status != "paused" and not handle.done and time.monotonic() < deadline:
        time.sleep(0.02)
    (waiting,) = handle.awaiting_approval  # nothing decided for the human
    handle.approve(waiting.call_id)
    handle.wait(PATIENCE_S)
    assert place_trade(handle).status == "succeeded"


def test_bad_approve_values_are_usage_errors(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="invalid choice: 'maybe'"):
        trade(shell, "--approve maybe")
    with pytest.raises(UsageError, match=r"cannot carry tool approval\sdecisions"):
        shell.run_cell_magic("agent", "echo --via plain --wait --approve all", "hi")
    shell.run_cell_magic("agent", "echo --via plain --wait", "the default asks nobody here")
    assert shell.user_ns["_agent"].status == "completed"


def test_the_help_documents_approval_and_lists_trader(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic("agent", "--help", "ignored")
    out = " ".join(capsys.readouterr().out.split())
    assert "--approve {ask,all,none}" in out and "trader" in out
    assert "a notebook cell with --wait keeps the kernel busy, so there they are denied" in out
