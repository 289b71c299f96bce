"""``agentnb run`` renders the answer's markdown in a terminal (issue 27): in a real pty the
headings, emphasis and table come out rendered (no ``**``, ``#`` or table pipes), block by
block; with ``--plain``, ``NO_COLOR`` or a pipe (the CLI's ``main`` here, writing to no terminal)
the answer is the markdown as written."""

from __future__ import annotations

import io
import os
import re
import sys
from typing import Any

import pytest
from agentnb_testing import PATIENCE_S, cli_in_process
from cli_process import on
from hypothesis import given
from hypothesis import strategies as st

from agentnb._core.run import Run
from agentnb._display.terminal import TerminalPrinter, WordWrap
from agentnb.events import TextDelta

pexpect = pytest.importorskip("pexpect")

ASK = ["run", "finance_agent", "How is NVDA doing?"]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def environment(server: Any, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AGENTNB_") and k not in ("NO_COLOR", "COLUMNS", "LINES")
    }
    return {**env, "AGENTNB_HISTORY": "off", "AGENTNB_API_KEY": server.api_key, **extra}


def in_a_pty(server: Any, *args: str, **env: str) -> str:
    child = pexpect.spawn(
        sys.executable,
        ["-m", "agentnb", *ASK, *on(server), *args],
        env=environment(server, **env),
        encoding="utf-8",
        timeout=PATIENCE_S,
        dimensions=(50, 120),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before).replace("\r\n", "\n")


def answer_of(printed: str) -> str:
    """What comes after the last tool line, up to the summary line."""
    plain = ANSI.sub("", printed)
    after_tools = plain.split("✓ calculator")[-1]
    return after_tools.split("completed ·")[0]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_a_terminal_gets_the_markdown_rendered(server: Any) -> None:
    printed = in_a_pty(server)
    assert "\x1b[1m" in printed  # bold, as a terminal draws it
    answer = answer_of(printed)
    assert "**" not in answer and "| Ticker" not in answer and "#" not in answer
    assert "Demo quotes" in answer and "$875.40" in answer
    assert "─" in answer  # the table's rule, drawn


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
@pytest.mark.parametrize(("args", "env"), [(["--plain"], {}), ([], {"NO_COLOR": "1"})])
def test_plain_or_no_color_prints_the_markdown_as_written(
    server: Any, args: list[str], env: dict[str, str]
) -> None:
    printed = in_a_pty(server, *args, **env)
    assert "\x1b[" not in printed
    assert "**" in answer_of(printed) and "| Ticker" in answer_of(printed)


def test_a_pipe_gets_the_markdown_as_written(server: Any) -> None:
    done = cli_in_process(*ASK, *on(server), env={"AGENTNB_API_KEY": server.api_key})
    assert done.returncode == 0, done.stderr
    assert "\x1b[" not in done.stdout and "| Ticker" in done.stdout


def test_a_block_is_printed_once_it_is_complete() -> None:
    out = io.StringIO()
    printer = TerminalPrinter(out, color=True)
    run = Run(agent="a", message="m")

    def send(text: str) -> str:
        printer(run, TextDelta(delta=text))
        return ANSI.sub("", out.getvalue())

    shown = send("# Title\n\nA **bold")
    assert "Title" in shown and "#" not in shown  # the heading, complete, is printed
    assert "bold" not in shown  # the paragraph is not, yet
    shown = send(" word** done\n\n```python\nx = 1\n\n")
    assert "A bold word done" in shown and "**" not in shown
    assert "x = 1" not in shown  # a blank line inside a code fence ends nothing
    shown = send("y = 2\n```\nand the end")
    assert "x = 1" in shown and "y = 2" in shown and "and the end" not in shown
    printer(run, None)  # the run ended: the rest is printed
    assert "and the end" in ANSI.sub("", out.getvalue())


def test_an_ordered_list_keeps_its_numbers_dots() -> None:
    """Steps read as steps: ``1.``, ``2.``, as written (rich draws them bare, ``1 first``); a
    wrapped item's next line starts under its text, and ten steps align on the dot."""
    out = io.StringIO()
    printer = TerminalPrinter(out, color=True)
    run = Run(agent="a", message="m")
    steps = "".join(f"{n}. step {n}\n" for n in range(1, 11))
    printer(run, TextDelta(delta=f"Do this:\n\n{steps}\n- a bullet\n"))
    printer(run, None)
    lines = [line.rstrip() for line in ANSI.sub("", out.getvalue()).splitlines()]
    numbered = [line for line in lines if re.match(r"\s*\d+\. step", line)]
    assert [line.strip() for line in numbered] == [f"{n}. step {n}" for n in range(1, 11)]
    assert len({line.index(".") for line in numbered}) == 1  # aligned on the dot
    assert not any(re.match(r"\s*\d+ step", line) for line in lines)
    assert any(line.strip() == "• a bullet" for line in lines)


def test_plain_text_wrapped_to_a_terminal_keeps_its_indentation() -> None:
    """The markdown as written, in a terminal without colour, is wrapped a word at a time:
    a code block's indented lines and a nested list item kept their words but lost their
    leading spaces (``return 2`` under ``def``), and runs of spaces became one."""
    out = io.StringIO()
    wrap = WordWrap(out, 40)
    written = (
        "```python\ndef f() -> int:\n    return 2\n```\n- a point\n  - a nested detail\nx  = 1\n"
    )
    for piece in re.findall(r".{1,7}", written, flags=re.S):  # as it streams, in pieces
        wrap.write(piece)
    wrap.flush()
    assert out.getvalue() == written
    out = io.StringIO()
    wrap = WordWrap(out, 20)
    wrap.write("    indented words that run past the width\n")
    wrap.flush()
    assert out.getvalue() == "    indented words\nthat run past the\nwidth\n"


@given(
    st.text(alphabet="ab \n", max_size=200),
    st.integers(min_value=4, max_value=30),
    st.integers(min_value=1, max_value=9),
)
def test_streamed_text_keeps_every_word_whole_within_the_width(
    text: str, width: int, size: int
) -> None:
    """However it streams and whatever its spaces: the same words in the same order, no two
    run together, and a line past the width only where one word is longer than it."""
    out = io.StringIO()
    wrap = WordWrap(out, width)
    for start in range(0, len(text), size):
        wrap.write(text[start : start + size])
    wrap.flush()
    assert out.getvalue().split() == text.split()
    for line in out.getvalue().split("\n"):
        assert len(line) <= width or len(line.split()) == 1, (line, width)
