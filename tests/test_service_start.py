"""A service the tests start (LiteLLM, Phoenix, an SDK's server: ``agentnb_testing.serving``)
is waited for as long as it lives and makes progress, and fails with its output when it exits
first: never a fixed guess of how long a start takes on a loaded machine."""

from __future__ import annotations

import sys
from pathlib import Path

import agentnb_testing
import pytest
from agentnb_testing import free_port, serving

SLOW_START = """
import http.server, sys, time
for _ in range(int(sys.argv[2])):  # a start that works (and says so) before it answers
    print("loading", flush=True)
    time.sleep(0.5)
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def test_a_start_that_keeps_working_is_waited_for(tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-c", SLOW_START, str(port), "6"]
    with serving(
        command, ready_url=f"http://127.0.0.1:{port}/", log_path=tmp_path / "log", cwd=tmp_path
    ) as process:
        assert process.poll() is None
    assert (tmp_path / "log").read_text().count("loading") == 6


def test_a_service_that_exits_before_it_answers_fails_with_its_output(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "print('no config.yaml here'); raise SystemExit(3)"]
    with (
        pytest.raises(
            RuntimeError, match=r"exited \(3\) and did not answer[\s\S]*no config.yaml here"
        ),
        serving(command, ready_url=f"http://127.0.0.1:{free_port()}/", log_path=tmp_path / "log"),
    ):
        pytest.fail("it never answered")


def test_a_start_that_stops_making_progress_fails_with_its_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agentnb_testing, "SERVICE_STALL_S", 1.0)  # the suite's is minutes
    command = [
        sys.executable,
        "-c",
        "import time; print('waiting on a lock', flush=True); time.sleep(60)",
    ]
    with (
        pytest.raises(
            RuntimeError, match=r"wrote nothing and used no CPU for 1 s[\s\S]*waiting on a lock"
        ),
        serving(command, ready_url=f"http://127.0.0.1:{free_port()}/", log_path=tmp_path / "log"),
    ):
        pytest.fail("it never answered")
