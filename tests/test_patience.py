"""The suite's waits have one patience: every bound for a hang in tests/ and benchmarks/ is
``PATIENCE_S`` or a named multiple of it (tests/agentnb_testing.py, benchmarks/patience.py),
never a number of its own that a loaded machine outruns (a fresh-clone run at load ~22 failed
on a 60 s read, a 30 s client, a 15 s wait for JupyterLab to stop, a 900 s service start; one
at load 10 on Playwright's own 30 s for Phoenix's page to load)."""

from __future__ import annotations

import ast
import io
import tokenize
import tomllib
from collections.abc import Iterator
from pathlib import Path

from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S, REPO, TEST_BOUND_S

DEFINED_HERE = {"tests/agentnb_testing.py", "benchmarks/patience.py"}
"""Where the patience and its multiples are defined."""
OWN_BOUNDS = {
    ("tests/interop/acp_agents/scripted_agent.py", 600.0):
        "an ACP agent in the acp venv (agentnb_testing is not importable there): its MCP "
        "call's bound is above the suite's patience",
    ("tests/evals/test_command_check.py", 5.0):
        "the check's own timeout, which the test is about: a check ended at its timeout ends "
        "the child that left its process group too",
}  # fmt: skip
"""Literal bounds kept, each with why."""
SMALLEST_BOUND_S = 5.0
"""Below this a limit is what a test is about (a ``run_timeout=1`` that must fire, a
``flush(timeout=0.2)`` that must return False), not a bound for a hang."""


def literal_bounds(path: Path) -> Iterator[tuple[int, float]]:
    """(line, seconds) of each number written where a wait's bound goes: ``x.wait(N)``,
    ``timeout=N`` and ``time_limit=N`` (a keyword or a parameter's default), ``Timeout(N``,
    ``monotonic() + N``;
    in code, not in strings (a kernel's code takes the patience through an f-string)."""
    tokens = [
        t
        for t in tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        if t.type not in (tokenize.NL, tokenize.COMMENT)
    ]
    for i, token in enumerate(tokens):
        if token.type != tokenize.NUMBER or i < 4:
            continue
        before = [t.string for t in tokens[i - 4 : i]]
        if (
            before[-3:] == [".", "wait", "("]
            or before[-2:] in (["timeout", "="], ["time_limit", "="])
            or (before[-4] == "timeout" and before[-3] == ":" and before[-1] == "=")
            or before[-2:] == ["Timeout", "("]
            or before == ["monotonic", "(", ")", "+"]
        ):
            value = float(token.string.replace("_", ""))
            seconds = value / 1000 if value >= 1000 else value  # Playwright's milliseconds
            yield token.start[0], seconds


def test_every_bound_for_a_hang_is_the_suite_s_patience() -> None:
    found = []
    for folder in ("tests", "benchmarks"):
        for path in sorted((REPO / folder).rglob("*.py")):
            where = str(path.relative_to(REPO))
            if where in DEFINED_HERE:
                continue
            for line, seconds in literal_bounds(path):
                if seconds >= SMALLEST_BOUND_S and (where, seconds) not in OWN_BOUNDS:
                    found.append(f"{where}:{line}: {seconds:g} s")
    assert not found, "a bound of its own (use PATIENCE_S or a multiple): " + ", ".join(found)


def test_no_test_marks_a_time_limit_of_its_own() -> None:
    marked = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "tests").rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if "mark.timeout(" in line and "mark.timeout(TEST_BOUND_S" not in line
        and path.name != "test_patience.py"
    ]  # fmt: skip
    assert not marked, f"pytest-timeout's bound is TEST_BOUND_S for every test: {marked}"


def test_pytest_timeout_s_bound_is_above_every_wait() -> None:
    ini = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert float(ini["timeout"]) == TEST_BOUND_S
    assert PATIENCE_S < PROGRAM_PATIENCE_S < TEST_BOUND_S


PLAYWRIGHT_MAKERS = {"new_page", "new_context"}


def impatient_playwright(path: Path) -> Iterator[int]:
    """Lines where a Playwright page or browser context is made and not handed straight to
    ``patient(...)``: its waits would have Playwright's own 30 s."""
    tree = ast.parse(path.read_text())
    handed = {
        id(arg)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        if node.func.id == "patient"
        for arg in node.args[:1]
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in PLAYWRIGHT_MAKERS
            and id(node) not in handed
        ):
            yield node.lineno


def test_every_playwright_page_and_context_waits_with_the_patience() -> None:
    found = [
        f"{path.relative_to(REPO)}:{line}"
        for folder in ("tests", "benchmarks")
        for path in sorted((REPO / folder).rglob("*.py"))
        for line in impatient_playwright(path)
    ]
    assert not found, "a page or context with Playwright's 30 s (wrap it in patient()): " + (
        ", ".join(found)
    )
