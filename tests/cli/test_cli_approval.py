"""``agentnb run`` with a tool call that needs a human's approval (the built-in ``trader``):
asked at an ``Approve? [y/N]`` prompt on a terminal (a real pty), denied with a reason when
stdin is not one (each a process of its own), or decided by ``--approve all|none`` (the CLI's
``main`` in this process)."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, cli_in_process
from cli_process import cli_env, on, run_in_process, run_piped

from agentnb._app.front.run_flags import BY_POLICY
from agentnb._display.approval_prompt import NO_TERMINAL

pexpect = pytest.importorskip("pexpect")

TRADE = ["trader", "buy", "3", "NVDA", "--no-color"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
@pytest.mark.parametrize(
    ("answer", "outcome", "answer_text"),
    [
        ("y", "✓ place_trade (", "Placed a **demo** order"),
        (
            "",
            "⊘ place_trade denied: the user said no at the approval prompt",
            "I did not place the order",
        ),
    ],
)
def test_a_terminal_is_asked(server: Any, answer: str, outcome: str, answer_text: str) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentnb", "run", *TRADE, *on(server)],
        env=cli_env(server),
        encoding="utf-8",
        timeout=PATIENCE_S,
        dimensions=(50, 200),
    )
    child.expect_exact("Approve place_trade? [y/N] ")  # under the call's line: asked once
    asked_after = child.before.replace("\r\n", "\n")
    call = '→ place_trade(ticker: "NVDA", side: "buy", shares: 3)\n'
    assert f"{call}  ‖ place_trade awaits approval: Placing a trade needs a" in asked_after
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    printed = child.before.replace("\r\n", "\n")
    assert child.exitstatus == 0, printed
    assert outcome in printed and answer_text in printed and "approved" not in printed
    assert printed.strip().splitlines()[-1].startswith("completed · ")


def test_without_a_terminal_the_call_is_denied_saying_why(server: Any) -> None:
    done = run_piped(server, *TRADE)
    assert done.returncode == 0, done.stderr
    assert "Approve" not in done.stdout + done.stderr  # nobody to ask: no question
    assert f"⊘ place_trade denied: {NO_TERMINAL}" in done.stdout
    assert "1 denied" in done.stdout.splitlines()[-1]


def test_approve_all_and_none_decide_without_asking(server: Any) -> None:
    approved = run_in_process(server, *TRADE, "--approve", "all")
    assert "✓ place_trade approved" in approved.stdout and "Placed a **demo** order" in (
        approved.stdout
    )
    denied = run_in_process(server, *TRADE, "--approve", "none")
    assert f"⊘ place_trade denied: {BY_POLICY}" in denied.stdout
    assert "Approve" not in approved.stderr + denied.stderr


def test_approve_all_on_a_dialect_without_approvals_is_refused(server: Any) -> None:
    runagent = ["--provider", "runagent", "--base-url", server.url_for("runagent")]
    done = cli_in_process(
        "run", "echo", "hi", "--approve", "all", *runagent, env={"AGENTNB_API_KEY": server.api_key}
    )
    assert done.returncode == 1
    assert done.stderr.count("cannot carry tool approval decisions") == 1


def test_the_help_lists_trader_and_the_approve_policies() -> None:
    done = cli_in_process("run", "--help")
    assert done.returncode == 0
    assert "trader" in done.stdout
    assert "--approve {ask,all,none}" in done.stdout
