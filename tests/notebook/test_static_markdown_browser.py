"""The ``text/markdown`` copy of hostile runs, rendered for real: by markdown-it with HTML on
(what JupyterLab's renderers do, run in node), by mistune 3 (nbconvert's renderer and mistune's
own HTML preset), then loaded in Chromium. No script may run and no script link may exist;
a benign answer must still render as markdown."""

from __future__ import annotations

import html
import json
import random
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, patient

import agentnb
from agentnb._core.run import Run, RunErrorInfo
from agentnb._display.static_copy import static_html, static_markdown
from agentnb.events import (
    ReasoningDelta,
    RunCompleted,
    RunStarted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)
from benchmarks.chromium import CHROMIUM, launch

REPO = Path(agentnb.__file__).resolve().parent.parent
MARKDOWN_IT = REPO / "js" / "node_modules" / "markdown-it"

JS = "window.__xss=1"
IMG = f"<img src=x onerror={JS}>"
PAYLOADS = [
    # the five markdown-it escapes the robustness issue found
    f"``{IMG}`",
    f"\\`{IMG}`",
    f"```x\n{IMG}\n",
    f"```x`\n{IMG}",
    f"tool\n\n{IMG}",
    # more fence and code-span tricks
    f"~~~\n{IMG}",
    f"   ```\n{IMG}",
    f"    ```\n{IMG}",
    f"> ```\n{IMG}",
    f"- ```\n  {IMG}",
    f"`` ` `` {IMG} ``",
    f"`a``{IMG}``b`",
    f"\\\\`{IMG}`",
    f"```\n```\n{IMG}\n```",
    # links mistune made live, and their cousins
    f"[a](&#106;avascript:{JS})",
    f"[a](&#x6A;avascript:{JS})",
    f"[r]: javascript:{JS}\n\n[click][r]",
    f"[click][r]\n\n[r]: <javascript:{JS}>",
    f"[a](<javascript:{JS}>)",
    f"[a]( javascript:{JS} )",
    f"[a](java\tscript:{JS})",
    f"[a](&amp;#106;avascript:{JS})",
    f"[a](&amp;amp;#106;avascript:{JS})",
    f"[a](https://e.com/?&amp;quot;onmouseover={JS}&amp;#34;)",
    f"[a](https://e.com/?&amp;quot onmouseover={JS})",
    f"[a](\\&#106;avascript:{JS})",
    f"[a](JaVaScRiPt:{JS})",
    f"[a](vbscript:{JS})",
    "[a](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    f"![a](javascript:{JS})",
    f"<javascript:{JS}>",
    # raw HTML of every block kind
    f"<script>{JS}</script>",
    f"<svg onload={JS}>",
    f'<iframe srcdoc="<script>parent.{JS}</script>"></iframe>',
    f"<details open ontoggle={JS}>x</details>",
    f"<div\nonmouseover={JS}>hover</div>",
    f"<style>@import 'javascript:{JS}';</style>",
    f"<a href='javascript:{JS}'>x</a>",
    f"&lt;img src=x onerror={JS}&gt;",
    f"<!-- -->{IMG}",
    f"<?x {IMG} ?>",
    f"<![CDATA[ {IMG} ]]>",
    f"<textarea>{IMG}</textarea>",
    f"| a |\n|---|\n| {IMG} |",
    f"*{IMG}*",
    f"[{IMG}](https://example.com)",
    f"<math><mtext><table><mglyph><style><img src=x onerror={JS}>",
]


def hostile_run(payload: str) -> Run:
    """A finished run with ``payload`` in every field a run shows."""
    run = Run(agent=f"agent {payload}", message=f"ask {payload}")
    run.start(at=1000.0)
    run.apply(RunStarted(run_id=f"run {payload}", received_at=1000.1))
    run.apply(ReasoningDelta(delta=f"thinking {payload}", received_at=1000.2))
    run.apply(TextDelta(delta=f"before\n\n{payload}", received_at=1000.3))
    run.apply(
        ToolCallStarted(
            call_id="c1", name=f"get_price\n\n{payload}", arguments=payload, received_at=1000.4
        )
    )
    run.apply(ToolCallFinished(call_id="c1", output=payload, received_at=1000.5))
    run.apply(
        ToolCallStarted(call_id="c2", name=payload, arguments={"q": payload}, received_at=1000.6)
    )
    run.apply(ToolCallFinished(call_id="c2", error=payload, received_at=1000.7))
    # a sub-agent two levels deep: its text, its name and its calls' fields, quoted per level
    sub = {"agent": f"sub {payload}", "received_at": 1000.7}
    run.apply(TextDelta(delta=f"sub\n\n{payload}", parent_call_id="c2", **sub))
    run.apply(ReasoningDelta(delta=payload, parent_call_id="c2", **sub))
    run.apply(ToolCallStarted(call_id="c2/n", name=payload, parent_call_id="c2", **sub))
    run.apply(ToolCallStarted(call_id="c2/n/m", name="m", arguments=payload, parent_call_id="c2/n"))
    run.apply(ToolCallFinished(call_id="c2/n/m", output=f"```\n{payload}", received_at=1000.75))
    run.apply(ToolCallFinished(call_id="c2/n", error=f"\n> {payload}", received_at=1000.75))
    run.apply(TextDelta(delta=f"after {payload}\n\n{IMG}", received_at=1000.8))
    run.apply(RunCompleted(followups=[payload, f"next\n\n{payload}"], received_at=1001.0))
    return run


def failed_hostile_run(payload: str) -> Run:
    run = Run(agent="a", message="m")
    run.start(at=1000.0)
    run.apply(TextDelta(delta=payload, received_at=1000.1))
    run.finish("failed", RunErrorInfo(message=payload, code=f"E {payload}"))
    return run


def documents() -> list[str]:
    docs = [static_markdown([hostile_run(p), failed_hostile_run(p)]) for p in PAYLOADS]
    docs.append(static_markdown([hostile_run(p) for p in PAYLOADS]))  # one long transcript
    return docs


# ---- renderers ---------------------------------------------------------------------------
NODE_RENDER = """
const md = require(process.argv[1])({html: true, linkify: true});
const docs = JSON.parse(require("fs").readFileSync(0, "utf8"));
process.stdout.write(JSON.stringify(docs.map((d) => md.render(d))));
"""


def render_markdown_it(docs: list[str]) -> list[str]:
    node = shutil.which("node")
    if node is None or not MARKDOWN_IT.is_dir():
        pytest.skip("needs node and js/node_modules/markdown-it (npm --prefix js ci)")
    done = subprocess.run(
        [node, "-e", NODE_RENDER, str(MARKDOWN_IT)],
        input=json.dumps(docs),
        capture_output=True,
        text=True,
        timeout=PATIENCE_S,
        check=True,
    )
    rendered: list[str] = json.loads(done.stdout)
    return rendered


def render_nbconvert(docs: list[str]) -> list[str]:
    filters = pytest.importorskip("nbconvert.filters.markdown_mistune")
    return [filters.markdown2html_mistune(doc) for doc in docs]


def render_mistune(docs: list[str]) -> list[str]:
    mistune = pytest.importorskip("mistune", minversion="3")
    markdown = mistune.create_markdown(
        escape=False, plugins=["strikethrough", "table", "url", "footnotes"]
    )
    return [str(markdown(doc)) for doc in docs]


RENDERERS: dict[str, Callable[[list[str]], list[str]]] = {
    "markdown-it": render_markdown_it,
    "nbconvert-mistune": render_nbconvert,
    "mistune": render_mistune,
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[str]]:
    docs = documents()
    return {name: render(docs) for name, render in RENDERERS.items()}


# ---- checks without a browser ------------------------------------------------------------
LIVE_TAGS = {"script", "iframe", "object", "embed", "style", "svg", "math", "form", "base"}
LIVE_TAGS |= {"meta", "link", "textarea", "details", "frame", "frameset", "template"}


class _Audit(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in LIVE_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"{tag} {name}=")
            if name in ("href", "src", "action", "formaction", "xlink:href") and not safe_url(
                value or ""
            ):
                self.problems.append(f"{tag} {name}={value!r}")


def safe_url(url: str) -> bool:
    """What a browser would follow: its scheme (after the URL parser strips whitespace and
    control characters) is http(s), mailto or none (relative), or it is an inline image."""
    lowered = re.sub(r"[\x00-\x20\x7f]", "", url).lower()
    if lowered.startswith("data:image/png;base64,"):
        return True
    scheme = re.match(r"([a-z][a-z0-9+.\-]*):", lowered)
    return scheme is None or scheme.group(1) in ("http", "https", "mailto")


def problems_in(html_text: str) -> list[str]:
    audit = _Audit()
    audit.feed(html_text)
    return audit.problems


@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_rendered_markdown_copy_has_no_live_html(
    rendered: dict[str, list[str]], renderer: str
) -> None:
    bad = {
        i: problems
        for i, html_text in enumerate(rendered[renderer])
        if (problems := problems_in(html_text))
    }
    assert not bad, {PAYLOADS[i] if i < len(PAYLOADS) else "all": p for i, p in bad.items()}


@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_the_answer_still_renders_as_markdown(renderer: str) -> None:
    answer = (
        "# Summary\n\n**NVDA** is at *$181.20* (~~down~~ up).\n\n- one\n- two\n\n"
        "| ticker | price |\n|---|--:|\n| NVDA | 181.2 |\n\n"
        "```python\nprint('<hi>')\n```\n\nSee [the docs](https://example.com/a?b=1&c=2) "
        "and `x < y`.\n\n> quoted"
    )
    run = Run(agent="finance_agent", message="price?")
    run.apply(TextDelta(delta=answer))
    run.apply(RunCompleted())
    (html_text,) = RENDERERS[renderer]([static_markdown([run])])
    for pattern in (
        r"<h1[^>]*>Summary",
        r"<strong>NVDA</strong> is at <em>\$181\.20</em>",
        r"<del>down</del>|<s>down</s>",
        r"<li>one</li>",
        r"<pre>[\s\S]*?print[\s\S]*?&lt;hi&gt;",  # nbconvert highlights it with pygments
        r'<a href="https://example\.com/a\?b=1&amp;c=2">the docs</a>',
        r"<code>x &lt; y</code>",
        r"<blockquote>\s*<p>quoted</p>",
        r"<td[^>]*>NVDA</td>",
    ):
        assert re.search(pattern, html_text), (pattern, html_text)


FRAGMENTS = [
    "`", "``", "```", "````", "~~~", "\\", "\\`", "<", ">", "&", "&#106;", "&amp;", "&#x6A;",
    "[", "]", "(", ")", "](", "]: ", "<img src=x onerror=window.__xss=1>", "<script>",
    "javascript:", "JaVaScRiPt:", "data:text/html,", "vbscript:", "\n", "\n\n", "    ", "> ",
    "- ", "1. ", "|", "\n|---|\n", "*", "_", "#", "<!--", "-->", "<div ", "onerror=", '"',
    "'", "x", "text ", "https://e.com", "\t", "<http://", "!", "\r",
]  # fmt: skip


def random_documents(count: int, seed: int = 7) -> list[str]:
    generator = random.Random(seed)
    return [
        "".join(generator.choice(FRAGMENTS) for _ in range(generator.randint(5, 60)))
        for _ in range(count)
    ]


@pytest.mark.parametrize("renderer", list(RENDERERS))
def test_random_hostile_answers_stay_inert(renderer: str) -> None:
    sources = random_documents(400)
    docs = []
    for source in sources:
        run = Run(agent="a", message=source)
        run.apply(TextDelta(delta=source))
        run.apply(ReasoningDelta(delta=source))
        run.apply(RunCompleted(followups=[source]))
        docs.append(static_markdown([run]))
    bad = [
        (sources[i], problems)
        for i, html_text in enumerate(RENDERERS[renderer](docs))
        if (problems := problems_in(html_text))
    ]
    assert not bad, bad[:3]


# ---- in Chromium -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def browser_context() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            context = patient(browser.new_context(java_script_enabled=True))
            # nothing may leave the machine, not even a broken image
            context.route("**/*", lambda route: route.abort())
            yield context
        finally:
            browser.close()


CHECK = """() => {
  const hrefs = [...document.querySelectorAll('[href],[src],[action]')].map(
    (el) => el.getAttribute('href') || el.getAttribute('src') || el.getAttribute('action'));
  const handlers = [...document.querySelectorAll('*')].flatMap(
    (el) => [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => a.name));
  return {xss: window.__xss === 1, hrefs, handlers};
}"""


def load(context: Any, bodies: list[str]) -> list[dict[str, Any]]:
    """Load each body in its own iframe of one fresh page (so a script of one cannot leave
    its mark on another) and report, per body, whether a script ran and what links exist."""
    frames = "".join(
        f'<iframe id="f{i}" srcdoc="{html.escape(body)}"></iframe>' for i, body in enumerate(bodies)
    )
    page = patient(context.new_page())
    try:
        page.set_content(f"<!doctype html><html><body>{frames}</body></html>", wait_until="load")
        page.wait_for_timeout(200)
        results = []
        for i in range(len(bodies)):
            frame = page.query_selector(f"#f{i}").content_frame()
            assert frame is not None
            frame.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
            results.append(frame.evaluate(CHECK))
        page.wait_for_timeout(50)
        for i, result in enumerate(results):
            frame = page.query_selector(f"#f{i}").content_frame()
            result["xss"] = result["xss"] or frame.evaluate("() => window.__xss === 1")
        return results
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("renderer", [*RENDERERS, "agentnb-html"])
def test_no_script_runs_in_chromium(
    browser_context: Any, rendered: dict[str, list[str]], renderer: str
) -> None:
    if renderer == "agentnb-html":
        bodies = [static_html([hostile_run(p), failed_hostile_run(p)]) for p in PAYLOADS]
    else:
        bodies = rendered[renderer]
    failures = []
    for i, result in enumerate(load(browser_context, bodies)):
        unsafe = [h for h in result["hrefs"] if not safe_url(h or "")]
        if result["xss"] or unsafe or result["handlers"]:
            failures.append((PAYLOADS[i] if i < len(PAYLOADS) else "all", result))
    assert not failures, failures


@pytest.mark.browser
def test_the_probe_would_see_a_script_run(browser_context: Any) -> None:
    """The check itself works: an unescaped payload does set ``window.__xss``, and the next
    page starts clean."""
    live_link = render_nbconvert([f"[a](&#106;avascript:{JS})"])[0]
    script, clean, link = load(browser_context, [IMG, "<p>x</p>", live_link])
    assert script["xss"] is True
    assert clean["xss"] is False
    assert link["hrefs"] == [f"javascript:{JS}"]
