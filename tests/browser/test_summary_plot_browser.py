"""A week's summary and a cost plot as a person reads them in JupyterLab at
1280×800 on Debian's Chromium, light and dark: the summary is a formatted table (no ``nan``,
no raw timestamp, ``$`` and ``%``) that fits its cell without sideways scrolling; the plot's
background is the notebook's own, dark on a dark theme, not a white box. Screenshots go to
test-artifacts/ (summary-*.png)."""

from __future__ import annotations

import dataclasses
import io
import time
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import history_records
from notebook_pages import THEMES, WIDGET_APPS, cell_at, notebook_page, run_and_wait, set_theme

from agentnb.history import HistoryStore

pytestmark = pytest.mark.browser

LONG_MODEL = "claude-haiku-4-5-20251001"

OVERFLOW = """
(el) => {
  const cell = el.closest('.jp-OutputArea-output') || el.parentElement;
  const table = el.querySelector('table').getBoundingClientRect();
  return {
    scroll: el.scrollWidth - el.clientWidth,
    past: table.right - cell.getBoundingClientRect().right,
  };
}
"""
# The page's background behind the image, not a box the app may draw under the image itself
# (JupyterLab's for a PNG marked "needs a light background" in a dark theme).
BACKGROUND = """
(el) => {
  for (let node = el.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour && colour !== 'transparent' && !colour.endsWith(', 0)')) return colour;
  }
  return 'rgb(255, 255, 255)';
}
"""


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A week of runs: most with no model (the biggest group: once labelled ``nan``), some
    with a long model name."""
    path = tmp_path_factory.mktemp("summary") / "history.sqlite3"
    records = history_records(600, start=time.time() - 3600)
    records = [
        dataclasses.replace(r, model=None if i % 3 else LONG_MODEL if i % 2 else r.model)
        for i, r in enumerate(records)
    ]
    with HistoryStore(path) as store:
        store.import_records(records)
    return path


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c /= 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def rgb_of(css: str) -> tuple[float, ...]:
    return tuple(float(part) for part in css[css.index("(") + 1 : -1].split(",")[:3])


@pytest.mark.parametrize("app", WIDGET_APPS)
def test_a_weeks_summary_and_a_cost_plot_read_in_the_theme(
    browser: Any, jupyter: Any, history_file: Path, artifacts: Path, app: str
) -> None:
    from PIL import Image  # with matplotlib

    cells = [
        f"import os\nos.environ['AGENTNB_HISTORY'] = {str(history_file)!r}\nimport agentnb",
        "agentnb.summary('model', every='week')",
        "agentnb.runs().plot('cost', by='model', every='day')",
    ]
    with notebook_page(browser, jupyter, "summary.ipynb", cells, app=app) as page:
        run_and_wait(page, 1)
        run_and_wait(page, 2)
        summary = cell_at(page, 1).locator(".agentnb-summary")
        summary.wait_for()
        text = summary.inner_text()
        assert "nan" not in text.lower()
        assert "(no model)" in text and "week of " in text
        assert "00:00:00" not in text
        assert "$" in text and "%" in text
        image = cell_at(page, 2).locator("img")
        image.wait_for()
        for theme in THEMES:  # the plot, drawn once, reads in each
            set_theme(page, theme)
            shade = theme.split()[-1].lower()
            cell_at(page, 1).screenshot(path=str(artifacts / f"summary-{app}-{shade}.png"))
            fits = summary.evaluate(OVERFLOW)
            assert fits["scroll"] <= 0 and fits["past"] <= 0, (theme, fits)

            shot = artifacts / f"summary-plot-{app}-{shade}.png"
            image.screenshot(path=str(shot))
            page_background = luminance(rgb_of(image.evaluate(BACKGROUND)))
            with Image.open(io.BytesIO(shot.read_bytes())) as picture:
                corner = picture.convert("RGB").getpixel((2, 2))
            assert isinstance(corner, tuple)
            assert abs(luminance(corner) - page_background) < 0.05, (theme, corner, page_background)
        assert not page.errors or all("schema" in e for e in page.errors), page.errors
