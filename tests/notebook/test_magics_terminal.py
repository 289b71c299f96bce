"""The magics in terminal IPython, typed at a real prompt through a pseudo-terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

from agentnb.server import ServerHandle

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")

pexpect = pytest.importorskip("pexpect")

PROMPT = r"In \[\d+\]: "


@pytest.fixture
def ipython(server: ServerHandle) -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(
        AGENTNB_HISTORY="off",
        AGENTNB_PROVIDER="operativus",
        AGENTNB_BASE_URL=server.base_url,
        AGENTNB_API_KEY=server.api_key,
        NO_COLOR="1",
    )
    child = pexpect.spawn(
        sys.executable,
        ["-m", "IPython", "--simple-prompt", "--no-banner", "--colors=nocolor"],
        env=env,
        encoding="utf-8",
        timeout=PATIENCE_S,
        dimensions=(50, 200),
    )
    try:
        child.expect(PROMPT)
        child.sendline("%load_ext agentnb")
        child.expect(PROMPT)
        yield child
    finally:
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()


def type_line(child: Any, line: str) -> str:
    """Type ``line`` at the prompt; return what it printed before the next prompt."""
    child.sendline(line)
    child.expect(PROMPT)
    printed: str = child.before
    return printed.replace("\r\n", "\n")


def test_a_question_ending_in_a_question_mark_runs(ipython: Any) -> None:
    printed = type_line(ipython, "%agent echo --wait what is NVDA at?")
    assert "Object `at` not found" not in printed
    assert "completed" in printed
    assert type_line(ipython, "print(repr(_agent.text))").strip().endswith(repr("what is NVDA at?"))
    type_line(ipython, "%agent echo --temperature 0.2 --wait what is up??")
    assert type_line(ipython, "print(repr(_agent.text))").strip().endswith(repr("what is up??"))


def test_a_refused_run_is_reported_once(ipython: Any) -> None:
    printed = type_line(ipython, "%agent no_such_agent --wait hi")
    assert printed.count("unknown agent 'no_such_agent'") == 1, printed


def test_an_agent_question_is_answered_at_an_answer_prompt(ipython: Any) -> None:
    ipython.sendline("%agent planner --wait plan a trip")
    ipython.expect_exact(
        "ask_user asks: Where would you like to go?\r\nAnswer (an empty line denies): "
    )
    ipython.sendline("Oslo in winter")
    ipython.expect(PROMPT)
    printed = ipython.before.replace("\r\n", "\n")
    # the answer reads as typed at the prompt, then as the call's result: not a third time
    assert "answered:" not in printed and "[y/N]" not in printed
    assert "✓ ask_user (" in printed and '{"answer": "Oslo in winter"}' in printed
    shown = type_line(ipython, "print(_agent.run.tool_calls[0].approval.answer)")
    assert shown.strip().endswith("Oslo in winter")
    assert "plan for Oslo in winter" in type_line(ipython, "print(_agent.text)")
