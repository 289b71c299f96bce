"""One source for the list of dialects: the registry (``agentnb.providers`` entry points,
built-ins included). Code, tests, benchmarks and the notebook builder ask it
(``available_providers()``) instead of spelling the names out, so a new dialect is tested,
benchmarked and documented without editing six lists (issue 10 found six).

The built-in server cannot ask the registry (it imports nothing above the core): its
``DIALECT_PROVIDERS`` is what its ``_<dialect>_routes`` modules declare (found, not listed),
and a test keeps it equal to the built-ins, but for the dialects of a framework's own server
(``SERVED_ELSEWHERE``), which are tested against that server instead.
"""

from __future__ import annotations

import argparse
import ast
import re
from collections.abc import Iterator

import pytest
from agentnb_testing import REPO, parsed

import agentnb
import agentnb.providers
from agentnb._app.front.run_flags import add_run_flags
from agentnb.providers import available_providers
from agentnb.providers.openai import OpenAI
from agentnb.server import DIALECT_PROVIDERS

SCANNED = ("agentnb", "evals", "tests", "benchmarks", "scripts")
BUILTINS = sorted(
    name
    for name, cls in available_providers().items()
    if cls.__module__.startswith("agentnb.providers.")
)
NEARLY_ALL = len(BUILTINS) - 1
"""A literal naming this many dialects is a copy of the list (a subset chosen for a property,
such as the dialects without approvals, names fewer)."""

SERVED_ELSEWHERE = {
    "adk": "tests/providers/test_adk_server.py",
    "anthropic": "tests/interop/test_anthropic_messages.py",
    "acp": "tests/interop/test_acp_agents.py",
}
"""Built-in dialects the built-in server does not speak (a framework's own server, a model
API: they add no route there): the test module that runs each against that real server."""

NOT_YET: dict[str, str] = {}
"""Files still holding a copy, with the change each needs (strict: fixing one fails the test
until it is taken off this list)."""

_ONE = "(?:" + "|".join(re.escape(n) for n in sorted(BUILTINS, key=len, reverse=True)) + ")"
_NAME = re.compile(rf"(?<![\w-]){_ONE}(?![\w-])")
_RUN = re.compile(rf"(?<![\w-]){_ONE}(?:[\s,/|`\"'\[\]()]+(?:and |or )?{_ONE}(?![\w-]))+")
"""Names one after another, with nothing but punctuation (or "and", "or") between them."""


def normalised(text: str) -> str:
    return text.replace("_", "-")  # connection names spell seekrflow-vercel seekrflow_vercel


def names_in(text: str) -> set[str]:
    return set(_NAME.findall(normalised(text)))


def copies_in(tree: ast.Module) -> Iterator[int]:
    """Line numbers of literals that list nearly every dialect: a list, tuple or set of the
    names, or a string that names them one after another ("a, b, c", code in a string).
    A dict keyed by dialect is a table of per-dialect data, not a copy of the list (looked up
    by a test parametrised from the registry, it fails on a new dialect)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            strings = [e.value for e in node.elts if isinstance(e, ast.Constant)]
            listed = {normalised(s) for s in strings if isinstance(s, str)} & set(BUILTINS)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            runs = _RUN.findall(normalised(node.value))
            listed = max((names_in(run) for run in runs), key=len, default=set())
        else:
            continue
        if len(listed) >= NEARLY_ALL:
            found.add(node.lineno)
    yield from sorted(found)


def may_hold_a_copy(text: str) -> bool:
    """Whether ``text`` holds nearly every name anywhere (letters in a row, nothing around them
    asked): a literal that lists them has each in the source as it does in its value, so a file
    without them is not parsed (parsing every file was nearly all of this check's time). Only a
    name spelled with an escape inside it, or split mid-name over two literals, would pass."""
    text = normalised(text)
    return sum(name in text for name in BUILTINS) >= NEARLY_ALL


def python_files() -> Iterator[str]:
    for folder in SCANNED:
        for path in sorted((REPO / folder).rglob("*.py")):
            relative = str(path.relative_to(REPO))
            if relative != "tests/test_dialect_list.py":
                yield relative


FILES = list(python_files())


def test_the_registry_lists_the_builtins() -> None:
    assert len(BUILTINS) >= 7 and "seekrflow-vercel" in BUILTINS


def test_the_detector_finds_a_copy() -> None:
    copy = ast.parse(f"KINDS = {BUILTINS!r}\nHELP = {', '.join(BUILTINS)!r}")
    assert list(copies_in(copy)) == [1, 2]
    subset = ast.parse(f"KINDS = {BUILTINS[:3]!r}")
    assert list(copies_in(subset)) == []
    spaced = "HELP = (\n    " + "".join(f'"{name}\\n"\n    ' for name in BUILTINS) + ")"
    assert may_hold_a_copy(spaced) and list(copies_in(ast.parse(spaced))) == [2]


def test_no_file_spells_out_the_dialect_list() -> None:
    """One item for every file (a lint is one run, its findings together)."""
    copies = {}
    for relative in FILES:
        if not may_hold_a_copy((REPO / relative).read_text()):
            continue
        lines = list(copies_in(parsed(REPO / relative)))
        if lines:
            copies[relative] = lines
    fixed = sorted(set(NOT_YET) - set(copies))
    assert fixed == [], f"{fixed} no longer name the dialects: take them off NOT_YET"
    found = {relative: lines for relative, lines in copies.items() if relative not in NOT_YET}
    assert found == {}, "these name the dialects (file: lines): ask available_providers()"


def test_the_built_in_server_speaks_every_built_in_dialect() -> None:
    assert sorted(DIALECT_PROVIDERS) == sorted(set(BUILTINS) - set(SERVED_ELSEWHERE))


@pytest.mark.parametrize("dialect", sorted(SERVED_ELSEWHERE))
def test_a_dialect_the_built_in_server_lacks_is_run_against_its_framework(dialect: str) -> None:
    assert dialect in BUILTINS
    assert (REPO / SERVED_ELSEWHERE[dialect]).is_file()


def provider_help() -> str:
    parser = argparse.ArgumentParser()
    add_run_flags(parser, "cli")
    (provider,) = [a for a in parser._actions if "--provider" in a.option_strings]
    return provider.help or ""


def test_the_help_lists_the_dialects_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert names_in(provider_help()) == set(BUILTINS)
    monkeypatch.setitem(agentnb.providers._registered, "acme-plugin", OpenAI)
    assert "acme-plugin" in provider_help()  # a plugin's dialect is offered as well


def test_the_fuzz_test_covers_every_dialects_translator() -> None:
    """Every dialect's translator class is fuzzed (tests/providers/test_fuzz.py)."""
    from agentnb._core.request import build_request
    from agentnb.providers import get_provider

    request = build_request("a", "b", thread_id="t")
    needed = {
        type(get_provider(name).translator(request)).__name__ for name in available_providers()
    }
    source = (REPO / "tests" / "providers" / "test_fuzz.py").read_text()
    fuzzed = {name for name in needed if re.search(rf"\b{name}\(", source)}
    asks_the_registry = "available_providers()" in source
    assert asks_the_registry or fuzzed == needed, sorted(needed - fuzzed)


FRONT_PAGES = ("README.md", "docs/index.md")
"""The pages whose table of platforms and protocols has a row per dialect."""
SERVER_CLAIM = re.compile(
    r"(?:speaks (?:every dialect|all of them)|every dialect but)([^;]*?)(?:\.\s|;|\|)"
)
"""A sentence saying what the built-in server speaks, up to its end: the dialects it leaves
out are named in it."""


@pytest.mark.parametrize("page", FRONT_PAGES)
def test_a_front_pages_table_has_a_row_for_each_built_in_dialect(page: str) -> None:
    rows = set(re.findall(r"^\| `([\w-]+)` \|", (REPO / page).read_text(), flags=re.M))
    assert set(BUILTINS) <= rows, sorted(set(BUILTINS) - rows)


def claims() -> list[tuple[str, str]]:
    pages = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    return [
        (str(page.relative_to(REPO)), " ".join(claim.group(0).split()))
        for page in pages
        for claim in SERVER_CLAIM.finditer(page.read_text())
    ]


def test_the_docs_say_the_built_in_server_speaks_every_dialect_but_those_served_elsewhere() -> None:
    found = claims()
    assert len(found) >= 5, found
    for page, claim in found:
        left_out = set(re.findall(r"`([\w-]+)`", claim)) & set(BUILTINS)
        assert left_out == set(SERVED_ELSEWHERE), f"{page}: {claim!r}"
