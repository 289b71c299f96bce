"""Shared fixtures. ``server`` is a real agentnb server (uvicorn on 127.0.0.1, a free port)
started once per test session with fault injection on and no pacing delay."""

from __future__ import annotations

import ast
import functools
import os
import signal
import tempfile
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

# Tests must never write the user's real run history or MCP key file: throwaway ones for
# the session (files, not :memory:, so every store in the process and its subprocesses
# share them).
os.environ.setdefault(
    "AGENTNB_HISTORY", os.path.join(tempfile.mkdtemp(prefix="agentnb-test-"), "history.db")
)
os.environ.setdefault(
    "AGENTNB_MCP_KEYS", os.path.join(tempfile.mkdtemp(prefix="agentnb-test-"), "mcp-keys.json")
)

# A terminal's size is its own (a pty's, or a test's COLUMNS): an inherited COLUMNS or LINES
# (a CI runner's 80x24) would override every child's terminal size.
os.environ.pop("COLUMNS", None)
os.environ.pop("LINES", None)

# A suite started in the background by a shell without job control (`cmd &` in a script)
# inherits SIGINT ignored, and so does every process it starts: the tests of Ctrl-C (a
# kernel's interrupt, the CLI's) would see nothing arrive. Restored to Python's own.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from agentnb_testing import SharedServers, free_port, parsed, sdk_python, serving
from fault_injection import FaultBook
from phoenix_testing import SharedPhoenix

from agentnb.server import ServerHandle, start_server

# Hypothesis's health checks on how fast or how large generated inputs are judge the generator,
# not the code under test; on a loaded machine they fail a random seed now and then. Every
# property test inherits this profile; its correctness checks all stay.
settings.register_profile(
    "agentnb",
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
settings.load_profile("agentnb")


@pytest.fixture(scope="session")
def server() -> Iterator[ServerHandle]:
    handle = start_server(faults=FaultBook(), delay_ms=0)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="session")
def server_url(server: ServerHandle) -> str:
    """The server's base URL (``http://127.0.0.1:PORT``; OpenAI clients add ``/v1``)."""
    return server.base_url


@pytest.fixture(scope="session")
def api_key(server: ServerHandle) -> str:
    """The server's API key."""
    return server.api_key


PHOENIX = SharedPhoenix()


@pytest.fixture
def phoenix(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real Arize Phoenix's base URL (OTLP/HTTP at ``/v1/traces``, REST at ``/v1/...``),
    one for the session's tests (``tests/phoenix_testing.py``)."""
    return PHOENIX.url(tmp_path_factory)


def sdk_server(venv: str, script: str, ready: str, tmp: Path) -> Iterator[str]:
    """Another project's server, ``tests/providers/sdk_servers/SCRIPT PORT`` in the
    ``.tools/VENV`` venv, once ``ready`` answers: its base URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    script_path = Path(__file__).parent / "providers" / "sdk_servers" / script
    command = [str(sdk_python(venv)), str(script_path), str(port)]
    with serving(command, ready_url=f"{url}{ready}", log_path=tmp / "server.log"):
        yield url


@pytest.fixture(scope="session")
def agui_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An AG-UI server on pydantic-ai's own adapter, its agents scripted
    (``agui_pydantic_ai.py``), one for the session: the dialect's, the client tools' and the
    notebook context's tests ask it."""
    yield from sdk_server("agui", "agui_pydantic_ai.py", "/health", tmp_path_factory.mktemp("agui"))


@pytest.fixture(scope="session")
def agentserver_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Responses API server made by ``azure-ai-agentserver-responses`` itself, scripted
    (``responses_agentserver.py``), one for the session: the dialect's and the client tools'
    tests ask it."""
    folder = tmp_path_factory.mktemp("agentserver")
    yield from sdk_server("agentserver", "responses_agentserver.py", "/log", folder)


CROSS_MODULE_SERVERS = {
    "proxy_url": "litellm",
    PHOENIX.FIXTURE: "phoenix",
    "agui_url": "agui",
    "agentserver_url": "agentserver",
}
"""Fixtures whose server takes seconds to start and is shared by test modules (LiteLLM's
proxy by ``tests/interop``'s, Phoenix and the AG-UI server by the session's), and the name of
their users' unit (a module taking two joins their units into one)."""


def parsed_test(module: Path) -> ast.Module:
    try:
        return parsed(module)
    except (OSError, SyntaxError, ValueError):  # not a module (pytest says why): nothing in it
        return ast.Module(body=[], type_ignores=[])


@functools.cache
def fixtures_taken(module: Path) -> frozenset[str]:
    """The names the functions of ``module`` take (its tests' and its own fixtures')."""
    return frozenset(
        arg.arg
        for node in ast.walk(parsed_test(module))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for arg in node.args.args + node.args.kwonlyargs
    )


def cross_module_servers(module: Path) -> frozenset[str]:
    """The units of the ``CROSS_MODULE_SERVERS`` fixtures ``module`` takes."""
    taken = fixtures_taken(module)
    return frozenset(unit for name, unit in CROSS_MODULE_SERVERS.items() if name in taken)


def server_units(modules: Iterable[Path]) -> dict[Path, str]:
    """Each of ``modules`` that takes a ``CROSS_MODULE_SERVERS`` fixture, and its unit: the
    servers' users, a module that takes two joining their units (``litellm+agui``), so each
    server starts on one worker."""
    joined: dict[str, set[str]] = {unit: {unit} for unit in CROSS_MODULE_SERVERS.values()}
    for module in modules:
        together = set().union(*(joined[unit] for unit in cross_module_servers(module)))
        for unit in together:
            joined[unit] = together
    return {
        module: "+".join(sorted(joined[next(iter(units))]))
        for module in modules
        if (units := cross_module_servers(module))
    }


@functools.cache
def marked_slow(module: Path) -> bool:
    """Whether ``module`` marks a test of its (or all) ``slow``."""
    return any(
        isinstance(node, ast.Attribute)
        and node.attr == "slow"
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "mark"
        for node in ast.walk(parsed_test(module))
    )


BROWSER_UNIT = "tests/browser"
"""The tests that drive Chromium on a Jupyter page: one work unit, so one worker runs them back
to back on one Chromium and one JupyterLab and Notebook 7 (``tests/browser/conftest.py``); two
Chromiums with their Jupyter servers starve each other on two cores. A browser module that
opens no Jupyter page (marimo's, the plain pages') is a unit of its own, given out early: in
the unit it made the run end on the browser's worker alone, the others idle."""
JUPYTER_PAGES = frozenset({"jupyterlab", "notebook7", "jupyter", "APPS", "WIDGET_APPS"})
"""The fixtures of ``tests/browser/conftest.py`` that serve a Jupyter page, and the lists of
their names (``tests/browser/notebook_pages.py``) a module parametrizes with."""


@functools.cache
def names_in(module: Path) -> frozenset[str]:
    """The names and the strings ``module`` uses (a fixture taken as an argument, named in
    ``request.getfixturevalue("...")``, or a list of fixtures' names among them)."""
    tree = parsed_test(module)
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    strings = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return fixtures_taken(module) | names | strings


def in_browser_unit(module: Path, rootpath: Path) -> bool:
    """Whether ``module`` is of the browser's unit: in ``BROWSER_UNIT``, opening a Jupyter
    page. (A module wrongly left out still runs: its worker starts the servers it needs.)"""
    return module.is_relative_to(rootpath / BROWSER_UNIT) and bool(names_in(module) & JUPYTER_PAGES)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's ``--dist loadfile`` (scripts/test.sh), a test module a work unit (its
    module fixtures start once), except that ``BROWSER_UNIT`` is one unit, and so are the
    modules using one of ``CROSS_MODULE_SERVERS`` (``server_units``): one worker runs them back
    to back and the server starts once, where a worker each (and other folders' modules between
    them) started it once per module. The browser's unit goes out first (the longest by far:
    the other workers run the rest beside it, and the worker joins them once it ends), then the
    other units that take long (a server's users, a browser module outside the unit, a module
    with ``slow`` tests), so the run does not end on one of them with the other workers idle."""
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class ServerUsersTogether(LoadFileScheduling):
        ordered = False
        units: dict[Path, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            path = config.rootpath / nodeid.split("::", 1)[0]
            if self.units is None:  # the first call: the collection is whole
                assert self.collection is not None
                modules = {config.rootpath / n.split("::", 1)[0] for n in self.collection}
                self.units = server_units(sorted(modules))
            if in_browser_unit(path, config.rootpath):
                return BROWSER_UNIT
            return self.units.get(path) or nodeid.split("::", 1)[0]

        def takes_long(self, unit: str) -> bool:
            assert self.units is not None
            module = config.rootpath / unit
            # the browser's unit and the browser modules outside it: each starts a Chromium
            drives_chromium = module.is_relative_to(config.rootpath / BROWSER_UNIT)
            return unit in self.units.values() or drives_chromium or marked_slow(module)

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:  # the first unit given out: the queue is whole
                self.ordered = True
                for unit in reversed([unit for unit in self.workqueue if self.takes_long(unit)]):
                    self.workqueue.move_to_end(unit, last=False)
                if BROWSER_UNIT in self.workqueue:
                    self.workqueue.move_to_end(BROWSER_UNIT, last=False)
            super()._assign_work_unit(node)

    return ServerUsersTogether(config, log)


def pytest_collection_finish(session: pytest.Session) -> None:
    PHOENIX.collected(session.items)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None]:
    """Servers a folder's modules share stop once the next test is elsewhere; Phoenix after
    the last test that uses it."""
    result = yield
    for shared in SharedServers.everywhere:
        shared.after(nextitem)
    PHOENIX.after(item)
    return result


def pytest_sessionfinish() -> None:
    for shared in SharedServers.everywhere:
        shared.close()
    PHOENIX.close()
