"""`agentnb.compare`: runs side by side, found however they are given, over the built-in
server, in a real kernel and through nbconvert; hostile answers stay text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from agentnb_testing import client_for
from kernel_session import notebook_client

from agentnb import runs
from agentnb._app.past.compare_runs import compare
from agentnb._core.exceptions import ConfigurationError
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._display.run_comparison import Comparison, aligned_calls, word_diff
from agentnb._history import close_default_stores, default_store
from agentnb.events import (
    RunCompleted,
    RunFailed,
    RunPaused,
    RunStarted,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)
from agentnb.history import HistoryStore
from agentnb.server import ServerHandle

HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> \x1b]52;c;SGVsbG8=\x07"
    "\x1b[2J [click](javascript:alert(3)) done"
)


@pytest.fixture
def history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[HistoryStore]:
    """The default history, in a file of this test's."""
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "history.sqlite3"))
    store = default_store()
    assert store is not None
    try:
        yield store
    finally:
        close_default_stores()


def compared(label: str, answer: str, *calls: str) -> Run:
    run = Run(agent=label, local_id=label, message="m")
    for index, name in enumerate(calls):
        run.apply(ToolCallStarted(call_id=str(index), name=name, arguments={}))
        run.apply(ToolCallFinished(call_id=str(index), output="ok"))
    run.apply(TextDelta(delta=answer))
    run.apply(RunCompleted())
    return run


# ---- the pieces ------------------------------------------------------------------------------
def test_the_word_diff_marks_what_was_removed_and_added_and_keeps_the_spaces() -> None:
    pieces = word_diff("NVDA is up 2% today", "NVDA is down 3% today")
    assert pieces == [("=", "NVDA is "), ("-", "up 2%"), ("+", "down 3%"), ("=", " today")]
    assert "".join(t for k, t in pieces if k != "-") == "NVDA is down 3% today"
    assert "".join(t for k, t in pieces if k != "+") == "NVDA is up 2% today"
    assert word_diff("", "") == []
    assert word_diff("same", "same") == [("=", "same")]


def test_tool_calls_are_aligned_by_name_and_order() -> None:
    a = compared("a", "", "search", "quote", "search")
    b = compared("b", "", "quote", "search", "plot")
    rows = aligned_calls([a, b])
    assert [name for name, _ in rows] == ["search", "quote", "search", "plot"]
    shown = [[call is not None for call in row] for _, row in rows]
    assert shown == [[True, True], [True, True], [True, False], [False, True]]


def test_one_run_is_not_a_comparison() -> None:
    with pytest.raises(ValueError, match="two or more runs"):
        Comparison([compared("a", "x")])


def test_a_hostile_answer_stays_text_in_the_html_and_the_plain_view() -> None:
    view = Comparison([compared("a", "fine"), compared("<b>b</b>", HOSTILE)])
    page = view.to_html()
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "javascript:" in page  # shown, as text
    assert "\x1b" not in page and "\x07" not in page
    tags = set(re.findall(r"</?([a-z0-9]+)", page))
    assert tags <= {
        "div",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "del",
        "ins",
        "br",
        "em",
        "p",
    }
    assert tags >= {"del", "ins"}
    text = view.to_text()
    assert "\x1b" not in text and "\x07" not in text
    assert "[-fine-]" in text and "{+<script>alert(1)</script>" in text


QUOTES = (
    "### Demo quotes\n\n| Ticker | Price |\n|:--|--:|\n| **NVDA** | {nvda} |\n"
    "| AMD | $155.60 |\n\nNVDA is {move} today: `{code}`.\n\n```\nx = {x}\n```"
)


class _Visible(HTMLParser):
    """The text a browser shows of an HTML view, and the text inside its del / ins marks."""

    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.marked: list[tuple[str, str]] = []
        self._mark: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("del", "ins"):
            self._mark = tag
            self.marked.append((tag, ""))
        self.text += " " if tag in ("td", "th", "p", "h3", "pre") else ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("del", "ins"):
            self._mark = None

    def handle_data(self, data: str) -> None:
        self.text += data
        if self._mark is not None:
            self.marked[-1] = (self._mark, self.marked[-1][1] + data)


def test_answers_are_rendered_markdown_with_the_word_diff_inside_and_amounts_kept() -> None:
    first = QUOTES.format(nvda="$875.40", move="up 2%", code="old()", x=1)
    second = QUOTES.format(nvda="$855.60", move="down 3%", code="new()", x=2)
    page = Comparison([compared("a", first), compared("b", second)]).to_html()
    seen = _Visible()
    seen.feed(page)
    for syntax in ("###", "|:--", "--:|", "**", "`", "```"):
        assert syntax not in seen.text, syntax
    assert "Demo quotes" in seen.text and "$155.60" in seen.text
    assert seen.marked == [
        ("del", "$875.40"),
        ("ins", "$855.60"),
        ("del", "up 2%"),
        ("ins", "down 3%"),
        ("del", "old()"),
        ("ins", "new()"),
        ("del", "1"),
        ("ins", "2"),
    ]
    assert re.search(r"<h3>Demo quotes</h3>", page) and "<strong>NVDA</strong>" in page
    # The notebook's MathJax (JupyterLab, Notebook 7, nbconvert) leaves the view alone.
    root = re.match(r'<div class="([^"]*)"', page)
    assert root is not None and {"agentnb-compare", "mathjax_ignore", "tex2jax_ignore"} <= set(
        root.group(1).split()
    )


def test_an_answer_left_out_entirely_is_struck_through_word_by_word_and_readable() -> None:
    view = Comparison([compared("a", "| A | B |\n|--|--|\n| one | two |"), compared("b", "")])
    seen = _Visible()
    seen.feed(view.to_html())
    assert seen.marked == [("del", "A B one two")]


def test_an_answers_own_private_use_marks_cannot_open_a_tag() -> None:
    view = Comparison([compared("a", "x"), compared("b", "x \ue000y\ue003 \ue002z")])
    page = view.to_html()
    assert page.count("<del") == page.count("</del>") and page.count("<ins") == page.count("</ins>")
    assert "\ue000" not in page and "\ue003" not in page


# ---- over the built-in server ---------------------------------------------------------------
async def test_two_agents_compared_from_runs_records_ids_and_frames(
    server: ServerHandle, history: HistoryStore
) -> None:
    async with client_for(server, "operativus", recorder=history) as client:
        finance = await client.run("finance_agent", "What is NVDA trading at?")
        echo = await client.run("echo", "What is NVDA trading at?")
    history.flush()
    from_runs = compare(finance, echo)
    frame = from_runs.to_pandas()
    assert list(frame["local_id"]) == [finance.local_id, echo.local_id]
    assert list(frame["agent"]) == ["finance_agent", "echo"]
    assert list(frame["model"]) == [finance.model, "agentnb-echo"]
    assert frame["cost_usd"][0] == pytest.approx(finance.cost)
    assert frame["cost_usd"].isna()[1]  # a model genai-prices does not know: unknown, not 0
    assert frame["answer"][1] == "What is NVDA trading at?"
    assert frame["similarity"][0] == 1.0 and 0 <= frame["similarity"][1] < 1
    assert frame["tool_calls"][0] == len(finance.tool_calls) > 0
    assert frame["tool_calls"][1] == 0
    assert finance.usage is not None
    assert frame["total_tokens"][0] == finance.usage.total_tokens

    recorded = runs()
    by_id = compare(finance.local_id, echo.run_id)
    by_record = compare(history.get(finance.local_id), history.get(echo.local_id))
    by_history = compare(recorded)
    by_rows = compare(*[row for _, row in recorded.to_pandas().iterrows()])
    by_frame = compare(recorded.to_pandas())
    columns = ["local_id", "status", "model", "total_tokens", "cost_usd", "tool_calls", "answer"]
    columns.append("duration")
    want = frame.set_index("local_id")[columns[1:]].sort_index()
    for view in (by_id, by_record, by_history, by_rows, by_frame):
        got = view.to_pandas().set_index("local_id")[columns[1:]].sort_index()
        assert got[columns[1:-1]].equals(want[columns[1:-1]])
        assert list(got["duration"]) == pytest.approx(list(want["duration"]), abs=0.05)
    names = [call.name for call in finance.tool_calls]
    assert [call.name for call in by_id.runs[0].tool_calls] == names


async def test_an_unknown_id_or_value_is_a_clear_error(
    server: ServerHandle, history: HistoryStore
) -> None:
    async with client_for(server, "operativus", recorder=history) as client:
        run = await client.run("echo", "hi")
    history.flush()
    with pytest.raises(ConfigurationError, match="no run 'nope' in the history"):
        compare(run, "nope")
    with pytest.raises(ConfigurationError, match="argument 2 is a int"):
        compare(run, 3)


def test_ids_need_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    close_default_stores()
    monkeypatch.setenv("AGENTNB_HISTORY", "off")
    with pytest.raises(ConfigurationError, match="history is off"):
        compare("a", "b")


# ---- in a real kernel, then nbconvert -------------------------------------------------------
@pytest.mark.kernel
def test_in_a_notebook_and_its_nbconvert_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("nbclient")
    nbconvert = pytest.importorskip("nbconvert")
    monkeypatch.setenv("AGENTNB_HISTORY", str(tmp_path / "kernel.sqlite3"))
    setup = (
        "import agentnb\n"
        "server = agentnb.start_server(delay_ms=0)\n"
        "client = agentnb.AgentClient('openai', base_url=server.url_for('openai'),"
        " api_key=server.api_key)\n"
        "a = client.run('echo', 'NVDA is up 2% today')\n"
        f"b = client.run('echo', {('NVDA is down 3% today ' + HOSTILE)!r})"
    )
    cells = [setup, "agentnb.compare(a, b)", "agentnb.compare(a.local_id, b.local_id)"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    notebook_client(notebook).execute()
    views = []
    for cell in notebook.cells[1:]:
        [output] = cell.outputs
        assert output.output_type == "execute_result"
        assert sorted(output["data"]) == ["text/html", "text/plain"]
        views.append(output["data"]["text/html"])
        assert "[-up 2%-]{+down 3%" in output["data"]["text/plain"]
    # The same view from the runs and from the history (but for its durations, which it
    # keeps from its own clock readings).
    rows = [dict(re.findall(r"<tr><th[^>]*>(.*?)</th>(.*?)</tr>", view, re.S)) for view in views]
    for row in rows:
        del row["agent time"]
    assert rows[0] == rows[1] and "answer" in rows[0] and "agentnb-echo" in rows[0]["model"]
    page, _ = nbconvert.HTMLExporter().from_notebook_node(notebook)
    assert re.search(r"<del [^>]*>up 2%</del>", page)
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)" in page


def _made_runs() -> list[Run]:
    """Runs as they end live: one that waited for approvals (one call denied by the user's
    policy), one cancelled with a call open, one failed."""
    t = 1_700_000_000.0
    approved = [
        ToolCallStarted(call_id="a1", name="buy", arguments={"qty": 10}, received_at=t + 0.3),
        ToolApprovalRequested(call_id="a1", name="buy", received_at=t + 0.3),
        RunPaused(received_at=t + 0.35),
        ToolApprovalResponded(call_id="a1", approved=True, decided_by="user", received_at=t + 5),
        ToolCallFinished(call_id="a1", output="bought", received_at=t + 5.5),
        ToolCallStarted(call_id="a2", name="sell", arguments={"ticker": "AMD"}, received_at=t + 6),
        ToolApprovalRequested(call_id="a2", name="sell", received_at=t + 6),
        RunPaused(received_at=t + 6.05),
        ToolApprovalResponded(call_id="a2", approved=False, decided_by="policy", received_at=t + 7),
        TextDelta(delta="Bought 10.", received_at=t + 7.2),
        RunCompleted(usage=Usage(prompt_tokens=200, completion_tokens=4), received_at=t + 7.5),
    ]
    opened = [
        ToolCallStarted(call_id="c1", name="quote", arguments={"t": "NVDA"}, received_at=t + 0.3),
        TextDelta(delta="NVDA is", received_at=t + 0.5),
    ]
    failed = [*opened, RunFailed(message="upstream 500", code="server_error", received_at=t + 2)]
    made = []
    for events in (approved, opened, failed):
        run = Run(agent="finance_agent", message="NVDA?", provider="openai", connection="c")
        run.start(at=t)
        run.apply(RunStarted(run_id="r1", model="gpt-4o-mini", received_at=t + 0.1))
        for event in events:
            run.apply(event)
        run.finish("cancelled")  # the one left open: stopped, as a Stop click does
        made.append(run)
    return made


class _Rows(HTMLParser):
    """The rows of a view's own table (not an answer's): a heading, then each cell's markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.rows: list[list[str]] = []
        self._depth = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._depth += tag == "table"
        if self._depth == 1 and tag == "tr":
            self.rows.append([])
        elif self._depth == 1 and tag in ("th", "td"):
            self._cell = []
        elif self._cell is not None:
            self._cell.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self._depth == 1 and tag in ("th", "td") and self._cell is not None:
            self.rows[-1].append("".join(self._cell))
            self._cell = None
        elif self._cell is not None:
            self._cell.append(f"</{tag}>")
        self._depth -= tag == "table"

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_entityref(self, name: str) -> None:
        self.handle_data(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.handle_data(f"&#{name};")


def _cells(view: Comparison) -> dict[str, list[str]]:
    parsed = _Rows()
    parsed.feed(view.to_html())
    return {heading: cells for heading, *cells in parsed.rows[1:]}


async def test_a_run_and_its_history_record_compare_the_same(
    server: ServerHandle, history: HistoryStore
) -> None:
    async with client_for(server, "operativus", recorder=history) as client:
        live = [await client.run("finance_agent", "What is NVDA trading at?")]
    for run in _made_runs():
        history.record(run, RunRequest(agent=run.agent, message=run.message))
        live.append(run)
    history.flush()
    for run in live:
        view = compare(run, run.local_id)
        rows = _cells(view)
        assert [name for name in rows if name.startswith("→")], rows
        for name, (shown, recorded) in rows.items():
            if name != "agent time":  # its own clock readings, kept to the microsecond
                assert shown == recorded, (run.status, name)
        durations = list(view.to_pandas()["duration"])
        assert durations[1] == pytest.approx(durations[0], abs=1e-3)
