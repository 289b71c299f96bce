"""What the history's tests against the built-in server share."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import agentnb
from agentnb._history import close_default_stores
from agentnb.server import ServerHandle


@pytest.fixture
def connection(
    server: ServerHandle, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[str]:
    """A named connection to the server, recording into a fresh default store."""
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "default.sqlite3"))
    name = f"hist_{uuid.uuid4().hex[:8]}"
    agentnb.connect(
        "operativus", base_url=server.url_for("operativus"), api_key=server.api_key, name=name
    )
    try:
        yield name
    finally:
        from agentnb._app.connections import disconnect

        disconnect(name)
        time.sleep(0.05)  # let the old client close on the loop
        close_default_stores()
