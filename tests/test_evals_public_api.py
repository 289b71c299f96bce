"""``agentnb.evals`` is built on agentnb's public API only, and the core never imports it.

Every import is read (module level, inside functions, under ``TYPE_CHECKING``), and so is
every string naming a module (``importlib.import_module("agentnb._...")``): evaluation reaches
no private module of agentnb, so what it needs of the core is a public name a user has too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from agentnb_testing import EVALS_DISTRIBUTION, PACKAGE_DIRS

PACKAGE = PACKAGE_DIRS[0]
EVALS = EVALS_DISTRIBUTION / "agentnb" / "evals"


def module_of(path: Path) -> str:
    root = next(found.parent for found in PACKAGE_DIRS if path.is_relative_to(found))
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path, module: str | None = None) -> Iterator[tuple[int, str]]:
    """(line, module) for each module ``path`` (the module ``module``) imports or names as a
    string."""
    module = module or module_of(path)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
            if node.level:
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Constant) and str(node.value).startswith("agentnb."):
            yield node.lineno, str(node.value)


def private(module: str) -> bool:
    return module.startswith("agentnb.") and any(
        part.startswith("_") for part in module.split(".")[1:]
    )


def inside_evals(module: str) -> bool:
    return module == "agentnb.evals" or module.startswith("agentnb.evals.")


def test_the_parsers_see_every_kind_of_import(tmp_path: Path) -> None:
    """The checks below can fail: a private import of each kind is found."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from typing import TYPE_CHECKING\n"
        "import importlib\n"
        "from agentnb._core import run\n"
        "if TYPE_CHECKING:\n"
        "    from .._history import HistoryStore\n"
        "def later():\n"
        "    import agentnb._app.front.api\n"
        "    return importlib.import_module('agentnb._client.sync')\n"
    )
    found = [name for _, name in imported(sample, "agentnb.evals._sample") if private(name)]
    assert {
        "agentnb._core",
        "agentnb._history",
        "agentnb._app.front.api",
        "agentnb._client.sync",
    } <= set(found)


def test_evals_imports_no_private_module_of_agentnb() -> None:
    paths = sorted(EVALS.rglob("*.py"))
    assert paths, "evals/agentnb/evals/ is gone: was it moved?"
    wrong = [
        f"{path.relative_to(EVALS_DISTRIBUTION.parent)}:{line} imports {name}"
        for path in paths
        for line, name in imported(path)
        if private(name) and not inside_evals(name)
    ]
    assert not wrong, "\n".join(wrong)


def test_no_core_module_imports_evals() -> None:
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in imported(path)
        if inside_evals(name)
    ]
    assert not wrong, "\n".join(wrong)
