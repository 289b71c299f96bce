"""No test module imports another test module: what tests share lives in a helper module named
for what it holds (never ``test_*``, so pytest does not collect it) beside its users, or in
``tests/agentnb_testing.py`` (docs/architecture.md, "one of each")."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent
TEST_MODULES = {path.stem for path in TESTS.rglob("test_*.py")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_no_test_module_imports_another() -> None:
    found = {
        str(path.relative_to(TESTS)): sorted(imported_modules(path) & TEST_MODULES)
        for path in sorted(TESTS.rglob("*.py"))
    }
    assert {path: names for path, names in found.items() if names} == {}
