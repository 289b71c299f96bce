"""The magics through a real IPython InteractiveShell, against the built-in server."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import pydantic
import pytest
from agentnb_testing import PATIENCE_S
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell

import agentnb
from agentnb import RunCancelledError
from agentnb._app.front import connections as conns
from agentnb._core.loop import run_sync


@pytest.fixture(scope="module")
def shell() -> InteractiveShell:
    ip = InteractiveShell.instance()
    ip.extension_manager.load_extension("agentnb")
    return ip


@pytest.fixture(autouse=True)
def via(server: Any, shell: InteractiveShell) -> Iterator[str]:
    conns.close_all()
    agentnb.connect("operativus", base_url=server.base_url, api_key=server.api_key, name="test")
    agentnb.connect(
        "operativus", base_url=server.base_url, api_key="wrong-key-000000", name="badkey"
    )
    agentnb.connect(
        "operativus",
        base_url=server.base_url,
        api_key=server.api_key,
        name="slow",
        headers={"X-AgentNB-Delay-Ms": "10"},
    )
    shell.user_ns.pop("_agent", None)
    yield "test"
    conns.close_all()


def cell(shell: InteractiveShell, line: str, body: str) -> Any:
    shell.run_cell_magic("agent", line, body)
    return shell.user_ns["_agent"]


def test_cell_body_is_the_message_and_handle_is_bound(shell: InteractiveShell) -> None:
    handle = cell(shell, "echo --via test --wait", "hello there")
    assert handle.status == "completed"
    assert handle.text == "hello there"
    assert handle.run.usage is not None and handle.run.usage.total_tokens


def test_returns_at_once_while_the_run_streams(shell: InteractiveShell) -> None:
    handle = cell(shell, "writer --via slow --meta paragraphs=30", "a long one")
    assert not handle.done  # the cell returned before the run ended
    run = handle.wait(timeout=PATIENCE_S)
    assert run.status == "completed" and len(run.text) > 1000


def test_interpolation_from_the_namespace(shell: InteractiveShell) -> None:
    shell.user_ns["ticker"] = "NVDA"
    shell.user_ns["cfg"] = {"days": 5}
    handle = cell(
        shell,
        "echo --via test --wait",
        'Price of {{ticker}} over {{cfg["days"]}} days {"json": true}',
    )
    assert handle.text == 'Price of NVDA over 5 days {"json": true}'


def test_no_interpolate_keeps_braces(shell: InteractiveShell) -> None:
    handle = cell(shell, "echo --via test --wait --no-interpolate", "{{ticker}}")
    assert handle.text == "{{ticker}}"


def test_missing_name_is_a_usage_error(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="no variable 'nowhere'"):
        shell.run_cell_magic("agent", "echo --via test", "{{nowhere}}")


def test_threads_are_continued_only_when_asked(shell: InteractiveShell) -> None:
    # issue 27: a cell (or a re-run of it) starts a new conversation; continuing is explicit
    first = cell(shell, "echo --via test --wait", "one").run
    again = cell(shell, "echo --via test --wait", "one").run
    assert first.thread_id and again.thread_id and again.thread_id != first.thread_id
    assert again.usage is not None and first.usage is not None
    assert again.usage.prompt_tokens == first.usage.prompt_tokens  # not fed the first answer
    follow = cell(shell, "echo --via test --wait --continue", "two").run
    assert follow.thread_id == again.thread_id
    assert follow.usage is not None and follow.usage.prompt_tokens > first.usage.prompt_tokens
    fresh = cell(shell, "echo --via test --wait", "three").run
    assert fresh.thread_id and fresh.thread_id not in (first.thread_id, again.thread_id)
    back = cell(shell, f"echo --via test --wait --thread {first.thread_id}", "four").run
    assert back.thread_id == first.thread_id


def test_an_old_notebooks_new_flag_says_each_cell_starts_a_new_conversation(
    shell: InteractiveShell,
) -> None:
    with pytest.raises(UsageError) as caught:
        shell.run_cell_magic("agent", "echo --via test --wait --new", "hi")
    assert "unrecognized arguments: --new" in str(caught.value)
    assert "each cell now starts a new conversation" in str(caught.value)
    assert "--new is not needed" in str(caught.value)


def test_out_binds_the_handle(shell: InteractiveShell) -> None:
    handle = cell(shell, "echo --via test --wait --out answer", "bound")
    assert shell.user_ns["answer"] is handle


def test_schema_with_a_pydantic_model(shell: InteractiveShell) -> None:
    class Quote(pydantic.BaseModel):
        ticker: str
        price: float

    shell.user_ns["Quote"] = Quote
    handle = cell(shell, "structured --via test --wait --schema Quote", "NVDA price")
    assert isinstance(handle.result, Quote)


def test_schema_with_a_dict(shell: InteractiveShell) -> None:
    shell.user_ns["schema"] = {
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 3}},
        "required": ["n"],
    }
    handle = cell(shell, "structured --via test --wait --schema schema", "a number")
    assert handle.result["n"] >= 3


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("echo --via test --schema nothing_here", "no variable 'nothing_here'"),
        ("echo --via test --schema not_a_schema", "must be a JSON schema dict or a pydantic"),
        ("echo --via test --meta novalue", "expected KEY=VALUE"),
        ("echo --via test --temperature 5", "temperature"),
        ("echo --via test --top-p -1", "top_p"),
        ("echo --via test --max-tokens 0", "max_tokens"),
        ("echo --via test --bogus", "unrecognized arguments"),
        ("echo --via nowhere", "unknown connection 'nowhere'"),
        ("echo --via test --out 1abc", "not a valid variable name"),
        ("", "the following arguments are required: agent"),
    ],
)
def test_bad_options_are_usage_errors(shell: InteractiveShell, line: str, match: str) -> None:
    shell.user_ns["not_a_schema"] = 42
    with pytest.raises(UsageError, match=match):
        shell.run_cell_magic("agent", line, "hello")


def test_empty_body_is_a_usage_error(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="message is empty"):
        shell.run_cell_magic("agent", "echo --via test", "  \n")


def test_unknown_agent_is_raised_by_the_cell(shell: InteractiveShell) -> None:
    with pytest.raises(
        UsageError, match=r"(?s)^The server refused the request: .*404 Not Found.*NotFoundError\)$"
    ):
        shell.run_cell_magic("agent", "no_such_agent --via test", "hi")


def test_bad_key_is_raised_without_the_key(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="AuthenticationError") as info:
        shell.run_cell_magic("agent", "echo --via badkey", "hi")
    assert "wrong-key-000000" not in str(info.value)


def test_line_magic(shell: InteractiveShell) -> None:
    shell.run_line_magic("agent", "echo --via test --wait hello   world, it's me")
    assert shell.user_ns["_agent"].text == "hello   world, it's me"


def test_line_magic_needs_a_message(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match="needs a message"):
        shell.run_line_magic("agent", "echo --via test")


def test_cancel_marks_the_run_cancelled(shell: InteractiveShell) -> None:
    handle = cell(shell, "writer --via slow --meta paragraphs=200", "go")
    handle.cancel()
    with pytest.raises(RunCancelledError):
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "cancelled"


def test_interrupt_during_wait_cancels_the_run(shell: InteractiveShell) -> None:
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            shell.run_cell_magic("agent", "writer --via slow --wait --meta paragraphs=200", "slow")
    finally:
        timer.cancel()
    handle = shell.user_ns["_agent"]
    with pytest.raises(RunCancelledError):
        handle.wait(timeout=PATIENCE_S)
    assert handle.status == "cancelled"


def test_followups_reach_the_run(shell: InteractiveShell) -> None:
    handle = cell(shell, "finance_agent --via test --wait --followups", "How is NVDA doing?")
    assert handle.run.followups


def test_plain_output_in_a_terminal(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell(shell, "echo --via test --wait --plain", "printed")
    out = capsys.readouterr().out
    assert "printed" in out and "completed" in out


def test_agent_runs_and_config(shell: InteractiveShell) -> None:
    cell(shell, "echo --via test --wait", "for the history")
    table = shell.run_line_magic("agent_runs", "--agent echo --limit 5")
    assert len(table) >= 1 and table[0].agent == "echo"
    view = shell.run_line_magic("agent_config", "")
    assert "wrong-key-000000" not in repr(view) and "wrong-key-000000" not in view._repr_html_()
    assert "badkey" in repr(view)


def test_help_prints_every_option(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell_magic("agent", "--help", "ignored")
    out = capsys.readouterr().out
    for option in (
        "--via",
        "--thread",
        "--continue",
        "--temperature",
        "--top-p",
        "--max-tokens",
        "--schema",
        "--meta",
        "--followups",
        "--out",
        "--wait",
        "--plain",
        "--no-interpolate",
        "--notebook",
    ):
        assert option in out
    assert "_agent" not in shell.user_ns


def test_huge_message_is_a_clear_error(shell: InteractiveShell) -> None:
    with pytest.raises(UsageError, match=r"413") as info:
        shell.run_cell_magic("agent", "echo --via test", "x" * (2 * 1024 * 1024))
    assert len(str(info.value)) < 2000  # an excerpt, not the whole body


def test_no_record_keeps_the_run_out_of_the_history(shell: InteractiveShell) -> None:
    kept = cell(shell, "echo --via test --wait", "recorded one")
    skipped = cell(shell, "echo --via test --wait --no-record", "not recorded")
    ids = {r.local_id for r in agentnb.runs(agent="echo", limit=500)}
    assert kept.run.local_id in ids
    assert skipped.run.local_id not in ids


def test_traitlets_config_sets_the_defaults(server: Any) -> None:
    from traitlets.config import Config

    from agentnb._notebook.magics import AgentMagics

    config = Config()
    config.AgentMagics.default_via = "test"
    config.AgentMagics.wait = True
    config.AgentMagics.plain = True
    ip = InteractiveShell.instance()
    magics = AgentMagics(shell=ip, config=config)
    assert (magics.default_via, magics.wait, magics.plain) == ("test", True, True)
    magics.agent("echo", "configured")  # no --via, no --wait: both from the config
    handle = ip.user_ns["_agent"]
    assert handle.done and handle.text == "configured"
    assert handle.run.connection == "test"


def test_config_provider_configures_the_default_connection(server: Any) -> None:
    from traitlets.config import Config

    from agentnb._notebook.magics import AgentMagics

    config = Config()
    config.AgentMagics.provider = "runagent"
    config.AgentMagics.base_url = server.base_url
    AgentMagics(shell=InteractiveShell.instance(), config=config)
    conn = agentnb.get_connection()
    assert (conn.provider, conn.base_url, conn.local) == ("runagent", server.base_url, False)


def test_agent_config_sets_defaults(shell: InteractiveShell) -> None:
    view = shell.run_line_magic("agent_config", "--default-via test --plain --wait")
    assert "default_via=test" in repr(view) and "wait=True" in repr(view)
    shell.run_line_magic("agent", "echo by default")
    assert shell.user_ns["_agent"].done
    shell.run_line_magic("agent_config", "--default-via default --widget --no-wait")
    with pytest.raises(UsageError, match="unknown connection 'nowhere'"):
        shell.run_line_magic("agent_config", "--default-via nowhere")


def test_chat_continues_one_thread(server: Any) -> None:
    widget = agentnb.chat("echo", via="test")
    widget.ask("first message")
    first = widget.wait(PATIENCE_S)
    widget.ask("second message")
    second = widget.wait(PATIENCE_S)
    assert [r.text for r in widget.runs] == ["first message", "second message"]
    assert first.thread_id and second.thread_id == first.thread_id
    widget.close()


def _next_turn(widget: Any, count: int) -> Any:
    """Wait for the widget's turn number ``count`` (started from the view) to end."""
    deadline = time.monotonic() + PATIENCE_S
    while len(widget.runs) < count:
        assert time.monotonic() < deadline, "no new turn"
        time.sleep(0.02)
    return widget.wait(PATIENCE_S)


def test_chat_retries_edits_and_starts_new_conversations_from_the_view(server: Any) -> None:
    widget = agentnb.chat("echo", via="test")
    widget.ask("first message")
    first = widget.wait(PATIENCE_S)
    # a retry of a conversation's first turn starts where it started: no thread at all
    widget._on_view_message(widget, {"kind": "retry", "t": 0}, [])
    retried = _next_turn(widget, 2)
    assert retried.text == "first message" and retried.thread_id != first.thread_id
    widget._on_view_message(widget, {"kind": "edit", "t": 1, "text": "edited message"}, [])
    edited = _next_turn(widget, 3)
    assert edited.text == "edited message" and edited.thread_id not in (
        first.thread_id,
        retried.thread_id,
    )
    widget.ask("follow-up")
    follow = widget.wait(PATIENCE_S)
    assert follow.thread_id == edited.thread_id, "a plain message continues the thread"
    widget._on_view_message(widget, {"kind": "retry", "t": 1}, [])  # not the last turn
    widget._on_view_message(widget, {"kind": "new"}, [])
    run_sync(asyncio.sleep(0))  # the view's messages are handled on the loop, in order
    widget.ask("fresh start")
    fresh = widget.wait(PATIENCE_S)
    assert fresh.thread_id and fresh.thread_id != follow.thread_id
    assert len(widget.runs) == 5
    deadline = time.monotonic() + PATIENCE_S
    while len(widget.transcript.get("turns", [])) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    started_as = [turn["meta"]["started_as"] for turn in widget.transcript["turns"]]
    assert started_as == [None, "retry", "edit", None, "new"]
    widget.close()


def test_agent_alone_lists_the_connections_agents(shell: InteractiveShell, server: Any) -> None:
    agentnb.connect(
        "openai", base_url=server.url_for("openai"), api_key=server.api_key, name="models"
    )
    listed = shell.run_line_magic("agent", "--via models")
    assert "echo" in [a.name for a in listed] and "agents of 'models'" in repr(listed)
    with pytest.raises(UsageError, match="does not list its agents"):
        shell.run_line_magic("agent", "--via test")  # Operativus has no listing


def test_a_comment_after_the_magic_is_a_comment(shell: InteractiveShell, server: Any) -> None:
    """``%agent   # the default connection's agents`` lists them, as the page writes it: the
    ``#`` starts a comment, never an agent named ``#``; so in ``%%agent``'s line of options."""
    agentnb.connect(
        "openai", base_url=server.url_for("openai"), api_key=server.api_key, name="models"
    )
    listed = shell.run_line_magic("agent", "--via models    # another connection's agents")
    assert "echo" in [a.name for a in listed]
    with pytest.raises(UsageError, match="does not list its agents"):
        shell.run_line_magic("agent", "--via test  # the default's")
    handle = cell(shell, "echo --via test --wait   # a quick check", "hello #1")
    assert handle.text == "hello #1"
    shell.run_line_magic("agent", "echo --via test --wait what is #1?")
    assert shell.user_ns["_agent"].text == "what is #1?"  # in a message, # is the message's
