"""The built-in server's dialects are found, not listed, and its fault injection stays apart:
no module of the server imports it, so only ``create_app(faults=True)`` loads it."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import httpx

import agentnb.server
from agentnb.server import DIALECT_PROVIDERS, start_server
from agentnb.server._served_dialects import (
    ROUTES_PACKAGE,
    ROUTES_SUFFIX,
    ServedDialect,
    served_dialects,
)

SERVER = Path(agentnb.server.__file__).parent


def test_every_routes_module_declares_what_it_serves() -> None:
    modules = sorted(p.stem for p in (SERVER / ROUTES_PACKAGE).glob(f"_*{ROUTES_SUFFIX}.py"))
    assert len(modules) == len(served_dialects())
    for name in modules:
        declared = importlib.import_module(f"agentnb.server.{ROUTES_PACKAGE}.{name}").DIALECT
        assert isinstance(declared, ServedDialect) and declared in served_dialects()
    assert sorted(DIALECT_PROVIDERS) == sorted(p for d in served_dialects() for p in d.providers)


def test_no_server_module_imports_the_fault_injection_at_load() -> None:
    importers = []
    for path in SERVER.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in tree.body:  # module level only: create_app imports it inside the switch
            if isinstance(node, ast.ImportFrom) and node.module == "_fault_injection":
                importers.append(path.name)
    assert importers == []


def test_a_server_without_the_switch_ignores_the_fault_header() -> None:
    with start_server(delay_ms=0) as server:
        answer = httpx.post(
            server.base_url + "/v1/run",
            json={"agent": "echo", "prompt": "hi", "stream": False},
            headers={"Authorization": f"Bearer {server.api_key}", "X-AgentNB-Fault": "status=503"},
            timeout=30,
        )
        assert server.app.state.agentnb.faults is None
    assert answer.status_code == 200
