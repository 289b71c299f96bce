"""Fixtures for the browser tests: the demo agent server, JupyterLab on 127.0.0.1 with an
empty token, and Debian's Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import connection_env, free_port, serving

from agentnb.server import ServerHandle, start_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


# Fixtures are module-scoped, not session-scoped: Playwright's sync API keeps an event loop
# running on the main thread until it stops, which would break every asyncio test after it.


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


@pytest.fixture(scope="module")
def agent_server() -> Iterator[ServerHandle]:
    """The demo agents, paced so that a run visibly streams in the browser."""
    handle = start_server(delay_ms=40)
    try:
        yield handle
    finally:
        handle.stop()


class Lab:
    def __init__(self, url: str, root: Path) -> None:
        self.url = url
        self.root = root


@contextmanager
def serve_jupyter(
    module: str, app_args: list[str], agent_server: ServerHandle, base: Path
) -> Iterator[Lab]:
    """``python -m MODULE`` (a Jupyter server app) on a free 127.0.0.1 port with an empty
    token, its kernels' default connection pointing at ``agent_server``."""
    root = base / "notebooks"
    root.mkdir()
    port = free_port()
    env = connection_env(
        agent_server,
        base,
        JUPYTER_CONFIG_DIR=str(base / "config"),
        JUPYTER_RUNTIME_DIR=str(base / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    # Never fetch the Jupyter news, and so never ask: the consent toast covers the page.
    notification = base / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    url = f"http://127.0.0.1:{port}"
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
            "--no-browser",
            "--allow-root",
        ],
        ready_url=f"{url}/api/status",
        log_path=base / f"{module}.log",
        env=env,
    ):  # fmt: skip
        yield Lab(url, root)


@pytest.fixture(scope="module")
def jupyterlab(
    agent_server: ServerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    lab_args = [
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    with serve_jupyter("jupyterlab", lab_args, agent_server, tmp_path_factory.mktemp("lab")) as lab:
        yield lab


@pytest.fixture(scope="module")
def notebook7(
    agent_server: ServerHandle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Lab]:
    """Jupyter Notebook 7 (``python -m notebook``), with ``window.jupyterapp`` exposed."""
    pytest.importorskip("notebook", minversion="7", reason="needs notebook>=7 (the dev extra)")
    notebook_args = ["--JupyterNotebookApp.expose_app_in_browser=True"]
    base = tmp_path_factory.mktemp("nb7")
    with serve_jupyter("notebook", notebook_args, agent_server, base) as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()
