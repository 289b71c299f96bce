"""Fixtures of the interop tests: the real SDKs (the ``openai`` Python package, the ``ai`` and
``eventsource-parser`` npm packages) against agentnb and its built-in server."""

from __future__ import annotations

import pytest
from interop_testing import node_or_skip


@pytest.fixture(scope="session")
def node() -> str:
    """The Node.js binary; the test is skipped (saying why) without Node or the packages."""
    return node_or_skip()
