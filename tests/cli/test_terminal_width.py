"""At 80 columns in a real terminal (tmux), every line agentnb prints is wrapped at word
boundaries by agentnb itself: the run's reasoning, tool lines and status line, and the
server's banner. A line the terminal had to wrap (longer than the pane) is a word broken in
two; ``Pane.everything`` joins those back, so each line it returns must fit."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from cli_process import cli_env, on
from tmux_pane import Pane

WIDTH = 80


def printed(command: list[str], env: dict[str, str], until: str) -> list[str]:
    pane = Pane(command, env, name="agentnb-width", width=WIDTH)
    try:
        pane.wait_for(lambda screen: until in screen)
        return pane.everything().splitlines()
    finally:
        pane.close()


def too_long(lines: list[str]) -> list[str]:
    return [line for line in lines if len(line.rstrip()) > WIDTH]


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
def test_a_run_at_80_columns_wraps_every_line_at_word_boundaries(server: Any, colour: bool) -> None:
    env = cli_env(server)
    env["AGENTNB_HISTORY"] = "off"
    if colour:  # the answer's markdown rendered by rich, the rest painted
        del env["NO_COLOR"]
        env["TERM"] = "xterm-256color"
    message = "Compare NVDA, AAPL, MSFT, GOOGL, AMZN and TSLA this week, and explain your reasoning"
    command = [sys.executable, "-m", "agentnb", "run", "finance_agent", repr(message), *on(server)]
    lines = printed(command, env, "EXIT=")
    assert "EXIT=0" in lines, "\n".join(lines)
    assert too_long(lines) == [], "\n".join(lines)
    text = "\n".join(lines)
    assert "thinking:" in text and "completed ·" in text, text
    thinking = next(i for i, line in enumerate(lines) if line.startswith("thinking:"))
    assert lines[thinking + 1].startswith("  "), "a continued line is indented under its first"


def test_the_banner_at_80_columns_keeps_its_url_whole() -> None:
    command = [sys.executable, "-m", "agentnb", "serve", "--port", "0", "--delay-ms", "0"]
    lines = printed(command, cli_env(), "Press Ctrl-C to stop.")
    assert too_long(lines) == [], "\n".join(lines)
    assert any("/v1/agents/finance_agent/stream" in line for line in lines), "\n".join(lines)


def test_the_approval_prompt_at_80_columns_wraps_at_word_boundaries(server: Any) -> None:
    env = cli_env(server)
    env["AGENTNB_HISTORY"] = "off"
    message = (
        "Buy 5 NVDA shares for my long-term retirement account, at the best price you can find"
    )
    command = [sys.executable, "-m", "agentnb", "run", "trader", repr(message), *on(server)]
    pane = Pane(command, env, name="agentnb-width", width=WIDTH)
    try:
        pane.wait_for(lambda screen: "[y/N" in screen)
        pane.tmux("send-keys", "-t", "t", "n", "Enter")
        pane.wait_for(lambda screen: "EXIT=" in screen)
        lines = pane.everything().splitlines()
    finally:
        pane.close()
    assert too_long(lines) == [], "\n".join(lines)
    assert any(line.startswith("Approve") for line in lines), "\n".join(lines)


def words_whole(lines: list[str], message: str) -> bool:
    """Whether ``message``'s words each sit whole on one of ``lines``."""
    words = {word for line in lines for word in line.split()}
    return all(word in words for word in message.split())


def test_the_key_warning_at_80_columns_wraps_at_word_boundaries() -> None:
    command = [sys.executable, "-m", "agentnb", "serve", "--port", "0", "--api-key", "k-123"]
    lines = printed(command, cli_env(), "Press Ctrl-C to stop.")
    assert too_long(lines) == [], "\n".join(lines)
    warning = "is visible to every user of this machine (ps, /proc); set"
    assert words_whole(lines, warning), "\n".join(lines)


def test_an_argument_error_at_80_columns_wraps_at_word_boundaries() -> None:
    flags = ["--a-misspelled-option-that-runs-long", "--and-another-one-after-it-as-well"]
    command = [sys.executable, "-m", "agentnb", "runs", *flags]
    lines = printed(command, cli_env(), "EXIT=")
    assert "EXIT=2" in lines, "\n".join(lines)
    assert too_long(lines) == [], "\n".join(lines)
    assert words_whole(lines, " ".join(flags)), "\n".join(lines)


def test_the_no_key_note_at_80_columns_wraps_at_word_boundaries() -> None:
    env = cli_env()
    env.update(AGENTNB_PROVIDER="operativus", AGENTNB_BASE_URL="http://127.0.0.1:9")
    lines = printed([sys.executable, "-m", "agentnb", "run", "echo", "hi"], env, "EXIT=")
    assert too_long(lines) == [], "\n".join(lines)
    assert words_whole(lines, "has no API key, so its requests go without one"), "\n".join(lines)


REASON = "paragraphs must be an integer, got 'lots'"
"""The built-in writer's reason for refusing ``paragraphs=lots`` (a 422)."""


def reads_as_the_server_s_reason(first: str) -> None:
    """A refusal's first line: what the server said is wrong, not where it came from, nor
    the class of the error the client raised."""
    assert "paragraphs must be" in first, first
    assert "http://" not in first and "Error" not in first, first


def test_a_refused_run_at_80_columns_leads_with_the_server_s_reason_in_whole_words(
    server: Any,
) -> None:
    env = cli_env(server)
    command = [
        sys.executable, "-m", "agentnb", "run", "writer", "hi", "--meta", "paragraphs=lots",
        *on(server),
    ]  # fmt: skip
    lines = printed(command, env, "EXIT=")
    assert "EXIT=1" in lines, "\n".join(lines)
    assert too_long(lines) == [], "\n".join(lines)
    [first] = [line for line in lines if " error: " in line]
    reads_as_the_server_s_reason(first.split(" error: ", 1)[1])
    assert words_whole(lines, f"{REASON} (422 Unprocessable Entity from POST"), "\n".join(lines)


@pytest.mark.parametrize("colour", [True, False], ids=["colour", "no-colour"])
def test_an_answer_s_lists_and_code_at_80_columns_read_as_written(
    server: Any, colour: bool
) -> None:
    """Issue 68 at 80 columns: an ordered list keeps its numbers' dots, rendered or not;
    without colour, where the markdown goes as written, a nested item and a code block's
    body keep their indentation (they lost it: ``return 2`` flush under ``def``)."""
    env = cli_env(server)
    if colour:
        del env["NO_COLOR"]
        env["TERM"] = "xterm-256color"
    command = [
        sys.executable, "-m", "agentnb", "run", "writer", "'A short report'",
        "--meta", "paragraphs=3", *on(server),
    ]  # fmt: skip
    lines = printed(command, env, "EXIT=")
    assert "EXIT=0" in lines and too_long(lines) == [], "\n".join(lines)
    steps = [line.strip() for line in lines if line.strip().endswith(("the frame", "it"))]
    assert steps == ["1. read the frame", "2. translate it", "3. show it"], "\n".join(lines)
    if not colour:
        assert "    return 2" in lines and "  - a nested detail" in lines, "\n".join(lines)
