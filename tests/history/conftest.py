"""What the history's tests against the built-in server share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import recording_connection

from agentnb.server import ServerHandle


@pytest.fixture
def connection(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A named connection to the server, recording into a fresh default store."""
    with recording_connection(server, tmp_path / "default.sqlite3", monkeypatch, "hist") as name:
        yield name
