"""The notebook's MCP server in terminal IPython (no widget to show its calls): a line on
stderr for each call that waits for a decision, a call that asked before the server's
line-saying listener joined included. Served below the wire (:class:`ServedCalls`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, wait_until

from agentnb._app.context.context_server import _show
from agentnb._app.context.context_tools import Kernel
from agentnb._app.context.served_calls import ServedCalls
from agentnb._core.handle import RunHandle


def said_within(capsys: pytest.CaptureFixture[str], words: str) -> str:
    """stderr once it holds ``words``."""
    said: list[str] = []

    def heard() -> bool:
        said.append(capsys.readouterr().err)
        return words in "".join(said)

    wait_until(heard, f"{words!r} on stderr")
    return "".join(said)


def test_a_call_waiting_before_the_server_is_shown_is_said(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served = ServedCalls(Kernel(namespace={"sales": [1, 2]}, cwd=tmp_path), "http://x/mcp", None)
    handle = RunHandle.start(lambda: served, run=served.run)
    try:
        served.submit("notebook_describe", {"name": "sales"}, "a client")
        wait_until(lambda: served.run.awaiting_approval, "the call waits for a decision")
        [call] = served.run.awaiting_approval
        _show(handle)  # outside a kernel: the waiting calls are said on stderr
        said = said_within(capsys, "waits for your decision")
        assert "notebook_describe(" in said and f".approve({call.call_id!r})" in said, said
    finally:
        served.end()
        handle.wait(PATIENCE_S)
