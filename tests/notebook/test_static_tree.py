"""The static copy of a run with sub-agents reads as a tree (HTML: nested ``<details>``, the
sub-agents' text collapsed; markdown: quoted one level per nesting; text: indented), from a
`Run` SeekrFlow's translator folded; and no untrusted string reaches any copy with control
characters in it."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from nested_frames import (
    SUB_TEXT,
    TOP_TEXT,
    deep_run_frames,
    nested_run_frames,
    run_from_frames,
)

from agentnb._core.run import Run, RunErrorInfo
from agentnb._display.call_tree import MAX_INDENT
from agentnb._display.run_text import run_text
from agentnb._display.static_copy import static_bundle, static_html, static_markdown, static_text
from agentnb.events import (
    ReasoningDelta,
    RunCompleted,
    RunStarted,
    TextDelta,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolCallDenied,
    ToolCallFinished,
    ToolCallStarted,
    Usage,
)

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


class _Tree(HTMLParser):
    """For each tool name in a ``<summary><code>``, the tool names of the ``<details>`` it sits
    in (outermost first), and which ``<details>`` are open."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, dict[str, str | None]]] = []
        self.names: list[str | None] = []
        """The tool name of each open ``<details>`` (None until its summary names it)."""
        self.found: list[tuple[str, list[str], bool]] = []
        self.summaries: list[tuple[str, bool]] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append((tag, dict(attrs)))
        if tag == "details":
            self.names.append(None)
        if tag in ("code", "summary"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        open_tag, _attrs = self.stack.pop()
        assert open_tag == tag, (open_tag, tag)
        tags = [t for t, _ in self.stack]
        if tag == "code" and tags[-1:] == ["summary"] and self._text is not None:
            name = "".join(self._text)
            details = [a for t, a in self.stack if t == "details"]
            self.names[-1] = name
            outer = [n for n in self.names[:-1] if n is not None]
            self.found.append((name, outer, "open" in details[-1]))
            self._text = []
        elif tag == "summary" and self._text is not None:
            details = [a for t, a in self.stack if t == "details"]
            self.summaries.append(("".join(self._text), "open" in details[-1]))
            self._text = None
        elif tag == "details":
            self.names.pop()

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def tree_of(html_text: str) -> _Tree:
    parser = _Tree()
    parser.feed(html_text)
    parser.close()
    assert parser.stack == []
    return parser


# ---- the tree -----------------------------------------------------------------------------


def test_html_nests_each_call_inside_the_call_that_started_it() -> None:
    run = run_from_frames(nested_run_frames())
    found = tree_of(static_html([run])).found
    assert [(name, outer) for name, outer, _ in found] == [
        ("research", []),
        ("get_price", ["research"]),
        ("verify", ["research", "get_price"]),
        ("research", []),
        ("get_price", ["research"]),
    ]
    # A call with calls inside is open, so the tree shows; a leaf is closed.
    assert [opened for _, _, opened in found] == [True, True, False, True, False]


def test_html_keeps_sub_agent_text_collapsed_inside_its_call_labelled_with_its_agent() -> None:
    run = run_from_frames(nested_run_frames())
    html_text = static_html([run])
    summaries = tree_of(html_text).summaries
    assert ("Sub-agent researcher text (58 characters)", False) in summaries
    assert ("Sub-agent analyst text (15 characters)", False) in summaries
    assert "agent researcher" in html_text and "agent checker" in html_text
    # The sub-agent's text is inside the first research card, never in the answer.
    first_card = html_text[html_text.index("<details") : html_text.index("NVDA is at 181.2")]
    assert SUB_TEXT in first_card
    answer = html_text[html_text.rindex("</details>") :]
    assert TOP_TEXT in answer and SUB_TEXT not in answer


def test_markdown_quotes_each_nested_call_one_level_deeper_with_its_agent() -> None:
    run = run_from_frames(nested_run_frames())
    rendered = MarkdownIt("commonmark", {"html": True}).render(static_markdown([run]))
    assert "<script" not in rendered
    level = {
        name: rendered[: rendered.index(f"<strong>{name}</strong>")].count("<blockquote>")
        - rendered[: rendered.index(f"<strong>{name}</strong>")].count("</blockquote>")
        for name in ("research", "get_price", "verify")
    }
    assert level == {"research": 0, "get_price": 1, "verify": 2}
    assert "agent checker" in rendered and "Sub-agent researcher text" in rendered


def test_text_is_the_plain_view_of_the_run_under_a_line_naming_it() -> None:
    """One plain-text rendering: the copy's ``text/plain`` is the terminal's plain view."""
    run = run_from_frames(nested_run_frames())
    lines = static_text([run]).splitlines()
    assert lines[0].startswith(f"agentnb · {run.agent}")
    assert lines[1:] == run_text(run).splitlines()
    assert lines[1:4] == [
        '→ research(ticker: "NVDA") ✓ NVDA is at 181.2',
        f"  ┆ researcher: {SUB_TEXT}",
        '  ↳ [researcher] → get_price(ticker: "NVDA") ✓ {"price": 181.2}',
    ]


def test_a_50_deep_tree_keeps_every_call_once_and_caps_the_indentation() -> None:
    run = run_from_frames(deep_run_frames(50))
    assert [c.depth for c in run.tool_calls] == list(range(50))
    bundle = static_bundle([run])
    found = tree_of(bundle["text/html"]).found
    assert [name for name, _, _ in found] == ["ask"] + [f"level_{i}" for i in range(1, 50)]
    assert found[-1][1][-1] == "level_48"  # still inside its parent, 49 levels down
    assert bundle["text/html"].count("<blockquote>") == MAX_INDENT
    assert "depth 49" in bundle["text/html"]
    quotes = max(len(m) for m in re.findall(r"^>+", bundle["text/markdown"], re.M))
    assert quotes == MAX_INDENT
    deepest = [line for line in bundle["text/plain"].splitlines() if "level_49" in line]
    assert deepest == [
        "  "
        * MAX_INDENT
        + "↳ [depth 49] [agent_49] → level_49(level: 49) ? no result (the platform never "
        "reported it)"
    ]


def test_calls_naming_a_missing_parent_or_each_other_are_each_shown_once_at_the_top() -> None:
    run = Run(agent="a", message="m")
    run.apply(ToolCallStarted(call_id="x", name="self_parent", parent_call_id="x"))
    run.apply(ToolCallStarted(call_id="y", name="orphan", parent_call_id="ghost"))
    run.apply(ToolCallStarted(call_id="p", name="first", parent_call_id="q"))
    run.apply(ToolCallStarted(call_id="q", name="second", parent_call_id="p"))
    run.apply(RunCompleted())
    found = tree_of(static_html([run])).found
    assert [(n, outer) for n, outer, _ in found] == [
        ("self_parent", []),
        ("orphan", []),
        ("first", []),
        ("second", []),  # its parent "first" names it as parent: the fold starts it at the top
    ]


def test_a_calls_usage_and_duration_are_in_every_copy() -> None:
    run = Run(agent="a", message="m")
    run.apply(ToolCallStarted(call_id="c", name="ask", received_at=1.0))
    run.apply(ToolCallStarted(call_id="c/n", name="look", parent_call_id="c", agent="sub"))
    usage = Usage(prompt_tokens=12, completion_tokens=3)
    run.apply(ToolCallFinished(call_id="c/n", output=1, usage=usage, received_at=3.5))
    run.apply(ToolCallFinished(call_id="c", output=2, received_at=4.0))
    run.apply(RunCompleted(received_at=5.0))
    bundle = static_bundle([run])
    for copy in bundle.values():
        assert "tokens 12 in · 3 out" in copy
    assert "3.0 s" in bundle["text/html"]


# ---- every untrusted string is cleaned ------------------------------------------------------

DIRTY = "\x1b]52;c;cGF3bmVk\x07\x1b[2J\x00\x08\x9b31m\x7f"
"""A clipboard write, a screen clear, a NUL, a backspace, a C1 CSI and DEL."""


def dirty(text: str) -> str:
    return f"{text}{DIRTY}end"


def run_with_dirt_everywhere() -> Run:
    """A run where every string a server or a human sent carries control characters."""
    run = Run(agent=dirty("agent"), message=dirty("message"))
    events = [
        RunStarted(run_id=dirty("run"), thread_id=dirty("thread")),
        ReasoningDelta(delta=dirty("reasoning")),
        ToolCallStarted(call_id="c1", name=dirty("tool"), arguments={"k": dirty("arg")}),
        ToolApprovalRequested(call_id="c1", reason=dirty("asked")),
        ToolApprovalResponded(call_id="c1", approved=False, reason=dirty("decided")),
        ToolCallDenied(call_id="c1", reason=dirty("denied")),
        ToolCallStarted(call_id="c2", name="q"),
        ToolApprovalRequested(call_id="c2", question=dirty("question")),
        ToolApprovalResponded(call_id="c2", approved=True, answer=dirty("answer")),
        ToolCallFinished(call_id="c2", error=dirty("error")),
        ToolCallStarted(call_id="c3", name="ask", arguments=dirty("args text")),
        TextDelta(delta=dirty("sub text"), parent_call_id="c3", agent=dirty("sub")),
        ReasoningDelta(delta=dirty("sub reasoning"), parent_call_id="c3"),
        ToolCallStarted(call_id="c3/n", name=dirty("n"), parent_call_id="c3", agent=dirty("sub")),
        ToolCallFinished(call_id="c3/n", output=dirty("nested output")),
        ToolCallFinished(call_id="c3", output={"o": dirty("output")}),
        TextDelta(delta=dirty("answer")),
        RunCompleted(followups=[dirty("followup")]),
    ]
    for event in events:
        run.apply(event)
    return run


def test_no_control_character_reaches_any_copy_from_any_field() -> None:
    run = run_with_dirt_everywhere()
    failed = Run(agent="a", message="m")
    failed.apply(TextDelta(delta="partial"))
    failed.finish("failed", RunErrorInfo(dirty("run error"), code=dirty("code")))
    for kind, copy in static_bundle([run, failed]).items():
        found = sorted({hex(ord(c)) for c in CONTROL.findall(copy)})
        assert not found, f"{kind} carries {found}"
        for field in ("error", "run error"):
            if kind != "text/plain":
                assert f"{field}end" in copy, (kind, field)
        for field in ("asked", "decided"):  # an approval's words: every character shown
            if kind != "text/plain":
                assert f"{field}⟨U" in copy, (kind, field)
