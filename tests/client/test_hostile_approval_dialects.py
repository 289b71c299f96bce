"""The approval gate in every dialect that can ask for approval, against raw-socket servers
that send generated names, argument keys and values, and reasons: control and Unicode format
characters (bidi overrides and isolates, zero-width characters, line and paragraph separators,
the BOM, invisible fillers), very long values and many keys (a long harmless value before the
key that matters).

What is asserted is what a person sees: the static copy of the run (HTML, markdown, text) and
the ``[y/N/v]`` prompt of ``agentnb run`` in a real pty. Nothing the server sent reaches either
raw (every such character is written ``⟨U+XXXX⟩``), every key is shown, a name that is not a
plain identifier is flagged, and the whole call is one ``v`` away. Many calls go into one run,
so a few examples (and a few processes) cover much."""

from __future__ import annotations

import asyncio
import html
import os
import sys
import time
import unicodedata
from collections.abc import Sequence
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S
from approval_dialects import DIALECTS, ONE_CALL_PER_PAUSE, AskedCall, paused_on
from hostile_server import HostileServer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from agentnb._client.async_client import AsyncAgentClient
from agentnb._core.run import Run, ToolCall
from agentnb._core.shown_call import is_plain_identifier, visible
from agentnb._core.text import compact_json
from agentnb._display.static_copy import static_bundle

DANGEROUS = [
    "\n", "\r", "\t", "\x1b", "\x1b[2J", "\x07", "\x00", "\x7f", "\x85", "\x9b",
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200e", "\u200f", "\u061c", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",
    "\u2028", "\u2029", "\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u180e",
    "\U000e0041", "\ue000", "\U0010ffff",
]  # fmt: skip
"""Line breaks, controls, escape sequences, bidi embeddings/overrides/isolates and marks,
zero-width characters, the BOM and soft hyphen, separators, invisible fillers, a tag
character, private use and an unassigned code point."""

hostile_text = st.lists(
    st.one_of(
        st.sampled_from(DANGEROUS),
        st.characters(categories=["Cc", "Cf", "Zl", "Zp", "Co"]),
        st.text("abcdefgh_./-: ", min_size=1, max_size=6),
        st.sampled_from(["read_file", "wire_money", "Approve? [y/N]", "✓", "é", "ش", "中"]),
    ),
    min_size=1,
    max_size=8,
).map("".join)
long_value = st.builds(lambda n, tail: "harmless " * n + tail, st.integers(30, 400), hostile_text)
arguments = st.dictionaries(
    hostile_text, st.one_of(hostile_text, long_value, st.integers()), max_size=25
)


def calls_of(max_calls: int) -> st.SearchStrategy[list[AskedCall]]:
    call = st.tuples(hostile_text, arguments, hostile_text)
    return st.lists(call, min_size=1, max_size=max_calls).map(
        lambda drawn: [
            AskedCall(f"c{i}", name, args, reason) for i, (name, args, reason) in enumerate(drawn)
        ]
    )


def unseen(text: str) -> list[str]:
    """The characters of ``text`` that would not show as themselves (``\\n`` aside: the
    copies' own line breaks)."""
    return sorted(
        {
            f"U+{ord(c):04X}"
            for c in text
            if c != "\n"
            and (
                unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn")
                or c in "\u115f\u1160\u3164\uffa0\u2800\u180e"
            )
        }
    )


async def denied_run(dialect: str, calls: Sequence[AskedCall]) -> tuple[Run, list[ToolCall]]:
    """The run a server pausing on ``calls`` makes, every call denied by the policy."""
    asked: list[ToolCall] = []

    def deny(call: ToolCall) -> bool:
        asked.append(call)
        return False

    with HostileServer(paused_on(dialect, calls)) as srv:
        async with AsyncAgentClient(dialect, base_url=srv.url, record=False) as client:
            run = await client.run("agent", "Tidy up", approve=deny)
    return run, asked


def as_read(markdown: str) -> str:
    """The markdown copy as a renderer that allows raw HTML shows it (text, unescaped)."""
    return html.unescape(MarkdownIt("commonmark", {"html": True}).render(markdown))


@pytest.mark.parametrize("dialect", list(DIALECTS))
@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # a server per example: no shrinking
)
@given(data=st.data())
def test_the_static_copy_shows_every_call_whole_and_nothing_raw(
    dialect: str, data: st.DataObject
) -> None:
    calls = data.draw(calls_of(1 if dialect in ONE_CALL_PER_PAUSE else 4))
    run, asked = asyncio.run(denied_run(dialect, calls))
    assert [call.call_id for call in asked] == [call.call_id for call in calls]
    bundle = static_bundle([run])
    for kind, copy in bundle.items():
        assert not unseen(copy), (kind, unseen(copy))
    shown_html = html.unescape(bundle["text/html"])
    shown_md = as_read(bundle["text/markdown"])
    plain = bundle["text/plain"]
    for call in calls:
        name = visible(call.name)
        assert name in shown_html and name in plain
        if not is_plain_identifier(call.name):
            assert f"the tool name {name} is not a plain identifier" in plain
        for key in call.arguments:
            assert f"{visible(key)}: " in shown_html, key  # every key, before any cut
            assert f"{visible(key)}: " in shown_md, key
            assert f"{visible(key)}: " in plain, key
        if call.reason.strip() and dialect not in ("vercel", "openai-responses"):  # no reason
            said = shown_html.replace("\xa0", " ")  # a reason's lines, each visible, kept
            assert all(visible(line) in said for line in call.reason.strip().split("\n"))


def spawn(dialect: str, url: str) -> Any:
    """`agentnb run` in a pty wide enough that no line wraps (this test reads whole lines)."""
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTNB_")}
    env.update(AGENTNB_HISTORY="off", NO_COLOR="1")
    argv = ["-m", "agentnb", "run", "agent", "go", "--provider", dialect, "--base-url", url]
    return pexpect.spawn(
        sys.executable, argv, env=env, encoding="utf-8", timeout=PATIENCE_S, dimensions=(60, 5000)
    )


def read_prompt(child: Any) -> tuple[str, str]:
    """What the terminal shows up to the prompt the run waits at, and that prompt's line. Read
    until the output stops on a line that starts with ``Approve`` and ends with ``[y/N]``:
    a hostile name or value may hold the text ``[y/N]`` itself, inside another line."""
    pexpect = pytest.importorskip("pexpect")
    seen = ""
    deadline = time.monotonic() + PATIENCE_S
    while time.monotonic() < deadline:
        try:
            child.expect(pexpect.TIMEOUT, timeout=0.5)
        except pexpect.EOF:
            raise AssertionError(f"the run ended before a prompt: {seen!r}") from None
        seen += child.before
        last = seen.replace("\r\n", "\n").rsplit("\n", 1)[-1]
        if last.startswith("Approve ") and last.endswith(("[y/N] ", "[y/N/v] ")):
            return seen, last
    raise AssertionError(f"no prompt within 30 s: {seen[-500:]!r}")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
@pytest.mark.parametrize("dialect", list(DIALECTS))
@settings(
    max_examples=2,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # a process per example: no shrinking
)
@given(data=st.data())
def test_the_prompt_shows_every_call_whole_and_nothing_raw(
    dialect: str, data: st.DataObject
) -> None:
    calls = data.draw(calls_of(1 if dialect in ONE_CALL_PER_PAUSE else 3))
    with HostileServer(paused_on(dialect, calls)) as srv:
        child = spawn(dialect, srv.url)
        for call in calls:
            asked, prompt = read_prompt(child)
            index = 0 if prompt.endswith("[y/N/v] ") else 1
            assert not unseen(asked.replace("\r\n", "\n")), unseen(asked)
            assert visible(call.name) in asked
            if not is_plain_identifier(call.name):
                assert "is not a plain identifier" in asked
            for key in call.arguments:
                assert f"{visible(key)}: " in asked, key
            if index == 0:  # clipped: v shows the call whole before deciding
                child.sendline("v")
                whole, _ = read_prompt(child)
                assert not unseen(whole.replace("\r\n", "\n"))
                for value in call.arguments.values():  # shown as JSON, made visible
                    assert visible(compact_json(value)) in whole
            child.sendline("n")
        child.expect_exact(child.delimiter)  # EOF: the run ended after the decisions
        child.close()
