"""The marimo side of the chat cell, outside a marimo kernel: how agentnb tells it is in one,
and what a cell carries there. tests/browser/test_marimo_browser.py drives a real one."""

from __future__ import annotations

import re

import pytest

from agentnb._display.marimo import MARIMO_STYLE, in_marimo, self_contained_front_end
from agentnb._display.widget import STATIC

marimo = pytest.importorskip("marimo", reason="needs marimo (the dev extra)")


def test_importing_marimo_is_not_running_in_a_marimo_notebook() -> None:
    # marimo is imported (above) but no marimo kernel runs this thread: Jupyter's path stays
    assert marimo.running_in_notebook() is False
    assert in_marimo() is False


def test_a_self_contained_cell_carries_the_whole_bundle_and_the_marimo_theme() -> None:
    front_end = self_contained_front_end(STATIC)
    assert front_end["_esm"] == (STATIC / "widget.js").read_text(encoding="utf-8")
    css = front_end["_css"]
    stylesheet = (STATIC / "widget.css").read_text(encoding="utf-8")
    assert css == stylesheet + MARIMO_STYLE


def test_marimo_sets_every_jupyterlab_colour_and_font_the_stylesheet_reads() -> None:
    stylesheet = (STATIC / "widget.css").read_text(encoding="utf-8")
    read = set(re.findall(r"var\((--jp-[a-z0-9-]+)", stylesheet))
    set_by_marimo = set(re.findall(r"(--jp-[a-z0-9-]+):", MARIMO_STYLE))
    # the sizes stay the stylesheet's own: marimo has no variables for them
    assert read - set_by_marimo == {"--jp-content-font-size1", "--jp-ui-font-size0"}
