"""A run with sub-agents reads as a tree in a real JupyterLab (Debian's Chromium).

A raw-socket SeekrFlow server streams ``data-nestedToolEvent`` parts (tests/notebook/
nested_frames.py), paced so the tree grows live: two ``research`` calls whose sub-agents think,
write and call ``get_price`` with the same id, one going a level deeper; and a run 50 calls
deep. The checks: a nested card sits inside its parent's card while the run streams and after
it, nothing nested is at the top, a sub-agent's text is collapsed and opens on a click, every
text of the tree reads at 4.5:1 in the light and the dark theme, and the 50-deep tree stays
inside the cell. Screenshots go to test-artifacts/tree-*.png.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    CONTRASTS,
    PATIENCE_MS,
    RUN_CELL,
    THEMES,
    TOP_CARDS,
    TREE,
    cell_at,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "client"), str(TESTS / "notebook")]  # the raw server, the frames

from hostile_server import Conn, HostileServer, Request, http_head, sse_head  # noqa: E402
from nested_frames import SUB_TEXT, deep_run_frames, nested_run_frames  # noqa: E402

pytestmark = pytest.mark.browser

PACE_S = 0.25
"""Between two parts of the tree run: long enough to see the tree grow in the page."""


async def seekrflow(conn: Conn, request: Request) -> None:
    """SeekrFlow's thread and message routes, and a stream chosen by the run's agent."""
    if request.path.endswith("/stream/vercel"):
        agent = json.loads(request.body or b"{}").get("agent_id")
        frames = deep_run_frames(50) if agent == "deep" else nested_run_frames()
        await conn.send(sse_head())
        for frame in frames:
            await conn.send(f"data: {json.dumps(frame)}\n\n".encode())
            await asyncio.sleep(PACE_S if agent != "deep" else 0)
        return
    body = b'{"id": "t1"}' if request.path == "/v1/threads" else b"[]"
    await conn.send(http_head("200 OK", {"Content-Type": "application/json"}) + body)


LIVE_NESTED = """
(index) => {
  const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
  const state = cell && cell.querySelector(".agentnb .anb-state");
  const nested = cell && cell.querySelector(".anb-body > .anb-tool .anb-tool-children .anb-tool");
  return Boolean(nested) && state.textContent === "Running";
}
"""
DEEP_BOXES = """
(root) => {
  const cards = Array.from(root.querySelectorAll(".anb-tool"));
  const box = (el) => el.getBoundingClientRect();
  return {
    count: cards.length,
    firstLeft: box(cards[0]).left, lastLeft: box(cards[cards.length - 1]).left,
    lastWidth: box(cards[cards.length - 1]).width, rootWidth: box(root).width,
    overflow: root.scrollWidth - root.clientWidth,
    nestedInParent: cards[cards.length - 2].contains(cards[cards.length - 1]),
    depthLabel: cards[cards.length - 1].querySelector(".anb-tool-depth").textContent,
    fonts: [cards[0], cards[cards.length - 1]].map(
      (card) => getComputedStyle(card.querySelector(".anb-tool-name")).fontSize),
    tail: box(cards[0]).bottom - box(cards[cards.length - 1]).bottom,
  };
}
"""


@pytest.fixture(scope="module")
def tree_page(browser: Any, jupyterlab: Any, artifacts: Path) -> Iterator[Any]:
    with HostileServer(seekrflow) as server:
        cells = [
            "%load_ext agentnb\nimport agentnb\n"
            f'agentnb.connect("seekrflow-vercel", base_url="{server.url}", api_key="k", '
            'name="tree")',
            "%%agent planner --via tree\nCompare NVDA and AMD",
            "%%agent deep --via tree\nGo deep",
        ]
        last_shot = artifacts / "tree-last.png"
        with notebook_page(browser, jupyterlab, "tree.ipynb", cells, last_shot=last_shot) as page:
            yield page


def test_nested_cards_stream_inside_their_parent_and_never_at_the_top(
    tree_page: Any, artifacts: Path
) -> None:
    page = tree_page
    set_theme(page, "JupyterLab Light")
    page.evaluate(RUN_CELL, 1)
    page.wait_for_function(LIVE_NESTED, arg=1, timeout=PATIENCE_MS)
    widget = widget_at(page, 1)
    assert widget.evaluate(TOP_CARDS) == ["research", "research"]
    page.screenshot(path=str(artifacts / "tree-live-light.png"))
    wait_for_state(page, 1, "Completed")
    assert widget.evaluate(TOP_CARDS) == ["research", "research"]
    assert widget.evaluate(TREE) == [
        {
            "name": "research",
            "agent": "",
            "inside": [
                {
                    "name": "get_price",
                    "agent": "researcher",
                    "inside": [{"name": "verify", "agent": "checker", "inside": []}],
                }
            ],
        },
        {
            "name": "research",
            "agent": "",
            "inside": [{"name": "get_price", "agent": "analyst", "inside": []}],
        },
    ]
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


def test_a_sub_agents_text_is_collapsed_then_opens_on_a_click(
    tree_page: Any, artifacts: Path
) -> None:
    page = tree_page
    wait_for_state(page, 1, "Completed")
    first = cell_at(page, 1).locator(".agentnb .anb-body > .anb-tool").first
    sub = first.locator(":scope > .anb-subagent")
    summary = sub.locator("summary")
    text = sub.locator(".anb-subagent-text")
    assert summary.inner_text().startswith("Sub-agent researcher")
    assert sub.evaluate("(el) => el.open") is False
    assert not text.is_visible()
    answer = cell_at(page, 1).locator(".agentnb .anb-answer").inner_text()
    assert SUB_TEXT not in answer
    summary.click()
    assert sub.evaluate("(el) => el.open") is True
    assert text.is_visible() and text.inner_text() == SUB_TEXT
    first.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "tree-open-light.png"))
    summary.focus()
    page.keyboard.press("Enter")  # a summary is a real control: the keyboard closes it
    assert sub.evaluate("(el) => el.open") is False
    summary.click()


@pytest.mark.parametrize("theme", THEMES)
def test_the_tree_reads_at_4_5_to_1_in_light_and_dark(
    tree_page: Any, theme: str, artifacts: Path
) -> None:
    page = tree_page
    wait_for_state(page, 1, "Completed")
    set_theme(page, theme)
    widget = widget_at(page, 1)
    widget.scroll_into_view_if_needed()
    light = "light" if theme.endswith("Light") else "dark"
    page.screenshot(path=str(artifacts / f"tree-{light}.png"))
    texts = widget.evaluate(CONTRASTS)
    shown = {t["what"].split(".")[-1] for t in texts}
    assert {"anb-tool-agent", "anb-subagent-summary", "anb-subagent-text"} <= shown, shown
    low = [t for t in texts if t["ratio"] < (3.0 if t["decorative"] else 4.5)]
    assert low == [], low


def test_a_tree_50_calls_deep_stays_inside_the_cell(tree_page: Any, artifacts: Path) -> None:
    page = tree_page
    set_theme(page, "JupyterLab Light")
    page.evaluate(RUN_CELL, 2)
    wait_for_state(page, 2, "Completed")
    widget = widget_at(page, 2)
    boxes = widget.evaluate(DEEP_BOXES)
    assert boxes["count"] == 50 and boxes["nestedInParent"], boxes
    assert boxes["depthLabel"] == "depth 49"
    assert boxes["overflow"] <= 0, boxes
    # indented 8 levels, then no more: the deepest card keeps most of the cell's width
    assert boxes["lastLeft"] - boxes["firstLeft"] < 250, boxes
    assert boxes["lastWidth"] > boxes["rootWidth"] / 2, boxes
    # text does not shrink with depth, and the cards' ends do not pile up under the deepest
    assert boxes["fonts"][0] == boxes["fonts"][1], boxes
    assert boxes["tail"] < 150, boxes
    assert widget.evaluate(TOP_CARDS) == ["ask"]
    widget.locator(".anb-tool-depth").last.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "tree-deep-light.png"))
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]
