"""Fixtures for the browser tests: the demo agent server, JupyterLab and Notebook 7 on
127.0.0.1 with an empty token, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, SharedServers, connection_env, free_port, serving
from notebook_pages import is_warm

from agentnb.server import ServerHandle, start_server
from benchmarks.chromium import CHROMIUM, launch

HERE = Path(__file__).resolve().parent
ARTIFACTS = HERE.parents[1] / "test-artifacts"

# The browser and the servers (the paced agent server, the Jupyter servers) are shared by
# this folder's modules and stop when the next test is elsewhere: Playwright's sync API keeps
# an event loop running on the main thread until it stops, which would break every asyncio
# test after it. Each module gets a folder of its own on a Jupyter server (its kernels start
# there, so each module has its own run history) and leaves no kernel, setting, workspace
# (``module_folder``) or browser context (``browser``) behind.
SHARED = SharedServers(HERE)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing (apt-get install chromium)")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@contextmanager
def paced_agent_server() -> Iterator[ServerHandle]:
    handle = start_server(delay_ms=40)
    try:
        yield handle
    finally:
        handle.stop()


@pytest.fixture(scope="module")
def agent_server() -> ServerHandle:
    """The demo agents, paced so that a run visibly streams in the browser."""
    return SHARED.get("agent_server", paced_agent_server)


class Lab:
    """A Jupyter server as one module sees it: its URL, and the module's folder (``root``,
    ``folder`` relative to the server's root)."""

    def __init__(self, url: str, root: Path, folder: str = "") -> None:
        self.url = url
        self.root = root
        self.folder = folder


def quiet_settings(base: Path) -> None:
    """The user settings a fresh Jupyter starts with: never fetch the Jupyter news, and so
    never ask (the consent toast covers the page); the rest (the theme...) defaults."""
    shutil.rmtree(base / "settings", ignore_errors=True)
    shutil.rmtree(base / "workspaces", ignore_errors=True)
    notification = base / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')


def no_build_check(config_dir: Path) -> None:
    """JupyterLab's page asks its server, on every load, whether the app needs a rebuild,
    and the server runs yarn (a Node.js process) to find out: the installed app never does
    here, so the page is told not to ask (a user's ``page_config.json``, as JupyterLab reads
    it from the config folder)."""
    labconfig = config_dir / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    (labconfig / "page_config.json").write_text('{"buildCheck": false, "buildAvailable": false}')


@contextmanager
def serve_jupyter(
    module: str, app_args: list[str], agent_server: ServerHandle, base: Path
) -> Iterator[Lab]:
    """``python -m MODULE`` (a Jupyter server app) on a free 127.0.0.1 port with an empty
    token, its kernels' default connection pointing at ``agent_server`` and their history
    in the folder they start in (the notebook's). Its kernels talk over Unix sockets in a
    runtime folder of its own, as the rest's do (``kernel_session.kernel_config``: a TCP
    kernel's ports can be taken before it binds them, jupyter/jupyter_client#487); the
    folder is short, since a socket's path is at most 107 bytes and pytest's are long."""
    root = base / "notebooks"
    root.mkdir()
    port = free_port()
    runtime = Path(tempfile.mkdtemp(prefix="agentnb-jupyter-"))
    env = connection_env(
        agent_server,
        base,
        AGENTNB_HISTORY="history.sqlite3",
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(runtime),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
        JUPYTER_PATH=str(LABEXTENSION),  # agentnb's notebook extension, as the wheel installs it
        PYTHONUNBUFFERED="1",
    )
    quiet_settings(base)
    no_build_check(base / "config")
    url = f"http://127.0.0.1:{port}"
    try:
        with serving(
            [
                sys.executable, "-m", module,
                f"--ServerApp.port={port}",
                "--ServerApp.ip=127.0.0.1",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={root}",
                *app_args,
                "--KernelSpecManager.ensure_native_kernel=True",
                "--KernelManager.transport=ipc",
                "--no-browser",
                "--allow-root",
            ],
            ready_url=f"{url}/api/status",
            log_path=base / f"{module}.log",
            env=env,
        ):  # fmt: skip
            yield Lab(url, root)
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def jupyter_api(lab: Lab, method: str, path: str) -> Any:
    request = urllib.request.Request(f"{lab.url}/api/{path}", method=method)
    with urllib.request.urlopen(request, timeout=PATIENCE_S) as response:
        body = response.read()
    return json.loads(body) if body else None


@contextmanager
def module_folder(server: Lab, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """The test module's own folder on the shared ``server``; at the module's end its kernels
    are shut down and the settings and workspaces it changed (a theme, open tabs) reset."""
    folder = request.module.__name__
    (server.root / folder).mkdir(exist_ok=True)
    try:
        yield Lab(server.url, server.root / folder, folder)
    finally:
        for kind in ("sessions", "kernels"):  # a session's kernel goes with it
            paths = [f"{kind}/{item['id']}" for item in jupyter_api(server, "GET", kind)]
            with ThreadPoolExecutor() as pool:  # each waits for its kernel to exit
                list(pool.map(lambda path: jupyter_api(server, "DELETE", path), paths))
        quiet_settings(server.root.parent)


LABEXTENSION = Path(__file__).resolve().parents[2] / "labextension" / "data"
"""Where the built extension lies as ``share/jupyter`` holds it once agentnb is installed."""

LAB_ARGS = [
    "--LabApp.expose_app_in_browser=True",
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
]


@pytest.fixture(scope="module")
def jupyterlab(
    agent_server: ServerHandle,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Lab]:
    server = SHARED.get(
        "jupyterlab",
        lambda: serve_jupyter("jupyterlab", LAB_ARGS, agent_server, tmp_path_factory.mktemp("lab")),
    )
    with module_folder(server, request) as lab:
        yield lab


@pytest.fixture(scope="module")
def notebook7(
    agent_server: ServerHandle,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Lab]:
    """Jupyter Notebook 7 (``python -m notebook``), with ``window.jupyterapp`` exposed."""
    pytest.importorskip("notebook", minversion="7", reason="needs notebook>=7 (the dev extra)")
    notebook_args = ["--JupyterNotebookApp.expose_app_in_browser=True"]
    server = SHARED.get(
        "notebook7",
        lambda: serve_jupyter(
            "notebook", notebook_args, agent_server, tmp_path_factory.mktemp("nb7")
        ),
    )
    with module_folder(server, request) as lab:
        yield lab


@pytest.fixture
def jupyter(app: str, request: pytest.FixtureRequest) -> Lab:
    """The Jupyter server of the test's ``app`` (``@pytest.mark.parametrize("app", APPS)``:
    ``jupyterlab`` or ``notebook7``), the module's folder in it."""
    lab: Lab = request.getfixturevalue(app)
    return lab


@contextmanager
def chromium_browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Chromium, shared like the servers (each test's pages are in contexts of their own);
    the contexts a module leaves open close with it, but for the warm JupyterLab page
    (``notebook_pages.notebook_page``)."""
    chromium = SHARED.get("browser", chromium_browser)
    try:
        yield chromium
    finally:
        for context in chromium.contexts:
            if not is_warm(context):
                context.close()
