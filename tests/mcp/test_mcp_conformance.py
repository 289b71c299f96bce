"""The MCP conformance suite (``@modelcontextprotocol/conformance``, the protocol maintainers'
own checks) run against agentnb as an MCP client: for each scenario of a feature agentnb's
client offers, the suite starts its server and runs ``conformance_client.py`` against it, and
every check it makes must pass. The scenarios run at once (each mostly waits on the client's
start), each its own process.

And against agentnb as an MCP server: the notebook's server (``agentnb.context.serve``, in a
real kernel) through every server scenario of the suite, the ones for features it does not
offer listed with their reasons in ``conformance-server-baseline.yml`` (the suite fails on a
scenario failing outside it, and on one passing inside it). The suite cannot send the server's
bearer token: ``token_proxy.py`` adds it, as a client given the token does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, free_port, sdk_npm_file, serving
from kernel_session import Session, running_kernel

CLIENT = Path(__file__).with_name("conformance_client.py")
PROXY = Path(__file__).with_name("token_proxy.py")
BASELINE = Path(__file__).with_name("conformance-server-baseline.yml")
PASSED = ["server-initialize", "ping", "tools-list", "server-sse-multiple-streams"]
"""Server scenarios the notebook's server passes (of the suite's pinned version), beside the
DNS rebinding check, which this test names apart."""
SCENARIOS = {
    "initialize": 1,
    "tools_call": 1,
    "elicitation-sep1034-client-defaults": 5,  # a form's defaults for the fields left out
    "sse-retry": 3,  # a stream cut is resumed after the server's retry, with Last-Event-ID
}
"""Each scenario, and how many checks it makes that pass or fail (the rest are notes)."""


def test_agentnb_as_an_mcp_client_passes_the_conformance_suites_scenarios() -> None:
    suite = sdk_npm_file("mcp-conformance", ".bin/conformance")
    runs = {
        scenario: subprocess.Popen(
            [
                str(suite),
                "client",
                "--command",
                f"{sys.executable} {CLIENT}",
                "--scenario",
                scenario,
                "--timeout",
                str(int(PATIENCE_S * 1000)),  # the client's start is its imports: no race
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for scenario in SCENARIOS
    }
    for scenario, checks in SCENARIOS.items():
        said, _ = runs[scenario].communicate(timeout=PATIENCE_S * 2)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", said)
        assert f"Passed: {checks}/{checks}, 0 failed, 0 warnings" in plain, plain[-3000:]
        assert runs[scenario].returncode == 0, plain[-3000:]


@pytest.fixture
def notebook_server(tmp_path: Path) -> Iterator[str]:
    """The notebook's MCP server, started in a real kernel, behind the token-adding proxy: the
    proxy's URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    with running_kernel({**env, "AGENTNB_HISTORY": ":memory:"}) as kernel:
        session = Session(kernel)
        session.execute("import json, agentnb.context\nsrv = agentnb.context.serve(approve=True)")
        said = session.stdout(session.execute("print(json.dumps([srv.url, srv.token]))"))
        url, token = json.loads(said)
        port = free_port()
        command = [sys.executable, str(PROXY), url, token, str(port)]
        ready = f"http://127.0.0.1:{port}/ready"
        with serving(command, ready_url=ready, log_path=tmp_path / "proxy.log"):
            yield f"http://127.0.0.1:{port}/mcp"
        session.execute("srv.stop()")


@pytest.mark.kernel
def test_the_notebooks_server_passes_the_suites_scenarios_of_what_it_offers(
    notebook_server: str,
) -> None:
    suite = sdk_npm_file("mcp-conformance", ".bin/conformance")
    command = [str(suite), "server", "--url", notebook_server, "--expected-failures", str(BASELINE)]
    ran = subprocess.run(
        command, capture_output=True, text=True, timeout=PATIENCE_S * 2, check=False
    )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout + ran.stderr)
    assert ran.returncode == 0, plain[-4000:]
    for scenario in PASSED:
        assert re.search(rf"✓ {scenario}: \d+ passed, 0 failed", plain), plain[-4000:]
    # a foreign Host or Origin refused, the server's own accepted (DNS rebinding)
    assert "✓ dns-rebinding-protection: 2 passed, 0 failed" in plain, plain[-4000:]
