"""Fixtures of the server tests (the ``server`` itself comes from ``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from agentnb_testing import PATIENCE_S, TLS

from agentnb.server import ServerHandle


@pytest.fixture
def client(server: ServerHandle) -> Iterator[httpx.Client]:
    """An httpx client of the shared server, sending its key."""
    headers = {"Authorization": f"Bearer {server.api_key}"}
    with httpx.Client(
        base_url=server.base_url, headers=headers, timeout=PATIENCE_S, verify=TLS
    ) as c:
        yield c
