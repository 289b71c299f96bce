"""The browser tests' steps on a notebook page, one way each: a notebook file, a page with its
error list, a notebook opened in JupyterLab or Notebook 7 and its cells run, a theme, the
scripts that read a chat cell's state; marimo's server and page; nbconvert in a child.

The servers and the browser are fixtures (conftest.py); this module holds what a test does
with them. Import from here, never from another test module.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
from agentnb_testing import PATIENCE_S, connection_env, free_port, patient, serving

from agentnb.server import ServerHandle

PATIENCE_MS = int(2 * PATIENCE_S * 1000)
"""Playwright's wait for anything on a page (every page's default): a bound for a hang, not a
speed. Twice the suite's ``PATIENCE_S``: one wait on a page may cover a whole notebook's
restore (its kernel, its widgets' models and modules), which took over a minute beside two
CPU burners and the rest of the suite."""

APPS = ["jupyterlab", "notebook7"]
"""The Jupyter front ends a test can ask for, by their fixtures' names: for a test of what
differs between them (the page's set-up, the notebook-tools extension, output areas, keys and
focus around the cell)."""
WIDGET_APPS = ["jupyterlab"]
"""The front end for a test of the widget's own behaviour: the same ESM renders it in both, so
JupyterLab's run proves it; ``APPS``' tests and those taking ``notebook7`` prove Notebook 7's
front (docs/development.md lists which Notebook 7 test covers each)."""
THEMES = ["JupyterLab Light", "JupyterLab Dark"]
PAUSED = "Paused — waiting for your approval"

# ---- a notebook in JupyterLab or Notebook 7 -----------------------------------------------

NOTEBOOK_PANEL = """
window.__anbPanel = () => {
  for (const w of window.jupyterapp.shell.widgets("main")) {
    if (w.sessionContext && w.content && w.content.widgets) return w;
  }
  return null;
};
"""
WAIT_READY = """
async () => {
  const app = window.jupyterapp;
  await app.started;
  await app.restored;
  const panel = window.__anbPanel();
  if (!panel || !panel.sessionContext) return "no notebook";
  await panel.context.ready;
  await panel.sessionContext.ready;
  const kernel = panel.sessionContext.session && panel.sessionContext.session.kernel;
  return kernel ? kernel.status : "no kernel";
}
"""
RUN_CELL = """
(index) => {
  const app = window.jupyterapp;
  const panel = window.__anbPanel();
  app.shell.activateById(panel.id);
  panel.content.activeCellIndex = index;
  app.commands.execute("notebook:run-cell");  // not awaited: it resolves when the cell ends
}
"""
EXECUTION_COUNT = "(i) => window.__anbPanel().content.widgets[i].model.executionCount || 0"
SHUTDOWN_KERNEL = """
async () => {
  const panel = window.__anbPanel();
  await panel.context.save();
  await panel.sessionContext.shutdown();
}
"""
NOTEBOOK_STATE = """
(index) => {
  const panel = window.__anbPanel();
  const cells = panel.content.widgets;
  return {
    cells: cells.length,
    types: cells.map((c) => c.model.type).join(","),
    count: cells[index].model.executionCount,
    mode: panel.content.mode,
  };
}
"""

REOPENED = """
() => {
  const outputs = [...document.querySelectorAll(".jp-Notebook .jp-OutputArea-output")];
  const copies = document.querySelectorAll(".jp-Notebook .agentnb-static");
  return copies.length === 2 && !outputs.some((el) => el.textContent.startsWith("Loading widget"));
}
"""
"""A reopened notebook's two chat cells show their static copies and the widget manager has
given up on the widgets' missing models (no output says "Loading widget")."""


def url_of(server: Any, app: str, name: str) -> str:
    """The URL of notebook ``name`` on ``server`` (the ``app`` fixture's value); in
    JupyterLab, in a fresh workspace: a tab an earlier test (or an earlier page of this test)
    left open would be restored beside it, and ``cell_at`` would find that notebook's cells."""
    if app == "jupyterlab":
        return f"{server.url}/lab/tree/{server.folder}/{name}?reset"
    return f"{server.url}/notebooks/{server.folder}/{name}"


def new_notebook(path: Path, sources: list[str]) -> None:
    """A Python 3 notebook at ``path`` holding one code cell per source, none run."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(notebook, path)


def new_page(browser: Any, *, width: int = 1280, height: int = 1000) -> tuple[Any, Any, list[str]]:
    """A page in a context of its own, and the list its script errors and dialogs go to."""
    context = patient(browser.new_context(viewport={"width": width, "height": height}), PATIENCE_MS)
    page = patient(context.new_page(), PATIENCE_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"{exc}\n{exc.stack}"))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    return context, page, errors


def load_jupyter_app(page: Any, url: str) -> None:
    """Go to ``url`` and wait for the app (``window.jupyterapp``); ``window.__anbPanel()``
    is then the notebook panel, once there is one."""
    page.goto(url)
    page.wait_for_function("() => window.jupyterapp !== undefined", timeout=PATIENCE_MS)
    page.evaluate(f"() => {{ {NOTEBOOK_PANEL} }}")


def open_notebook_at(page: Any, url: str) -> None:
    """Open ``url`` (a notebook in JupyterLab or Notebook 7) and wait for an idle kernel."""
    load_jupyter_app(page, url)
    wait_for_idle_kernel(page)


GAVE_UP = "Error displaying widget: model not found"
VIEW_OR_GAVE_UP = """
([index, selector, gaveUp]) => {
  const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
  if (!cell) return null;
  const view = cell.querySelector(selector);
  if (view && view.getClientRects().length > 0) return "view";
  const outputs = [...cell.querySelectorAll(".jp-OutputArea-output")];
  return outputs.some((el) => el.textContent.trim() === gaveUp) ? "gave up" : null;
}
"""
LIVE_VIEW_RELOADS = 3
"""How often a person reloads a page whose chat cell the widget manager gave up on."""


def open_with_live_view(page: Any, url: str, index: int, selector: str) -> int:
    """Open ``url`` and wait until cell ``index`` shows ``selector`` in its live view (from the
    saved widget state, or from a kernel still running); the number of reloads it took.

    ipywidgets 8.1 (jupyterlab_widgets 3.0) can give up on a view whose model arrives while
    the page restores: a view's ``get_model`` polls for 2 s, and its renderer, told "not
    found" after the restore has ended, writes "Error displaying widget: model not found" for
    good, though the model is there by then. Beside two CPU burners 3 openings of 30 landed
    in that window (a reopened notebook with its widget state). The cell then shows its
    static copy (checked here: it is what a person reads), and a reload shows the live
    view, as it does for a person."""
    for reload in range(LIVE_VIEW_RELOADS + 1):
        open_notebook_at(page, url)
        shown = page.wait_for_function(
            VIEW_OR_GAVE_UP, arg=[index, selector, GAVE_UP], timeout=PATIENCE_MS
        ).json_value()
        if shown == "view":
            return reload
        static_copy = cell_at(page, index).locator(".agentnb-static")
        assert static_copy.is_visible(), "a view given up on leaves the static copy showing"
        # Leave without saving (the page would ask): nothing was changed.
        page.evaluate("() => { window.__anbPanel().context.model.dirty = false; }")
    raise AssertionError(f"cell {index}: no live view after {LIVE_VIEW_RELOADS} reloads")


def wait_for_idle_kernel(page: Any) -> None:
    """Wait until the page's notebook is loaded and its kernel idle."""
    deadline = time.monotonic() + PATIENCE_S
    status = page.evaluate(WAIT_READY)
    while status != "idle":
        assert time.monotonic() < deadline, f"the notebook's kernel is not ready: {status}"
        page.wait_for_timeout(50)
        status = page.evaluate(WAIT_READY)


def run_and_wait(page: Any, index: int) -> None:
    """Run cell ``index`` and wait for it to end: its execution count goes up (so a cell
    run before is waited for too)."""
    before = page.evaluate(EXECUTION_COUNT, index)
    page.evaluate(RUN_CELL, index)
    page.wait_for_function(
        f"([i, n]) => ({EXECUTION_COUNT})(i) > n", arg=[index, before], timeout=PATIENCE_MS
    )


# ---- one JupyterLab page kept warm across tests ---------------------------------------------
#
# Loading JupyterLab costs Chromium about 4 s of CPU before a notebook opens (its plugins
# start), opening one more notebook in a loaded page about 1.5 s, and the browser tests run
# beside the rest of the suite on two cores. So ``notebook_page`` keeps one JupyterLab page
# per browser and opens each test's notebook in it, as a person opens a notebook in the Lab
# they already have, with nothing of the last test's left: its notebook is closed (its
# kernel goes with the module, as before), a dialog left open, another page or a failed
# test retire the page, and the theme goes back to the default light one. Notebook 7 has
# a page per notebook, and a test that needs Lab's first load opens a page of its own.

CLOSE_DOCUMENTS = """
() => {
  const app = window.jupyterapp;
  for (const widget of [...app.shell.widgets("main")]) widget.dispose();
}
"""
WARM_AND_EMPTY = """
(lab) => Boolean(
  window.jupyterapp
  && window.location.href.startsWith(lab)
  && !document.querySelector(".jp-Dialog")
  && window.__anbPanel() === null
)
"""
OPEN_DOCUMENT = """
async (path) => {
  const app = window.jupyterapp;
  for (const widget of [...app.shell.widgets("main")]) widget.dispose();  // a launcher
  // Nothing returned: the opened widget, serialised for Python, was megabytes a notebook
  await app.commands.execute("docmanager:open", {path});
}
"""


class _WarmLab:
    """The JupyterLab page kept for the next test: its context, page and error list."""

    def __init__(self, context: Any, page: Any, errors: list[str]) -> None:
        self.context = context
        self.page = page
        self.errors = errors


_warm: dict[int, _WarmLab] = {}
"""The warm JupyterLab page of each browser (by ``id``)."""


def is_warm(context: Any) -> bool:
    """Whether ``context`` holds a warm JupyterLab page (the ``browser`` fixture keeps it
    open from one module to the next)."""
    return any(warm.context is context for warm in _warm.values())


def _retire(browser: Any) -> None:
    warm = _warm.pop(id(browser), None)
    if warm is not None:
        warm.context.close()


def _warm_lab(browser: Any, server: Any, width: int, height: int) -> _WarmLab | None:
    """The browser's warm JupyterLab page on ``server``, empty and light, sized for this
    test; None (and the page retired) when there is none or it cannot be trusted."""
    warm = _warm.get(id(browser))
    if warm is None:
        return None
    try:
        usable = not warm.page.is_closed() and warm.page.evaluate(WARM_AND_EMPTY, server.url)
    except Exception:  # a page Playwright cannot talk to any more is not used again
        usable = False
    if not usable:
        _retire(browser)
        return None
    warm.page.set_viewport_size({"width": width, "height": height})
    set_theme(warm.page, THEMES[0])
    warm.errors.clear()
    return warm


def _open_lab_notebook(
    browser: Any, server: Any, name: str, width: int, height: int
) -> tuple[Any, list[str]]:
    """Notebook ``name`` open in JupyterLab with an idle kernel: in the warm page when there
    is one, else in a new page that becomes the warm one."""
    warm = _warm_lab(browser, server, width, height)
    if warm is not None:
        warm.page.evaluate(OPEN_DOCUMENT, f"{server.folder}/{name}")
        wait_for_idle_kernel(warm.page)
        return warm.page, warm.errors
    _retire(browser)
    context, page, errors = new_page(browser, width=width, height=height)
    _warm[id(browser)] = _WarmLab(context, page, errors)
    open_notebook_at(page, url_of(server, "jupyterlab", name))
    return page, errors


@contextmanager
def notebook_page(
    browser: Any,
    server: Any,
    name: str,
    cells: list[str],
    *,
    app: str = "jupyterlab",
    run_first: int = 1,
    width: int = 1280,
    height: int = 1000,
    last_shot: Path | None = None,
) -> Iterator[Any]:
    """``cells`` written as notebook ``name`` in ``server``'s folder and opened in ``app``
    (see ``url_of``; JupyterLab's page is kept warm, see above), its first ``run_first``
    cells run one by one, each to its end. Yields the page, its errors as ``page.errors``;
    at the end photographs the whole page to ``last_shot`` (when given) and closes the
    notebook (Notebook 7: the page)."""
    new_notebook(server.root / name, cells)
    context = None
    try:
        if app == "jupyterlab":
            page, errors = _open_lab_notebook(browser, server, name, width, height)
        else:
            context, page, errors = new_page(browser, width=width, height=height)
            open_notebook_at(page, url_of(server, app, name))
        for index in range(run_first):
            run_and_wait(page, index)
        page.errors = errors
        yield page
        if last_shot is not None:
            page.screenshot(path=str(last_shot), full_page=True)
    except BaseException:
        _retire(browser)  # what a failed test leaves is not the next test's start
        raise
    finally:
        if context is not None:
            context.close()
        _close_documents(browser)


def _close_documents(browser: Any) -> None:
    warm = _warm.get(id(browser))
    if warm is not None and not warm.page.is_closed():
        warm.page.evaluate(CLOSE_DOCUMENTS)


def cell_at(page: Any, index: int) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(index)


def scroll_to(locator: Any) -> None:
    """Scroll the element ``locator`` finds into the middle of its scroller, finding and
    scrolling in one step in the page. A node found may be replaced before the scroll (a
    view the notebook made again), and Playwright's ``scroll_into_view_if_needed`` fails with
    "not attached to the DOM" instead of finding the element again."""
    locator.wait_for()
    locator.evaluate("(el) => el.scrollIntoView({block: 'center', inline: 'nearest'})")


def widget_at(page: Any, index: int) -> Any:
    """The chat cell's view in cell ``index``."""
    return cell_at(page, index).locator(".agentnb")


def set_theme(page: Any, theme: str) -> None:
    """Switch JupyterLab (or Notebook 7) to ``theme``, one of ``THEMES``; nothing to do
    (and nothing to wait for) when the page shows it already."""
    # The theme manager names the theme on the body once its style sheet is in.
    if page.evaluate("() => document.body.dataset.jpThemeName") == theme:
        return
    page.evaluate(
        "(theme) => window.jupyterapp.commands.execute('apputils:change-theme', {theme})", theme
    )
    light = "true" if theme.endswith("Light") else "false"
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{light}'", timeout=PATIENCE_MS
    )
    page.wait_for_timeout(500)  # the theme's colours reach every element


def widget_errors(errors: list[str]) -> list[str]:
    # Notebook 7.x's keyboard-shortcuts plugin throws this on startup whatever the notebook
    # holds (a settings-load race: jupyter/notebook#7862); anything else is ours to explain.
    return [e for e in errors if not ("'schema'" in e and "notebook_core" in e)]


KERNELS_OWN_SERVER_CELL = (
    "import os\nfor key in [k for k in os.environ if k.startswith('AGENTNB_')"
    " and k != 'AGENTNB_HISTORY']:\n    del os.environ[key]\n%load_ext agentnb\nimport agentnb"
)
"""A first cell: agentnb loaded with nothing configured but the history, as in the README
(the page's kernels get a default connection: their own built-in server, which calls a
notebook's tools)."""


def mcp_cells(tools: str, command: Sequence[str]) -> list[str]:
    """A page's first cells over an MCP server: :data:`KERNELS_OWN_SERVER_CELL`, then the
    server run by ``command`` as the notebook's tools ``tools``."""
    return [KERNELS_OWN_SERVER_CELL, f"{tools} = agentnb.mcp_tools(command={list(command)!r})"]


def calling_cell(tools: str, tool: str, message: str, *, bound: str = "") -> str:
    """A cell whose run (``bound`` to a name, ``"run = "``) asks ``finance_agent``
    ``message`` with the tools ``tools``, the one named ``tool`` first: the one it calls."""
    return (
        f"{bound}agentnb.ask('finance_agent', {message!r}, "
        f"tools=sorted({tools}, key=lambda t: t.name != {tool!r}))"
    )


def setup_cell(agent_server: ServerHandle) -> str:
    """A first cell: agentnb loaded, connections ``trading`` (``vercel``) and ``fast`` (the
    default SeekrFlow, streaming every 2 ms), and ``doc``, a long text to echo."""
    return (
        "%load_ext agentnb\nimport os, agentnb\n"
        f'agentnb.connect("vercel", base_url="{agent_server.url_for("vercel")}", '
        f'api_key="{agent_server.api_key}", name="trading")\n'
        'agentnb.connect("seekrflow", base_url=os.environ["AGENTNB_BASE_URL"], '
        'api_key=os.environ["AGENTNB_API_KEY"], name="fast", '
        'headers={"X-AgentNB-Delay-Ms": "2"})\n'
        'doc = "\\n\\n".join(f"Paragraph {i}. " + "streamed words " * 30 for i in range(260))'
    )


# ---- a chat cell's state --------------------------------------------------------------------

WORD_BREAKS = """
(root) => {
  // Every word under root whose glyphs sit on more than one rendered line, though the word
  // would fit on one (a token wider than root must break).
  const broken = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.textContent.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const rects = [...range.getClientRects()].filter((r) => r.width > 0);
      const tops = new Set(rects.map((r) => Math.round(r.top)));
      const wide = rects.reduce((sum, r) => sum + r.width, 0);
      if (tops.size > 1 && wide < root.clientWidth) broken.push(m[0]);
    }
  }
  return broken;
}
"""
LAST_TURN_STATE = """
([index, turn]) => {
  const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
  const turns = cell ? cell.querySelectorAll(".agentnb .anb-turn") : [];
  const view = turn < 0 ? turns[turns.length - 1] : turns[turn];
  const state = view && view.querySelector(".anb-state");
  return state ? state.textContent : "";
}
"""
KERNEL_ROUND_TRIP = """
async () => {
  const kernel = window.__anbPanel().sessionContext.session.kernel;
  await kernel.requestExecute({ code: "", silent: true, store_history: false }).done;
}
"""
STATIC_COPY = """
([index, needle]) => {
  // The text/html of the cell's outputs as the notebook model holds them (what a save writes).
  const outputs = window.__anbPanel().content.widgets[index].model.outputs;
  let html = "";
  for (let i = 0; i < outputs.length; i++) {
    const value = outputs.get(i).data["text/html"];
    html += Array.isArray(value) ? value.join("") : value || "";
  }
  return html.includes(needle) && !html.includes("Running…");
}
"""
RECORD = """
(index) => {
  window.__anbLog = [];
  const cell = () => document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
  const observer = new MutationObserver(() => {
    const root = cell() && cell().querySelector(".agentnb");
    if (!root) return;
    const answer = root.querySelector(".anb-answer");
    const reasoning = root.querySelector(".anb-reasoning");
    window.__anbLog.push({
      t: performance.now(),
      reasoning: Boolean(reasoning),
      reasoningOpen: Boolean(reasoning && reasoning.open),
      tools: root.querySelectorAll(".anb-tool").length,
      toolsDone: root.querySelectorAll('.anb-tool[data-status="succeeded"]').length,
      answer: answer ? answer.textContent.length : 0,
      state: (root.querySelector(".anb-state") || {}).textContent || "",
    });
  });
  observer.observe(document.querySelector(".jp-Notebook"), {
    subtree: true, childList: true, characterData: true, attributes: true,
  });
  window.__anbObserver = observer;
}
"""
"""Records cell ``index``'s view at each change into ``window.__anbLog`` until
``window.__anbObserver.disconnect()``."""
RECORD_ESCAPED = """
() => {
  window.__anbEscaped = [];
  document.addEventListener("keydown", (e) => window.__anbEscaped.push(e.key));
}
"""
"""Records into ``window.__anbEscaped`` every key that reaches the document."""


def wait_for_state(page: Any, index: int, label: str, *, turn: int = -1) -> None:
    """Wait until the status of turn ``turn`` (the last by default) of cell ``index`` reads
    ``label``."""
    page.wait_for_function(
        f"(args) => ({LAST_TURN_STATE})(args) === {label!r}", arg=[index, turn], timeout=PATIENCE_MS
    )


def wait_for_final_view(page: Any, index: int, needle: str, *, turn: int = -1) -> None:
    """Wait for the view a run's end leaves behind.

    The kernel sends the turn's last frame, then refreshes the output's static copy (which
    re-creates the widget's view, once per update message). A round trip to the kernel after
    the view says Completed returns only after the frontend has taken every message sent
    before it, so the view shown afterwards is the final one. ``needle`` must be in the
    refreshed static copy (the text/html a save writes), with nothing left running.
    """
    wait_for_state(page, index, "Completed", turn=turn)
    page.evaluate(KERNEL_ROUND_TRIP)
    page.wait_for_function(STATIC_COPY, arg=[index, needle], timeout=PATIENCE_MS)
    wait_for_state(page, index, "Completed", turn=turn)


# ---- what a view looks like -----------------------------------------------------------------

CONTRASTS = """
(root) => {
  // Computed colours: rgb()/rgba(), or color(srgb r g b / a) for color-mix() results.
  const parse = (s) => {
    const m = /^(rgba?|color)\\((?:srgb )?([^)]+)\\)$/.exec(s);
    if (!m) throw new Error(`a colour this test cannot read: ${s}`);
    const p = m[2].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    const scale = m[1] === "color" ? 255 : 1;
    return [p[0] * scale, p[1] * scale, p[2] * scale, p.length > 3 ? p[3] : 1];
  };
  const over = (top, under) =>
    [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const c = parse(getComputedStyle(node).backgroundColor);
      if (c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let bg = [255, 255, 255, 1];
    for (const layer of layers.reverse()) bg = over(layer, bg);
    return bg;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = [];
  for (const el of root.querySelectorAll("*")) {
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    if (el.closest("button:disabled")) continue;  // WCAG: inactive controls are exempt
    const own = Array.from(el.childNodes).some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own) continue;
    const bg = background(el);
    const fg = over(parse(getComputedStyle(el).color), bg);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    out.push({
      ratio: (a + 0.05) / (b + 0.05),
      what: `${el.tagName.toLowerCase()}.${String(el.className).replace(/ /g, ".")}`,
      text: el.textContent.trim().slice(0, 40),
      decorative: Boolean(el.closest('[aria-hidden="true"]')),
      fg: fg.slice(0, 3).map(Math.round), bg: bg.slice(0, 3).map(Math.round),
    });
  }
  return out;
}
"""
"""Every text under ``root`` that shows, with its contrast ratio against what is behind it."""
TOP_CARDS = """
(root) => Array.from(root.querySelectorAll(".anb-body > .anb-tool"))
  .map((card) => card.querySelector(".anb-tool-name").textContent)
"""
TREE = """
(root) => {
  const walk = (card) => ({
    name: card.querySelector(":scope > .anb-tool-head .anb-tool-name").textContent,
    agent: card.querySelector(":scope > .anb-tool-head .anb-tool-agent").textContent,
    inside: Array.from(card.querySelectorAll(":scope > .anb-tool-children > .anb-tool")).map(walk),
  });
  return Array.from(root.querySelectorAll(".anb-body > .anb-tool")).map(walk);
}
"""
"""The view's tool cards as a tree: each card's name, agent and the cards inside it."""

# ---- nbconvert ------------------------------------------------------------------------------


def kernel_env(agent_server: ServerHandle, base: Path) -> dict[str, str]:
    return connection_env(agent_server, base, JUPYTER_PLATFORM_DIRS="1")


def nbconvert(*args: str, env: dict[str, str] | None = None) -> None:
    """A real ``jupyter nbconvert`` in a child process."""
    done = subprocess.run(
        [sys.executable, "-m", "nbconvert", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]


# ---- marimo ---------------------------------------------------------------------------------

RUN_ALL = "[data-testid='run-button']:not(.marimo-cell [data-testid='run-button'])"
"""marimo's "Run all": the global run button, the one outside every cell."""


@contextmanager
def serve_marimo(
    mode: str, agent_server: ServerHandle, base: Path, *, source: Path, config: str = ""
) -> Iterator[str]:
    """``marimo MODE`` (edit or run) serving a copy of ``source`` on 127.0.0.1, with no
    token, its own state folders and user ``config`` (marimo.toml), and the demo server as
    agentnb's default connection; yields its URL."""
    notebook = base / source.name
    shutil.copy(source, notebook)
    (base / "config" / "marimo").mkdir(parents=True)
    (base / "config" / "marimo" / "marimo.toml").write_text(config)
    env = connection_env(
        agent_server,
        base,
        XDG_CONFIG_HOME=str(base / "config"),
        XDG_STATE_HOME=str(base / "state"),
        XDG_CACHE_HOME=str(base / "cache"),
        PYTHONUNBUFFERED="1",
    )
    port = free_port()
    extra = ["--skip-update-check"] if mode == "edit" else []
    url = f"http://127.0.0.1:{port}"
    with serving(
        [
            sys.executable, "-m", "marimo", mode, str(notebook),
            "--headless", "--no-token", "--no-sandbox", *extra,
            "--host", "127.0.0.1", "--port", str(port),
        ],
        ready_url=f"{url}/health",
        log_path=base / "marimo.log",
        env=env,
        cwd=base,
    ):  # fmt: skip
        yield url


def new_marimo_page(browser: Any) -> tuple[Any, Any, list[str]]:
    """A page for marimo in a context of its own, and the list its script errors go to (no
    dialog handler: marimo asks before a reload leaves unsaved changes)."""
    context = patient(browser.new_context(viewport={"width": 1280, "height": 1200}), PATIENCE_MS)
    page = patient(context.new_page(), PATIENCE_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return context, page, errors


def wait_for_chat_state(chat: Any, state: str, turn: int = -1) -> None:
    """Wait until the status of turn ``turn`` (the last by default) of the chat cell
    ``chat`` (a locator: marimo hosts views in shadow roots, which page scripts do not
    reach) reads ``state``."""
    states = chat.locator(".anb-turn .anb-state")
    target = states.nth(turn) if turn >= 0 else states.last
    target.filter(has_text=state).wait_for()
