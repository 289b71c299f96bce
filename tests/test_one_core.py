"""One core: one error map, one exception tree, one notebook check, one secrets home, every
run recorded once whichever way it started, and a public surface that exports what it returns.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import sys
import time
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from agentnb_testing import (
    PACKAGE_DIRS,
    PATIENCE_S,
    PUBLIC_FRONTS,
    cli_in_process,
    parsed,
    run_echo_every_way,
)
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb._core import exceptions
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle


def package_files() -> dict[str, Path]:
    """Every module of agentnb: where it is in its agentnb/ (the core's, or evaluation's in
    evals/agentnb/) → its file."""
    return {
        str(path.relative_to(found)): path
        for found in PACKAGE_DIRS
        for path in sorted(found.rglob("*.py"))
    }


# ---- errors -------------------------------------------------------------------------------
def test_every_run_error_carries_the_run_and_its_partial_text(server: ServerHandle) -> None:
    # Paced (20 ms a chunk, seconds in all) so the run is still going when the cancel
    # lands, however busy the machine: unpaced, a loaded worker saw it finish first.
    conn = agentnb.connect(
        "runagent",
        base_url=server.url_for("runagent"),
        api_key=server.api_key,
        name="core",
        headers={"X-AgentNB-Delay-Ms": "20"},
    )
    handle = agentnb.ask(
        "writer", "go", via=conn.name, display=False, metadata={"paragraphs": "40"}
    )
    while len(handle.text) < 50:
        assert not handle.done
        time.sleep(0.001)
    handle.cancel()
    with pytest.raises(agentnb.RunCancelledError) as caught:
        handle.wait(PATIENCE_S)
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
        handle.wait(PATIENCE_S)
    assert not_found.value.run is handle.run


def test_what_a_run_keeps_of_an_error_is_worded_once() -> None:
    """``error_info`` words every error a run ends with: agentnb's as they are, anything
    else as the bug it is (the stream, the handle and batch each had their own wording)."""
    refused = exceptions.error_info(agentnb.RunFailedError("boom", code="E1"))
    assert (refused.message, refused.code) == ("boom", "E1")
    bug = exceptions.error_info(KeyError("parts"))
    assert (bug.message, bug.code) == ("internal error: KeyError('parts')", "KeyError")


def test_run_error_info_is_made_from_an_exception_only_by_error_info() -> None:
    built = []
    for where, path in package_files().items():
        for handler in ast.walk(parsed(path)):
            if not isinstance(handler, ast.ExceptHandler) or handler.name is None:
                continue
            built += [
                f"{where}:{call.lineno}"
                for call in ast.walk(handler)
                if isinstance(call, ast.Call)
                and getattr(call.func, "id", "") == "RunErrorInfo"
                and any(isinstance(n, ast.Name) and n.id == handler.name for n in ast.walk(call))
            ]
    assert built == []


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
    assert issubclass(agentnb.HistoryError, agentnb.AgentNBError)


# ---- one of each --------------------------------------------------------------------------
def _calls(name: str) -> list[str]:
    found = []
    for where, path in package_files().items():
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == name:
                found.append(where)
    return found


def test_one_request_builder() -> None:
    """Only ``build_request`` makes a request from options; only its ``options_error`` words
    pydantic's complaints about them (there used to be three builders, three wordings)."""
    assert set(_calls("RunRequest")) | set(_calls("ModelSettings")) == {"_core/request.py"}
    worded = {
        where
        for where, path in package_files().items()
        if not where.startswith("server/")
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "errors"
    }
    # schema: the answer; client_tools: the agent's arguments to a notebook function
    assert worded == {"_core/request.py", "_core/schema.py", "_core/client_tools.py"}


def test_one_maker_of_new_runs() -> None:
    """A run of a request, and the copy a chat cell shows of one going, are made by
    ``Run.new`` and ``Run.as_started`` (the client and the chat cell each made their
    own). The history's row and a UI message stream read alone fold their events into a run
    of their own: those are folds, not new runs of a request."""
    assert set(_calls("Run")) == {
        "_core/run.py",
        "_history/_past_run.py",
        "providers/_uimessage_parts.py",
    }


def test_one_notebook_check() -> None:
    assert set(_calls("get_ipython")) == {"_display/environment.py"}


def test_one_way_to_warn() -> None:
    """Every warning goes through ``warn``, which words it in lines a terminal of 80 columns
    and a notebook's output hold without cutting a word (a raw ``warnings.warn`` did not)."""
    warned = {
        where
        for where, path in package_files().items()
        for node in ast.walk(parsed(path))
        if isinstance(node, ast.Attribute)
        and node.attr == "warn"
        and isinstance(node.value, ast.Name)
        and node.value.id == "warnings"
    }
    assert warned == {"_core/warning.py"}


def test_one_home_for_secrets() -> None:
    defined = {
        where
        for where, path in package_files().items()
        for node in parsed(path).body
        if isinstance(node, ast.FunctionDef) and node.name in {"mask", "redact", "excerpt"}
    }
    assert defined == {"_core/secrets.py", "_core/text.py"}


def test_the_dialects_come_from_the_entry_points() -> None:
    from importlib.metadata import entry_points

    from agentnb.providers import ENTRY_POINT_GROUP, available_providers

    installed = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(available_providers()) == installed
    source = (PACKAGE_DIRS[0] / "providers" / "__init__.py").read_text()
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
    cli_echo(url, key, "way cli")
    conn = run_echo_every_way(url, key, "recorded")
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


def quiet_runs_every_way(url: str, key: str) -> None:
    """An echo run each way, each asked not to be recorded (``record=False`` on a client, on
    ``ask``, ``--no-record`` on the magic and the CLI)."""

    async def async_client() -> None:
        async with agentnb.AsyncAgentClient(
            "runagent", base_url=url, api_key=key, record=False
        ) as client:
            await client.run("echo", "quiet async")

    cli_echo(url, key, "quiet cli", "--no-record")
    asyncio.run(async_client())
    conn = agentnb.connect("runagent", base_url=url, api_key=key, name="quiet")
    with agentnb.AgentClient("runagent", base_url=url, api_key=key, record=False) as client:
        client.run("echo", "quiet sync")
        with client.stream("echo", "quiet sync stream") as stream:
            for _ in stream:
                pass
        agentnb.ask("echo", "quiet ask client", client=client, display=False, wait=True)
        agentnb.batch("echo", ["quiet batch"], client=client, progress=False)
        agentnb.chat("echo", client=client, followups=False).ask("quiet chat").wait(PATIENCE_S)
    agentnb.ask("echo", "quiet ask", via=conn.name, display=False, wait=True, record=False)
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "agentnb")
    shell.run_line_magic("agent", f"echo --via {conn.name} --wait --no-record quiet magic")


def cli_echo(url: str, key: str, message: str, *flags: str) -> None:
    """``agentnb run echo MESSAGE`` on the server's runagent dialect, by the CLI's ``main`` in
    this process, with this process's history setting (before any connection is made: the
    CLI forgets them all when it ends)."""
    argv = ["run", "echo", message, "--provider", "runagent", "--base-url", url, *flags]
    env = {"AGENTNB_API_KEY": key, "AGENTNB_HISTORY": os.environ["AGENTNB_HISTORY"]}
    done = cli_in_process(*argv, env=env)
    assert done.returncode == 0, done.stderr


def _recorded(word: str) -> list[str]:
    return [m for m in agentnb.runs(agent="echo").to_pandas()["message"] if word in m]


def test_record_false_keeps_a_run_out_whichever_way_it_started(
    server: ServerHandle, history: HistoryStore
) -> None:
    quiet_runs_every_way(server.url_for("runagent"), server.api_key)
    assert _recorded("quiet") == []
    agentnb.ask("echo", "loud", via="quiet", display=False, wait=True)
    assert _recorded("loud") == ["loud"]  # the same connection records when not told otherwise


def test_history_off_records_no_run_whichever_way_it_started(
    server: ServerHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``AGENTNB_HISTORY=off`` no database is written anywhere a run could go: neither
    the per-user data directory (``XDG_DATA_HOME``) nor a file named after the value."""
    from agentnb._history import close_default_stores

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AGENTNB_HISTORY", "off")
    close_default_stores()
    url, key = server.url_for("runagent"), server.api_key
    try:
        cli_echo(url, key, "way cli")
        run_echo_every_way(url, key, "off")
    finally:
        close_default_stores()
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()) == []
    monkeypatch.delenv("AGENTNB_HISTORY")
    assert agentnb.ask("echo", "on", via="off", display=False, wait=True).status == "completed"
    close_default_stores()
    assert list((tmp_path / "data").rglob("*.sqlite3")) != []  # where runs go when it is on


# ---- the public surface -------------------------------------------------------------------
def test_one_chat_cell_with_the_input_as_an_option(server: ServerHandle) -> None:
    assert not hasattr(agentnb, "ChatWidget")
    assert not [p for p in package_files().values() if "ChatWidget" in p.read_text()]
    client = agentnb.AgentClient(
        "runagent", base_url=server.url_for("runagent"), api_key=server.api_key
    )
    with client:
        cell = agentnb.chat("echo", client=client)
    assert isinstance(cell, agentnb.types.ChatCell) and cell.options["input"] is True


@pytest.mark.parametrize("start", ["ask", "chat", "batch"])
def test_every_way_to_start_a_run_takes_a_client_or_a_connection(start: str) -> None:
    parameters = inspect.signature(getattr(agentnb, start)).parameters
    assert {"client", "via", "approve"} <= set(parameters)


def _public_names() -> Iterator[tuple[str, object]]:
    """Every name of the root's ``__all__`` and of its public fronts' (``agentnb.types``,
    ``agentnb.history``, ``agentnb.approvals``: the types a user rarely names)."""
    for module in (agentnb, *PUBLIC_FRONTS):
        for name in module.__all__:
            yield name, getattr(module, name)


def _public_callables() -> Iterator[tuple[str, Callable[..., object]]]:
    """Every public function, and every public method, property, classmethod and
    staticmethod of a public class."""
    for name, value in _public_names():
        if inspect.isfunction(value):
            yield name, value
        elif inspect.isclass(value) and not issubclass(value, BaseException):
            for attr, member in vars(value).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, property) and member.fget is not None:
                    yield f"{name}.{attr}", member.fget
                elif isinstance(member, classmethod | staticmethod):
                    yield f"{name}.{attr}", member.__func__
                elif inspect.isfunction(member):
                    yield f"{name}.{attr}", member


def _public_attributes() -> Iterator[tuple[str, object]]:
    """The annotated public attributes of every public class (``Run.parts``, ...)."""
    for name, value in _public_names():
        if not inspect.isclass(value) or issubclass(value, BaseException):
            continue
        for cls in value.__mro__:
            if not cls.__module__.startswith("agentnb"):
                continue  # a base from elsewhere (anywidget, pydantic) is not agentnb's surface
            for attr, annotation in vars(cls).get("__annotations__", {}).items():
                if not attr.startswith("_"):
                    yield f"{name}.{attr}", _evaluated(annotation, cls.__module__)


def _evaluated(annotation: object, module: str) -> object:
    if not isinstance(annotation, str):
        return annotation
    return eval(annotation, _namespace(module))  # an annotation of agentnb's own source


def _namespace(module: str) -> dict[str, object]:
    """What an annotation may name: the module's globals, every public module's names, and
    pandas, pyarrow, polars, matplotlib's ``Axes`` and OpenTelemetry's ``trace``
    (annotations under ``TYPE_CHECKING`` name ``pd``, ``pa``, ``pl``, ``Axes``, ``trace``)."""
    import pandas as pd
    import polars as pl
    import pyarrow as pa
    from matplotlib.axes import Axes
    from opentelemetry import trace

    public = {name: getattr(front, name) for front in _public_modules() for name in front.__all__}
    optional = {"pd": pd, "pa": pa, "pl": pl, "Axes": Axes, "trace": trace}
    return {**public, **optional, **vars(sys.modules[module])}


def _public_modules() -> list[ModuleType]:
    """The package root, its fronts (``agentnb.types``, ``agentnb.history``,
    ``agentnb.approvals``) and the public modules ``agentnb.events``, ``agentnb.providers``,
    ``agentnb.sse`` and ``agentnb.server``."""
    import agentnb.events
    import agentnb.providers
    import agentnb.server
    import agentnb.sse

    return [agentnb, *PUBLIC_FRONTS, agentnb.events, agentnb.providers, agentnb.sse, agentnb.server]


def _named_types(annotation: object) -> Iterator[type]:
    if isinstance(annotation, type):
        yield annotation
    for arg in typing.get_args(annotation):
        yield from _named_types(arg)


def _exported(cls: type) -> bool:
    """Exported by a public module (``_public_modules``) whose ``__all__`` names it."""
    return any(
        cls.__name__ in module.__all__ and getattr(module, cls.__name__) is cls
        for module in _public_modules()
    )


def test_every_type_a_public_function_returns_is_exported() -> None:
    missing = set()
    for name, fn in _public_callables():
        for shown in typing.get_overloads(fn) or [fn]:  # what a caller sees of an overload
            hints = typing.get_type_hints(shown, _namespace(fn.__module__))
            for cls in _named_types(hints.get("return")):
                if cls.__module__.startswith("agentnb") and not _exported(cls):
                    missing.add(f"{name} -> {cls.__module__}.{cls.__name__}")
    assert not missing, sorted(missing)


def test_every_type_a_public_attribute_holds_is_exported() -> None:
    missing = {
        f"{name} -> {cls.__module__}.{cls.__name__}"
        for name, annotation in _public_attributes()
        for cls in _named_types(annotation)
        if cls.__module__.startswith("agentnb") and not _exported(cls)
    }
    assert not missing, sorted(missing)
