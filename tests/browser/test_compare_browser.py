"""``agentnb.compare`` in Debian's Chromium: a notebook executed and exported by a real
``jupyter nbconvert --to html --execute`` shows the runs side by side offline, the diff
marked, and a hostile answer as text (no script runs, no image loads, no dialog opens); in
JupyterLab 4 at 1280×800, light and dark, the answers read as rendered
markdown with their ``$`` amounts (the notebook's MathJax leaves them alone), the diff marks
read at 4.5:1, and the view fits its output. Screenshots: test-artifacts/compare-*.png."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    CONTRASTS,
    THEMES,
    WIDGET_APPS,
    cell_at,
    kernel_env,
    nbconvert,
    new_notebook,
    new_page,
    notebook_page,
    set_theme,
    widget_errors,
)

from agentnb.server import ServerHandle

pytestmark = pytest.mark.browser

HOSTILE = (
    "<img src=http://127.0.0.1:9/x onerror=alert(1)> <script>alert(2)</script> "
    "[click](javascript:alert(3))"
)
SETUP = (
    "import agentnb\n"
    "a = agentnb.ask('echo', 'NVDA is up 2% today', wait=True, display=False).run\n"
    f"b = agentnb.ask('echo', {('NVDA is down 3% today ' + HOSTILE)!r}, wait=True,"
    " display=False).run"
)


def test_the_exported_comparison_shows_the_diff_and_keeps_the_answer_inert(
    agent_server: ServerHandle, browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    new_notebook(tmp_path / "compare.ipynb", [SETUP, "agentnb.compare(a, b)"])
    env = kernel_env(agent_server, tmp_path)
    env["AGENTNB_HISTORY"] = str(tmp_path / "history.sqlite3")
    nbconvert("--to", "html", "--execute", str(tmp_path / "compare.ipynb"), env=env)

    context, page, errors = new_page(browser)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    try:
        page.goto((tmp_path / "compare.html").as_uri())
        view = page.locator(".agentnb-compare")
        assert view.count() == 1 and view.is_visible()
        view.screenshot(path=str(artifacts / "compare-export.png"))
        removed, added = view.locator("del"), view.locator("ins")
        assert removed.first.inner_text() == "up 2%"
        assert added.first.inner_text().startswith("down 3%")
        assert removed.first.is_visible() and added.first.is_visible()
        text = view.inner_text()
        assert "<script>alert(2)</script>" in text and "onerror=alert(1)" in text  # as text
        assert view.locator("img, script, a").count() == 0
        headers = view.locator("thead th").all_inner_texts()
        assert [h.split(" · ")[0] for h in headers[1:]] == ["echo", "echo"]
        assert "unknown" in view.locator("tr", has_text="cost").inner_text()
    finally:
        context.close()
    assert not errors, errors  # no dialog opened, no script error
    assert not [url for url in requests if "127.0.0.1:9" in url], requests


QUOTES = (
    "### Demo quotes\n\n| Ticker | Price | Week ago | Month ago | Year ago | Exchange |\n"
    "|:--|--:|--:|--:|--:|:--|\n"
    "| **NVDA** | {nvda} | $855.60 | $801.25 | $455.72 | NASDAQ |\n"
    "| AMD | $155.60 | $150.10 | $148.90 | $110.35 | NASDAQ |\n\n"
    "NVDA is {move} on the week; see `get_stock_price`."
)
RUNS = f"""import agentnb
from agentnb.events import RunCompleted, TextDelta, ToolCallFinished, ToolCallStarted

def answered(text):
    run = agentnb.Run(agent="finance_agent", message="Quote NVDA and AMD")
    run.apply(ToolCallStarted(call_id="c1", name="get_historical_stock_price", arguments={{"ticker": "NVDA"}}))
    run.apply(ToolCallFinished(call_id="c1", output="875.40"))
    run.apply(TextDelta(delta=text))
    run.apply(RunCompleted())
    return run

a = answered({QUOTES.format(nvda="$875.40", move="up 2.3%")!r})
b = answered({QUOTES.format(nvda="$881.10", move="up 3%")!r})"""
WHOLE = """
(view) => {
  // No word or number of an answer's table or of a row label broken across two lines
  // (Tick|er, $875.|40), and no row label clipped by its cell.
  const broken = [];
  for (const cell of view.querySelectorAll("td table th, td table td, tbody > tr > th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(word[0]);
      }
    }
    if (cell.matches("tbody > tr > th") && cell.scrollWidth > cell.clientWidth + 1) {
      broken.push(cell.textContent);
    }
  }
  return broken;
}
"""
FITS = """
(view) => {
  const output = view.closest(".jp-OutputArea-output");
  const box = view.getBoundingClientRect(), room = output.getBoundingClientRect();
  return { right: box.right, room: room.right, scroll: output.scrollWidth, width: output.clientWidth };
}
"""


@pytest.fixture(scope="module", params=WIDGET_APPS)
def compare_page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Any]:
    server = request.getfixturevalue(request.param)
    cells = [RUNS, "agentnb.compare(a, b)"]
    with notebook_page(
        browser, server, "compare.ipynb", cells, app=request.param, run_first=2, height=800
    ) as page:
        page.app = request.param
        yield page


@pytest.mark.parametrize("theme", THEMES)
def test_the_comparison_reads_as_rendered_markdown_with_its_amounts(
    compare_page: Any, theme: str, artifacts: Path
) -> None:
    page = compare_page
    set_theme(page, theme)
    view = cell_at(page, 1).locator(".agentnb-compare")
    view.wait_for()
    page.wait_for_timeout(1000)  # MathJax typesets an output shortly after it shows
    view.scroll_into_view_if_needed()
    name = f"compare-{page.app}-{theme.split()[-1].lower()}.png"
    page.screenshot(path=str(artifacts / name))
    text = view.inner_text()
    for syntax in ("###", "|:--", "--:|", "**", "`"):
        assert syntax not in text, (syntax, text)
    for amount in ("$875.40", "$881.10", "$855.60", "$155.60", "$150.10"):
        assert amount in text, (amount, text)
    assert view.locator("mjx-container, .MathJax").count() == 0, "no formula in the view"
    assert view.locator("h3", has_text="Demo quotes").count() == 2
    assert view.locator("del").all_inner_texts() == ["$875.40", "2.3%"]
    assert view.locator("ins").all_inner_texts() == ["$881.10", "3%"]
    assert view.evaluate(WHOLE) == []
    assert "→ get_historical_stock_price" in view.locator("tbody > tr > th").all_inner_texts()
    fits = view.evaluate(FITS)
    assert fits["right"] <= fits["room"] + 1 and fits["scroll"] <= fits["width"] + 1, fits
    low = [t for t in view.evaluate(CONTRASTS) if t["ratio"] < 4.5]
    assert low == [], "\n".join(f"{t['what']} {t['text']!r} {t['ratio']:.2f}" for t in low)
    assert widget_errors(page.errors) == []
