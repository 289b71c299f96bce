"""The run table at 1280×800 in JupyterLab and Notebook 7, light and dark, over a history of
3,000 runs: it fits its output with the columns a person scans (no sideways scrolling, no
figure cut short), a search keeps it and its note boxes inside the output (a found run's tiny
cost included), a click anywhere on a head cell sorts, ticking a row moves nothing, a row's ▸
shows its ids, and a column chosen in Columns stays chosen in the next table (a Jupyter
server of this module's own: the browsing tests' pages and workspace stay apart).
Screenshots: test-artifacts/runs-table-fit-*.png, runs-table-search-*.png,
runs-table-columns-*.png."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import history_records
from notebook_pages import (
    APPS,
    CONTRASTS,
    THEMES,
    cell_at,
    notebook_page,
    run_and_wait,
    set_theme,
    widget_errors,
)

from agentnb._history import RunRecord
from agentnb._history._records import RUN_COLUMNS
from agentnb.history import HistoryStore

pytestmark = pytest.mark.browser

COUNT = 3000


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fit") / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records([*history_records(COUNT), demo_record(), tiny_cost_record()])
    return path


DEMO_ANSWER = (
    "### Demo quotes\n\n| Ticker | Price | Week ago |\n|:--|--:|--:|\n"
    "| **NVDA** | $875.40 | $855.60 |\n\nNVDA rose on the week while the broader index "
    "stayed flat; the zyxquote desk expects more of the same."
)


def demo_record() -> RunRecord:
    """The newest run: a markdown answer to search, and a cost too small for cents."""
    row = {
        "local_id": "demo-run",
        "run_id": "run_demo",
        "thread_id": "thread_demo",
        "agent": "finance_agent",
        "status": "completed",
        "message": "Quote NVDA",
        "answer": DEMO_ANSWER,
        "started_at": time.time() + 60,
        "duration": 1.5,
        "cost_usd": 0.0000726,
        "cost_source": "genai-prices",
        "model": "claude-haiku-4-5",
    }
    return RunRecord.from_row(tuple(row.get(name) for name, _ in RUN_COLUMNS))


def tiny_cost_record() -> RunRecord:
    """A run of a month ago (on no page of the table before a search) that the demo run's
    search finds: its cost of a few millionths of a dollar is the widest figure of that page."""
    row = {
        "local_id": "tiny-cost-run",
        "run_id": "run_tiny",
        "thread_id": "thread_tiny",
        "agent": "finance_agent",
        "status": "completed",
        "message": "Quote AMD",
        "answer": "AMD held its price; the zyxquote desk sees no change.",
        "started_at": time.time() - 30 * 86400,
        "duration": 0.4,
        "cost_usd": 0.00000726,
        "cost_source": "genai-prices",
        "model": "gemini-2.0-flash-lite",
    }
    return RunRecord.from_row(tuple(row.get(name) for name, _ in RUN_COLUMNS))


def cells_for(history_file: Path) -> list[str]:
    return [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history_file)!r}\nimport agentnb",
        "table = agentnb.browse()\ntable",
    ]


def the_view(page: Any) -> Any:
    view = cell_at(page, 1).locator(".agentnb-runs-view")
    view.locator("tbody tr").nth(19).wait_for()
    return view


def details_of(view: Any, row: int) -> dict[str, str]:
    """What row ``row``'s details (its ▸) say, by title; the details are closed again."""
    toggle = view.locator("tbody tr[data-id]").nth(row).locator(".anb-runs-more")
    toggle.click()
    view.locator("tbody tr.anb-runs-detail").wait_for()
    said: dict[str, str] = view.evaluate(
        """(root) => Object.fromEntries([...root.querySelectorAll("tr.anb-runs-detail dt")]
             .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))"""
    )
    view.locator("tbody tr[data-id]").nth(row).locator(".anb-runs-more").click()
    return said


SCANNED = ["started", "agent", "status", "message", "model", "cost"]
FITS = """
(view) => {
  const output = view.closest(".jp-OutputArea-output");
  const table = view.querySelector(".anb-runs-table");
  const room = output.getBoundingClientRect();
  const heads = [...table.querySelectorAll("thead tr:first-child th[data-column]")];
  return {
    heads: heads.map((th) => th.dataset.column),
    outside: heads.filter((th) => th.getBoundingClientRect().right > room.right + 1)
      .map((th) => th.dataset.column),
    table: table.getBoundingClientRect().width, room: room.width,
    scrolls: view.querySelector(".anb-runs-scroll").scrollWidth
      > view.querySelector(".anb-runs-scroll").clientWidth + 1,
    outputScrolls: output.scrollWidth > output.clientWidth + 1,
    // figures are never cut short (an ellipsis on a cost or a time)
    cut: heads.flatMap((th) => ["started", "status", "cost", "tokens"].includes(th.dataset.column)
      ? [...table.querySelectorAll(`tbody tr[data-id] td:nth-child(${th.cellIndex + 1})`)]
          .filter((td) => td.scrollWidth > td.clientWidth + 1).map((td) => td.textContent)
      : []),
  };
}
"""
WHERE = """
(view) => {
  const box = view.querySelector(".anb-runs-table").getBoundingClientRect();
  return [box.x, box.y, box.width, box.height];
}
"""


@pytest.fixture(scope="module", params=APPS)
def narrow_page(request: pytest.FixtureRequest, browser: Any, history_file: Path) -> Iterator[Any]:
    server = request.getfixturevalue(request.param)
    cells = cells_for(history_file)
    with notebook_page(
        browser, server, "browse-fit.ipynb", cells, app=request.param, run_first=2, height=800
    ) as page:
        page.app = request.param
        page.evaluate("() => localStorage.removeItem('agentnb.runs-table.columns')")
        yield page


@pytest.mark.parametrize("theme", THEMES)
def test_at_1280_by_800_the_table_fits_its_output_with_the_scanned_columns(
    narrow_page: Any, theme: str, artifacts: Path
) -> None:
    page = narrow_page
    set_theme(page, theme)
    view = the_view(page)
    view.scroll_into_view_if_needed()
    fits = view.evaluate(FITS)
    assert fits["heads"] == SCANNED, fits
    assert fits["outside"] == [] and not fits["scrolls"] and not fits["outputScrolls"], fits
    assert fits["cut"] == [], fits
    assert fits["table"] <= fits["room"] + 1, fits
    shade = theme.split()[-1].lower()
    page.screenshot(path=str(artifacts / f"runs-table-fit-{page.app}-{shade}.png"))
    low = [t for t in view.evaluate(CONTRASTS) if t["ratio"] < 4.5]
    assert low == [], "\n".join(f"{t['what']} {t['text']!r} {t['ratio']:.2f}" for t in low)

    # A row's ▸ shows what the table leaves out: its ids and thread.
    said = details_of(view, 0)
    assert said["run"].startswith("run_") and "thread" in said, said

    # Ticking a row's box moves nothing (the table, the page).
    scroller = "document.querySelector('.jp-WindowedPanel-outer, #main-panel .jp-Notebook')"
    before = view.evaluate(WHERE), page.evaluate(f"() => {scroller}.scrollTop")
    view.locator("tbody tr[data-id]").nth(2).locator("input[type=checkbox]").click()
    assert view.locator(".anb-runs-selected").inner_text() == "1 selected"
    page.wait_for_timeout(300)
    after = view.evaluate(WHERE), page.evaluate(f"() => {scroller}.scrollTop")
    assert after == before, (before, after)
    view.locator(".anb-runs-clear").click()
    assert widget_errors(page.errors) == []


MATCH = """
(view) => {
  const table = view.querySelector(".anb-runs-table");
  const room = view.closest(".jp-OutputArea-output").getBoundingClientRect();
  const index = [...table.querySelectorAll("thead tr:first-child th")]
    .findIndex((th) => th.dataset.column === "match");
  const cell = table.querySelector(`tbody tr[data-id] td:nth-child(${index + 1})`);
  const text = cell.firstChild;
  const at = text.data.indexOf("«zyxquote»");
  const range = document.createRange();
  range.setStart(text, at);
  range.setEnd(text, at + "«zyxquote»".length);
  const word = range.getBoundingClientRect(), box = cell.getBoundingClientRect();
  const verdict = [...table.querySelectorAll("thead tr:first-child th")].at(-1);
  return {
    text: text.data, shown: at >= 0 && word.right <= box.right,
    verdictInView: verdict.getBoundingClientRect().right <= room.right + 1,
  };
}
"""


PAST_THE_EDGE = """
(view) => {
  const output = view.closest(".jp-OutputArea-output");
  const edge = output.getBoundingClientRect().right + 1;
  const name = (el) => `${el.tagName.toLowerCase()}.${String(el.className).replace(/ /g, ".")}`;
  const shown = [output, ...output.querySelectorAll("*")].filter((el) => el.checkVisibility());
  // a cell's text cut short with an ellipsis (overflow hidden) is meant; nothing else scrolls
  const cut = (el) => /hidden|clip/.test(getComputedStyle(el).overflowX);
  return {
    scrolls: shown.filter((el) => el.scrollWidth > el.clientWidth + 1 && !cut(el)).map(name),
    past: shown.filter((el) => el.getBoundingClientRect().right > edge).map(name),
    notes: [...view.querySelectorAll(".anb-runs-note")].map((note) => note.checkVisibility()
      && note.getBoundingClientRect().right <= edge),
  };
}
"""
"""What of the table's output scrolls sideways or reaches past its right edge, and whether
each note box is inside it."""


@pytest.mark.parametrize("theme", THEMES)
def test_a_search_shows_the_words_around_the_match_and_keeps_cost_and_verdict_in_view(
    narrow_page: Any, theme: str, artifacts: Path
) -> None:
    page = narrow_page
    set_theme(page, theme)
    view = the_view(page)
    assert "$0.0000726" in view.locator("tbody tr[data-id]").first.inner_text()
    assert view.evaluate(FITS)["cut"] == []  # the small cost whole, never $0.0000…
    box = view.locator(".anb-runs-search")
    box.fill("zyxquote")
    page.wait_for_function(
        "(el) => el.querySelector('.anb-runs-range').textContent === '1–2 of 2'",
        arg=view.element_handle(),
    )
    view.scroll_into_view_if_needed()
    fits, match, edge = view.evaluate(FITS), view.evaluate(MATCH), view.evaluate(PAST_THE_EDGE)
    shade = theme.split()[-1].lower()
    page.screenshot(path=str(artifacts / f"runs-table-search-{page.app}-{shade}.png"))
    assert "$0.00000726" in column_texts(view, "cost"), "the found run's tiny cost, whole"
    assert fits["heads"] == ["started", "agent", "status", "message", "match", "cost"]
    assert fits["outside"] == [] and not fits["scrolls"] and fits["cut"] == [], fits
    assert edge == {"scrolls": [], "past": [], "notes": [True, True]}, edge
    assert match["shown"] and match["verdictInView"], match
    for syntax in ("###", "|", "**", ":--"):
        assert syntax not in match["text"], match
    box.fill("")
    view.locator("tbody tr").nth(19).wait_for()
    assert widget_errors(page.errors) == []


def column_texts(view: Any, title: str) -> list[str]:
    texts: list[str] = view.evaluate(
        """(root, title) => {
          const heads = [...root.querySelectorAll("thead tr:first-child th")];
          const i = heads.findIndex((th) => th.dataset.column === title);
          return [...root.querySelectorAll("tbody tr[data-id]")].map((tr) => tr.cells[i].textContent);
        }""",
        title,
    )
    return texts


SORTED_BY = """
([el, column, state]) => {
  const sorted = [...el.querySelectorAll("thead th[aria-sort]")]
    .filter((th) => th.getAttribute("aria-sort") !== "none").map((th) => th.dataset.column);
  const th = el.querySelector(`thead th[data-column=${column}]`);
  return th.getAttribute("aria-sort") === state
    && (state === "none" ? sorted.length === 0 : sorted.join() === column);
}
"""
"""Whether the head says the table is sorted by ``column`` in ``state`` (none: by nothing)."""


def test_a_click_anywhere_on_a_head_cell_sorts(narrow_page: Any) -> None:
    """Each click lands past the head's word, where the cell was when the table was last
    drawn: the columns' widths follow each page's figures, so a sorted page may move them
    (clicking where the cell used to be sorted another column on a loaded machine)."""
    page = narrow_page
    view = the_view(page)
    for state in ("ascending", "descending", "none"):  # up, down, the table's own order
        box = view.locator("thead th[data-column='agent']").bounding_box()
        page.mouse.click(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
        page.wait_for_function(SORTED_BY, arg=[view.element_handle(), "agent", state])


def test_a_click_held_while_the_sorted_page_arrives_still_sorts(narrow_page: Any) -> None:
    """A person's second click on a head, pressed before the first click's page arrives and
    released after: the head drawn anew under the pointer lost it (the browser fires a
    click only where the button went down and came up on the same cell)."""
    page = narrow_page
    view = the_view(page)
    head = view.locator("thead th[data-column='agent']")
    box = head.bounding_box()
    page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] / 2)
    page.mouse.down()
    head.evaluate("(th) => th.click()")  # the first click: asks for the page sorted up
    page.wait_for_function(SORTED_BY, arg=[view.element_handle(), "agent", "ascending"])
    page.mouse.up()
    page.wait_for_function(SORTED_BY, arg=[view.element_handle(), "agent", "descending"])
    head.evaluate("(th) => th.click()")
    page.wait_for_function(SORTED_BY, arg=[view.element_handle(), "agent", "none"])


def test_a_column_chosen_is_kept_for_the_next_table(narrow_page: Any, artifacts: Path) -> None:
    page = narrow_page
    view = the_view(page)
    view.locator(".anb-runs-columns summary").click()
    view.locator(".anb-runs-choices input[data-column='tokens']").check()
    view.locator(".anb-runs-choices input[data-column='model']").uncheck()
    heads = ["started", "agent", "status", "message", "tokens", "cost"]
    assert view.evaluate(FITS)["heads"] == heads
    page.screenshot(path=str(artifacts / f"runs-table-columns-{page.app}.png"))
    run_and_wait(page, 1)  # the cell again: a new table
    view = the_view(page)
    fits = view.evaluate(FITS)
    assert fits["heads"] == heads and fits["outside"] == [] and not fits["scrolls"], fits
    assert fits["cut"] == [], fits
    page.evaluate("() => localStorage.removeItem('agentnb.runs-table.columns')")
