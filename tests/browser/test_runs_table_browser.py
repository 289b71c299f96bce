"""The run table to browse (``agentnb.runs()`` / ``agentnb.browse()`` in a notebook) in a real
JupyterLab on Debian's Chromium, over a history of 3,000 runs in a real SQLite file: a click
on a header sorts (the kernel answers the page), typing in the search box searches (and
Shift+Enter, ``a``, ``b`` there neither run nor insert cells), Next pages forward, two
selected rows compare below the table and one opens as a chat cell; Python reads the
selection; light and dark themes read at 4.5:1; a notebook saved and reopened without its
kernel shows the static table and no widget error, and so does nbconvert's HTML of it; in
Notebook 7 too a search keeps its keys and a run opens below the table. Screenshots go to
test-artifacts/ (runs-table-*.png); how the table fits a notebook's width:
test_runs_table_fit_browser.py. A search typed in a
``runs(limit=60)`` table finds a run older than the 60 it shows (the history is searched),
and ``runs(provider="acp")`` shows every coding agent's runs, whatever their connection's
name, and no other.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import history_records
from notebook_pages import (
    CONTRASTS,
    NOTEBOOK_STATE,
    PATIENCE_MS,
    SHUTDOWN_KERNEL,
    STATIC_COPY,
    THEMES,
    WIDGET_APPS,
    cell_at,
    nbconvert,
    notebook_page,
    open_notebook_at,
    run_and_wait,
    scroll_to,
    set_theme,
    url_of,
    widget_errors,
)

from agentnb.history import HistoryStore

pytestmark = pytest.mark.browser

COUNT = 3000
NVDA = COUNT // 6
"""Runs whose question names NVDA (every sixth)."""
CODERS = {0: ("claude", "claude-code"), 1: ("codex", "codex")}
"""In ``coders_history``, run ``i``'s connection and agent when it is a coding agent's."""

# The texts of one column of the live table, by its head's title.
COLUMN = """
(root, title) => {
  const heads = [...root.querySelectorAll("thead tr:first-child th")]
    .map((th) => th.textContent.replace(/ [▲▼]$/, ""));
  const i = heads.indexOf(title);
  return [...root.querySelectorAll("tbody tr")].map((tr) => tr.cells[i].textContent);
}
"""


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("browse") / "history.sqlite3"
    with HistoryStore(path) as store:
        store.import_records(history_records(COUNT))
    return path


@pytest.fixture(scope="module")
def coders_history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """100 runs, every tenth a coding agent's (ACP), on connections named two ways."""
    path = tmp_path_factory.mktemp("coders") / "history.sqlite3"
    records = [
        dataclasses.replace(record, provider="acp", connection=CODERS[i // 10 % 2][0],
                            agent=CODERS[i // 10 % 2][1])
        if i % 10 == 0 else record
        for i, record in enumerate(history_records(100))
    ]  # fmt: skip
    with HistoryStore(path) as store:
        store.import_records(records)
    return path


def cells_for(history_file: Path) -> list[str]:
    return [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history_file)!r}\nimport agentnb",
        "table = agentnb.browse()\ntable",
        "print(table.selected.local_ids)",
    ]


def range_text(view: Any) -> str:
    text: str = view.locator(".anb-runs-range").inner_text()
    return text


def wait_for_range(page: Any, view: Any, text: str) -> None:
    page.wait_for_function(
        "([el, text]) => el.querySelector('.anb-runs-range').textContent === text",
        arg=[view.element_handle(), text],
        timeout=PATIENCE_MS,
    )


def column(view: Any, title: str) -> list[str]:
    texts: list[str] = view.evaluate(COLUMN, title)
    return texts


@pytest.fixture(scope="module")
def lab_page(browser: Any, jupyterlab: Any, history_file: Path) -> Iterator[Any]:
    cells = cells_for(history_file)
    with notebook_page(browser, jupyterlab, "browse.ipynb", cells, run_first=2) as page:
        yield page


def the_view(page: Any) -> Any:
    view = cell_at(page, 1).locator(".agentnb-runs-view")
    view.locator("tbody tr").nth(19).wait_for()
    return view


def details_of(view: Any, row: int) -> dict[str, str]:
    """What row ``row``'s details (its ▸) say, by title; the details are closed again."""
    toggle = view.locator("tbody tr[data-id]").nth(row).locator(".anb-runs-more")
    toggle.click()
    shown = view.locator("tbody tr.anb-runs-detail")
    shown.wait_for()
    said: dict[str, str] = view.evaluate(
        """(root) => Object.fromEntries([...root.querySelectorAll("tr.anb-runs-detail dt")]
             .map((dt) => [dt.textContent, dt.nextElementSibling.textContent]))"""
    )
    view.locator("tbody tr[data-id]").nth(row).locator(".anb-runs-more").click()
    return said


def test_the_table_shows_a_page_and_hides_the_static_table(lab_page: Any, artifacts: Path) -> None:
    page = lab_page
    set_theme(page, "JupyterLab Light")
    view = the_view(page)
    assert view.locator("tbody tr").count() == 20
    assert range_text(view) == f"1–20 of {COUNT:,}"
    assert view.locator(".anb-runs-title").inner_text().startswith(f"RunHistory: {COUNT:,} runs")
    static = cell_at(page, 1).locator(".agentnb-static")
    assert static.count() == 1 and not static.is_visible(), "the live view hides the copy"
    assert details_of(view, 0)["run"] == "run_000000", "latest first"
    assert details_of(view, 1)["run"] == "run_000001"
    view.screenshot(path=str(artifacts / "runs-table-light.png"))


def test_clicking_a_header_sorts_in_the_kernel(lab_page: Any, artifacts: Path) -> None:
    page = lab_page
    view = the_view(page)
    cost = view.locator("thead button.anb-runs-sort", has_text="cost")
    cost.click()
    page.wait_for_function(
        "(el) => el.querySelector('th[aria-sort=ascending]')", arg=view.element_handle()
    )
    page.wait_for_function(
        "(el) => !el.querySelector('.anb-runs-status').textContent", arg=view.element_handle()
    )
    up = column(view, "cost")
    assert "" not in up, "going up, the cheapest priced runs come first, the unpriced last"
    assert [float(t.lstrip("$")) for t in up] == sorted(float(t.lstrip("$")) for t in up)
    cost.click()
    page.wait_for_function(
        "(el) => el.querySelector('th[aria-sort=descending]')", arg=view.element_handle()
    )
    page.wait_for_function(
        "(el) => !el.querySelector('.anb-runs-status').textContent", arg=view.element_handle()
    )
    costs = [float(text.lstrip("$")) for text in column(view, "cost")]
    assert costs == sorted(costs, reverse=True) and len(costs) == 20
    view.screenshot(path=str(artifacts / "runs-table-sorted.png"))
    cost.click()  # a third time: the table's own order again
    page.wait_for_function(
        "(el) => !el.querySelector('th[aria-sort=descending], th[aria-sort=ascending]')",
        arg=view.element_handle(),
    )


def test_typing_in_the_search_box_searches_and_keeps_the_keys(
    lab_page: Any, artifacts: Path
) -> None:
    page = lab_page
    view = the_view(page)
    before = page.evaluate(NOTEBOOK_STATE, 1)
    box = view.locator(".anb-runs-search")
    box.click()
    box.type("NVDA")
    wait_for_range(page, view, f"1–20 of {NVDA:,}")
    assert "match" in view.locator("thead").inner_text()
    assert all("«NVDA»" in text for text in column(view, "match"))
    for key in ["Shift+Enter", "a", "b", "d", "d", "Enter"]:  # (Esc empties a search box)
        box.press(key)
    assert page.evaluate(NOTEBOOK_STATE, 1) == before, "no shortcut of the notebook ran"
    assert box.input_value() == "NVDAabdd"
    wait_for_range(page, view, "0 runs")
    assert view.locator(".anb-runs-empty").inner_text() == "No runs match."
    for _ in range(4):
        box.press("Backspace")
    wait_for_range(page, view, f"1–20 of {NVDA:,}")
    view.locator(".anb-runs-next").click()
    wait_for_range(page, view, f"21–40 of {NVDA:,}")
    filter_box = view.locator("input.anb-runs-filter[data-column='agent']")
    filter_box.click()
    filter_box.type("fin")
    for key in ["Shift+Enter", "a", "b"]:
        filter_box.press(key)
    assert page.evaluate(NOTEBOOK_STATE, 1) == before
    for _ in range(2):
        filter_box.press("Backspace")
    wait_for_range(page, view, f"1–20 of {NVDA // 2:,}")
    assert set(column(view, "agent")) == {"finance_agent"}
    view.screenshot(path=str(artifacts / "runs-table-searched.png"))
    assert page.evaluate(NOTEBOOK_STATE, 1) == before


def test_two_selected_rows_compare_and_one_opens_below(lab_page: Any, artifacts: Path) -> None:
    page = lab_page
    view = the_view(page)
    compare = view.locator(".anb-runs-compare")
    open_ = view.locator(".anb-runs-open")
    rows = view.locator("tbody tr")
    picked = [rows.nth(i).get_attribute("data-id") for i in (0, 1)]
    assert compare.is_disabled() and open_.is_disabled()
    rows.nth(0).click()
    assert open_.is_enabled() and compare.is_disabled()
    rows.nth(1).locator("input[type=checkbox]").press("Space")  # from the keyboard too
    assert compare.is_enabled() and open_.is_disabled()
    assert view.locator(".anb-runs-selected").inner_text() == "2 selected"
    compare.click()
    comparison = cell_at(page, 1).locator(".agentnb-compare")
    comparison.wait_for()
    assert "NVDA" in comparison.inner_text()
    comparison.scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "runs-table-compared.png"))

    run_and_wait(page, 2)
    printed = cell_at(page, 2).locator(".jp-OutputArea-output").inner_text()
    assert printed.strip() == str(picked)

    view.locator(".anb-runs-clear").click()
    rows.nth(0).click()
    open_.click()
    chat = cell_at(page, 1).locator(".agentnb .anb-message")
    chat.wait_for()
    assert comparison.count() == 0, "the opened run took the comparison's place"
    question = column(view, "message")[0]
    assert chat.first.inner_text().strip() == question
    scroll_to(chat.first)
    page.screenshot(path=str(artifacts / "runs-table-opened.png"))
    assert widget_errors(page.errors) == []


@pytest.mark.parametrize("theme", THEMES)
def test_the_table_reads_in_light_and_dark(lab_page: Any, theme: str, artifacts: Path) -> None:
    page = lab_page
    set_theme(page, theme)
    view = the_view(page)
    view.scroll_into_view_if_needed()
    view.screenshot(path=str(artifacts / f"runs-table-{theme.split()[-1].lower()}.png"))
    low = [t for t in view.evaluate(CONTRASTS) if t["ratio"] < 4.5]
    assert low == [], "\n".join(
        f"{t['what']} {t['text']!r} {t['ratio']:.2f} fg={t['fg']} bg={t['bg']}" for t in low
    )
    set_theme(page, "JupyterLab Light")


def test_a_reopened_notebook_shows_the_static_table(
    browser: Any, jupyterlab: Any, history_file: Path, artifacts: Path, tmp_path: Path
) -> None:
    name = "browse-reopened.ipynb"
    cells = cells_for(history_file)[:2]
    with notebook_page(browser, jupyterlab, name, cells, run_first=2) as page:
        the_view(page)
        # the static form is the cell's second output: the save must hold it
        page.wait_for_function(
            STATIC_COPY, arg=[1, 'class="agentnb-runs-table"'], timeout=PATIENCE_MS
        )
        page.evaluate(SHUTDOWN_KERNEL)
        open_notebook_at(page, url_of(jupyterlab, "jupyterlab", name))
        static = cell_at(page, 1).locator(".agentnb-static .agentnb-runs-table")
        # the widget manager gives up on the missing model after a few seconds
        page.wait_for_function(
            """() => [...document.querySelectorAll(".jp-OutputArea-output:not([data-mime-type])")]
                 .some((el) => el.textContent.startsWith("Error"))""",
            timeout=PATIENCE_MS,
        )
        static.wait_for(timeout=PATIENCE_MS)
        assert static.is_visible()
        assert static.locator("tbody tr").count() == 20
        # the live table's columns, not every column with the ids: it does not scroll
        heads = static.locator("thead th").all_inner_texts()
        assert heads == ["started", "agent", "status", "message", "model", "cost"], heads
        box = cell_at(page, 1).locator(".agentnb-static .agentnb-runs")
        assert box.evaluate("(el) => el.scrollWidth <= el.clientWidth + 1")
        text = page.locator(".jp-Notebook").inner_text()
        assert "Error displaying widget" not in text, text[:2000]
        cell_at(page, 1).scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "runs-table-reopened.png"))
        assert widget_errors(page.errors) == []
    out = tmp_path / "export"
    nbconvert("--to", "html", "--output-dir", str(out), str(jupyterlab.root / name))
    exported = (out / name.replace(".ipynb", ".html")).read_text()
    assert 'class="agentnb-runs-table"' in exported and "Question 19: how did AMD" in exported


def test_in_notebook_7_a_selected_run_opens_below_the_table(
    browser: Any, notebook7: Any, history_file: Path, artifacts: Path
) -> None:
    name = "browse-seven.ipynb"
    cells = cells_for(history_file)[:2]
    with notebook_page(browser, notebook7, name, cells, app="notebook7", run_first=2) as page:
        view = the_view(page)
        before = page.evaluate(NOTEBOOK_STATE, 1)
        box = view.locator(".anb-runs-search")
        box.click()
        box.type("TSLA")
        box.press("Shift+Enter")
        wait_for_range(page, view, f"1–20 of {COUNT // 6:,}")
        assert page.evaluate(NOTEBOOK_STATE, 1) == before, "Shift+Enter ran no cell"
        view.locator("tbody tr").nth(0).click()
        view.locator(".anb-runs-open").click()
        chat = cell_at(page, 1).locator(".agentnb .anb-message")
        chat.wait_for()
        assert "TSLA" in chat.inner_text()
        scroll_to(chat)
        page.screenshot(path=str(artifacts / "runs-table-notebook7.png"))
        assert widget_errors(page.errors) == []


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_a_limited_tables_search_finds_runs_older_than_those_shown(
    app: str, browser: Any, history_file: Path, artifacts: Path, jupyter: Any
) -> None:
    """``runs(limit=60)`` shows the 60 latest runs; "2999" typed in its search box finds the
    oldest run of the history (run 2999, 50 hours back), not "No runs match." as a search of
    the rows shown would."""
    cells = [cells_for(history_file)[0], "agentnb.runs(limit=60)"]
    name = f"browse-limited-{app}.ipynb"
    with notebook_page(browser, jupyter, name, cells, app=app,
                       run_first=2) as page:  # fmt: skip
        view = the_view(page)
        wait_for_range(page, view, "1–20 of 60")
        box = view.locator(".anb-runs-search")
        box.click()
        box.type("2999")
        wait_for_range(page, view, "1–1 of 1")
        rows = view.locator("tbody tr[data-id]")
        assert rows.count() == 1
        assert "Question 2999: how did" in rows.first.inner_text()
        assert view.locator(".anb-runs-empty").count() == 0
        view.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"runs-table-limited-search-{app}.png"))
        assert widget_errors(page.errors) == []


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_runs_of_the_acp_dialect_are_every_coding_agents_runs(
    app: str, browser: Any, coders_history: Path, artifacts: Path, jupyter: Any
) -> None:
    cells = [cells_for(coders_history)[0], 'agentnb.runs(provider="acp")']
    name = f"browse-acp-{app}.ipynb"
    with notebook_page(browser, jupyter, name, cells, app=app,
                       run_first=2) as page:  # fmt: skip
        view = cell_at(page, 1).locator(".agentnb-runs-view")
        view.locator("tbody tr").first.wait_for()
        wait_for_range(page, view, "1–10 of 10")
        assert column(view, "agent") == ["claude-code", "codex"] * 5
        view.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / f"runs-table-acp-{app}.png"))
        assert widget_errors(page.errors) == []
