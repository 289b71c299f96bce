"""The magics in a real IPython shell against hostile servers and hostile input: a key a
server echoes back (JSON-escaped, PHP style) stays out of the cell's ``UsageError`` and of
everything it prints; a server's terminal escapes do not reach the ``UsageError`` terminal
IPython prints; absurd ``--limit`` values are "all", never an ``OverflowError``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hostile_server import Conn, HostileServer, Request, http_head, sse_head
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb._app.front import connections as conns
from agentnb._core.request import RunRequest
from agentnb._core.run import Run
from agentnb._history import close_default_stores
from agentnb.events import RunCompleted, TextDelta
from agentnb.history import HistoryStore

KEY = "sk-magic/0123456789/abcdef"
ESCAPED = KEY.replace("/", "\\/")


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("agentnb")
    return ip


@pytest.fixture
def history(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "history.sqlite3"
    monkeypatch.setenv("AGENTNB_HISTORY", str(path))
    close_default_stores()
    yield path
    close_default_stores()


async def echo_escaped(conn: Conn, request: Request) -> None:
    """A 401 whose body quotes the key JSON-escaped with ``\\/`` (PHP's json_encode)."""
    sent = request.headers.get("authorization", "")
    body = json.dumps({"error": {"message": f"invalid credentials {sent}"}})
    head = http_head("401 Unauthorized", {"Content-Type": "application/json"})
    await conn.send(head + body.replace("/", "\\/").encode())


@pytest.mark.parametrize("wait", ["", " --wait"])
def test_a_key_echoed_json_escaped_stays_out_of_the_cell(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], history: Path, wait: str
) -> None:
    conns.close_all()
    with HostileServer(echo_escaped) as srv:
        agentnb.connect("openai", base_url=srv.url, api_key=KEY, name="echoes", max_retries=0)
        try:
            result = shell.run_cell(f"%%agent echo --via echoes{wait}\nhi")
        finally:
            conns.close_all()
    error = result.error_in_exec
    assert isinstance(error, UsageError) and "AuthenticationError" in str(error)
    out, err = capsys.readouterr()
    run = shell.user_ns["_agent"].run
    assert run.error is not None
    for text in (str(error), repr(error), out, err, run.error.message):
        assert KEY not in text and ESCAPED not in text
    assert "***" in str(error)
    close_default_stores()  # the history's writes are on disk now
    with HistoryStore(history) as store:
        assert store.get(run.local_id) is not None
    for file in history.parent.glob(history.name + "*"):
        assert KEY.encode() not in file.read_bytes(), file.name


ESCAPES = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]0;pwned\x1b\\\x1b[2J\x9b2J\x1bc"
"""Clipboard write (OSC 52), window title, clear screen (7- and 8-bit CSI), reset."""
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


async def error_frame(conn: Conn, request: Request) -> None:
    error = {"message": f"boom{ESCAPES}end", "code": f"E{ESCAPES}"}
    frames = [{"id": "c1", "choices": [{"index": 0, "delta": {"content": "par"}}]}]
    frames.append({"id": "c1", "error": error})
    body = "".join(f"data: {json.dumps(frame)}\n\n" for frame in frames)
    await conn.send(sse_head() + body.encode())


async def refusal(conn: Conn, request: Request) -> None:
    body = json.dumps({"detail": f"refused{ESCAPES}here"}).encode()
    await conn.send(http_head("400 Bad Request", {"Content-Type": "application/json"}) + body)


@pytest.mark.parametrize(
    ("handler", "wait"),
    [(error_frame, " --wait"), (refusal, ""), (refusal, " --wait")],
    ids=["error frame, --wait", "refusal", "refusal, --wait"],
)  # an error frame without --wait is the terminal printer's to show (test_hostile_text)
def test_a_servers_terminal_escapes_stay_out_of_the_usage_error(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], handler: Any, wait: str
) -> None:
    conns.close_all()
    with HostileServer(handler) as srv:
        agentnb.connect("openai", base_url=srv.url, name="escapes", max_retries=0)
        try:
            result = shell.run_cell(f"%%agent echo --via escapes --no-record{wait}\nhi")
        finally:
            conns.close_all()
    error = result.error_in_exec
    assert isinstance(error, UsageError)
    assert "boomend" in str(error) or "refusedhere" in str(error)
    assert not UNSAFE.search(str(error)), repr(str(error))
    out, err = capsys.readouterr()
    assert not UNSAFE.search(out + err), repr(out + err)


class Hostile:
    """Attributes that fail when a placeholder reads them."""

    @property
    def boom(self) -> str:
        raise RuntimeError("the property failed")


@pytest.mark.parametrize(
    ("placeholder", "problem"),
    [
        ("{{cfg['a'][" + "9" * 5000 + "]}}", "too long"),
        ("{{h.boom}}", "RuntimeError: the property failed"),
    ],
    ids=["5000-digit index", "raising property"],
)
def test_a_hostile_placeholder_fails_the_cell_before_anything_is_sent(
    shell: InteractiveShell, placeholder: str, problem: str
) -> None:
    shell.user_ns.update(cfg={"a": [1, 2]}, h=Hostile())
    conns.close_all()
    with HostileServer(error_frame) as srv:
        agentnb.connect("openai", base_url=srv.url, name="placeholders")
        try:
            result = shell.run_cell(
                f"%%agent echo --via placeholders --no-record\nsay {placeholder}"
            )
        finally:
            conns.close_all()
    error = result.error_in_exec
    assert isinstance(error, UsageError) and "ConfigurationError" in str(error)
    assert problem in str(error) and len(str(error)) < 1000
    assert srv.requests == []


def record_echo_runs(history: Path, count: int, *, answer: str = "a") -> None:
    """``count`` completed runs of ``echo`` asked ``q0``, ``q1``... into ``history``."""
    with HistoryStore(history) as store:
        for i in range(count):
            run = Run(agent="echo", message=f"q{i}")
            run.start()
            run.apply(TextDelta(delta=answer))
            run.apply(RunCompleted())
            store.record(run, RunRequest(agent="echo", message=f"q{i}"))


@pytest.mark.parametrize("limit", ["99999999999999999999", str(2**63), "1" + "0" * 400])
def test_an_absurd_limit_on_agent_runs_means_all(
    shell: InteractiveShell, history: Path, limit: str
) -> None:
    record_echo_runs(history, 3)
    table = shell.run_line_magic("agent_runs", f"--limit {limit}")
    assert len(table) == 3


def test_agent_runs_shows_every_run_a_page_at_a_time(
    shell: InteractiveShell, history: Path
) -> None:
    """No limit by default: the table pages through the whole history (a result reads the
    first page at once, the rest when used), so its pager is not stuck at 20 runs."""
    record_echo_runs(history, 25)
    table = shell.run_line_magic("agent_runs", "")
    assert repr(table).splitlines()[0] == "RunHistory: 25 runs"
    assert len(table) == 25
    assert len(shell.run_line_magic("agent_runs", "--limit 5")) == 5


@pytest.mark.parametrize(
    ("words", "found"),
    [("q1 answer", ["q1"]), ('"q1" -', ["q1"]), ("'q1'", ["q1"]), ("NEAR( q1", []), ("AND", [])],
)
def test_agent_runs_searches_whatever_is_typed(
    shell: InteractiveShell, history: Path, words: str, found: list[str]
) -> None:
    record_echo_runs(history, 3, answer="the answer")
    table = shell.run_line_magic("agent_runs", f"--search {words}")
    assert table.column("message") == found
    assert all(snippet.startswith("«q1»") for snippet in table.column("snippet"))
