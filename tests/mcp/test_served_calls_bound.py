"""What the notebook's MCP server keeps of the calls it serves is bounded, however long a
client calls tools in a loop: ``srv.calls`` keeps the last ones, the cell's run keeps the
cards of the latest calls (older ones dropped a batch at a time, with their parts and the
gate's records), and the rest are counted, in ``srv.served`` and in the run's status line,
which the cell's view is sent whole again when cards are dropped.

The server's calls are served here below the wire (:class:`ServedCalls`, the run the cell
shows), over a kernel's namespace as the context tools read it, with small bounds."""

from __future__ import annotations

from pathlib import Path

from agentnb_testing import PATIENCE_S

from agentnb._app.context.context_tools import Kernel
from agentnb._app.context.served_calls import ServedCalls
from agentnb._core.handle import RunHandle
from agentnb._display.run_text import status_line
from agentnb._display.widget_protocol import Turn

KEPT = 5
SHOWN = 4


def serve(served: ServedCalls, count: int) -> None:
    for _ in range(count):
        result = served.submit("notebook_describe", {"name": "sales"}, "a looping client")
        assert not result.result(PATIENCE_S).failed


def test_a_client_calling_in_a_loop_leaves_a_bounded_run(tmp_path: Path) -> None:
    kernel = Kernel(namespace={"sales": [1, 2, 3]}, cwd=tmp_path)
    served = ServedCalls(kernel, "http://127.0.0.1:1/mcp", True, kept=KEPT, shown=SHOWN)
    handle = RunHandle.start(lambda: served, run=served.run)
    turn = Turn(run=served.run, handle=None)
    turn.diff(0)
    try:
        serve(served, SHOWN)
        assert [op["op"] for op in turn.diff(1)].count("turn") == 0, "nothing dropped yet"
        serve(served, 23 - SHOWN)
        run = served.run
        assert served.served == 23
        assert [c.call_id for c in served.calls] == [f"mcp_{n}" for n in range(19, 24)]
        assert SHOWN <= len(run.tool_calls) < 2 * SHOWN
        assert run.tool_calls[-1].call_id == "mcp_23"
        assert [p.call_id for p in run.parts] == [c.call_id for c in run.tool_calls]
        assert run.tool_call("mcp_1") is None
        assert run.forgotten_calls == 23 - len(run.tool_calls)
        assert f"{run.forgotten_calls} earlier tool calls not kept" in status_line(run)
        [op] = [op for op in turn.diff(2) if op["op"] == "turn"]
        assert [t["call_id"] for t in op["turn"]["tools"]] == [c.call_id for c in run.tool_calls]
        assert len(served.approvals._decided) < 2 * SHOWN
    finally:
        served.end()
        handle.wait(PATIENCE_S)
