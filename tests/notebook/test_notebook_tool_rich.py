"""A notebook tool that returns a figure, an image or a table is shown as the notebook shows it
(its mime bundle: PNG, SVG, a DataFrame's HTML made safe) in the live card and the static copy,
while the agent gets the text form; a form too large to show is said in words, a value whose
formatting raises is shown as text, and the HTML is rebuilt from the live view's allow-list
(js/src/markdown.js: the same lists)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S

import agentnb
from agentnb._app.front import connections as conns
from agentnb._core import rich_result
from agentnb._core.rich_result import has_rich_form, shown_result
from agentnb._display import safe_html as safe_html_module
from agentnb._display.safe_html import safe_html
from agentnb._display.static_copy import static_bundle
from agentnb._display.widget_protocol import tool_wire

pd = pytest.importorskip("pandas")
matplotlib_figure = pytest.importorskip("matplotlib.figure")

MARKDOWN_JS = Path(__file__).resolve().parents[2] / "js" / "src" / "markdown.js"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def price_chart(ticker: str) -> Any:
    """A chart of a stock's price this week."""
    figure = matplotlib_figure.Figure(figsize=(3, 2))
    axes = figure.subplots()
    axes.plot([1, 2, 3], [875.4, 880.1, 871.9])
    axes.set_title(f"{ticker} this week")
    return figure


def holdings(ticker: str) -> Any:
    """The shares I hold in a stock, as a table."""
    return pd.DataFrame({"ticker": [ticker, "<b>MSFT</b>"], "shares": [10, 4]})


class Badge:
    def _repr_html_(self) -> str:
        return (
            '<p onclick="alert(1)">ok<script>alert(2)</script><img src="https://x.test/a.png"></p>'
        )


class Broken:
    def _repr_png_(self) -> bytes:
        raise ZeroDivisionError("no picture")


class Huge:
    def _repr_png_(self) -> bytes:
        return PNG + b"\0" * (rich_result.MAX_SHOWN_IMAGE_BYTES + 1)


@pytest.fixture
def tools_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    agentnb.connect("openai", local=True, name="rich_tools")
    try:
        yield "rich_tools"
    finally:
        conns.disconnect("rich_tools")


def test_a_tool_that_returns_a_figure_shows_it_in_the_card_and_the_copy_and_sends_text(
    tools_here: str,
) -> None:
    handle = agentnb.ask(
        "finance_agent", "Chart NVDA", via=tools_here, tools=[price_chart], display=False
    )
    run = handle.wait(PATIENCE_S)
    [call] = [c for c in run.tool_calls if c.name == "price_chart"]
    assert call.shown is not None and call.shown["mime"] == "image/png"
    assert base64.b64decode(call.shown["data"]).startswith(b"\x89PNG"), "a PNG, base64"
    assert isinstance(call.output, str), "the agent got text"
    assert call.output.startswith(
        "matplotlib Figure 300×200 px, 1 plot\nplot 1: 'NVDA this week'\n  x: (no label), from"
    ), "what a person reads off the figure, as @fig sends it"
    assert "data:image" not in run.text, "nor does the agent's answer hold the image"
    assert tool_wire(call)["shown"] == call.shown, "the live card gets it"
    bundle = static_bundle([run])
    assert f'<img src="data:image/png;base64,{call.shown["data"]}"' in bundle["text/html"]
    assert f"](data:image/png;base64,{call.shown['data']})" in bundle["text/markdown"]
    assert "data:image" not in bundle["text/plain"]


def test_a_tool_that_returns_a_dataframe_shows_its_table_made_safe(tools_here: str) -> None:
    handle = agentnb.ask(
        "finance_agent", "My NVDA holdings?", via=tools_here, tools=[holdings], display=False
    )
    run = handle.wait(PATIENCE_S)
    [call] = [c for c in run.tool_calls if c.name == "holdings"]
    assert call.shown is not None and call.shown["mime"] == "text/html"
    assert "<table" in call.shown["data"], "the DataFrame's own HTML, for the live sanitizer"
    html = static_bundle([run])["text/html"]
    start = html.index('<div class="agentnb-tool-html">')
    table = html[start : html.index("</div>", start)]
    assert "<th>ticker</th>" in table and "<td>NVDA</td>" in table
    assert "&lt;b&gt;MSFT&lt;/b&gt;" in table, "a value's markup is its text"
    assert "<style" not in table and "dataframe" not in table, "its style and classes go"


def test_rich_forms_are_bounded_and_a_broken_one_is_no_form() -> None:
    assert shown_result(Badge()) == {
        "mime": "text/html",
        "data": Badge()._repr_html_(),
    }, "kept as the object gave it: each view makes it safe"
    huge = shown_result(Huge())
    assert huge is not None and huge["mime"] == "text/plain"
    assert re.fullmatch(r"a PNG image of [\d,]+ bytes: larger than the [\d,]+ a chat cell shows"
                        r" \(the agent got its text form\)", huge["data"])  # fmt: skip
    assert shown_result(Broken()) is None, "IPython's formatter reports it (captured) and skips it"
    for plain in ("text", 3, 2.5, None, [1], {"a": 1}, b"\x89PNG"):
        assert not has_rich_form(plain) and shown_result(plain) is None


def test_a_tool_whose_value_cannot_be_drawn_still_answers_the_agent(tools_here: str) -> None:
    def broken_chart(ticker: str) -> Broken:
        """A chart that cannot be drawn."""
        return Broken()

    run = agentnb.ask(
        "finance_agent", "Chart it", via=tools_here, tools=[broken_chart], display=False
    ).wait(PATIENCE_S)
    [call] = [c for c in run.tool_calls if c.name == "broken_chart"]
    assert call.status == "succeeded" and call.shown is None
    assert "Broken object" in str(call.output)


def test_the_copy_s_html_keeps_what_the_live_view_keeps_and_nothing_live() -> None:
    dirty = (
        '<div class="x"><p onclick="alert(1)" style="color:red">hi <b>there</b></p>'
        '<a href="javascript:alert(1)">bad</a> <a href="https://example.com/a?b=1&c=2">good</a>'
        '<img src="https://tracker.test/p.png" onerror="alert(1)">'
        '<img src="data:image/png;base64,AAAA" alt="a">'
        "<script>alert('x')</script><style>p { color: red }</style><iframe src=x></iframe>"
        '<table><tr><td style="text-align:right">1</td><td style="text-align: right">2'
        "<!-- a comment --><svg><script>alert(3)</script></svg>"
    )
    assert safe_html(dirty) == (
        "<p>hi there</p><a>bad</a> "
        '<a href="https://example.com/a?b=1&amp;c=2" target="_blank" '
        'rel="noopener noreferrer nofollow">good</a>'
        '<img><img src="data:image/png;base64,AAAA" alt="a">'
        '<table><tr><td style="text-align:right">1</td><td>2</td></tr></table>'
    )


def test_the_copy_s_allow_lists_are_the_live_view_s() -> None:
    source = MARKDOWN_JS.read_text()

    def js_list(name: str) -> set[str]:
        found = re.search(rf"const {name} = \[(.*?)\];", source, re.S)
        assert found is not None, name
        return set(re.findall(r'"([^"]+)"', found.group(1)))

    assert js_list("ALLOWED_TAGS") == set(safe_html_module.ALLOWED_TAGS)
    assert js_list("ALLOWED_ATTR") == set(safe_html_module.ALLOWED_ATTRS)
