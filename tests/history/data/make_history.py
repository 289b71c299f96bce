"""Writes a small history file with the agentnb version installed in this venv (run once per
shipped version; the files are committed as test fixtures). A version that keeps scores (0.4.0
on; the 0.3.0 file was written before this script gave any) gets a number, a bool and a label,
one of them replaced."""

import sys

from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb.events import (
    RunCompleted,
    RunFailed,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)

try:
    from agentnb.history import HistoryStore
except ImportError:  # 0.1
    from agentnb._history import HistoryStore

T0 = 1_763_500_000.0
path = sys.argv[1]
with HistoryStore(path) as store:
    for i in range(24):
        agent = ("analyst", "trader", "echo")[i % 3]
        request = RunRequest(
            agent=agent, message=f"question {i}", metadata={"case": ("a", "b")[i % 2]}
        )
        run = Run(agent=agent, message=f"question {i}")
        at = T0 + i * 5400.0
        run.start(at=at)
        run.apply(
            RunStarted(
                run_id=f"remote-{i}", model=("gpt-4o", "gpt-4o-mini")[i % 2], received_at=at + 0.1
            )
        )
        run.apply(TextDelta(delta=f"answer {i}", received_at=at + 0.2 + i * 0.01))
        if i % 4 == 1:
            run.apply(
                ToolCallStarted(
                    call_id=f"c{i}",
                    name="calculator",
                    arguments={"expression": "1+1"},
                    received_at=at + 0.3,
                )
            )
            run.apply(ToolCallFinished(call_id=f"c{i}", output="2", received_at=at + 0.4))
        if i % 5 == 4:
            run.apply(RunFailed(code="rate_limited", message="slow down", received_at=at + 1.0))
        else:
            usage = Usage(prompt_tokens=10 + i, completion_tokens=5, total_tokens=15 + i)
            run.apply(RunCompleted(usage=usage, received_at=at + 1.0 + i * 0.1))
        store.record(run, request)
    if hasattr(store, "add_score"):
        store.add_score(run.local_id, "quality", 0.25, source="code")
        store.add_score(run.local_id, "quality", 0.75, comment="second look", author="ana")
        store.add_score(run.local_id, "correct", True)
        store.add_score(run.local_id, "topic", "pricing", source="agent")
    print(len(store.runs()), store.migrations()[-1])
