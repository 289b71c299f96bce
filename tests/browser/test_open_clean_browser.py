"""A shipped notebook opened and not yet run is not marked modified: JupyterLab rewrites a
notebook's kernelspec when it differs from the kernel's (``Python 3 (ipykernel)``), so the
notebooks carry that one, and what agentnb saved in them renders without changing them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from notebook_pages import new_page, open_notebook_at, url_of

SHIPPED = Path(__file__).resolve().parents[2] / "notebooks"


@pytest.mark.parametrize("name", ["quickstart.ipynb", "providers.ipynb", "usage_analysis.ipynb"])
def test_a_shipped_notebook_opens_unmodified(browser: Any, jupyterlab: Any, name: str) -> None:
    shutil.copy(SHIPPED / name, jupyterlab.root / name)
    context, page, _ = new_page(browser)
    try:
        open_notebook_at(page, url_of(jupyterlab, "jupyterlab", name))  # its kernel idle
        page.wait_for_function("() => document.querySelector('.jp-OutputArea-output') !== null")
        assert page.evaluate("() => window.__anbPanel().context.model.dirty") is False
        title = page.locator(".jp-mod-current .lm-TabBar-tabLabel").first.inner_text()
        assert title == name
        tab = page.locator(".lm-TabBar-tab.jp-mod-current").first
        assert "jp-mod-dirty" not in (tab.get_attribute("class") or "")
    finally:
        context.close()
