"""``docs/architecture.md`` stays true to the tree: every file and ``file: name`` it cites
exists, its drawing names every package (and every module of the client, which it lists),
its table names every module of ``js/src``, and the README links it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from agentnb_testing import PACKAGE_DIRS, REPO

PACKAGE = PACKAGE_DIRS[0]
DOC = (REPO / "docs" / "architecture.md").read_text()

_PATH = re.compile(r"(?<![\w/.*-])((?:[\w.-]+/)+[\w.-]*)")
"""``dir/file.py`` or ``dir/``, as the page writes them."""
_NAMED = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.py): (\w+)`")
"""```file.py: name``` (a name the file defines)."""
_PACKAGE_DIRS = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}


def cited_paths() -> list[str]:
    return sorted({path for path in _PATH.findall(DOC) if "://" not in path})


def cited_names() -> list[tuple[str, str]]:
    return sorted(set(_NAMED.findall(DOC)))


def where(path: str) -> Path | None:
    """The file or folder a cited path means: from the repo root, else inside agentnb/ (the
    core's, or evaluation's: evals/agentnb/)."""
    for base in (REPO, *PACKAGE_DIRS):
        candidate = base / path
        if candidate.exists():
            return candidate
    return None


def defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                return True
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return True
    return False


def test_the_page_cites_paths_and_names() -> None:
    assert {"_core/request.py", "js/src/loader.js"} <= set(cited_paths())  # the parser works
    assert ("_core/request.py", "build_request") in cited_names()


def test_every_cited_path_exists() -> None:
    missing = [path for path in cited_paths() if where(path) is None]
    assert missing == [], "docs/architecture.md cites these, which do not exist"


def test_every_cited_name_is_defined_where_the_page_says() -> None:
    undefined = []
    for path, name in cited_names():
        found = where(path)
        if found is None or not defines(found, name):
            undefined.append(f"{path}: {name}")
    assert undefined == [], "docs/architecture.md says these files define these names"


def test_the_drawing_names_every_package_and_every_client_and_http_module() -> None:
    drawing = DOC[DOC.index("## The layers") : DOC.index("## The flow of one run")]
    missing = [f"{name}/" for name in sorted(_PACKAGE_DIRS) if f"{name}/" not in drawing]
    missing += [
        f"{package}/{path.stem}"
        for package in ("_client", "_http")
        for path in sorted((PACKAGE / package).glob("*.py"))
        if path.stem != "__init__" and not re.search(rf"\b{path.stem}\b", drawing)
    ]
    assert not missing, missing


def test_the_front_end_table_names_every_js_module() -> None:
    section = DOC[DOC.index("## The chat cell's front end") : DOC.index("## Run, AsyncRunStream")]
    missing = [p.name for p in sorted((REPO / "js" / "src").glob("*.js")) if p.name not in section]
    assert not missing, missing


def test_the_readme_links_the_page() -> None:
    assert "(docs/architecture.md)" in (REPO / "README.md").read_text()


def test_the_readme_says_when_to_use_run_runstream_or_runhandle() -> None:
    rows = [
        line.split("|")[1].strip()
        for line in (REPO / "README.md").read_text().splitlines()
        if line.startswith(("| `Run", "| `AsyncRun"))
    ]
    assert {"`Run`", "`RunHandle`"} <= set(rows) and any("`AsyncRunStream`" in r for r in rows)
