"""The README's Quickstart, run as printed: each of its code blocks a cell of one notebook,
executed by nbclient in a real kernel against the built-in server (the blocks that name a
platform's URL of the reader's own are left out), and the magic its tool example shows in a
comment, as a cell of its own. A change that breaks what the README teaches fails here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from agentnb_testing import PATIENCE_S, PROGRAM_PATIENCE_S, REPO
from kernel_session import notebook_client

pytestmark = [pytest.mark.kernel]

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")

README = (REPO / "README.md").read_text()


def quickstart_blocks() -> list[str]:
    """The Quickstart's Python and magic blocks, in order (not the shell commands)."""
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"^```(\w*)\n(.*?)\n```$", section, flags=re.S | re.M)
    return [code for lang, code in blocks if lang in ("", "python") and "https://" not in code]


def commented_magics(blocks: list[str]) -> list[str]:
    """A magic a block shows in a comment beside its call (``# %%agent AGENT --tool f``),
    as a cell asking that call's question."""
    cells = []
    for block in blocks:
        for line in block.splitlines():
            magic = re.search(r"#\s*(%%agent .*)$", line)
            question = re.search(r"agentnb\.ask\(\"[^\"]+\", \"([^\"]+)\"", block)
            if magic and question:
                cells.append(f"{magic.group(1).strip()}\n{question.group(1)}")
    return cells


def test_the_quickstart_holds_the_blocks_this_test_runs() -> None:
    blocks = quickstart_blocks()
    assert blocks[0] == "%load_ext agentnb"
    assert any(block.startswith("%%agent finance_agent") for block in blocks)
    assert commented_magics(blocks) == [
        "%%agent finance_agent --tool position_value\nWhat is my NVDA position worth?"
    ]


def test_the_readme_s_quickstart_runs_as_printed(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    check = (
        "assert _agent.run.status == 'completed', _agent.run.status\n"
        "calls = [c for c in _agent.run.tool_calls if c.name == 'position_value']\n"
        "assert calls and calls[0].status == 'succeeded', _agent.run.tool_calls\n"
        "print(calls[0].output)"
    )
    cells = [*blocks, *commented_magics(blocks), f"_agent.wait({PATIENCE_S:g})", check]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code) for code in cells]
    env = {**os.environ, "AGENTNB_HISTORY": str(tmp_path / "history.sqlite3")}
    client = notebook_client(nb, PROGRAM_PATIENCE_S)
    client.execute(env=env, cwd=str(tmp_path))  # raises CellExecutionError on any cell's error
    printed = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "shares" in printed and "worth $" in printed, printed
