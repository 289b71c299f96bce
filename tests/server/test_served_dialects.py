"""The built-in server's dialects are found, not listed, and fault injection stays out of it:
the tests hold it (``tests/fault_injection.py``) and give it to a server through its seam; a
server not given it ignores the fault header (tests/test_wheel.py: the wheel has none)."""

from __future__ import annotations

import importlib
from pathlib import Path

import httpx
from agentnb_testing import PATIENCE_S

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


def test_the_package_holds_no_fault_injection() -> None:
    modules = [str(p.relative_to(SERVER.parent)) for p in SERVER.parent.rglob("*fault*")]
    assert modules == [], "fault injection is the tests' (tests/fault_injection.py)"


def test_a_server_without_the_switch_ignores_the_fault_header() -> None:
    with start_server(delay_ms=0) as server:
        answer = httpx.post(
            server.base_url + "/v1/run",
            json={"agent": "echo", "prompt": "hi", "stream": False},
            headers={"Authorization": f"Bearer {server.api_key}", "X-AgentNB-Fault": "status=503"},
            timeout=PATIENCE_S,
        )
        assert server.app.state.agentnb.faults is None
    assert answer.status_code == 200
