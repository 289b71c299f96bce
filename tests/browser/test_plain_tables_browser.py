"""agentnb's small HTML tables (connections, a connection's agents, ``%agent_config``) read
as tables where no notebook stylesheet pads them: marimo shows each output in a shadow root of
its own, and GitHub strips every stylesheet. Seen in marimo: "planningoperativushttp://…"."""

from __future__ import annotations

from typing import Any

import pytest
from agentnb_testing import patient

from agentnb._app.front.connections import Connection, ConnectionList
from agentnb._notebook.magics import _config_table

pytestmark = pytest.mark.browser

MIN_GAP_PX = 6


def _tables() -> dict[str, str]:
    planning = Connection(name="planning", provider="operativus", base_url="http://127.0.0.1:9")
    config = _config_table(
        [{"name": "planning", "provider": "operativus", "base_url": "http://x", "api_key": "-"}],
        {"agent": "finance_agent"},
    )
    return {
        "connections": ConnectionList({"planning": planning})._repr_html_(),
        "agent_config": config._repr_html_(),
    }


def _gaps_in_shadow_root(page: Any, html: str) -> list[float]:
    """The horizontal gaps between neighbouring cells' text, the table put in a shadow root
    (no page CSS reaches it, as in marimo)."""
    page.set_content("<div id='host'></div>")
    return list(
        page.evaluate(
            """(html) => {
              const root = document.getElementById('host').attachShadow({mode: 'open'});
              root.innerHTML = html;
              const gaps = [];
              for (const row of root.querySelectorAll('tr')) {
                const boxes = [...row.children].map((cell) => {
                  const range = document.createRange();
                  range.selectNodeContents(cell);
                  return range.getBoundingClientRect();
                });
                for (let i = 1; i < boxes.length; i++) {
                  gaps.push(boxes[i].left - boxes[i - 1].right);
                }
              }
              return gaps;
            }""",
            html,
        )
    )


@pytest.mark.parametrize("name", ["connections", "agent_config"])
def test_cells_are_apart_without_a_stylesheet(browser: Any, name: str) -> None:
    page = patient(browser.new_page())
    try:
        gaps = _gaps_in_shadow_root(page, _tables()[name])
    finally:
        page.close()
    assert gaps, "the table has no neighbouring cells"
    assert min(gaps) >= MIN_GAP_PX, f"{name}: cells' text {min(gaps):.1f}px apart"
