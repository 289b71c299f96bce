"""A real Arize Phoenix for the tests that send it traces or experiments: its own venv
(``.tools/phoenix``, made by ``scripts/test.sh``) started on 127.0.0.1 with local storage and
nothing leaving the machine (telemetry, external resources, assistant and MCP server off).

Skipped when ``.tools/phoenix`` is absent, except under CI (``CI`` set), where that fails."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import REPO, free_port, serving

__all__ = ["PHOENIX", "SharedPhoenix", "phoenix_env", "running_phoenix"]

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


def running_phoenix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Phoenix server's base URL (OTLP/HTTP at ``/v1/traces``, REST at ``/v1/...``) while
    the generator is open: what a module-scoped fixture yields from."""
    if not PHOENIX.exists():
        reason = f"Arize Phoenix is not installed at {PHOENIX.parent.parent} (scripts/test.sh)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: CI must run the real-collector test")
        pytest.skip(reason)
    for attempt in range(1, STARTS + 1):
        working_dir = tmp_path_factory.mktemp("phoenix")
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
            self._url = self._stack.enter_context(start(tmp_path_factory))
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
