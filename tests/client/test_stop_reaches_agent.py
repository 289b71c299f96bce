"""Stop reaches the built-in server's agent (issue 20) from the places a user stops a run:
an interrupted ``batch()`` cancels every run it started on the platform, and the chat cell's
Stop message, driven through the widget's comm handler, cancels its run there too."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, client_for, wait_until

import agentnb
from agentnb import AsyncAgentClient
from agentnb._app.many.batch_runs import batch
from agentnb._core.loop import run_sync
from agentnb._display.widget import ChatCell
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

SLOW_STORY = {"metadata": {"paragraphs": "40"}}


def writer_runs(server: ServerHandle) -> dict[str, str]:
    """The server's writer runs: id → status."""
    return {
        log.id: log.status for log in server.app.state.agentnb.runs.all() if log.agent == "writer"
    }


def cancelled_by_client(server: ServerHandle, run_id: str) -> bool:
    log = server.app.state.agentnb.runs.get(run_id)
    return log is not None and log.status == "cancelled" and log.cancel_requested


@pytest.mark.skipif(sys.platform == "win32", reason="pthread_kill is POSIX")
def test_an_interrupted_batch_cancels_every_run_it_started_on_the_platform(
    server: ServerHandle, tmp_path: Path
) -> None:
    store = HistoryStore(tmp_path / "history.db")

    async def make() -> AsyncAgentClient:
        return client_for(server, "seekrflow-vercel", delay_ms=50, recorder=store)

    client = run_sync(make())
    before = set(writer_runs(server))
    main = threading.main_thread().ident or 0

    def started() -> list[str]:
        return [i for i, status in writer_runs(server).items() if i not in before]

    def interrupt_once_all_stream() -> None:
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            ours = [server.app.state.agentnb.runs.get(i) for i in started()]
            if len(ours) == 3 and all(log is not None and log.entries for log in ours):
                signal.pthread_kill(main, signal.SIGINT)  # a kernel interrupt
                return
            time.sleep(0.02)

    watcher = threading.Thread(target=interrupt_once_all_stream)
    watcher.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            batch(
                "writer",
                ["story one", "story two", "story three"],
                concurrency=3,
                client=client,
                progress=False,
                **SLOW_STORY,  # type: ignore[arg-type]
            )
    finally:
        watcher.join()
        run_sync(client.aclose())
    ours = started()
    assert len(ours) == 3
    wait_until(lambda: all(cancelled_by_client(server, i) for i in ours))
    store.flush()
    rows = store.runs()
    assert sorted(r.status for r in rows) == ["cancelled"] * 3
    assert sorted(r.run_id or "" for r in rows) == sorted(ours)
    assert all(r.cancel_error is None for r in rows)
    store.close()


def test_the_chat_cells_stop_message_cancels_the_run_on_the_platform(
    server: ServerHandle,
) -> None:
    client = client_for(server, "seekrflow-vercel", delay_ms=50, record=False)
    handle = agentnb.ask(
        "writer", "a long story", client=client, display=False, metadata={"paragraphs": "40"}
    )
    cell = ChatCell(handle)
    sent: list[object] = []
    cell.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    wait_until(lambda: bool(handle.run.text and handle.run.run_id))
    # exactly what the widget's Stop button sends, through ipywidgets' comm message handler
    stop = {"method": "custom", "content": {"kind": "stop", "t": 0}}
    cell._handle_msg({"content": {"data": stop}, "buffers": []})
    with pytest.raises(agentnb.RunCancelledError):
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "cancelled"
    run_id = handle.run.run_id
    assert run_id is not None
    wait_until(lambda: cancelled_by_client(server, run_id))
    assert handle.run.cancel_error is None
