"""One way in: the entry points docs/architecture.md lists are every way to start a run, each
returns the type the page names (a ``RunHandle``, a stream, a finished ``Run``, or a view over
them), every one goes through the run engine, and a ``Run`` is built in one place."""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PACKAGE_DIRS, PUBLIC_FRONTS, parsed

import agentnb

PACKAGE = Path(agentnb.__file__).resolve().parent
DOC = (PACKAGE.parent / "docs" / "architecture.md").read_text()
SECTION = DOC[DOC.index("## Entry points and what they return") :]
SECTION = SECTION[: SECTION.index("\n## ")]

RESULT_TYPES = {"RunHandle", "AsyncRunStream", "RunStream", "Run"}
"""What a user meets: a run going on in the background, a stream to iterate, a finished run."""
VIEWS = {"ChatCell": "RunHandle", "RunHistory": "Run", "ContextServer": "Run"}
"""A view → what it holds: a chat cell shows runs through their handles; ``batch`` returns
the history's table of its finished runs; the notebook's MCP server, the run of the calls
its clients make."""
LIVE = {"RunHandle", "AsyncRunStream", "RunStream", "ChatCell", "ContextServer"}
"""A public callable returning one of these starts (or shows) a run going on."""
READERS = {
    "agentnb.types.RunHandle.wait": "waits for a run going on",
    "agentnb.types.ChatCell.wait": "waits for the cell's latest run",
    "agentnb.runs": "reads the history",
    "agentnb.evals.evaluate": "scores runs already done (a judge's own runs are kept apart)",
    "agentnb.remote_runs": "reads the platform's listing of its runs",
    "agentnb.history.RunHistory.with_remote": "joins read runs with the platform's listing",
    "agentnb.history.HistoryStore.runs": "reads the history",
    "agentnb.history.HistoryStore.runs_by_ids": "reads the history",
    "agentnb.history.RunHistory.rows_at": "picks runs a history already holds",
    "agentnb.evals.Experiment.runs": "reads the history",
    "agentnb.evals.Experiment.pair": "reads the history (one question's runs)",
    "agentnb.Run.as_started": "copies a run going on (its question, running): starts nothing",
    "agentnb.types.AcpSessions.import_session": "replays an ACP agent's past session (turns done)",
    "agentnb.types.Connection.import_session": "the same, by its old spelling (deprecated)",
}
"""Public callables returning a ``Run`` or a ``RunHistory`` of runs already going or done."""
ENGINE_DOOR = "_open"

_ROW = re.compile(r"^\| `(agentnb\.[\w.]+)` \| `(\w+)` \|", re.M)


def listed() -> dict[str, str]:
    """The page's Python entry points → the type it says each returns."""
    return dict(_ROW.findall(SECTION))


def resolve(dotted: str) -> Callable[..., Any]:
    obj: Any = agentnb
    for part in dotted.split(".")[1:]:
        obj = getattr(obj, part)
    assert callable(obj), dotted
    return obj


def returned_name(function: Callable[..., Any]) -> str:
    """The return annotation as written (modules use ``from __future__ import annotations``;
    some name types imported only for type checkers, so it is not evaluated)."""
    hint = inspect.signature(function).return_annotation
    return hint if isinstance(hint, str) else getattr(hint, "__name__", str(hint))


def public_callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Every public function of ``agentnb`` and of its public fronts (``agentnb.types``,
    ``agentnb.history``, ``agentnb.approvals``), and every public method of a class they export
    (inherited ones too)."""
    for module in (agentnb, *PUBLIC_FRONTS):
        for name in module.__all__:
            value = getattr(module, name)
            dotted = f"{module.__name__}.{name}"
            if inspect.isfunction(value):
                yield dotted, value
            elif inspect.isclass(value) and value.__module__.startswith("agentnb"):
                members: dict[str, Any] = {}  # its own and those of agentnb's classes it extends
                for cls in reversed(value.__mro__):
                    if cls.__module__.startswith("agentnb"):
                        members.update(vars(cls))
                for attr, member in members.items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        yield f"{dotted}.{attr}", member


def test_the_page_lists_entry_points() -> None:
    rows = listed()
    assert {"agentnb.ask", "agentnb.batch", "agentnb.AgentClient.stream"} <= rows.keys()
    assert "`%%agent`" in SECTION and "`agentnb run`" in SECTION


@pytest.mark.parametrize(("dotted", "named"), sorted(listed().items()))
def test_each_entry_point_returns_the_type_the_page_names(dotted: str, named: str) -> None:
    assert named in RESULT_TYPES | VIEWS.keys(), f"{named} is not a result type a user meets"
    actual = returned_name(resolve(dotted))
    assert actual == named, f"{dotted} returns {actual}; the page says {named}"


def test_every_public_callable_that_starts_a_run_is_listed() -> None:
    rows = listed()
    unlisted = []
    for dotted, function in public_callables():
        if dotted in rows or dotted in READERS:
            continue
        returned = returned_name(function)
        if set(re.findall(r"\w+", returned)) & (LIVE | {"Run", "RunHistory"}):
            unlisted.append(f"{dotted} -> {returned}")
    assert not unlisted, (
        "list these in docs/architecture.md's entry points (or, for a reader of runs already "
        f"going or done, in READERS): {unlisted}"
    )
    assert set(READERS) <= {dotted for dotted, _ in public_callables()}


def package_files() -> dict[Path, Path]:
    """Every module of agentnb: where it is in its agentnb/ (the core's or evaluation's) → its
    file."""
    return {path.relative_to(found): path for found in PACKAGE_DIRS for path in found.rglob("*.py")}


def _calls_by_function() -> dict[str, set[str]]:
    """Each function or method name in agentnb (the server apart) → the names it calls."""
    calls: dict[str, set[str]] = {}
    for where, path in package_files().items():
        if "server" in where.parts:
            continue
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                called = calls.setdefault(node.name, set())
                for sub in ast.walk(node):
                    if isinstance(sub, ast.Call):
                        func = sub.func
                        name = func.attr if isinstance(func, ast.Attribute) else None
                        called.add(name or getattr(func, "id", ""))
    return calls


SERVED_DOOR = "ServedCalls"
"""What builds the one run no request starts (the notebook's MCP server's): an entry point
whose row says it goes through it reaches it instead of the engine's door."""


def reaching(door: str, calls: dict[str, set[str]]) -> set[str]:
    """The functions that call ``door``, or call one that does, and so on."""
    reach = {door}
    while grown := {fn for fn, called in calls.items() if fn not in reach and called & reach}:
        reach |= grown
    return reach


def test_every_listed_entry_point_reaches_the_engine() -> None:
    """By name (an over-approximation, but a path that bypasses the engine altogether fails).
    The one entry point whose row names ``ServedCalls`` reaches that instead."""
    calls = _calls_by_function()
    engine, served = reaching(ENGINE_DOOR, calls), reaching(SERVED_DOOR, calls)
    through = dict(re.findall(r"^\| `(agentnb\.[\w.]+)` \| `\w+` \| (.*) \|$", SECTION, re.M))
    missing = []
    for dotted in listed():
        door = served if through[dotted].startswith(f"`{SERVED_DOOR}`") else engine
        if resolve(dotted).__name__ not in door:
            missing.append(dotted)
    assert not missing, missing
    assert [d for d, row in through.items() if row.startswith(f"`{SERVED_DOOR}`")] == [
        "agentnb.context.serve"
    ]


NOT_STREAMED = ("_app/context/served_calls.py", "_app/coding_agents/acp_sessions.py")
"""The other ``Run.new`` calls make runs that never stream from a platform: the calls MCP
clients make of the notebook served over MCP (``agentnb.context.serve``), which no agent's
request starts, and an ACP agent's past session replayed into the history
(``Connection.acp.import_session``: its turns, done before). (``tests/test_one_core.py`` holds where a ``Run`` is constructed at all.)"""


def test_one_place_builds_a_run() -> None:
    """Only the engine's door makes the ``Run`` of a request that streams (there were five
    places in four modules); every other path takes the one it made (``stream.run``)."""
    made = []
    for where, path in package_files().items():
        for node in ast.walk(parsed(path)):
            func = node.func if isinstance(node, ast.Call) else None
            is_run_new = isinstance(func, ast.Attribute) and func.attr == "new"
            if is_run_new and getattr(getattr(func, "value", None), "id", None) == "Run":
                made.append(f"{where}:{node.lineno}")
    engine = [place for place in made if not place.startswith(NOT_STREAMED)]
    assert len(engine) == 1 and engine[0].startswith("_client/async_client.py"), made
    assert len(made) <= 1 + len(NOT_STREAMED), made
