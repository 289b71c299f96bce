"""The front page stays a front page and the docs site stays whole.

README.md: at most 20 KB, its two commands exactly as they have always been (CI and people
copy them), every relative link pointing at a file of the repository. docs/api.md: the API
reference names exactly the public names, ``agentnb.__all__`` and its public fronts'
(``agentnb.types``, ``agentnb.history``, ``agentnb.approvals``), each as ``agentnb.X`` or
``agentnb.history.X`` (where
users import it from, so moving a private module does not touch the page). The site itself
is built by ``mkdocs build --strict`` in scripts/test.sh, which fails on a broken link or
anchor, a nav entry without its page, or an API name that does not resolve.
"""

from __future__ import annotations

import re
from types import ModuleType

import pytest
from agentnb_testing import PUBLIC_FRONTS, REPO

import agentnb

README = (REPO / "README.md").read_text()
RUN_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/agentnb run "
    'finance_agent "What is NVDA trading at, and how did it move this week?"'
)
TEST_COMMAND = "bash scripts/test.sh"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def test_the_readme_is_a_front_page_under_20_kb() -> None:
    size = len(README.encode())
    assert size <= 20_000, f"README.md is {size} bytes: move the detail to a page under docs/"


def test_the_readme_keeps_the_two_commands_exactly() -> None:
    blocks = re.findall(r"```bash\n(.*?)\n```", README, flags=re.S)
    assert RUN_COMMAND in blocks and TEST_COMMAND in blocks, blocks


def test_every_relative_link_of_the_readme_exists() -> None:
    targets = [t for t in LINK.findall(README) if not re.match(r"[a-z]+:", t)]
    assert targets, "the README links its docs pages"
    missing = [t for t in targets if not (REPO / t.split("#")[0]).exists()]
    assert not missing, missing


def test_the_api_reference_names_every_public_name_and_no_other() -> None:
    page = (REPO / "docs" / "api.md").read_text()
    named = re.findall(r"^::: agentnb\.(\w+)$", page, flags=re.M)
    assert len(named) == len(set(named)), "a name documented twice"
    fronts = {module.__name__.removeprefix("agentnb.") for module in PUBLIC_FRONTS}
    assert sorted(named) == sorted({*agentnb.__all__, *fronts})


@pytest.mark.parametrize("module", PUBLIC_FRONTS)
def test_the_api_reference_names_every_name_of_a_public_submodule(module: ModuleType) -> None:
    page = (REPO / "docs" / "api.md").read_text()
    prefix = re.escape(module.__name__)
    named = re.findall(rf"^::: {prefix}\.(\w+)$", page, flags=re.M)
    assert len(named) == len(set(named)), "a name documented twice"
    assert sorted(named) == sorted(module.__all__)


def test_every_code_fence_is_closed() -> None:
    """An unclosed fence swallows the rest of a page into a code block without a warning from
    the strict build (it happened when the README was cut into pages)."""
    pages = [*sorted((REPO / "docs").glob("*.md")), REPO / "README.md", REPO / "CHANGELOG.md"]
    odd = [
        p.name
        for p in pages
        if sum(line.lstrip().startswith("```") for line in p.read_text().splitlines()) % 2
    ]
    assert not odd, odd
