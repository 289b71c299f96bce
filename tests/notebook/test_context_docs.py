"""docs/context.md's examples of ``@Out[N]``, ``notebook_describe`` and ``notebook_cells``
are what the code sends: made again here over the values of the kernel they were made in
(the page's examples were printed in a real kernel), they are found on the page as they
are written there."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from context_testing import attach_context

from agentnb._app.context.context_tools import Kernel, context_tools

PAGE = Path(__file__).parents[2] / "docs" / "context.md"
NONCE = "3f9c0a7d2b1e4c55"  # the page's


def page_blocks() -> list[str]:
    """The text of each fenced block of the page."""
    blocks: list[str] = []
    inside: list[str] | None = None
    for line in PAGE.read_text().splitlines():
        if line.startswith("```"):
            if inside is not None:
                blocks.append("\n".join(inside))
            inside = [] if inside is None else None
        elif inside is not None:
            inside.append(line)
    return blocks


def the_pages_kernel() -> Kernel:
    regions = pd.DataFrame({"name": ["north", "south", "west"], "manager": ["Ann", "Bo", "Eve"]})
    sales = pd.DataFrame(
        {
            "region": pd.Categorical(["north", "south", "west"]),
            "revenue": [749.25, 849.25, 949.25],
        }
    )
    cells = [
        "",
        "sales = ...",
        "sales.merge(regions, on='region')",
        "sales.groupby('region', observed=True)['revenue'].mean().round(2)",
        'print(read["notebook_cells"](count=3))',
    ]
    out = sales.groupby("region", observed=True)["revenue"].mean().round(2)
    return Kernel({"In": cells, "Out": {3: out}, "regions": regions, "sales": sales})


def without_the_block(text: str) -> str:
    return "\n".join(text.splitlines()[2:-1])


def test_the_pages_out_describe_and_cells_examples_are_what_is_sent() -> None:
    kernel = the_pages_kernel()
    tools = {t.name: t.function for t in context_tools(kernel, NONCE) if t.function}
    shown = page_blocks()
    assert attach_context("Is @Out[3] what you expect?", kernel, NONCE) in shown
    assert tools["notebook_describe"]("regions") in shown
    assert without_the_block(tools["notebook_cells"](count=3)) in shown


def test_the_pages_tool_descriptions_are_what_the_agent_is_told() -> None:
    told = "\n".join(f"{t.name}: {t.description}" for t in context_tools(Kernel({}), NONCE))
    assert told in page_blocks()
