"""The MCP servers the tests write with the ``mcp`` SDK (``tests/mcp/*_server.py``): the
command that runs one, a module's fixture of its tools, and a run whose agent (the built-in
``finance_agent``, which calls the first tool it is given) calls one of them."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

import agentnb
from agentnb import AgentClient
from agentnb.server import ServerHandle

__all__ = ["SERVERS", "calling_first", "run_calling", "server_command", "tools_of"]

SERVERS = Path(__file__).resolve().with_name("mcp")
"""Where the servers are."""

_Tool = TypeVar("_Tool")


def server_command(name: str, *arguments: str) -> list[str]:
    """The command that runs the server ``name`` (``app_server.py``) with ``arguments``."""
    return [sys.executable, str(SERVERS / name), *arguments]


def tools_of(name: str, **options: Any) -> Any:
    """A module's fixture of the server ``name``'s tools (``agentnb.mcp_tools`` with
    ``options``), its process running for the module: ``tools = tools_of("app_server.py")``."""

    @pytest.fixture(scope="module")
    def tools() -> Iterator[agentnb.types.McpTools]:
        with agentnb.mcp_tools(command=server_command(name), **options) as made:
            yield made

    return tools


def calling_first(tools: Iterable[_Tool], name: str) -> list[_Tool]:
    """``tools`` with the one named ``name`` first: the one the built-in agent calls."""
    return sorted(tools, key=lambda tool: getattr(tool, "name", None) != name)


def run_calling(
    server: ServerHandle,
    tools: Iterable[Any],
    name: str,
    *,
    message: str,
    dialect: str = "openai",
) -> agentnb.Run:
    """The run (waited for, not recorded) of ``finance_agent`` on ``server`` over ``dialect``,
    asked ``message``, whose agent calls the tool ``name`` of ``tools``."""
    settings = server.client_settings(dialect)
    with AgentClient(dialect, api_key=server.api_key, record=False, **settings) as client:
        return client.run("finance_agent", message, tools=calling_first(tools, name))
