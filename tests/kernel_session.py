"""A real Jupyter kernel driven the way a front end drives it: started and shut down, its
cells run, every iopub message kept (outputs, comm messages) for the tests to read."""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import shutil
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import Any

from agentnb_testing import PATIENCE_S

__all__ = [
    "WIDGET_MIME",
    "Session",
    "executed_cell",
    "kernel_config",
    "kernel_manager",
    "notebook_client",
    "reset_kernel",
    "running_kernel",
]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

_SOCKETS: str | None = None
_KERNELS = itertools.count(1)


def kernel_config() -> Any:
    """The configuration of a kernel's manager (``config=`` of a ``KernelManager`` or an
    nbclient ``NotebookClient``) that makes the kernel's channels Unix sockets of its own, not
    TCP ports. jupyter_client picks a TCP kernel's five ports by binding port 0 and letting
    go, and the kernel binds them later: another process may take one meanwhile
    (jupyter/jupyter_client#487), and the suite starts kernels in two workers and a
    JupyterLab at once, beside thousands of connections whose own ports come from the same
    range. A kernel that loses it may never answer ("Kernel didn't respond in 300 seconds",
    as a docs example's kernel did once beside two CPU burners)."""
    from traitlets.config import Config

    global _SOCKETS
    if _SOCKETS is None:  # short: a socket's path is at most 107 bytes
        _SOCKETS = tempfile.mkdtemp(prefix="agentnb-kernels-")
        atexit.register(shutil.rmtree, _SOCKETS, True)
    where = os.path.join(_SOCKETS, f"k{next(_KERNELS)}")
    return Config(
        {"KernelManager": {"transport": "ipc", "ip": where, "connection_file": f"{where}.json"}}
    )


def kernel_manager() -> Any:
    """A ``python3`` kernel's manager, not started, its channels Unix sockets (see
    :func:`kernel_config`)."""
    import jupyter_client  # the kernel tests skip without it (pytest.importorskip)

    return jupyter_client.KernelManager(kernel_name="python3", config=kernel_config())


def notebook_client(notebook: Any, timeout: float = PATIENCE_S, **options: Any) -> Any:
    """nbclient's ``NotebookClient`` for ``notebook`` on a ``python3`` kernel whose channels
    are Unix sockets (see :func:`kernel_config`), each cell given ``timeout`` seconds;
    ``options`` are the client's others (``store_widget_state``, ``on_cell_executed``...)."""
    import nbclient  # the notebook tests skip without it (pytest.importorskip)

    return nbclient.NotebookClient(
        notebook, config=kernel_config(), kernel_name="python3", timeout=timeout, **options
    )


def executed_cell(code: str, env: Mapping[str, str]) -> tuple[list[Any], dict[str, Any]]:
    """``code`` run by nbclient as a one-cell notebook saved with its widgets' state, as
    "Save widget state" keeps it: the cell's outputs, and each widget's state by model id."""
    import pytest  # only these tests need nbformat and nbclient

    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    client = notebook_client(nb, store_widget_state=True)
    client.execute(env=dict(env))
    states = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    return nb.cells[0].outputs, {model_id: saved["state"] for model_id, saved in states.items()}


@contextmanager
def running_kernel(env: Mapping[str, str] | None = None, cwd: str | None = None) -> Iterator[Any]:
    """A started ``python3`` kernel's client, its channels open (``env``: the kernel's
    environment, this process's by default; ``cwd``: its working folder, this process's by
    default); shut down at the end."""
    manager = kernel_manager()
    where = {} if cwd is None else {"cwd": cwd}
    if env is None:
        manager.start_kernel(**where)
    else:
        manager.start_kernel(env=dict(env), **where)
    client = manager.client()
    try:  # a kernel never ready is shut down too (else it outlives the test)
        client.start_channels()
        client.wait_for_ready(timeout=PATIENCE_S)
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def reset_kernel(client: Any) -> None:
    """A fresh session in ``client``'s kernel, as a restart leaves the user's side of it:
    the namespace emptied and In/Out numbered from 1 again (the request stores no history).
    Modules already imported, and what they keep, stay: for tests that share a kernel's
    start and imports, not for tests of what a new kernel does."""
    msg_id = client.execute(
        "get_ipython().reset(new_session=True)", silent=True, store_history=False
    )
    while True:
        reply = client.get_shell_msg(timeout=PATIENCE_S)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    assert reply["content"]["status"] == "ok", reply["content"]


class Session:
    """Runs cells in the kernel and keeps every iopub message."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.messages: list[dict[str, Any]] = []

    def drain(self, timeout: float = 0.2) -> None:
        while True:
            try:
                self.messages.append(self.client.get_iopub_msg(timeout=timeout))
            except queue.Empty:
                return

    def execute(self, code: str, timeout: float = PATIENCE_S, *, store_history: bool = True) -> str:
        """Run ``code``; return its msg id once the kernel is idle again (outputs collected).
        ``store_history=False``: a cell the person did not type (``In``/``Out`` and the
        execution count stay as they were)."""
        msg_id: str = self.client.execute(textwrap.dedent(code), store_history=store_history)
        deadline = time.monotonic() + timeout
        while True:
            msg = self.client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            self.messages.append(msg)
            if (
                msg["parent_header"].get("msg_id") == msg_id
                and msg["msg_type"] == "status"
                and msg["content"]["execution_state"] == "idle"
            ):
                break
        for msg in self.of(msg_id, "error"):
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        return msg_id

    def wait_for(self, seen: Callable[[], bool], timeout: float = PATIENCE_S) -> None:
        """Keep iopub messages until ``seen()`` is true of them: what the background loop
        sends comes when it is done, maybe after the next cell's idle."""
        deadline = time.monotonic() + timeout
        while not seen():
            left = deadline - time.monotonic()
            assert left > 0, "the kernel did not send it in time"
            with suppress(queue.Empty):
                self.messages.append(self.client.get_iopub_msg(timeout=min(left, 1.0)))

    def of(self, msg_id: str, msg_type: str) -> list[dict[str, Any]]:
        return [
            m
            for m in self.messages
            if m["msg_type"] == msg_type and m["parent_header"].get("msg_id") == msg_id
        ]

    def stdout(self, msg_id: str) -> str:
        return "".join(
            m["content"]["text"]
            for m in self.of(msg_id, "stream")
            if m["content"]["name"] == "stdout"
        )

    def comm_data(self, comm_id: str) -> list[dict[str, Any]]:
        return [
            m["content"]["data"]
            for m in self.messages
            if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
        ]
