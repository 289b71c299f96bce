"""The MCP conformance suite (``@modelcontextprotocol/conformance``, the protocol maintainers'
own checks) run against agentnb as an MCP client: one ``conformance client --suite all``
process runs every client scenario at once, each starting its server and
``conformance_client.py`` against it. Each scenario of a feature agentnb's client offers (the
basic ones and OAuth's) must pass whole, its checks (its results folder's ``checks.json``) and
its client's exit; the scenarios of features it does not offer are listed with their reasons
in ``conformance-baseline.yml``.

And against agentnb as an MCP server: the notebook's server (``agentnb.context.serve``, in a
real kernel) through every server scenario of the suite, with the same file's server list
(the suite fails on a scenario failing outside it, and on one passing inside it). The suite cannot send the server's
bearer token: ``token_proxy.py`` adds it, as a client given the token does."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, free_port, sdk_npm_file, serving
from kernel_session import Session, running_kernel

CLIENT = Path(__file__).with_name("conformance_client.py")
PROXY = Path(__file__).with_name("token_proxy.py")
BASELINE = Path(__file__).with_name("conformance-baseline.yml")
PASSED = ["server-initialize", "ping", "tools-list", "server-sse-multiple-streams"]
"""Server scenarios the notebook's server passes (of the suite's pinned version), beside the
DNS rebinding check, which this test names apart."""
GIVING_UP = {"auth/scope-retry-limit", "auth/resource-mismatch"}
"""The scenarios whose client the suite expects to end with an error (their
``allowClientError``): a server refusing every token it is given, and one whose protected
resource names another server. In the others a client's error is held against it."""


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


def run_client_suite(suite: Path, out: Path) -> str:
    """The suite's output for every client scenario run at once against
    ``conformance_client.py``, each scenario's results in a folder under ``out / "results"``.
    The clients share this environment: each keeps its tokens in a key file of its scenario's
    own in ``out / "keys"`` (``conformance_client.keep_tokens_apart`` says why)."""
    command = [
        str(suite),
        "client",
        "--suite",
        "all",
        "--command",
        f"exec {sys.executable} {CLIENT}",  # exec: the suite's timeout stops the client itself
        "--timeout",
        str(int(PATIENCE_S * 1000)),  # a client's start is its imports, 26 at once: no race
        "-o",
        str(out / "results"),
    ]
    env = {**os.environ, "CONFORMANCE_KEYS_DIR": str(out / "keys")}
    ran = subprocess.run(
        command, capture_output=True, text=True, timeout=PATIENCE_S * 2, check=False, env=env
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", ran.stdout + ran.stderr)


def results_folders(results: Path) -> dict[str, Path]:
    """Each scenario's results folder, by scenario: the suite names it by the scenario and the
    time it started (``auth/basic-cimd-2026-11-29T11-01-57-853Z``)."""
    return {
        re.sub(r"-\d{4}-\d\d-\d\dT[\d-]+Z$", "", folder.relative_to(results).as_posix()): folder
        for folder in (checks.parent for checks in results.rglob("checks.json"))
    }


def client_exit(said: str, folder: Path) -> int:
    """The exit status of the scenario's client, as the suite said it. Only its output says a
    client's error, with no scenario's name: ``Client exited with code 1``, then the client's
    stdout and stderr, which the scenario's folder also holds, so they name the scenario
    (clients alike in output that erred are all charged with it)."""
    out, err = ((folder / name).read_text() for name in ("stdout.txt", "stderr.txt"))
    dumped = (f"\nStdout:\n{out}\n" if out else "") + (f"\nStderr:\n{err}\n" if err else "")
    exited = re.search(
        rf"^Client exited with code (-?\d+)\n{re.escape(dumped)}(?!\nStd(?:out|err):\n)", said, re.M
    )
    return int(exited[1]) if exited else 0


def stopped_at_its_timeout(said: str) -> list[str] | None:
    """None if the suite stopped no client at its timeout; else the results folders saved after
    the first it stopped, among them those of the clients it stopped: it says it stopped one
    with no scenario's name (and no exit status: the client was killed), then saves that
    scenario's results, and clients stopped together are saved together."""
    stop = said.find("\nClient timed out after ")
    return None if stop < 0 else re.findall(r"^Results saved to (.+)$", said[stop:], re.M)


def late(check: dict[str, Any]) -> bool:
    """The check failed (or warned of) for a reconnection later than the server's ``retry``
    (500 ms) and its tolerance: the suite's one check of a duration. A busy machine makes any client late (26 clients
    starting at once on two cores the more), so lateness is not held against agentnb; a
    reconnection too early still fails (no load makes a client early), and so does none at
    all (the scenario's other checks)."""
    return check["id"] == "client-sse-retry-timing" and bool(
        re.match(r"Client reconnected (?:slightly |very )?late", check.get("errorMessage") or "")
    )


def faults(scenario: str, folder: Path, said: str) -> list[str]:
    """What the scenario holds against agentnb: each check that failed or warned (lateness
    aside), no check passed, and its client's error unless the scenario expects one."""
    checks = json.loads((folder / "checks.json").read_text())
    held = [
        f"{check['id']} {check['status']}: {check.get('errorMessage') or check['description']}"
        for check in checks
        if check["status"] in ("FAILURE", "WARNING") and not late(check)
    ]
    if not any(check["status"] == "SUCCESS" for check in checks):
        held.append("no check passed")
    exited = client_exit(said, folder)
    if exited and scenario not in GIVING_UP:
        held.append(f"the client exited with code {exited}")
    return held


def told(folder: Path | None, held: list[str], said: str) -> str:
    """What the test says of a failing scenario: its faults and the end of its client's output
    (of the suite's, for a scenario with no results)."""
    output = (
        "".join((folder / name).read_text() for name in ("stdout.txt", "stderr.txt"))
        if folder
        else said
    )
    return "\n".join(held) + f"\n... {output[-3000:]}"


def test_agentnb_as_an_mcp_client_passes_every_scenario_of_what_it_offers(tmp_path: Path) -> None:
    """Every client scenario passes whole (its checks and its client's exit), the basic ones
    and OAuth's (discovery, scopes and their step-up, each token endpoint authentication, a
    client registered ahead of time, a client metadata document), but the baseline's, which
    fail: a scenario that starts to pass fails the test until its line is removed. A client
    the suite stops at its timeout fails it whatever its scenario: the suite does not say
    whose it was, and a client that hangs is at fault even where agentnb fails by design."""
    suite = sdk_npm_file("mcp-conformance", ".bin/conformance")
    scenarios = client_scenarios(suite)
    baseline = expected_failures("client")
    assert {"initialize", "auth/pre-registration", "auth/basic-cimd"} <= set(scenarios)
    assert set(baseline) <= set(scenarios), "a baseline line names no scenario of the suite"
    said = run_client_suite(suite, tmp_path)
    folders = results_folders(tmp_path / "results")
    held = {
        scenario: faults(scenario, folders[scenario], said)
        if scenario in folders
        else ["no results: the suite did not run it to its end"]
        for scenario in scenarios
    }
    failing = [s for s in scenarios if held[s] and s not in baseline]
    assert not failing, "\n\n".join(f"{s}:\n{told(folders.get(s), held[s], said)}" for s in failing)
    stopped = stopped_at_its_timeout(said)
    assert stopped is None, (
        f"a client stopped at the suite's timeout, of {stopped}:\n{said[-3000:]}"
    )
    passed = {s for s in scenarios if not held[s]}
    assert not passed & set(baseline), f"passing now, off the baseline: {passed & set(baseline)}"
    assert set(folders) <= set(scenarios), f"results of no listed scenario: {set(folders)}"


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
