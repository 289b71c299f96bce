"""Fixtures of the interop tests: the real SDKs (the ``openai`` Python package, the ``ai`` and
``eventsource-parser`` npm packages, a LiteLLM proxy) against agentnb and its built-in server."""

from __future__ import annotations

from pathlib import Path

import pytest
from agentnb_testing import SharedServers, sdk_python
from interop_testing import node_or_skip, serve_litellm

from agentnb.server import ServerHandle

# The LiteLLM proxy takes tens of seconds to start: one serves every module here.
SHARED = SharedServers(Path(__file__).resolve().parent)


@pytest.fixture(scope="module")
def acp_python() -> Path:
    """The Python of the ``agent-client-protocol`` SDK's venv (``tests/sdk_envs/acp.txt``)."""
    return sdk_python("acp")


@pytest.fixture(scope="session")
def node() -> str:
    """The Node.js binary; the test is skipped (saying why) without Node or the packages."""
    return node_or_skip()


@pytest.fixture(scope="module")
def proxy_url(server: ServerHandle, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A LiteLLM proxy's base URL (its key: ``LITELLM_KEY``), routing the demo agents to the
    built-in server, with a scripted model (``portfolio``) that calls the client's tool."""
    return SHARED.get("litellm", lambda: serve_litellm(server, tmp_path_factory.mktemp("litellm")))
