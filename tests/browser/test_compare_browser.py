"""``agentnb.compare`` in Debian's Chromium: a notebook executed and exported by a real
``jupyter nbconvert --to html --execute`` shows the runs side by side offline, the diff
marked, and a hostile answer as text (no script runs, no image loads, no dialog opens)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from notebook_pages import kernel_env, nbconvert, new_notebook, new_page

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
