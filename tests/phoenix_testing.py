"""A real Arize Phoenix for the tests that send it traces or experiments: its own venv
(``.tools/phoenix``, made by ``scripts/test.sh``) started on 127.0.0.1 with local storage and
nothing leaving the machine (telemetry, external resources, assistant and MCP server off).

Skipped when ``.tools/phoenix`` is absent, except under CI (``CI`` set), where that fails.

``python tests/phoenix_testing.py FOLDER`` starts one for a whole run of the suite
(``scripts/test.sh`` does, beside its installs, so that no test worker waits out Phoenix's
start): it writes ``FOLDER/url`` once Phoenix answers (``FOLDER/error`` if it cannot start)
and serves until it is killed."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from agentnb_testing import REPO, SERVICE_START_BOUND_S, free_port, serving, wait_until

__all__ = ["PHOENIX", "PRESTARTED", "SharedPhoenix", "phoenix_env", "running_phoenix"]

PHOENIX = REPO / ".tools" / "phoenix" / "bin" / "phoenix"
STARTS = 3
"""Phoenix binds two ports picked free beforehand (HTTP and OTLP/gRPC, the latter on every
interface: it cannot be turned off); another process may take one first, and Phoenix then
exits at startup: it is started again on other ports, at most this many times in all."""


def phoenix_env(working_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PHOENIX_", "OTEL_"))}
    env.update(
        PHOENIX_WORKING_DIR=str(working_dir),
        PHOENIX_HOST="127.0.0.1",
        PHOENIX_PORT=str(port),
        PHOENIX_GRPC_PORT=str(free_port()),
        PHOENIX_TELEMETRY_ENABLED="false",
        PHOENIX_ALLOW_EXTERNAL_RESOURCES="false",
        PHOENIX_DISABLE_AGENT_ASSISTANT="true",
        PHOENIX_AGENTS_DISABLE_GITHUB="true",
        PHOENIX_ENABLE_MCP_SERVER="false",
    )
    return env


PRESTARTED = "AGENTNB_TEST_PHOENIX"
"""The environment variable naming the ``FOLDER`` of a Phoenix started for the whole run
(``python tests/phoenix_testing.py FOLDER``, by ``scripts/test.sh``)."""


def running_phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server's base URL (OTLP/HTTP at ``/v1/traces``, REST at ``/v1/...``) while
    the generator is open: what a module-scoped fixture yields from."""
    if not PHOENIX.exists():
        reason = f"Arize Phoenix is not installed at {PHOENIX.parent.parent} (scripts/test.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the real-collector test")
        pytest.skip(reason)
    yield from started_phoenix(lambda: tmp_path_factory.mktemp("phoenix"))


def started_phoenix(new_folder: Callable[[], Path]) -> Iterator[str]:
    """Phoenix started in a ``new_folder()`` of its own (again in another on a port taken
    first): its base URL while the generator is open."""
    for attempt in range(1, STARTS + 1):
        working_dir = new_folder()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = serving(
            [str(PHOENIX), "serve"],
            ready_url=f"{url}/healthz",
            log_path=working_dir / "phoenix.log",
            env=phoenix_env(working_dir, port),
        )
        try:
            server.__enter__()
        except RuntimeError as exc:  # a free port taken by someone else before Phoenix bound it
            if attempt == STARTS or " exited " not in str(exc):
                raise
            continue
        try:
            yield url
        finally:
            server.__exit__(None, None, None)
        return


class SharedPhoenix:
    """One Phoenix for every test of the session that asks for the ``phoenix`` fixture (it
    takes 20-30 s to start): started on first use, stopped after the last test that uses it
    (the root conftest's hooks call ``collected`` and ``after``). Each test keeps to its own
    projects, datasets and traces."""

    FIXTURE = "phoenix"

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._url: str | None = None
        self._last_user: pytest.Item | None = None

    def url(self, tmp_path_factory: pytest.TempPathFactory) -> str:
        if self._url is None:
            start = contextlib.contextmanager(running_phoenix)
            self._url = prestarted() or self._stack.enter_context(start(tmp_path_factory))
        return self._url

    def collected(self, items: list[pytest.Item]) -> None:
        users = [item for item in items if self.FIXTURE in getattr(item, "fixturenames", ())]
        self._last_user = users[-1] if users else None

    def after(self, item: pytest.Item) -> None:
        if item is self._last_user:
            self.close()

    def close(self) -> None:
        self._url = None
        self._stack.close()


def prestarted() -> str | None:
    """The base URL of the Phoenix started for the whole run (``PRESTARTED``) once it
    answers; None where there is none or it could not start (the test starts its own, which
    says why it cannot)."""
    folder = os.environ.get(PRESTARTED)
    if not folder:
        return None
    url, error = Path(folder, "url"), Path(folder, "error")
    wait_until(
        lambda: url.exists() or error.exists(),
        f"the Phoenix started for the run ({folder}) to answer",
        SERVICE_START_BOUND_S,
    )
    return url.read_text() if url.exists() else None


def serve_for_the_run(folder: Path) -> None:
    """Start Phoenix in ``folder``, publish its URL (or why it could not start) and serve
    until a SIGTERM or SIGINT, which stop Phoenix too."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    runs = itertools.count(1)

    def new_folder() -> Path:
        made = folder.resolve() / f"start-{next(runs)}"
        made.mkdir(parents=True)
        return made

    try:
        phoenix = contextlib.contextmanager(started_phoenix)(new_folder)
        url = phoenix.__enter__()
    except BaseException as exc:
        _publish(folder / "error", f"{type(exc).__name__}: {exc}")
        raise
    try:
        _publish(folder / "url", url)
        threading.Event().wait()
    finally:
        phoenix.__exit__(None, None, None)


def _publish(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all: a reader polls for it."""
    partial = path.with_suffix(".partial")
    partial.write_text(text)
    partial.replace(path)


if __name__ == "__main__":
    serve_for_the_run(Path(sys.argv[1]))
