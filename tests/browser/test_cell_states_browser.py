"""Three states of a chat cell where a person meets them: JupyterLab in
Debian's Chromium at 1280x800, light and dark, live and reopened without a kernel. A run
asked of a misspelt agent fails: its banner says the platform's words first, wrapped at
words. A trade waits for approval, scrolled so that the turn's head is pinned over its
reasoning: the line the head's edge cuts is covered, in the colour behind the cell; the
head never covers the card that waits (it stops above it). Approved, the folded
card says who decided and when, and the tool's own time, without the wait. Measured by line
boxes, bounding boxes, pixels and contrast (WCAG AA); screenshots in
test-artifacts/states-*.png; one page load per app.
"""

from __future__ import annotations

import io
import itertools
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import (
    CONTRASTS,
    PAUSED,
    RUN_CELL,
    SHUTDOWN_KERNEL,
    THEMES,
    WIDGET_APPS,
    WORD_BREAKS,
    cell_at,
    notebook_page,
    open_notebook_at,
    run_and_wait,
    set_theme,
    url_of,
    wait_for_final_view,
    wait_for_state,
    widget_at,
    widget_errors,
)

from agentnb.server import ServerHandle

Image = pytest.importorskip("PIL.Image", reason="Pillow comes with matplotlib (the dev extra)")

pytestmark = pytest.mark.browser

SETUP, FAILED, TRADE, ROOM = 0, 1, 2, 3

BOXES = """
(root, selectors) => selectors.map((s) => {
  const el = root.querySelector(s);
  const r = el.getBoundingClientRect();
  return { s, top: r.top, bottom: r.bottom, left: r.left, right: r.right };
})
"""
SCROLL_TO = """
(cell, [selector, lines]) => {
  // Scroll so that a pinned head's lower edge would fall `lines` line heights into the first
  // element `selector` finds in the turn.
  const turn = cell.querySelector(".anb-turn");
  const head = turn.querySelector(".anb-head");
  const line = turn.querySelector(selector);
  let scroller = turn.parentElement;
  const scrolls = (el) => /(auto|scroll)/.test(getComputedStyle(el).overflowY)
    && el.scrollHeight > el.clientHeight + 1;
  while (scroller && !scrolls(scroller)) scroller = scroller.parentElement;
  const top = Math.max(0, scroller.getBoundingClientRect().top);
  const lineHeight = parseFloat(getComputedStyle(line).lineHeight);
  const target = line.getBoundingClientRect().top + lines * lineHeight;
  scroller.scrollTop += target - (top + head.getBoundingClientRect().height);
}
"""
COVERED_TO = """
(head) => {
  // How far down the head covers: its edge, and the band its ::after covers once pinned.
  const bottom = head.getBoundingClientRect().bottom;
  if (!head.classList.contains("anb-pinned")) return bottom;
  const after = getComputedStyle(head, "::after");
  return bottom - 1 + parseFloat(after.height);
}
"""
ABOVE_THE_CARD = ".anb-reasoning-summary"
"""A line above the trade's waiting card (and its price quote's card): its reasoning."""
WAITING_CARD = '.anb-tool[data-status="awaiting_approval"]'
CUT_LINES = """
(head) => {
  // The lines of the turn (the head left out) that the pinned head's lower edge cuts, and
  // the band under the edge that the head's ::after covers with an opaque colour.
  const turn = head.closest(".anb-turn");
  const box = head.getBoundingClientRect();
  const edge = box.bottom;
  const after = getComputedStyle(head, "::after");
  const from = box.top + parseFloat(after.top);
  // linear-gradient(LINE 1px, COLOUR 1px, COLOUR STOPpx, transparent): opaque down to STOP
  const stops = [...after.backgroundImage.matchAll(/([\\d.]+)px/g)].map((m) => parseFloat(m[1]));
  const opaqueBottom = from + Math.max(0, ...stops);
  const cut = [];
  const walker = document.createTreeWalker(turn, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (head.contains(node) || !node.textContent.trim()) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    for (const r of range.getClientRects()) {
      if (r.width > 0 && r.top < edge - 0.5 && r.bottom > edge + 0.5) {
        cut.push({ top: r.top, bottom: r.bottom, text: node.textContent.trim().slice(0, 30) });
      }
    }
  }
  return {
    pinned: head.classList.contains("anb-pinned"),
    edge, from, opaqueBottom, cut, left: box.left, right: box.right,
    headBackground: getComputedStyle(head).backgroundColor,
    fade: after.backgroundImage,
  };
}
"""
UNDER_THE_HEAD = """
(head) => {
  // The colour a person sees behind the turn: the first opaque background above it.
  for (let node = head.closest(".anb-turn"); node; node = node.parentElement) {
    const c = getComputedStyle(node).backgroundColor;
    if (c !== "rgba(0, 0, 0, 0)" && c !== "transparent") return c;
  }
  return "rgb(255, 255, 255)";
}
"""
NO_WIDGET_LOADING = """
() => ![...document.querySelectorAll(".jp-Notebook .jp-OutputArea-output")]
  .some((el) => el.textContent.startsWith("Loading widget"))
"""
"""The widget manager has given up on the saved views' models (no kernel holds them)."""
NEXT_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))"


def low_contrast(page: Any, root: Any) -> list[dict[str, Any]]:
    """Texts under ``root`` below WCAG AA (4.5:1; 3:1 for decorative glyphs)."""
    shown = root.evaluate(CONTRASTS)
    return [c for c in shown if c["ratio"] < (3 if c["decorative"] else 4.5)]


def shade(theme: str) -> str:
    return "dark" if "Dark" in theme else "light"


def seconds_shown(text: str) -> float:
    """``12 ms`` / ``1.4 s`` / ``1 min 3 s`` as seconds."""
    value = 0.0
    for number, unit in re.findall(r"([\d.]+)\s*(ms|s|min|h)\b", text):
        value += float(number) * {"ms": 0.001, "s": 1, "min": 60, "h": 3600}[unit]
    assert value or text.strip() in ("0 ms", "0 s"), text
    return value


def check_error_banner(page: Any, theme: str) -> None:
    banner = widget_at(page, FAILED).locator(".anb-error")
    assert banner.is_visible()
    message, code = (banner.locator(s) for s in (".anb-error-message", ".anb-error-code"))
    assert message.inner_text().startswith("unknown agent 'finance_agnet'; did you mean")
    assert code.inner_text() == "NotFoundError"
    boxes = banner.evaluate(BOXES, [".anb-error-message", ".anb-error-code"])
    assert boxes[0]["bottom"] <= boxes[1]["top"] + 0.5, f"the message comes first: {boxes}"
    assert boxes[0]["bottom"] - boxes[0]["top"] > 30, "a message long enough to wrap"
    assert banner.evaluate(WORD_BREAKS) == [], theme
    assert low_contrast(page, widget_at(page, FAILED)) == [], theme


def check_pinned_head(page: Any, app: str, theme: str, artifacts: Path) -> None:
    cell = cell_at(page, TRADE)
    head = cell.locator(".anb-head")
    cell.evaluate(SCROLL_TO, [ABOVE_THE_CARD, 0.5])
    page.wait_for_function("(el) => el.classList.contains('anb-pinned')", arg=head.element_handle())
    page.evaluate(NEXT_FRAMES)
    shown = head.evaluate(CUT_LINES)
    assert shown["pinned"] and shown["cut"], shown
    assert shown["from"] <= shown["edge"], f"the cover starts inside the head: {shown}"
    assert all(line["bottom"] <= shown["opaqueBottom"] for line in shown["cut"]), shown
    behind = head.evaluate(UNDER_THE_HEAD)
    assert shown["headBackground"] == behind, f"the pinned head is the page's colour: {shown}"
    assert f"{behind} 1px" in shown["fade"], shown
    # and on screen: every pixel row from the head's edge down to the fade is that colour
    top = math.ceil(shown["edge"])
    band = {
        "x": math.ceil(shown["left"]),
        "y": top,
        "width": math.floor(shown["right"]) - math.ceil(shown["left"]),
        "height": math.floor(shown["opaqueBottom"]) - top,
    }
    shot = Image.open(io.BytesIO(page.screenshot(clip=band))).convert("RGB")
    colours = {colour for _, colour in shot.getcolors(maxcolors=1 << 16)}
    expected = tuple(int(v) for v in re.findall(r"\d+", behind)[:3])
    assert colours == {expected}, f"only the page's colour under the head: {colours}"
    assert low_contrast(page, head) == [], theme
    page.screenshot(path=str(artifacts / f"states-pinned-{app}-{shade(theme)}.png"))


def check_waiting_card_clear(page: Any, app: str, theme: str, artifacts: Path) -> None:
    """Scrolled so that a pinned head would cover the waiting card's headline, or its call's
    second line, the head stops above the card: nothing covers a card waiting for a person."""
    cell = cell_at(page, TRADE)
    head, card = cell.locator(".anb-head"), cell.locator(WAITING_CARD)
    # the head's edge across the card's headline; across its call's second line
    places = [(WAITING_CARD, 0.7), (WAITING_CARD + " .anb-approval-call-text", 1.5)]
    for selector, lines in places:
        cell.evaluate(SCROLL_TO, [selector, lines])
        page.evaluate(NEXT_FRAMES)
        page.evaluate(NEXT_FRAMES)
        covered = head.evaluate(COVERED_TO)
        card_box = card.bounding_box()
        assert card_box is not None
        assert covered <= card_box["y"] + 0.5, (covered, card_box)
        if selector == WAITING_CARD:
            page.screenshot(path=str(artifacts / f"states-card-clear-{app}-{shade(theme)}.png"))


def check_decided_card(page: Any, app: str, theme: str, waited: float, artifacts: Path) -> None:
    card = widget_at(page, TRADE).locator(".anb-tool", has_text="place_trade")
    status = card.locator(".anb-tool-status").inner_text()
    assert re.fullmatch(r"succeeded · approved by you \d\d:\d\d:\d\d", status), status
    assert seconds_shown(card.locator(".anb-tool-duration").inner_text()) < waited
    parts = [".anb-tool-icon", ".anb-tool-name", ".anb-tool-status", ".anb-tool-duration"]
    boxes = card.locator(".anb-tool-head").evaluate(BOXES, parts)
    for left, right in itertools.pairwise(boxes):
        assert left["right"] <= right["left"] + 0.5, f"side by side, no overlap: {boxes}"
    tops = {round(b["top"] + (b["bottom"] - b["top"]) / 2) for b in boxes}
    assert max(tops) - min(tops) <= 2, f"one line: {boxes}"
    assert card.locator(".anb-tool-head").evaluate(WORD_BREAKS) == []
    assert low_contrast(page, widget_at(page, TRADE)) == [], theme
    card.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / f"states-decided-{app}-{shade(theme)}.png"))


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_error_banner_pinned_head_and_decided_card_read_in_every_theme(
    app: str,
    browser: Any,
    agent_server: ServerHandle,
    jupyter: Any,
    artifacts: Path,
) -> None:
    name = f"states_{app}.ipynb"
    cells = [
        "%load_ext agentnb\nimport agentnb\n"
        f'agentnb.connect("vercel", base_url="{agent_server.url_for("vercel")}", '
        f'api_key="{agent_server.api_key}", name="trading")',
        'typo = agentnb.ask("finance_agnet", "What is NVDA trading at?")',
        'buy = agentnb.ask("trader", "buy 10 NVDA", via="trading")',
        "\n".join(f"# room to scroll the trade's head away: {i}" for i in range(30)),
    ]
    with notebook_page(browser, jupyter, name, cells, app=app, height=800) as page:
        run_and_wait(page, FAILED)
        run_and_wait(page, ROOM)
        wait_for_state(page, FAILED, "Failed")
        page.evaluate(RUN_CELL, TRADE)
        wait_for_state(page, TRADE, PAUSED)
        paused_at = time.monotonic()
        for theme in THEMES:  # the second is switched to while the head is pinned
            set_theme(page, theme)
            check_pinned_head(page, app, theme, artifacts)
        check_waiting_card_clear(page, app, THEMES[-1], artifacts)
        for theme in reversed(THEMES):
            set_theme(page, theme)
            check_error_banner(page, theme)
            widget_at(page, FAILED).scroll_into_view_if_needed()
            page.screenshot(path=str(artifacts / f"states-error-{app}-{shade(theme)}.png"))

        card = cell_at(page, TRADE).locator('.anb-tool[data-status="awaiting_approval"]')
        card.get_by_role("button", name="Approve place_trade: let it run").click()
        waited = time.monotonic() - paused_at
        wait_for_state(page, TRADE, "Completed")
        wait_for_final_view(page, TRADE, "No real trade was made")
        for theme in THEMES:
            set_theme(page, theme)
            check_decided_card(page, app, theme, waited, artifacts)
        assert widget_errors(page.errors) == []  # type: ignore[attr-defined]

        page.evaluate(SHUTDOWN_KERNEL)
        open_notebook_at(page, url_of(jupyter, app, name))
        copies = page.locator(".jp-Notebook .agentnb-static")
        for index in (FAILED, TRADE):
            cell_at(page, index).locator(".agentnb-static").wait_for()
        assert copies.count() == 2
        page.wait_for_function(NO_WIDGET_LOADING)
        for theme in THEMES:
            set_theme(page, theme)
            check_reopened(page, app, theme, artifacts)


def check_reopened(page: Any, app: str, theme: str, artifacts: Path) -> None:
    failed = cell_at(page, FAILED).locator(".agentnb-static")
    alert = failed.get_by_role("alert")
    assert alert.inner_text().startswith("Error unknown agent 'finance_agnet'; did you mean")
    assert alert.evaluate(WORD_BREAKS) == []
    shown = page.locator(".jp-Notebook").inner_text()
    assert "model not found" not in shown and "Loading widget" not in shown
    trade = cell_at(page, TRADE).locator(".agentnb-static")
    text = trade.inner_text()
    assert re.search(r"place_trade succeeded · approved by you \d\d:\d\d:\d\d · \d", text), text
    for copy in (failed, trade):
        assert low_contrast(page, copy) == [], theme
    page.screenshot(path=str(artifacts / f"states-reopened-{app}-{shade(theme)}.png"))
