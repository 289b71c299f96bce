"""What the evaluation package's tests share: a client on the built-in server whose runs are
recorded in a history file of the test's own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

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
