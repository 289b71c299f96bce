"""An MCP server's question in the middle of a call, at a prompt in terminal IPython typed
through a real pseudo-terminal: ``%agent ... --tool book --wait`` with the tools of a server
written with the ``mcp`` SDK (tests/mcp/elicit_server.py) shows the server's form and its
fields, and a ``n`` typed at the prompt declines it: the server says ``declined`` and the
agent reads it. A ``y`` then answers the fields one by one, a value out of bounds asked
again."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a pty"),
    pytest.mark.slow,
]

pexpect = pytest.importorskip("pexpect")

PROMPT = r"In \[\d+\]: "
ELICIT_SERVER = Path(__file__).parent.parent / "mcp" / "elicit_server.py"
COMMAND = [sys.executable, str(ELICIT_SERVER)]


@pytest.fixture
def ipython() -> Iterator[Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(AGENTNB_HISTORY="off", NO_COLOR="1")
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
        child.sendline(f"import agentnb; travel = agentnb.mcp_tools(command={COMMAND!r})")
        child.expect(PROMPT)
        child.sendline("[book] = [t for t in travel if t.name == 'travel__book']")
        child.expect(PROMPT)
        yield child
    finally:
        child.sendline("travel.close()")
        child.expect(PROMPT)
        child.sendline("exit")
        child.expect(pexpect.EOF)
        child.close()


FORM = (
    "‖ {server} asks: Which date and how many seats for NVDA?\r\n"
    "Fill in the form (2 fields)? [y = answer / N = decline / c = cancel]: "
)


def test_a_form_is_declined_at_the_terminal(ipython: Any) -> None:
    ipython.sendline("%agent finance_agent --tool book --wait book it")
    ipython.expect_exact(FORM.format(server="travel"))
    ipython.sendline("n")
    ipython.expect(PROMPT)
    printed = ipython.before.replace("\r\n", "\n")
    assert "declined" in printed, printed
    ipython.sendline("print(_agent.run.tool_calls[0].output)")
    ipython.expect(PROMPT)
    assert ipython.before.replace("\r\n", "\n").strip().endswith("declined")


def test_a_form_is_answered_field_by_field(ipython: Any) -> None:
    ipython.sendline("%agent finance_agent --tool book --wait book it")
    ipython.expect_exact(FORM.format(server="travel"))
    ipython.sendline("y")
    ipython.expect_exact("<b>Date</b> of travel (text; required): ")
    ipython.sendline("2026-12-01")
    ipython.expect_exact("Seats (an integer 1-9; required): ")
    ipython.sendline("12")
    ipython.expect_exact("type a number from 1 to 9")
    ipython.expect_exact("Seats (an integer 1-9; required): ")
    ipython.sendline("2")
    ipython.expect(PROMPT)
    ipython.sendline("print(_agent.run.tool_calls[0].output)")
    ipython.expect(PROMPT)
    shown = ipython.before.replace("\r\n", "\n").strip()
    assert shown.endswith("accepted {'date': '2026-12-01', 'seats': 2}"), shown
