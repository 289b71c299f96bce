"""Lost data: a kernel killed mid-run leaves the run in the history as ``interrupted``.

Two real kernels write one history file. Each starts a long, paced ``writer`` run with
``%%agent`` and returns while it streams. One is killed with SIGKILL (no atexit, no
``finally``, nothing of agentnb runs). The next ``HistoryStore`` opened on the file, here in
the test process, marks the dead kernel's row ``interrupted``, keeping what was written when
the run started, and leaves the live kernel's running row alone; that kernel then ends its run
and its row follows.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from kernel_session import kernel_manager

from agentnb._history._writer import ORPHAN_MESSAGE
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

pytestmark = [
    pytest.mark.kernel,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX"),
]

pytest.importorskip("jupyter_client")

CHUNK_DELAY_MS = 20
"""writer with 200 paragraphs is ~2,600 events: at 20 ms a chunk it streams for ~50 s."""


@dataclass
class Kernel:
    manager: Any
    client: Any

    @property
    def pid(self) -> int:
        pid: int = self.manager.provisioner.pid
        return pid

    def run(self, code: str, timeout: float = PATIENCE_S) -> str:
        """Execute ``code``; return its stdout; fail with the traceback on an error."""
        printed: list[str] = []

        def keep(msg: dict[str, Any]) -> None:
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                printed.append("\n".join(msg["content"]["traceback"]))

        reply = self.client.execute_interactive(
            textwrap.dedent(code), timeout=timeout, output_hook=keep
        )
        assert reply["content"]["status"] == "ok", "".join(printed)
        return "".join(printed)


@contextlib.contextmanager
def kernels(env: dict[str, str], count: int) -> Iterator[list[Kernel]]:
    """``count`` kernels started together with ``env``; shut down (or reaped) after."""
    managers = []
    started: list[Kernel] = []
    try:
        for _ in range(count):
            manager = kernel_manager()
            managers.append(manager)
            manager.start_kernel(env=env)
        for manager in managers:
            client = manager.client()
            client.start_channels()
            started.append(Kernel(manager, client))
            client.wait_for_ready(timeout=PATIENCE_S)
        yield started
    finally:
        for kernel in started:
            kernel.client.stop_channels()
        for manager in managers:
            manager.shutdown_kernel(now=True)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture
def kernel_env(server: ServerHandle, history: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(
        AGENTNB_PROVIDER="operativus",
        AGENTNB_BASE_URL=server.url_for("operativus"),
        AGENTNB_API_KEY=server.api_key,
        AGENTNB_HISTORY=str(history),
    )
    return env


def start_slow_run(kernel: Kernel, message: str) -> str:
    """Start a ~50 s writer run with ``%%agent`` (the cell returns at once); its local id."""
    kernel.run(
        f"""
        %load_ext agentnb
        import agentnb
        agentnb.connect(headers={{"X-AgentNB-Delay-Ms": "{CHUNK_DELAY_MS}"}})
        """
    )
    kernel.run(f"%%agent writer --plain --meta paragraphs=200\n{message}\n")
    return kernel.run("print(_agent.run.local_id)").strip()


def wait_streaming(kernel: Kernel, events: int = 20) -> int:
    """Wait until the kernel's run has received ``events`` events (so it is truly mid-run)."""
    deadline = time.monotonic() + PATIENCE_S
    while True:
        out = kernel.run("print(_agent.run.status, _agent.run.event_count)").split()
        if out[0] != "running" or int(out[1]) >= events or time.monotonic() > deadline:
            assert out[0] == "running", out
            return int(out[1])
        time.sleep(0.1)


def raw_row(path: Path, local_id: str, *, missing_ok: bool = False) -> dict[str, Any]:
    """The run's row as stored, read-only (no sweep), with the owner columns."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM runs WHERE local_id = ?", (local_id,)).fetchone()
    assert row is not None or missing_ok, f"no row for {local_id} in {path}"
    return {} if row is None else dict(row)


def wait_status(
    path: Path, local_id: str, status: str, timeout: float = PATIENCE_S
) -> dict[str, Any]:
    """The row once it has ``status`` (a run's row is written once it has gone on for half a
    second, by the kernel's writer thread: it may not be there yet)."""
    deadline = time.monotonic() + timeout
    while True:
        row = raw_row(path, local_id, missing_ok=True)
        if row.get("status") == status or time.monotonic() > deadline:
            assert row.get("status") == status, row or f"no row for {local_id} in {path}"
            return row
        time.sleep(0.05)


def test_a_killed_kernel_leaves_its_run_interrupted_and_a_live_kernels_run_is_left_running(
    kernel_env: dict[str, str], history: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    with kernels(kernel_env, 2) as (victim, survivor):
        victim_id = start_slow_run(victim, f"victim {tag}")
        survivor_id = start_slow_run(survivor, f"survivor {tag}")
        assert wait_streaming(victim) >= 20
        assert wait_streaming(survivor) >= 20

        # the row was written once its response had gone on for half a second, by the kernel's process
        before = wait_status(history, victim_id, "running")
        assert before["owner_pid"] == victim.pid != os.getpid()
        assert wait_status(history, survivor_id, "running")["owner_pid"] == survivor.pid

        os.kill(victim.pid, signal.SIGKILL)
        victim.manager.provisioner.process.wait(timeout=PATIENCE_S)
        assert raw_row(history, victim_id)["status"] == "running", "nothing ran at the kill"

        with HistoryStore(history) as store:  # opening sweeps rows of dead processes
            killed = store.get(victim_id)
            alive = store.get(survivor_id)
        assert killed is not None and alive is not None
        assert (killed.status, killed.error_code, killed.error_message) == (
            "interrupted",
            "process_exited",
            ORPHAN_MESSAGE,
        )
        # what was known when the run started is kept
        assert (killed.agent, killed.message, killed.provider, killed.connection) == (
            "writer",
            f"victim {tag}",
            "operativus",
            "default",
        )
        assert killed.metadata == {"paragraphs": "200"}
        assert killed.started_at is not None and killed.finished_at is None
        # the control: the same sweep left the live kernel's run alone
        assert alive.status == "running" and alive.error_code is None

        out = survivor.run(
            f"""
            _agent.cancel()
            try:
                _agent.wait({PATIENCE_S:g})
            except agentnb.RunCancelledError as exc:
                print("cancelled", len(exc.partial_text) > 0)
            """
        )
        assert out.split() == ["cancelled", "True"]
        ended = wait_status(history, survivor_id, "cancelled")
        assert ended["finished_at"] is not None and ended["answer"], "partial text kept at the end"
