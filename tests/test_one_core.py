"""One core: one error map, one exception tree, one notebook check, one secrets home, every
run recorded once whichever way it started, and a public surface that exports what it returns.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import subprocess
import sys
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import run_echo_every_way

import agentnb
from agentnb._core import exceptions
from agentnb._history import HistoryStore
from agentnb.server import ServerHandle

PACKAGE = Path(agentnb.__file__).resolve().parent


# ---- errors -------------------------------------------------------------------------------
def test_every_run_error_carries_the_run_and_its_partial_text(server: ServerHandle) -> None:
    conn = agentnb.connect(
        "runagent", base_url=server.url_for("runagent"), api_key=server.api_key, name="core"
    )
    handle = agentnb.ask(
        "writer", "go", via=conn.name, display=False, metadata={"paragraphs": "40"}
    )
    deadline = asyncio.get_event_loop_policy()  # any object: just waiting for text below
    del deadline
    while len(handle.text) < 50:
        assert not handle.done
    handle.cancel()
    with pytest.raises(agentnb.RunCancelledError) as caught:
        handle.wait(10)
    assert caught.value.run is handle.run
    assert caught.value.partial_text == handle.text and len(handle.text) >= 50


def test_an_http_error_keeps_its_type_and_gains_the_run(server: ServerHandle) -> None:
    with (
        agentnb.AgentClient(
            "runagent", base_url=server.url_for("runagent"), api_key="wrong-key-123456"
        ) as client,
        pytest.raises(agentnb.AuthenticationError) as caught,
    ):
        client.run("echo", "hi")
    assert caught.value.run is not None and caught.value.run.status == "failed"
    handle = agentnb.ask(
        "no_such_agent",
        "hi",
        client=agentnb.AgentClient(
            "runagent", base_url=server.url_for("runagent"), api_key=server.api_key
        ),
        display=False,
    )
    with pytest.raises(agentnb.NotFoundError) as not_found:
        handle.wait(10)
    assert not_found.value.run is handle.run


def _tree_names(doc: str) -> set[str]:
    return {
        line.split("─ ")[-1].split()[0]
        for line in doc.splitlines()
        if "─ " in line and line.split("─ ")[-1][:1].isupper()
    } | {"AgentNBError"}


def test_the_exception_tree_docstring_lists_every_error_and_the_root_exports_them() -> None:
    classes = {
        name
        for name, value in vars(exceptions).items()
        if isinstance(value, type) and issubclass(value, exceptions.AgentNBError)
    }
    assert _tree_names(exceptions.__doc__ or "") == classes
    assert classes <= set(agentnb.__all__)
    assert issubclass(agentnb.StreamStallError, agentnb.RunInterruptedError)
    assert issubclass(agentnb.StreamStallError, agentnb.StreamTimeoutError)
    assert issubclass(agentnb.HistoryStoreError, agentnb.AgentNBError)


# ---- one of each --------------------------------------------------------------------------
def _calls(name: str) -> list[str]:
    found = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
                found.append(str(path.relative_to(PACKAGE)))
    return found


def test_one_notebook_check() -> None:
    assert set(_calls("get_ipython")) == {"_notebook/environment.py"}


def test_one_home_for_secrets() -> None:
    defined = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.FunctionDef) and node.name in {"mask", "redact", "excerpt"}
    }
    assert defined == {"_core/secrets.py", "_core/text.py"}


def test_the_dialects_come_from_the_entry_points() -> None:
    from importlib.metadata import entry_points

    from agentnb.providers import ENTRY_POINT_GROUP, available_providers

    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(available_providers()) == installed
    source = (PACKAGE / "providers" / "__init__.py").read_text()
    assert "seekrflow" not in source  # no second list of names beside the entry points


# ---- every run recorded once -----------------------------------------------------------------
@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    from agentnb._history import close_default_stores

    path = tmp_path / "every-way.sqlite3"
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    close_default_stores()
    yield HistoryStore(path)
    close_default_stores()


def test_a_run_started_each_way_is_recorded_once(
    server: ServerHandle, history: HistoryStore
) -> None:
    url, key = server.url_for("runagent"), server.api_key
    conn = run_echo_every_way(url, key, "recorded")
    env = {**os.environ, "AGENTNB_API_KEY": key}
    cli = [sys.executable, "-m", "agentnb", "run", "echo", "way cli"]
    cli += ["--provider", "runagent", "--base-url", url]
    subprocess.run(cli, env=env, check=True, capture_output=True, timeout=60)
    agentnb.ask("echo", "way not recorded", via=conn.name, display=False, wait=True, record=False)

    messages = [m for m in agentnb.runs(agent="echo").to_pandas()["message"] if "way" in m]
    expected = [
        "way async",
        "way sync",
        "way sync stream",
        "way ask client",
        "way ask",
        "way batch",
        "way chat",
        "way magic",
        "way cli",
    ]
    assert sorted(messages) == sorted(expected)


# ---- the public surface -------------------------------------------------------------------
def _public_callables() -> Iterator[tuple[str, object]]:
    for name in agentnb.__all__:
        value = getattr(agentnb, name)
        if inspect.isfunction(value):
            yield name, value
        elif inspect.isclass(value) and not issubclass(value, BaseException):
            for attr, member in vars(value).items():
                if inspect.isfunction(member) and not attr.startswith("_"):
                    yield f"{name}.{attr}", member


def _named_types(annotation: object) -> Iterator[type]:
    if isinstance(annotation, type):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _named_types(arg)


def test_every_type_a_public_function_returns_is_exported() -> None:
    missing = set()
    for name, fn in _public_callables():
        try:
            hints = typing.get_type_hints(fn, vars(sys.modules[fn.__module__]))  # type: ignore[attr-defined]
        except NameError:
            continue
        for cls in _named_types(hints.get("return")):
            if cls.__module__.startswith("agentnb") and cls.__name__ not in agentnb.__all__:
                missing.add(f"{name} -> {cls.__module__}.{cls.__name__}")
    assert not missing, sorted(missing)
