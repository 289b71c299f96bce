"""The chat cell in a real JupyterLab, driven by Playwright with Debian's Chromium.

One notebook, one kernel, run cell by cell (the tests run in file order and share the page):
``%%agent finance_agent`` streams reasoning, tool cards and the answer progressively; Stop on a
``writer`` run ends it cancelled with partial text; an answer carrying XSS payloads runs no
script; after save and reload the finished cell re-renders and the saved file holds the static
copy; the dark theme renders legibly. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    PATIENCE_MS,
    RECORD,
    RUN_CELL,
    notebook_page,
    open_with_live_view,
    set_theme,
    url_of,
    wait_for_state,
    widget_at,
)

pytestmark = pytest.mark.browser

NOTEBOOK = "chat.ipynb"
XSS_MESSAGE = "\n\n".join(
    [
        'Payloads: <img src=x onerror="window.__xss=1">',
        "[click me](javascript:window.__xss=2)",
        "<script>window.__xss=3</script>",
        '<svg onload="window.__xss=4"><circle r="4"></circle></svg>',
        '<iframe srcdoc="<script>parent.__xss=5</script>"></iframe>',
        '<a href="javascript:window.__xss=6">raw link</a>',
        "<style>.jp-Notebook { display: none }</style>",
        "![pixel](javascript:window.__xss=7)",
    ]
)
# The finance run is paced at 300 ms a chunk: its reasoning, tool cards and answer are each
# drawn on their own even when a busy machine draws the page a frame a second (at 40 ms a
# chunk, CI at load 18 drew reasoning and the answer's start in one frame).
CELLS = [
    "%load_ext agentnb\nimport os, agentnb\n"
    'agentnb.connect("seekrflow", base_url=os.environ["AGENTNB_BASE_URL"], '
    'api_key=os.environ["AGENTNB_API_KEY"], name="paced", '
    'headers={"X-AgentNB-Delay-Ms": "300"})',
    "%%agent finance_agent --via paced\nWhat is NVDA trading at, and how did it move this week?",
    "%%agent writer --meta paragraphs=80\nWrite a long report on GPUs.",
    f"%%agent echo --no-interpolate\n{XSS_MESSAGE}",
]
FINANCE, WRITER, XSS = 1, 2, 3


@pytest.fixture(scope="module")
def page(browser: Any, jupyterlab: Any, artifacts: Path) -> Iterator[Any]:
    last_shot = artifacts / "browser-last.png"
    with notebook_page(browser, jupyterlab, NOTEBOOK, CELLS, last_shot=last_shot) as page:
        yield page


def test_finance_run_streams_reasoning_tools_and_answer_progressively(
    page: Any, artifacts: Path
) -> None:
    page.evaluate(RECORD, FINANCE)
    page.evaluate(RUN_CELL, FINANCE)
    widget = widget_at(page, FINANCE)
    widget.locator(".anb-tool").first.wait_for()
    page.screenshot(path=str(artifacts / "finance-streaming.png"))
    wait_for_state(page, FINANCE, "Completed")
    # The run's end refreshes the static copy (the output after the view's, hidden here).
    page.wait_for_timeout(500)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "finance-done.png"))
    log = page.evaluate("() => window.__anbLog")
    page.evaluate("() => window.__anbObserver.disconnect()")

    thinking = [e for e in log if e["reasoning"] and e["reasoningOpen"] and e["answer"] == 0]
    assert thinking, "reasoning was shown open before the answer started"
    tools_before_answer = [e for e in log if e["tools"] >= 1 and e["answer"] == 0]
    assert tools_before_answer, "tool cards appeared before the answer"
    growing = sorted({e["answer"] for e in log if e["answer"] > 0})
    assert len(growing) >= 3, f"the answer grew in steps, not at once: {growing}"
    final = log[-1]
    assert final["tools"] == 2 and final["toolsDone"] == 2
    assert not final["reasoningOpen"], "reasoning collapsed once the answer started"

    answer = widget.locator(".anb-answer")
    assert "NVDA" in answer.inner_text()
    assert answer.locator("table").count() >= 1
    assert widget.locator(".anb-tool-name").all_inner_texts() == ["get_stock_price", "calculator"]
    assert "tokens" in widget.locator(".anb-tokens").inner_text()
    assert widget.locator(".anb-runid code").inner_text().startswith("run_")
    assert widget.locator(".anb-stop").is_hidden()
    copy = widget.locator(".anb-copy-answer")
    copy.focus()
    assert page.evaluate("() => document.activeElement.textContent") == "Copy answer"
    assert page.errors == []  # type: ignore[attr-defined]


def test_stop_ends_a_writer_run_as_cancelled_with_partial_text(page: Any, artifacts: Path) -> None:
    page.evaluate(RUN_CELL, WRITER)
    widget = widget_at(page, WRITER)
    page.wait_for_function(
        f"""() => {{
          const cell = document.querySelectorAll('.jp-Notebook .jp-Cell')[{WRITER}];
          const a = cell.querySelector('.anb-answer');
          return a && a.textContent.length > 200;
        }}""",
        timeout=PATIENCE_MS,
    )
    stop = widget.locator(".anb-stop")
    assert stop.is_visible()
    # From the keyboard: the button moves while the answer grows above it, so a mouse click
    # aimed at where it was a moment ago can miss on a loaded machine.
    stop.focus()
    page.keyboard.press("Enter")
    wait_for_state(page, WRITER, "Cancelled")
    page.wait_for_timeout(500)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "writer-cancelled.png"))
    partial = widget.locator(".anb-answer").inner_text()
    assert len(partial) > 200
    assert stop.is_hidden()
    page.wait_for_timeout(500)
    assert widget.locator(".anb-answer").inner_text() == partial, "nothing arrives after Stop"


def test_an_answer_carrying_xss_payloads_runs_no_script(page: Any, artifacts: Path) -> None:
    page.evaluate(RUN_CELL, XSS)
    wait_for_state(page, XSS, "Completed")
    page.wait_for_timeout(500)
    widget = widget_at(page, XSS)
    answer = widget.locator(".anb-answer")
    assert "Payloads:" in answer.inner_text()
    assert answer.locator("img, script, iframe, svg, style, object").count() == 0
    assert answer.locator("a[href^='javascript'], [onerror], [onload]").count() == 0
    answer.get_by_text("click me").click()
    answer.get_by_text("raw link", exact=False).first.wait_for()
    page.wait_for_timeout(500)
    assert page.evaluate("() => window.__xss") is None
    assert page.locator(".jp-Notebook").is_visible(), "injected CSS did not apply"
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "xss.png"))
    assert page.errors == []  # type: ignore[attr-defined]


def test_saved_notebook_holds_the_static_copy_and_reload_re_renders_the_cell(
    page: Any, jupyterlab: Any, artifacts: Path
) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    path = jupyterlab.root / NOTEBOOK
    page.wait_for_function("() => !window.__anbPanel().context.model.dirty", timeout=PATIENCE_MS)
    saved = json.loads(path.read_text())
    outputs = saved["cells"][FINANCE]["outputs"]
    display = next(o for o in outputs if "text/html" in o.get("data", {}))
    html_copy = "".join(display["data"]["text/html"])
    assert "get_stock_price" in html_copy and "Running…" not in html_copy
    xss_copy = "".join(
        next(o for o in saved["cells"][XSS]["outputs"] if "text/html" in o.get("data", {}))["data"][
            "text/html"
        ]
    )
    assert "<img src=x" not in xss_copy and "<script>" not in xss_copy

    open_with_live_view(
        page, url_of(jupyterlab, "jupyterlab", NOTEBOOK), FINANCE, ".agentnb .anb-answer"
    )
    widget = widget_at(page, FINANCE)
    wait_for_state(page, FINANCE, "Completed")
    assert "NVDA" in widget.locator(".anb-answer").inner_text()
    assert widget.locator(".anb-tool").count() == 2
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "after-reload.png"))


def test_dark_theme_renders_legibly(page: Any, artifacts: Path) -> None:
    set_theme(page, "JupyterLab Dark")
    widget = widget_at(page, FINANCE)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "dark-theme.png"))
    contrast = widget.locator(".anb-answer p").first.evaluate(
        """(el) => {
          const rgb = (s) => s.match(/[\\d.]+/g).slice(0, 4).map(Number);
          const lum = ([r, g, b]) => {
            const f = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
            return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
          };
          let node = el, bg = null;
          while (node && !bg) {
            const c = rgb(getComputedStyle(node).backgroundColor);
            if (c.length < 4 || c[3] > 0) bg = c;
            node = node.parentElement;
          }
          const fg = rgb(getComputedStyle(el).color);
          const [a, b] = [lum(fg), lum(bg || [0, 0, 0])].sort((x, y) => y - x);
          return { ratio: (a + 0.05) / (b + 0.05), bgLum: lum(bg || [0, 0, 0]) };
        }"""
    )
    assert contrast["bgLum"] < 0.2, "the background is dark"
    assert contrast["ratio"] >= 4.5, contrast
    tool_contrast = widget.locator(".anb-tool-name").first.evaluate(
        "(el) => getComputedStyle(el).color"
    )
    assert tool_contrast != "rgb(0, 0, 0)"
