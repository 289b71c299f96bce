"""The interop tests ask for the Node.js the ``ai`` package declares, no older."""

from __future__ import annotations

import subprocess

from interop_testing import MIN_NODE, declared_min_node, unavailable


def test_min_node_is_what_the_ai_package_declares() -> None:
    declared = declared_min_node()
    if declared is None:
        unavailable("js/node_modules/ai is not installed: run `npm --prefix js ci`")
    assert declared == MIN_NODE


def test_the_node_the_tests_use_is_new_enough(node: str) -> None:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    assert int(version.stdout.strip().lstrip("v").split(".")[0]) >= MIN_NODE
