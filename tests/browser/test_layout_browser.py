"""The chat cell's layout and colours in a real browser (Debian's Chromium).

Stop stays where the eye and the pointer found it while a long answer (100+ KB) streams, in
JupyterLab and in Notebook 7; every text of the cell reads at a contrast of at least 4.5:1 in
every run state (running, paused with a call awaiting approval, completed, completed with a
denied call and one whose result never arrived, failed, cancelled, interrupted) in the light
and the dark JupyterLab themes (decorative glyphs, hidden from screen readers, at least 3:1), with Copy
answer only where there is an answer and a readable preview of each tool output; and at 460 px a table scrolls sideways instead of splitting its cells'
tokens, while only a very long unbroken token in prose is broken. Screenshots go to
test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    APPS,
    CONTRASTS,
    PATIENCE_MS,
    PAUSED,
    RUN_CELL,
    THEMES,
    cell_at,
    notebook_page,
    set_theme,
    wait_for_state,
    widget_at,
    widget_errors,
)

pytestmark = pytest.mark.browser

SETUP = """%load_ext agentnb
import os, time
import agentnb
from agentnb._core.run import Run, RunErrorInfo
from agentnb.events import (
    ReasoningDelta, RunCompleted, RunFailed, RunPaused, TextDelta, ToolApprovalRequested,
    ToolApprovalResponded, ToolCallDenied, ToolCallFinished, ToolCallStarted, Usage,
)
agentnb.connect("seekrflow", base_url=os.environ["AGENTNB_BASE_URL"],
                api_key=os.environ["AGENTNB_API_KEY"], name="fast",
                headers={"X-AgentNB-Delay-Ms": "2"})
doc = "\\n\\n".join(f"Paragraph {i}. " + "streamed words " * 30 for i in range(260))
print(len(doc))"""
LONG_RUN = "%%agent echo --via fast\n{{doc}}"

# ---- Stop stays put ---------------------------------------------------------------------

GROWTH_SEEN = 15_000
"""Characters the answer grows by while Stop is watched: many screens of text pushed in
under the button, however long that takes the machine."""

SAMPLE_STOP = """
async ([index, growth, every, patience]) => {
  const cell = window.__anbPanel().content.widgets[index].node;
  const scroller = (el) => {
    for (let node = el.parentElement; node; node = node.parentElement) {
      const y = getComputedStyle(node).overflowY;
      if ((y === "auto" || y === "scroll") && node.scrollHeight > node.clientHeight) return node;
    }
    return document.documentElement;
  };
  const out = [];
  const until = performance.now() + patience;
  for (;;) {
    const stop = cell.querySelector(".anb-stop");
    const box = stop.getBoundingClientRect();
    const view = scroller(stop).getBoundingClientRect();
    const answer = cell.querySelector(".anb-answer");
    out.push({
      top: box.top, bottom: box.bottom, left: box.left, hidden: stop.hidden,
      viewTop: Math.max(0, view.top), viewBottom: Math.min(innerHeight, view.bottom),
      answer: answer ? answer.textContent.length : 0,
    });
    const grew = out[out.length - 1].answer - out[0].answer;
    if (grew >= growth || stop.hidden || performance.now() > until) return out;
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
"""


@pytest.mark.parametrize("app", APPS)
def test_stop_stays_in_reach_while_a_long_answer_streams(
    app: str, browser: Any, jupyter: Any, artifacts: Path
) -> None:
    with notebook_page(browser, jupyter, f"stop_{app}.ipynb", [SETUP, LONG_RUN], app=app) as page:
        doc_chars = int(cell_at(page, 0).locator(".jp-OutputArea").inner_text().strip())
        assert doc_chars >= 100_000
        page.evaluate(RUN_CELL, 1)
        page.wait_for_function(
            """() => {
              const a = window.__anbPanel().content.widgets[1].node.querySelector(".anb-answer");
              return a && a.textContent.length > 3000;
            }""",
            timeout=PATIENCE_MS,
        )
        stop = cell_at(page, 1).locator(".anb-stop")
        stop.scroll_into_view_if_needed()
        # Watched until the answer has grown by GROWTH_SEEN under the button, however long
        # that takes: the run still going all along, Stop in view and in place at every look.
        samples = page.evaluate(SAMPLE_STOP, [1, GROWTH_SEEN, 100, PATIENCE_MS])
        page.screenshot(path=str(artifacts / f"stop-{app}.png"))
        grew = samples[-1]["answer"] - samples[0]["answer"]
        assert grew >= GROWTH_SEEN, (  # checked: not a rate
            f"the answer grew {grew} characters while Stop was watched ({len(samples)} looks)"
        )
        first = samples[0]
        for sample in samples:
            assert not sample["hidden"]
            assert (
                sample["viewTop"] <= sample["top"] and sample["bottom"] <= sample["viewBottom"]
            ), (
                "Stop stays in view",
                sample,
            )
            assert abs(sample["top"] - first["top"]) <= 1, ("Stop stays put", first, sample)
        stop.click()  # a real pointer click, where Playwright sees the button now
        wait_for_state(page, 1, "Cancelled")
        assert widget_errors(page.errors) == []


# ---- colours ----------------------------------------------------------------------------

STATES = """
def made(status):
    now = time.time()
    run = Run(agent="finance_agent", message=f"A {status} run: what is NVDA at?")
    run.apply(ReasoningDelta(delta="I look up the price first.", received_at=now))
    run.apply(ToolCallStarted(call_id="c1", name="get_stock_price",
                              arguments={"ticker": "NVDA"}, received_at=now))
    run.apply(ToolCallFinished(call_id="c1", output={"ticker": "NVDA", "price": 875.4},
                               received_at=now))
    if status != "failed":
        run.apply(TextDelta(delta="NVDA trades at **$875.40** ([source](https://example.com)), "
                            "`+2.31%` on the week.\\n\\n| Ticker | Price |\\n|--|--:|\\n| NVDA | $875.40 |",
                            received_at=now))
    if status == "failed":
        run.apply(ToolCallStarted(call_id="c2", name="calculator", arguments={"x": 1},
                                  received_at=now))
        run.apply(ToolCallFinished(call_id="c2", error="division by zero", received_at=now))
    if status in ("paused", "denied"):
        run.apply(ToolCallStarted(call_id="c3", name="place_trade",
                                  arguments={"ticker": "NVDA", "shares": 10}, received_at=now))
        run.apply(ToolApprovalRequested(call_id="c3", reason="Placing a trade needs approval.",
                                        received_at=now))
        run.apply(RunPaused(received_at=now))
    if status == "denied":
        run.apply(ToolApprovalResponded(call_id="c3", approved=False, reason="too risky",
                                        received_at=now))
        run.apply(ToolCallDenied(call_id="c3", received_at=now))
        run.apply(ToolCallStarted(call_id="c4", name="lookup", arguments={"q": 1},
                                  received_at=now))
        run.apply(RunCompleted(received_at=now + 1))
    if status == "completed":
        run.apply(RunCompleted(usage=Usage(prompt_tokens=10, completion_tokens=20, total_tokens=30),
                               followups=["How about AAPL?"], received_at=now + 1))
    elif status == "failed":
        run.apply(RunFailed(message="Model overloaded", code="CAPACITY_ERROR", retry_after=30,
                            received_at=now + 1))
    elif status == "interrupted":
        run.finish(status, RunErrorInfo("the stream was cut mid-stream", "STREAM_CUT"))
    elif status == "cancelled":
        run.finish(status)
    return run
"""
STATUSES = ["running", "paused", "completed", "denied", "failed", "cancelled", "interrupted"]
LABELS = {
    "running": "Running",
    "paused": PAUSED,
    "completed": "Completed",
    "denied": "Completed",
    "failed": "Failed",
}


@pytest.fixture(scope="module")
def lab_page(browser: Any, jupyterlab: Any, artifacts: Path) -> Iterator[Any]:
    name = "layout.ipynb"
    cells = [SETUP, STATES] + [f'agentnb.show(made("{status}"))' for status in STATUSES]
    with notebook_page(browser, jupyterlab, name, cells, run_first=len(cells)) as page:
        yield page


def run_new_cell(page: Any, source: str) -> int:
    """Append a code cell holding ``source`` to the open notebook and run it; its index."""
    index: int = page.evaluate(
        """(source) => {
          const model = window.__anbPanel().content.model;
          model.sharedModel.insertCell(model.cells.length, { cell_type: "code", source });
          return model.cells.length - 1;
        }""",
        source,
    )
    page.evaluate(RUN_CELL, index)
    return index


def unfold_every_card(widget: Any) -> None:
    folded = widget.locator('[data-folded="true"] .anb-tool-fold')
    for _ in range(20):
        if folded.count() == 0:
            return
        folded.first.click()
    raise AssertionError("a card does not unfold")


@pytest.mark.parametrize("theme", THEMES)
def test_every_state_reads_at_4_5_to_1_in_light_and_dark(
    lab_page: Any, theme: str, artifacts: Path
) -> None:
    page = lab_page
    set_theme(page, theme)
    light = "true" if theme.endswith("Light") else "false"
    low: list[dict[str, Any]] = []
    for offset, status in enumerate(STATUSES):
        index = 2 + offset
        if status in LABELS:
            wait_for_state(page, index, LABELS[status])
        widget = widget_at(page, index)
        widget.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"contrast-{status}-{light}.png"))
        copy = widget.locator(".anb-copy-answer")
        no_copy = ("running", "paused", "failed")
        assert copy.is_hidden() if status in no_copy else copy.is_visible(), (
            "Copy answer is offered when there is an answer to copy"
        )
        unfold_every_card(widget)  # a finished card folds; its details must read too
        preview = widget.locator(".anb-tool-output summary").first.inner_text()
        assert preview.endswith('{ "ticker": "NVDA", "price": 875.4 }'), preview
        texts = widget.evaluate(CONTRASTS)
        assert len(texts) >= 5, texts
        if status in ("paused", "denied"):
            shown = {t["what"].split(".")[-1] for t in texts}
            new_parts = {"anb-approval-ask", "anb-approval-outcome", "anb-tool-status"}
            if status == "paused":
                new_parts |= {"anb-approve", "anb-deny"}
            assert new_parts <= shown, shown
        low += [
            dict(t, status=status) for t in texts if t["ratio"] < (3.0 if t["decorative"] else 4.5)
        ]
    assert low == [], "\n".join(
        f"{t['status']}: {t['what']} {t['text']!r} {t['ratio']:.2f} fg={t['fg']} bg={t['bg']}"
        for t in low
    )
    assert widget_errors(page.errors) == []  # type: ignore[attr-defined]


# ---- narrow outputs ---------------------------------------------------------------------

WIDE = (
    "%%agent echo --via fast\n"
    "| Ticker | Company | Price | Week ago | Week change | Volume | Market cap |\n"
    "|:--|:--|--:|--:|--:|--:|--:|\n"
    "| NVDA | NVIDIA Corporation | $229.87 | $221.40 | +3.83% | 312,456,789 | $5,612,345,678,901 |\n"
    "| AAPL | Apple Inc. | $189.12 | $191.05 | -1.01% | 45,678,901 | $2,912,345,678,901 |\n"
    "\n"
    "A long link: https://example.com/"
    + "a" * 300
    + " and a long code token `"
    + "x" * 200
    + "`.\n"
)
SPLIT_TOKENS = """
(root) => {
  const split = [];
  for (const cell of root.querySelectorAll(".anb-answer th, .anb-answer td")) {
    const text = cell.firstChild;
    if (!text || text.nodeType !== 3) continue;
    const re = /\\S+/g;
    let m;
    while ((m = re.exec(text.data))) {
      const range = document.createRange();
      range.setStart(text, m.index);
      range.setEnd(text, m.index + m[0].length);
      const tops = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
      if (tops.size > 1) split.push(m[0]);
    }
  }
  return split;
}
"""


def test_at_460_px_tables_scroll_and_only_long_prose_tokens_break(
    lab_page: Any, artifacts: Path
) -> None:
    page = lab_page
    index = run_new_cell(page, WIDE)
    wait_for_state(page, index, "Completed")
    widget = widget_at(page, index)
    # The view's element, as wide as a narrow notebook column (or a side-by-side panel).
    widget.evaluate("(el) => { el.parentElement.style.width = '460px'; }")
    page.wait_for_timeout(300)
    widget.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "narrow-460.png"))
    assert 440 <= widget.evaluate("(el) => el.clientWidth") <= 460
    assert widget.evaluate(SPLIT_TOKENS) == [], "no table cell splits a token"
    table = widget.locator(".anb-answer table")
    assert table.evaluate("(t) => t.scrollWidth > t.clientWidth + 20"), "the table scrolls"
    answer = widget.locator(".anb-answer")
    assert answer.evaluate("(a) => a.scrollWidth <= a.clientWidth + 1"), "prose fits"
    paragraph = answer.locator("p", has_text="A long link").first
    lines = paragraph.evaluate(
        "(p) => Math.round(p.getBoundingClientRect().height / parseFloat(getComputedStyle(p).lineHeight))"
    )
    assert lines >= 3, "the long tokens wrap"


# ---- a long answer in chunks ------------------------------------------------------------

LONG_ANSWER = """long = Run(agent="echo", message="A long answer")
long.apply(TextDelta(delta="\\n\\n".join(f"Paragraph {i}: " + "some words " * 20 for i in range(200)),
                     received_at=time.time()))
long.apply(RunCompleted(received_at=time.time()))
agentnb.show(long)"""
CHUNKS = """
(answer) => Array.from(answer.children, (chunk) => ({
  chunk: chunk.classList.contains("anb-md-chunk"),
  blocks: chunk.childElementCount,
  visibility: getComputedStyle(chunk).contentVisibility,
  placeholder: chunk.style.getPropertyValue("contain-intrinsic-block-size"),
}))
"""
SKIPPED = """
(answer) => answer.querySelector("p").checkVisibility({ contentVisibilityAuto: true })
"""
SELECTED = """
(answer) => {
  const range = document.createRange();
  range.selectNodeContents(answer);
  getSelection().removeAllRanges();
  getSelection().addRange(range);
  const text = getSelection().toString();
  getSelection().removeAllRanges();
  return text;
}
"""


def test_a_long_answer_is_grouped_in_chunks_skipped_off_screen_yet_found_and_copied(
    lab_page: Any, artifacts: Path
) -> None:
    page = lab_page
    index = run_new_cell(page, LONG_ANSWER)
    wait_for_state(page, index, "Completed")
    answer = cell_at(page, index).locator(".anb-answer")
    page.wait_for_function(
        "(a) => a.querySelectorAll('.anb-md-closed').length === 6", arg=answer.element_handle()
    )
    answer.locator(".anb-md-chunk").last.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    chunks = answer.evaluate(CHUNKS)
    assert [c["blocks"] for c in chunks] == [32] * 6 + [8], "200 blocks in chunks of 32"
    assert all(c["chunk"] for c in chunks)
    assert [c["visibility"] for c in chunks] == ["auto"] * 6 + ["visible"], "the last stays open"
    assert all(c["placeholder"].startswith("auto ") for c in chunks[:6]), chunks
    assert answer.evaluate(SKIPPED) is False, "the browser skips the first chunk off screen"
    # All the text stays in the DOM (innerText, which follows rendering, leaves skipped chunks
    # out), and a selection of the whole answer (what Ctrl-C copies) has every block.
    text = answer.evaluate("(a) => a.textContent")
    assert "Paragraph 0: some words" in text and "Paragraph 199: some words" in text
    selected = answer.evaluate(SELECTED)
    assert all(f"Paragraph {i}: some words" in selected for i in (0, 31, 32, 199)), selected[:200]
    # Find in page (Chromium's window.find searches as Ctrl-F does) reaches a skipped chunk.
    assert page.evaluate("() => { getSelection().removeAllRanges(); return find('Paragraph 3: ') }")
    found = page.evaluate(
        "() => Boolean(getSelection().anchorNode?.parentElement?.closest('.anb-md-closed'))"
    )
    assert found, "the match is in the first, closed chunk"
    page.screenshot(path=str(artifacts / "long-answer-chunks.png"))
    assert widget_errors(page.errors) == []
