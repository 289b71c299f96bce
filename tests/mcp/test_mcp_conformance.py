"""The MCP conformance suite (``@modelcontextprotocol/conformance``, the protocol maintainers'
own checks) run against agentnb as an MCP client: for each scenario of a feature agentnb's
client offers, the suite starts its server and runs ``conformance_client.py`` against it, and
every check it makes must pass. The scenarios run at once (each mostly waits on the client's
start), each its own process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from agentnb_testing import PATIENCE_S, sdk_npm_file

CLIENT = Path(__file__).with_name("conformance_client.py")
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
