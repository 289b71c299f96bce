"""A server's text cannot drive the user's terminal: escape sequences (clipboard, title,
screen) and control characters in answers, tool names, outputs and errors are stripped
before ``agentnb run`` or the terminal printer write them."""

from __future__ import annotations

import io
import json
import re
import subprocess

import pytest
from agentnb_testing import cli_in_process
from hostile_server import Conn, HostileServer, Request, http_head, sse_head

import agentnb
from agentnb._core.run import Run, RunErrorInfo
from agentnb._core.text import terminal_safe
from agentnb._display.run_text import run_text
from agentnb._display.terminal import CYAN, DIM, GREEN, RED, RESET, TerminalPrinter
from agentnb.events import (
    ReasoningDelta,
    RunCompleted,
    TextDelta,
    ToolCallFinished,
    ToolCallStarted,
)

PAYLOADS = {
    "clipboard (OSC 52)": "\x1b]52;c;ZWNobyBwd25lZA==\x07",
    "title (OSC 0, ST)": "\x1b]0;pwned\x1b\\",
    "clear screen (CSI)": "\x1b[2J\x1b[H",
    "8-bit CSI": "\x9b2J",
    "8-bit OSC": "\x9d0;pwned\x9c",
    "DCS": "\x1bPq#0;2;0;0;0\x1b\\",
    "reset (RIS)": "\x1bc",
    "charset (nF)": "\x1b(0",
    "bell, backspace, CR": "\x07\x08\r",
    "cut OSC": "\x1b]52;c;",
}
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hostile(text: str = "") -> str:
    return f"before {text}{''.join(PAYLOADS.values())} after"


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_terminal_safe_strips_each_payload(name: str) -> None:
    safe = terminal_safe(f"a{PAYLOADS[name]}b")
    assert not UNSAFE.search(safe), repr(safe)
    assert safe.startswith("a") and safe.endswith("b")
    assert "pwned" not in safe or name == "cut OSC"


def test_terminal_safe_keeps_ordinary_text() -> None:
    text = "| Ticker | Price |\n\tNVDA → 1 234,5 € ✓ 日本語 🙂 [1] (2) ; ok"
    assert terminal_safe(text) == text


def run_with_hostile_text() -> tuple[Run, list[object]]:
    run = Run(agent="a", message="m")
    events: list[object] = [
        ReasoningDelta(delta=hostile("think")),
        TextDelta(delta=hostile("answer")),
        ToolCallStarted(call_id="t1", name=hostile("tool"), arguments={"q": hostile()}),
        ToolCallFinished(call_id="t1", output=hostile("out")),
        ToolCallStarted(call_id="t2", name="ok_tool", arguments=hostile()),
        ToolCallFinished(call_id="t2", error=hostile("err")),
        RunCompleted(),
    ]
    return run, events


@pytest.mark.parametrize("color", [False, True])
def test_the_printer_writes_no_control_sequence_from_the_server(color: bool) -> None:
    out = io.StringIO()
    printer = TerminalPrinter(out, color=color)
    run, events = run_with_hostile_text()
    for event in events:
        run.apply(event)  # type: ignore[arg-type]
        printer(run, event)  # type: ignore[arg-type]
    run.error = RunErrorInfo(hostile("error"), code=hostile())
    printer(run, None)
    written = out.getvalue()
    for ours in (DIM, RED, GREEN, CYAN, RESET):
        written = written.replace(ours, "")
    assert not UNSAFE.search(written), repr(written)
    assert "before answer" in written and "before tool" in written and "after" in written
    assert not UNSAFE.search(run_text(run))


def test_a_deeply_nested_tool_argument_prints() -> None:
    out = io.StringIO()
    deep: object = []
    for _ in range(5000):
        deep = [deep]
    run, started = Run(), ToolCallStarted(call_id="t", name="f", arguments=deep)
    run.apply(started)  # as a handle does before its listeners hear of the event
    TerminalPrinter(out, color=False)(run, started)
    assert "nested too deeply" in out.getvalue()


def agentnb_run(url: str) -> subprocess.CompletedProcess[str]:
    """``agentnb run`` against ``url`` by the CLI's ``main`` in this process."""
    return cli_in_process("run", "m", "hi", "--provider", "openai", "--base-url", url)


def test_agentnb_run_strips_a_hostile_stream() -> None:
    async def stream(conn: Conn, request: Request) -> None:
        call = {"index": 0, "id": "t1", "function": {"name": hostile("tool"), "arguments": "{}"}}
        frames = [
            {"id": "c1", "choices": [{"index": 0, "delta": {"content": hostile("answer")}}]},
            {"id": "c1", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]},
            {"id": "c1", "error": {"message": hostile("error"), "code": "E"}},
        ]
        body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames)
        await conn.send(sse_head() + body.encode())

    with HostileServer(stream) as srv:
        done = agentnb_run(srv.url)
    assert done.returncode == 1
    assert "before answer" in done.stdout and "before error" in done.stdout
    assert "→ before tool" in done.stdout  # the tool name is shown, stripped
    assert not UNSAFE.search(done.stdout.replace(RED, "").replace(RESET, "")), done.stdout


def test_agentnb_run_strips_a_hostile_error_answer() -> None:
    async def refuse(conn: Conn, request: Request) -> None:
        body = json.dumps({"detail": hostile("refused")}).encode()
        await conn.send(http_head("400 Bad Request", {"Content-Type": "application/json"}) + body)

    with HostileServer(refuse) as srv:
        done = agentnb_run(srv.url)
    output = done.stdout + done.stderr  # the error is said once, on the summary line
    assert done.returncode == 1 and output.count("before refused") == 1
    assert not UNSAFE.search(output), output


def test_an_error_frame_raised_to_a_script_carries_no_control_sequence() -> None:
    """A traceback printed in a terminal shows the exception's message as it is: the
    server's error text is made terminal-safe where the failed run's message is built."""

    async def stream(conn: Conn, request: Request) -> None:
        frame = {"id": "c1", "error": {"message": hostile("error"), "code": hostile("E")}}
        await conn.send(sse_head() + f"data: {json.dumps(frame)}\n\n".encode())

    with HostileServer(stream) as srv:
        client = agentnb.AgentClient("openai", base_url=srv.url, api_key="sk-test-key")
        with pytest.raises(agentnb.RunError) as caught:
            client.run("gpt-x", "hi")
        client.close()
    error = caught.value
    assert "before error" in str(error)
    assert error.run is not None and error.run.error is not None
    for text in (str(error), error.run.error.message, error.run.error.code or ""):
        assert not UNSAFE.search(text), repr(text)
