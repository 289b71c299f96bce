"""What an agent cell shows where its live widget cannot run, in Debian's Chromium.

A notebook executed and exported to HTML by a real ``jupyter nbconvert`` shows
every agent cell's answer, tool calls and status with the network blocked (the page can load
nothing but its own file); so do the committed notebooks exported as they are (GitHub shows
an output's ``text/html``, and ignores widget views). Reopened in JupyterLab, an executed
notebook renders its cells from the saved widget state (the static copy then stays hidden),
and a notebook saved without widget state shows the static copy.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import nbformat
import pytest
from agentnb_testing import PATIENCE_S, patient
from notebook_pages import (
    PATIENCE_MS,
    REOPENED,
    kernel_env,
    nbconvert,
    new_notebook,
    new_page,
    open_notebook_at,
    open_with_live_view,
    url_of,
    widget_errors,
)

from agentnb.server import ServerHandle

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
COMMITTED = sorted((ROOT / "notebooks").glob("*.ipynb"))
STATIC_CLASS = 'class="agentnb-static'
FINAL_STATUS = re.compile(r"<small>(completed|cancelled|failed|interrupted) · ")
CELLS = [
    "%load_ext agentnb",
    "%%agent finance_agent --wait\nWhat is NVDA trading at, and how did it move this week?",
    "%%agent echo\nHello from a cell that returns at once",
    f"print(_agent.wait({PATIENCE_S:g}).status)",
]
ECHO = "Hello from a cell that returns at once"


@pytest.fixture(scope="module")
def executed(agent_server: ServerHandle, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``CELLS`` written as a notebook, executed by nbconvert and the executed notebook
    exported to HTML; the directory holds ``agents.ipynb``, ``agents.executed.ipynb`` and
    ``agents.html``. (One run: the HTML exporter reads the outputs and widget state the run
    wrote, the same with ``--to html --execute`` in one step.)"""
    base = tmp_path_factory.mktemp("export")
    new_notebook(base / "agents.ipynb", CELLS)
    env = kernel_env(agent_server, base)
    nbconvert(
        "--to", "notebook", "--execute", "--output", "agents.executed.ipynb",
        str(base / "agents.ipynb"), env=env,
    )  # fmt: skip
    nbconvert("--to", "html", "--output", "agents", str(base / "agents.executed.ipynb"), env=env)
    return base


def trusted_copy(source: Path, lab: Any, name: str, *, widget_state: bool) -> None:
    """Put ``source`` in the Lab's folder as ``name``, signed, as JupyterLab signs a notebook
    it saves (an untrusted notebook never renders widget views); without ``widget_state``
    like JupyterLab saves by default."""
    notebook = nbformat.read(source, as_version=4)
    if not widget_state:
        notebook.metadata.pop("widgets")
    path = lab.root / name
    nbformat.write(notebook, path)
    # The server's notary: same user, same platform data directory.
    env = {**os.environ, "JUPYTER_PLATFORM_DIRS": "1"}
    trust = "from nbformat.sign import TrustNotebookApp; TrustNotebookApp.launch_instance()"
    done = subprocess.run(
        [sys.executable, "-c", trust, str(path)], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0 and "Signing notebook" in done.stdout, done.stdout + done.stderr


@pytest.fixture
def offline(browser: Any) -> Iterator[Any]:
    """A page that can load only file:// URLs: every other request is aborted."""
    context = patient(browser.new_context(viewport={"width": 1100, "height": 900}))
    blocked: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = patient(context.new_page(), PATIENCE_MS)
    page.blocked = blocked  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        context.close()


def visible_static_copies(page: Any) -> list[Any]:
    copies = page.locator(".agentnb-static")
    return [copies.nth(i) for i in range(copies.count()) if copies.nth(i).is_visible()]


def assert_shows_a_finished_run(copy: Any, *, answer: str, tool: str | None) -> None:
    assert copy.get_by_text(answer, exact=False).first.is_visible(), f"{answer!r} is visible"
    if tool is not None:
        card = copy.locator("details summary", has_text=tool).first
        assert card.is_visible(), f"the {tool} tool card is visible"
    status = copy.get_by_text("completed ·", exact=False).last
    assert status.is_visible(), "the status line is visible"
    assert "Running…" not in copy.inner_text()


def test_an_executed_export_shows_every_agent_cell_offline(
    executed: Path, offline: Any, artifacts: Path
) -> None:
    page = offline
    page.goto((executed / "agents.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(artifacts / "export-offline.png"), full_page=True)
    copies = visible_static_copies(page)
    assert len(copies) == 2, "both agent cells show their static copy"
    finance, echo = copies
    assert_shows_a_finished_run(finance, answer="trades at", tool="get_stock_price")
    assert finance.locator("table").count() >= 1
    assert_shows_a_finished_run(echo, answer=ECHO, tool=None)
    assert page.blocked, "the page did try the network (and got nothing)"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_the_committed_notebooks_show_their_agent_cells_offline(
    path: Path, offline: Any, tmp_path: Path, artifacts: Path
) -> None:
    outputs = [
        output
        for cell in json.loads(path.read_text())["cells"]
        for output in cell.get("outputs", [])
    ]
    static_outputs = [
        o for o in outputs if STATIC_CLASS in "".join(o.get("data", {}).get("text/html", ""))
    ]
    for output in static_outputs:
        # GitHub renders an output's text/html and ignores widget views.
        html = "".join(output["data"]["text/html"])
        if 'class="agentnb-runs"' in html:  # a run table's static copy (%agent_runs)
            assert "<tbody><tr>" in html, html[-300:]
            continue
        assert "Running…" not in html and FINAL_STATUS.search(html), html[-300:]
    nbconvert("--to", "html", "--output-dir", str(tmp_path), str(path))
    page = offline
    page.goto((tmp_path / f"{path.stem}.html").as_uri())
    page.wait_for_load_state("load")
    page.screenshot(path=str(artifacts / f"committed-{path.stem}-offline.png"), full_page=True)
    assert len(visible_static_copies(page)) == len(static_outputs)


def test_a_notebook_reopened_with_its_widget_state_renders_the_live_view(
    executed: Path, browser: Any, jupyterlab: Any, artifacts: Path
) -> None:
    trusted_copy(
        executed / "agents.executed.ipynb", jupyterlab, "with_state.ipynb", widget_state=True
    )
    context, page, errors = new_page(browser)
    try:
        url = url_of(jupyterlab, "jupyterlab", "with_state.ipynb")
        open_with_live_view(page, url, 1, ".agentnb .anb-answer")
        finance = page.locator(".jp-Notebook .jp-Cell").nth(1)
        assert "trades at" in finance.locator(".agentnb .anb-answer").inner_text()
        assert finance.locator(".agentnb .anb-tool").count() == 2
        assert finance.locator(".agentnb .anb-state").inner_text() == "Completed"
        assert not finance.locator(".agentnb-static").is_visible(), "no second copy"
        echo = page.locator(".jp-Notebook .jp-Cell").nth(2)
        echo.locator(".agentnb .anb-answer").wait_for()
        assert ECHO in echo.locator(".agentnb .anb-answer").inner_text()
        finance.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "reopened-with-state.png"))
        assert widget_errors(errors) == []
    finally:
        context.close()


def test_a_notebook_reopened_without_widget_state_shows_the_static_copy(
    executed: Path, browser: Any, jupyterlab: Any, artifacts: Path
) -> None:
    trusted_copy(
        executed / "agents.executed.ipynb", jupyterlab, "without_state.ipynb", widget_state=False
    )
    context, page, errors = new_page(browser)
    try:
        open_notebook_at(page, url_of(jupyterlab, "jupyterlab", "without_state.ipynb"))
        page.locator(".agentnb-static >> visible=true").first.wait_for(timeout=PATIENCE_MS)
        page.wait_for_function(REOPENED)  # the widget manager gives up on the missing models
        page.screenshot(path=str(artifacts / "reopened-without-state.png"))
        copies = visible_static_copies(page)
        assert len(copies) == 2
        assert_shows_a_finished_run(copies[0], answer="trades at", tool="get_stock_price")
        assert_shows_a_finished_run(copies[1], answer=ECHO, tool=None)
        assert widget_errors(errors) == []
    finally:
        context.close()


# ---- GitHub ---------------------------------------------------------------------------------
# GitHub renders a notebook with nbconvert and sanitizes the HTML: no script runs and no
# stylesheet applies (<style> goes with its text: pandas' styled tables show as plain tables
# there), and only an allowlist of elements and attributes stays, with no class, id or style.
# GITHUB_ELEMENTS and GITHUB_ATTRIBUTES are html-pipeline's SanitizationFilter allowlist, the
# filter GitHub published for the HTML it renders from user content.
GITHUB_ELEMENTS = frozenset({
    "h1", "h2", "h3", "h4", "h5", "h6", "h7", "h8", "br", "b", "i", "strong", "em", "a", "pre",
    "code", "img", "tt", "div", "ins", "del", "sup", "sub", "p", "ol", "ul", "table", "thead",
    "tbody", "tfoot", "blockquote", "dl", "dt", "dd", "kbd", "q", "samp", "var", "hr", "ruby",
    "rt", "rp", "li", "tr", "td", "th", "s", "strike", "summary", "details",
})  # fmt: skip
GITHUB_ATTRIBUTES = frozenset({
    "abbr", "accept", "accept-charset", "accesskey", "action", "align", "alt", "axis", "border",
    "cellpadding", "cellspacing", "char", "charoff", "charset", "checked", "clear", "cols",
    "colspan", "color", "compact", "coords", "datetime", "dir", "disabled", "enctype", "for",
    "frame", "headers", "height", "hreflang", "hspace", "ismap", "label", "lang", "maxlength",
    "media", "method", "multiple", "name", "nohref", "noshade", "nowrap", "open", "prompt",
    "readonly", "rel", "rev", "rows", "rowspan", "rules", "scope", "selected", "shape", "size",
    "span", "start", "summary", "tabindex", "target", "title", "type", "usemap", "valign",
    "value", "vspace", "width", "itemprop", "href", "src",
})  # fmt: skip
DROPPED_WITH_TEXT = frozenset({"script", "style", "head", "title"})


class GitHubLikeSanitizer(HTMLParser):
    """Keeps only GitHub's allowlisted elements and attributes; drops scripts and
    stylesheets with their text, unwraps every other element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.dropping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED_WITH_TEXT:
            self.dropping += 1
        elif not self.dropping and tag in GITHUB_ELEMENTS:
            kept = "".join(
                f' {name}="{html.escape(value or "")}"'
                for name, value in attrs
                if name in GITHUB_ATTRIBUTES and not (value or "").startswith("javascript:")
            )
            self.out.append(f"<{tag}{kept}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED_WITH_TEXT:
            self.dropping = max(0, self.dropping - 1)
        elif not self.dropping and tag in GITHUB_ELEMENTS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data: str) -> None:
        if not self.dropping:
            self.out.append(html.escape(data, quote=False))

    def handle_entityref(self, name: str) -> None:
        if not self.dropping:
            self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        if not self.dropping:
            self.out.append(f"&#{name};")


def github_like(page_html: str) -> str:
    sanitizer = GitHubLikeSanitizer()
    sanitizer.feed(page_html)
    sanitizer.close()
    return "<!doctype html><html><body>" + "".join(sanitizer.out) + "</body></html>"


@pytest.mark.parametrize("widget_state", [False, True], ids=["saved_by_lab", "with_state"])
def test_a_github_like_render_shows_every_agent_cell_without_script_or_style(
    widget_state: bool, executed: Path, browser: Any, tmp_path: Path, artifacts: Path
) -> None:
    notebook = nbformat.read(executed / "agents.executed.ipynb", as_version=4)
    if not widget_state:
        notebook.metadata.pop("widgets")  # JupyterLab saves none by default
    nbformat.write(notebook, tmp_path / "agents.ipynb")
    nbconvert("--to", "html", "--output-dir", str(tmp_path), str(tmp_path / "agents.ipynb"))
    sanitized = github_like((tmp_path / "agents.html").read_text())
    assert "<script" not in sanitized and "<style" not in sanitized and "class=" not in sanitized
    (tmp_path / "github.html").write_text(sanitized)

    context = patient(
        browser.new_context(viewport={"width": 1100, "height": 900}, java_script_enabled=False)
    )
    try:
        page = patient(context.new_page())
        page.goto((tmp_path / "github.html").as_uri())
        page.screenshot(path=str(artifacts / f"github-like-{widget_state=}.png"), full_page=True)
        text = page.locator("body").inner_text()
        for shown in ["trades at", "get_stock_price", "completed ·", ECHO]:
            assert shown in text, f"{shown!r} is shown"
        for hidden in ["display:none", "{", "Error", "Loading widget", "model not found"]:
            assert hidden not in text, f"{hidden!r} in {text[:3000]}"
        assert text.count("completed ·") == 2
    finally:
        context.close()
