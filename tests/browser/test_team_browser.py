"""The built-in server's ``research_team`` agent, end to end, in a real JupyterLab (Debian's
Chromium): ``%%agent research_team`` over the ``seekrflow-vercel`` dialect (which says which
call a sub-agent works in) draws the tree the server streamed. Each ``analyst`` call holds its
sub-agent's calls (``get_stock_price``, ``quant``), each ``quant`` its ``calculator``, every
nested card labelled with the agent that made it; each sub-agent's text is collapsed inside
its call and named after that sub-agent (the quant only writes text: its name comes from its
text); the answer holds none of it. Light and dark theme; then the same run exported by a real
``jupyter nbconvert --execute`` keeps the tree in its static copy. Screenshots go to
test-artifacts/team-*.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import patient
from notebook_pages import (
    CONTRASTS,
    RUN_CELL,
    THEMES,
    TOP_CARDS,
    TREE,
    kernel_env,
    nbconvert,
    new_notebook,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

from agentnb.server import ServerHandle

pytestmark = pytest.mark.browser

NOTEBOOK = "team.ipynb"
ASK = 1
QUESTION = "Compare NVDA and AAPL this week"
ANALYST_THINKS = "I look up NVDA in the demo table"
QUANT_THINKS = "The move is (price - week ago)"


def cells(server: ServerHandle, *, wait: bool = False) -> list[str]:
    return [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("seekrflow-vercel", base_url="{server.url_for("seekrflow-vercel")}", '
        f'api_key="{server.api_key}", name="team")',
        f"%%agent research_team --via team{' --wait' if wait else ''}\n{QUESTION}",
    ]


def analyst_tree() -> dict[str, Any]:
    calculator = {"name": "calculator", "agent": "quant", "inside": []}
    return {
        "name": "analyst",
        "agent": "",
        "inside": [
            {"name": "get_stock_price", "agent": "analyst", "inside": []},
            {"name": "quant", "agent": "analyst", "inside": [calculator]},
        ],
    }


SUB_AGENTS = """
(root) => Array.from(root.querySelectorAll(".anb-subagent:not([hidden])")).map((el) => ({
  call: el.parentElement.querySelector(":scope > .anb-tool-head .anb-tool-name").textContent,
  summary: el.querySelector("summary").textContent,
  open: el.open,
  visible: el.querySelector(".anb-subagent-text").checkVisibility(),
  inAnswer: Boolean(el.closest(".anb-answer")),
}))
"""


@pytest.fixture(scope="module")
def page(
    browser: Any, jupyterlab: Any, agent_server: ServerHandle, artifacts: Path
) -> Iterator[Any]:
    with notebook_page(
        browser,
        jupyterlab,
        NOTEBOOK,
        cells(agent_server),
        last_shot=artifacts / "team-last.png",
    ) as page:
        set_theme(page, "JupyterLab Light")
        page.evaluate(RUN_CELL, ASK)
        wait_for_state(page, ASK, "Completed")
        yield page


def test_each_analyst_holds_its_calls_and_its_quant_holds_the_calculator(page: Any) -> None:
    widget = widget_at(page, ASK)
    assert widget.evaluate(TOP_CARDS) == ["analyst", "analyst"]
    assert widget.evaluate(TREE) == [analyst_tree(), analyst_tree()]
    assert widget_errors(page.errors) == []


def test_each_sub_agents_text_is_collapsed_under_its_name_and_not_in_the_answer(
    page: Any, artifacts: Path
) -> None:
    widget = widget_at(page, ASK)
    shown = widget.evaluate(SUB_AGENTS)
    assert [(s["call"], s["summary"].split(" · ")[0]) for s in shown] == [
        ("analyst", "Sub-agent analyst"),
        ("quant", "Sub-agent quant"),
        ("analyst", "Sub-agent analyst"),
        ("quant", "Sub-agent quant"),
    ]
    assert not any(s["open"] or s["visible"] or s["inAnswer"] for s in shown), shown
    answer = widget.locator(".anb-answer").inner_text()
    assert answer.startswith("Research team report")
    assert ANALYST_THINKS not in answer and QUANT_THINKS not in answer
    quant = widget.locator(".anb-tool", has_text="calculator").first
    quant_text = widget.locator(".anb-subagent:not([hidden])").nth(1)
    quant_text.locator("summary").click()
    assert quant_text.locator(".anb-subagent-reasoning").inner_text().startswith(QUANT_THINKS)
    quant.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "team-open-light.png"))
    quant_text.locator("summary").click()


@pytest.mark.parametrize("theme", THEMES)
def test_the_team_tree_reads_at_4_5_to_1(page: Any, theme: str, artifacts: Path) -> None:
    set_theme(page, theme)
    widget = widget_at(page, ASK)
    widget.scroll_into_view_if_needed()
    light = "light" if theme.endswith("Light") else "dark"
    page.screenshot(path=str(artifacts / f"team-{light}.png"))
    texts = widget.evaluate(CONTRASTS)
    shown = {t["what"].split(".")[-1] for t in texts}
    assert {"anb-tool-agent", "anb-subagent-summary"} <= shown, shown
    low = [t for t in texts if t["ratio"] < (3.0 if t["decorative"] else 4.5)]
    assert low == [], low


def test_the_exported_static_copy_keeps_the_tree(
    agent_server: ServerHandle, browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    new_notebook(tmp_path / NOTEBOOK, cells(agent_server, wait=True))
    env = kernel_env(agent_server, tmp_path)
    nbconvert("--to", "html", "--execute", str(tmp_path / NOTEBOOK), env=env)
    context = patient(browser.new_context(viewport={"width": 1100, "height": 900}))
    try:
        static = patient(context.new_page())
        static.goto((tmp_path / "team.html").as_uri())
        copy = static.locator(".agentnb-static").last
        summaries = copy.locator("summary").all_inner_texts()
        assert sum(s.startswith("✓ analyst succeeded") for s in summaries) == 2, summaries
        assert sum(s.startswith("Sub-agent analyst text") for s in summaries) == 2, summaries
        assert sum(s.startswith("Sub-agent quant text") for s in summaries) == 2, summaries
        nested = copy.evaluate(STATIC_NESTING)
        assert nested == {"calculator": ["analyst", "quant"], "quant": ["analyst"]}, nested
        static.screenshot(path=str(artifacts / "team-static.png"), full_page=True)
    finally:
        context.close()


STATIC_NESTING = """
(root) => {
  const out = {};
  for (const code of root.querySelectorAll("details > summary > code")) {
    const outer = [];
    let el = code.closest("details").parentElement;
    while (el && el !== root) {
      if (el.tagName === "DETAILS") {
        const name = el.querySelector(":scope > summary > code");
        if (name) outer.unshift(name.textContent);
      }
      el = el.parentElement;
    }
    if (code.textContent === "calculator" || code.textContent === "quant") {
      out[code.textContent] = outer;
    }
  }
  return out;
}
"""
