"""What the evaluation package's tests share: a client on the built-in server whose runs are
recorded in a history file of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import recording_connection

from agentnb import AgentClient
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
    with recording_connection(server, tmp_path / "default.sqlite3", monkeypatch, "evals") as name:
        yield name
