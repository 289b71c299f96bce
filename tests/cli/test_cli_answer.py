"""``agentnb run`` with an agent that asks a free-form question (the built-in ``planner``): a
terminal (a real pty) is shown the question and an ``Answer:`` prompt, not ``[y/N]``; the line
typed reaches the agent, an empty line denies, and without a terminal the call is denied."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from cli_process import cli_env, on, run_piped

from agentnb._display.approval_prompt import NO_REPLY, NO_TERMINAL
from agentnb.server.agents._planner_agent import QUESTION

pexpect = pytest.importorskip("pexpect")

PLAN = ["planner", "plan", "a", "trip", "--no-color"]
PROMPT = f"ask_user asks: {QUESTION}\nAnswer (an empty line denies): "


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
@pytest.mark.parametrize(
    ("typed", "outcome", "answer_text"),
    [
        ("Lisbon, in May", "Lisbon, in May\n", "plan for Lisbon, in May"),  # typed: the outcome
        ("", f"⊘ ask_user denied: {NO_REPLY}", "without a destination"),
    ],
)
def test_a_terminal_is_asked_for_text(
    server: Any, typed: str, outcome: str, answer_text: str
) -> None:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentnb", "run", *PLAN, *on(server)],
        env=cli_env(server),
        encoding="utf-8",
        timeout=PATIENCE_S,
        dimensions=(50, 200),
    )
    child.expect_exact(PROMPT.replace("\n", "\r\n"))
    assert "asks:" not in child.before  # the prompt asks it, once: under the call's line
    assert '→ ask_user(question: "Where' in child.before
    child.sendline(typed)
    child.expect(pexpect.EOF)
    child.close()
    printed = child.before.replace("\r\n", "\n")
    assert child.exitstatus == 0, printed
    assert outcome in printed and answer_text in printed
    assert "[y/N]" not in printed and "answered" not in printed


def test_without_a_terminal_the_question_is_denied_saying_why(server: Any) -> None:
    done = run_piped(server, *PLAN)
    assert done.returncode == 0, done.stderr
    assert NO_TERMINAL in done.stdout + done.stderr
    assert "without a destination" in done.stdout
