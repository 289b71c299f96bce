"""What the history's tests against the built-in server share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import recording_connection

from agentnb._history import close_default_stores
from agentnb.server import ServerHandle


@pytest.fixture
def connection(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A named connection to the server, recording into a fresh default store."""
    with recording_connection(server, tmp_path / "default.sqlite3", monkeypatch, "hist") as name:
        yield name


@pytest.fixture
def own_default_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """A fresh default store for the test, and none left open after it."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "default.sqlite3"))
    close_default_stores()
    yield
    close_default_stores()
