"""What the evaluation package's tests share: a client on the built-in server whose runs are
recorded in a history file of the test's own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentnb
from agentnb import AgentClient
from agentnb._app.connections import disconnect
from agentnb._history import close_default_stores
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


@pytest.fixture
def history(tmp_path: Path) -> Path:
    return tmp_path / "history.sqlite3"


@pytest.fixture
def client(server: ServerHandle, history: Path) -> Iterator[AgentClient]:
    store = HistoryStore(history)
    with AgentClient(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, recorder=store
    ) as made:
        yield made
    store.close()


@pytest.fixture
def connection(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A named connection to the server, recording into a fresh default store."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "default.sqlite3"))
    name = f"evals_{uuid.uuid4().hex[:8]}"
    agentnb.connect(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, name=name
    )
    try:
        yield name
    finally:
        disconnect(name)
        time.sleep(0.05)  # let the old client close on the loop
        close_default_stores()
