"""The MCP conformance suite (``@modelcontextprotocol/conformance``, the protocol maintainers'
own checks) run against agentnb as an MCP client: for each scenario of a feature agentnb's
client offers (the basic ones and OAuth's), the suite starts its server and runs
``conformance_client.py`` against it, and every check it makes must pass; the scenarios of
features it does not offer are listed with their reasons in ``conformance-baseline.yml``.

And against agentnb as an MCP server: the notebook's server (``agentnb.context.serve``, in a
real kernel) through every server scenario of the suite, with the same file's server list
(the suite fails on a scenario failing outside it, and on one passing inside it). The suite cannot send the server's
bearer token: ``token_proxy.py`` adds it, as a client given the token does."""

from __future__ import annotations

import concurrent.futures
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
BASELINE = Path(__file__).with_name("conformance-baseline.yml")
PASSED = ["server-initialize", "ping", "tools-list", "server-sse-multiple-streams"]
"""Server scenarios the notebook's server passes (of the suite's pinned version), beside the
DNS rebinding check, which this test names apart."""
AT_ONCE = 3
"""Client scenarios run at a time: each mostly waits on its client's start (its imports'
CPU), and two cores starting every one at once left some past the suite's timeout."""


def client_scenarios(suite: Path) -> list[str]:
    """Every client scenario of the suite's pinned version, as ``conformance list`` says."""
    said = subprocess.run(
        [str(suite), "list"], capture_output=True, text=True, timeout=PATIENCE_S, check=True
    ).stdout
    client_part = re.sub(r"\x1b\[[0-9;]*m", "", said).split("Client scenarios", 1)[1]
    return re.findall(r"^\s+- (\S+) \[", client_part, re.M)


def expected_failures(side: str) -> list[str]:
    """The baseline's scenarios for ``side`` (``client`` or ``server``)."""
    listed = re.search(rf"^{side}:\n((?:(?:\s+#.*|\s+- .*)\n)+)", BASELINE.read_text(), re.M)
    assert listed, f"{BASELINE.name} has a {side}: list"
    return re.findall(r"^\s+- (\S+)", listed[1], re.M)


def run_client_scenario(suite: Path, scenario: str, keys: Path) -> str:
    """The suite's output for ``scenario`` run against ``conformance_client.py``, its exit
    status last. The client keeps its tokens in a key file of the scenario's own in ``keys``:
    one shared by the scenarios sent a scenario's server the token an earlier scenario's
    server gave on the same port (the suite's ports are reused), and it skipped signing in."""
    key_file = keys / (re.sub(r"\W", "_", scenario) + ".json")
    ran = subprocess.run(
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
        capture_output=True,
        text=True,
        timeout=PATIENCE_S * 2,
        check=False,
        env={**os.environ, "AGENTNB_MCP_KEYS": str(key_file)},
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout + ran.stderr) + f"\nexit {ran.returncode}"


LATE = re.compile(
    r"\[client-sse-retry-timing\s*\] (?:WARNING|FAILURE) Client reconnected (?:slightly |very )?late"
)
"""The suite's one check of a duration: a reconnection later than the server's ``retry``
(500 ms) and its tolerance. A busy machine makes any client late, so lateness is not held
against agentnb; a reconnection too early still fails (no load makes a client early), and so
does none at all (the scenario's other checks)."""


def passed_whole(output: str) -> bool:
    """Every check of the scenario passed, lateness aside, and the suite said so: its exit
    status (which holds a client's error against it unless the scenario expects one), or, for
    a late reconnection alone, no other check failing."""
    problems = re.findall(r"^.*\] (?:FAILURE|WARNING) .*$", output, re.M)
    held = [line for line in problems if not LATE.search(line)]
    said = output.endswith("exit 0") or (len(held) < len(problems) and "timed out" not in output)
    return not held and said and re.search(r"Passed: \d+/\d+", output) is not None


def test_agentnb_as_an_mcp_client_passes_every_scenario_of_what_it_offers(tmp_path: Path) -> None:
    """Every client scenario passes whole (its checks and the suite's exit), the basic ones
    and OAuth's (discovery, scopes and their step-up, each token endpoint authentication, a
    client registered ahead of time, a client metadata document), but the baseline's, which
    fail: a scenario that starts to pass fails the test until its line is removed."""
    suite = sdk_npm_file("mcp-conformance", ".bin/conformance")
    scenarios = client_scenarios(suite)
    baseline = expected_failures("client")
    assert {"initialize", "auth/pre-registration", "auth/basic-cimd"} <= set(scenarios)
    assert set(baseline) <= set(scenarios), "a baseline line names no scenario of the suite"
    with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
        outputs = pool.map(
            lambda scenario: run_client_scenario(suite, scenario, tmp_path), scenarios
        )
        said = dict(zip(scenarios, outputs, strict=True))
    passed = {scenario for scenario, output in said.items() if passed_whole(output)}
    failing = [s for s in scenarios if s not in passed and s not in baseline]
    assert not failing, "\n\n".join(f"{s}:\n{said[s][-3000:]}" for s in failing)
    assert not passed & set(baseline), f"passing now, off the baseline: {passed & set(baseline)}"


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
    notebook_server: str, tmp_path: Path
) -> None:
    suite = sdk_npm_file("mcp-conformance", ".bin/conformance")
    server_only = tmp_path / "server-baseline.yml"  # the suite reads its own side's list
    server_only.write_text("server:\n" + "".join(f"  - {s}\n" for s in expected_failures("server")))
    command = [
        str(suite),
        "server",
        "--url",
        notebook_server,
        "--expected-failures",
        str(server_only),
    ]
    ran = subprocess.run(
        command, capture_output=True, text=True, timeout=PATIENCE_S * 2, check=False
    )
    plain = re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout + ran.stderr)
    assert ran.returncode == 0, plain[-4000:]
    for scenario in PASSED:
        assert re.search(rf"✓ {scenario}: \d+ passed, 0 failed", plain), plain[-4000:]
    # a foreign Host or Origin refused, the server's own accepted (DNS rebinding)
    assert "✓ dns-rebinding-protection: 2 passed, 0 failed" in plain, plain[-4000:]
