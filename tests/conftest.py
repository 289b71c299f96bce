"""Shared fixtures. ``server`` is a real agentnb server (uvicorn on 127.0.0.1, a free port)
started once per test session with fault injection on and no pacing delay."""

from __future__ import annotations

import os
import signal
import tempfile
from collections.abc import Generator, Iterator

import pytest
from hypothesis import HealthCheck, settings

# Tests must never write the user's real run history: one throwaway file for the session
# (a file, not :memory:, so every store in the process and its subprocesses share it).
os.environ.setdefault(
    "AGENTNB_HISTORY", os.path.join(tempfile.mkdtemp(prefix="agentnb-test-"), "history.db")
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

from agentnb_testing import SharedServers
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
